"""IPROG SMS: `adapter.IprogAdapter` (sending, status, credits), `callbacks` (IPROG's statuses and its delivery
callback body) and `testdata/` (recorded answers and callbacks the tests replay)."""
