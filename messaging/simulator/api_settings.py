"""What can be set per simulated API (`ApiSettings`), checked the same way from the constructor, `configure()` and
`POST /_sim/config`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

# Forced answers: "http500", "timeout" (hang), "iprog_status_500" (IPROG's HTTP 200 with status 500; a plain 500
# for Semaphore), "http429", "http401".
ERROR_MODES = ("", "http500", "timeout", "iprog_status_500", "http429", "http401")


@dataclass
class ApiSettings:
    quota: int | None = None
    error_rate: float = 0.0
    error_mode: str = ""
    latency_ms: int = 0
    hang_seconds: float = 30.0
    callback_url: str = ""
    callback_delay_ms: int = 200
    delivery_failure_rate: float = 0.0
    api_key: str = ""
    reject_prefixes: list[str] = field(default_factory=lambda: ["63900"])
    approved_sender_names: list[str] = field(default_factory=list)

    def updated(self, values: dict[str, Any]) -> ApiSettings:
        """A copy with `values` applied; unknown names or bad values raise ValueError naming them."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown simulator setting(s): {', '.join(unknown)}")
        new = replace(self, **values)
        if new.quota is not None:
            new.quota = int(new.quota)
            if new.quota < 0:
                raise ValueError("quota must be >= 0 or null")
        new.error_rate = float(new.error_rate)
        new.delivery_failure_rate = float(new.delivery_failure_rate)
        for name in ("error_rate", "delivery_failure_rate"):
            if not 0.0 <= getattr(new, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        new.latency_ms = max(0, int(new.latency_ms))
        new.callback_delay_ms = max(0, int(new.callback_delay_ms))
        new.hang_seconds = max(0.0, float(new.hang_seconds))
        new.error_mode = str(new.error_mode or "")
        if new.error_mode not in ERROR_MODES:
            raise ValueError(f"error_mode must be one of {', '.join(repr(m) for m in ERROR_MODES)}")
        new.callback_url = str(new.callback_url or "")
        if new.callback_url and not new.callback_url.startswith(("http://", "https://")):
            raise ValueError("callback_url must start with http:// or https://")
        new.api_key = str(new.api_key or "")
        new.reject_prefixes = [str(prefix) for prefix in (new.reject_prefixes or [])]
        new.approved_sender_names = [str(name) for name in (new.approved_sender_names or [])]
        return new
