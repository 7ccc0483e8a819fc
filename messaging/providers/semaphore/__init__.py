"""Semaphore: `adapter.SemaphoreAdapter` (sending, status, the message list, credits), `callbacks` (Semaphore's
statuses and its delivery callback body) and `testdata/` (recorded answers and callbacks the tests replay)."""
