"""The API request log, written in batches, and the daily usage sums the API keys page reads.

A request must not pay for an INSERT of its own log row (the send path is measured in single milliseconds), so
each process keeps the rows of its recent requests in memory and writes them together: every
`API_REQUEST_LOG_BATCH_SIZE` requests (default 100) or once `API_REQUEST_LOG_FLUSH_SECONDS` (default 1 s) have
passed since the oldest waiting row, whichever comes first, and when the process exits. One flush is one
`bulk_create` of the raw rows and a few UPDATEs of `APIUsageDaily` (one per organization, key, day, route and
status class seen in the batch), in one transaction. A process killed outright loses at most one batch of log rows;
a flush that fails is logged and dropped rather than retried forever, because monitoring must never take the API
down with it. The buffer holds at most ten batches.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F

from accounts.models import APIRequestLog, APIUsageDaily
from portal.timezone import operator_date

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
DEFAULT_FLUSH_SECONDS = 1.0


def _batch_size() -> int:
    return max(1, int(getattr(settings, "API_REQUEST_LOG_BATCH_SIZE", DEFAULT_BATCH_SIZE)))


def _flush_seconds() -> float:
    return float(getattr(settings, "API_REQUEST_LOG_FLUSH_SECONDS", DEFAULT_FLUSH_SECONDS))


class _Buffer:
    """The rows waiting to be written by this process; shared by its threads."""

    def __init__(self) -> None:
        self.rows: list[APIRequestLog] = []
        self.oldest: float | None = None
        self.lock = threading.Lock()

    def add(self, row: APIRequestLog) -> bool:
        """Keep the row; True when a flush is due."""
        with self.lock:
            if len(self.rows) >= 10 * _batch_size():  # the database is not taking them: keep the newest
                del self.rows[0]
            self.rows.append(row)
            now = time.monotonic()
            if self.oldest is None:
                self.oldest = now
            return len(self.rows) >= _batch_size() or now - self.oldest >= _flush_seconds()

    def take(self) -> list[APIRequestLog]:
        with self.lock:
            rows, self.rows, self.oldest = self.rows, [], None
            return rows

    def waiting(self) -> int:
        with self.lock:
            return len(self.rows)


_buffer = _Buffer()


def route_of(request) -> str:
    """The URL pattern that answered, readable ("api/v1/sms_messages" for the regex `^sms_messages/?$`); "" when
    the request matched none."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", "") or ""
    for token in ("^", "$", "/?"):
        route = route.replace(token, "")
    return route[:200]


def api_request_record(
    *,
    organization_id: int | None,
    api_key_id: int | None,
    user_id: int | None,
    method: str,
    path: str,
    route: str,
    status_code: int,
    duration_ms: int,
    ip_address: str | None,
    user_agent: str,
) -> None:
    """Log one API request: kept in this process's batch, written when the batch is due (see the module)."""
    row = APIRequestLog(
        organization_id=organization_id,
        api_key_id=api_key_id,
        user_id=user_id,
        method=method[:8],
        path=path[:255],
        route=route[:200],
        status_code=status_code,
        duration_ms=max(0, duration_ms),
        ip_address=ip_address,
        user_agent=(user_agent or "")[:300],
    )
    if _buffer.add(row):
        api_request_logs_flush()


@dataclass
class _Sum:
    calls: int = 0
    duration_ms: int = 0


def api_request_logs_flush() -> int:
    """Write this process's waiting rows and add them to the daily sums, in one transaction; returns how many."""
    rows = _buffer.take()
    if not rows:
        return 0
    try:
        with transaction.atomic():
            APIRequestLog.objects.bulk_create(rows, batch_size=1000)
            _daily_usage_add(rows)
    except DatabaseError:
        logger.exception("could not write %d API request log rows", len(rows))
        return 0
    return len(rows)


def _daily_usage_add(rows: list[APIRequestLog]) -> None:
    sums: dict[tuple, _Sum] = defaultdict(_Sum)
    for row in rows:
        if row.organization_id is None:  # refused before any organization was known: in the raw log only
            continue
        key = (
            row.organization_id,
            row.api_key_id,
            operator_date(row.created_at),
            row.method,
            row.route,
            row.status_code // 100,
        )
        sums[key].calls += 1
        sums[key].duration_ms += row.duration_ms
    created = []
    # In one order in every process: two flushes that update the same rows then lock them in the same order and
    # wait for each other instead of deadlocking (which would drop a whole batch of log rows).
    for (organization_id, api_key_id, day, method, route, status_class), total in sorted(sums.items(), key=_lock_order):
        # Unscoped: one batch holds the requests of every organization this process served.
        updated = (
            APIUsageDaily.objects.unscoped()
            .filter(
                organization_id=organization_id,
                api_key_id=api_key_id,
                day=day,
                method=method,
                route=route,
                status_class=status_class,
            )
            .update(calls=F("calls") + total.calls, duration_ms=F("duration_ms") + total.duration_ms)
        )
        if not updated:
            created.append(
                APIUsageDaily(
                    organization_id=organization_id,
                    api_key_id=api_key_id,
                    day=day,
                    method=method,
                    route=route,
                    status_class=status_class,
                    calls=total.calls,
                    duration_ms=total.duration_ms,
                )
            )
    APIUsageDaily.objects.bulk_create(created)


def _lock_order(item: tuple[tuple, _Sum]) -> tuple:
    organization_id, api_key_id, day, method, route, status_class = item[0]
    return (organization_id, api_key_id is not None, api_key_id or 0, day, method, route, status_class)


def api_request_logs_discard() -> int:
    """Drop this process's waiting rows unwritten; returns how many (tests end with it, so no row outlives the
    database it was made for)."""
    return len(_buffer.take())


def api_request_logs_waiting() -> int:
    """Rows of this process not written yet (for tests and the shutdown flush)."""
    return _buffer.waiting()


def _flush_at_exit() -> None:
    try:
        api_request_logs_flush()
    except Exception:  # the interpreter is going away; nothing else to do
        logger.exception("could not write the API request log at exit")


atexit.register(_flush_at_exit)
