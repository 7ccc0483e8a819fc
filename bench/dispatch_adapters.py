"""Adapters only the dispatch benchmark registers (through SMS_PROVIDER_ADAPTERS in the workers' environment).

`SingleNumberIprogAdapter` is IPROG without its bulk endpoint: one number per call, through IPROG's single send
(`POST /api/v1/sms_messages`), the shape of a provider that takes one number a call.
"""

from __future__ import annotations

from messaging.providers.iprog.adapter import IprogAdapter


class SingleNumberIprogAdapter(IprogAdapter):
    code = "iprog_single"
    label = "IPROG SMS, one number a call"
    supports_bulk = False
    max_bulk = 1
