"""Benchmark 2: how fast the engine hands queued messages to the provider simulator (latency 0).

N messages are queued through the real `messaging.services.sending.message_send` (1,000 recipients per call, each
call charged and committed like an API request), then W worker processes (dispatch_worker.py) call
`dispatch_queued_messages()` until nothing is left. The figure is N / wall time from the moment the workers
are told to start (Django is already set up in them) until the last one finishes; the database must then show
all N messages `sent` and the simulator must have accepted N. Each worker reports its peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from common import PYTHON, Processes, Simulator, child_env, log, queued_messages_park, recipients

CHUNK = 1000


@dataclass
class DispatchResult:
    messages: int
    workers: int
    enqueue_seconds: float
    dispatch_seconds: float
    sent: int
    simulator_accepted: int
    peak_rss_mb: list[float]
    worker_results: list[dict]

    @property
    def enqueue_rate(self) -> float:
        return self.messages / self.enqueue_seconds if self.enqueue_seconds else 0.0

    @property
    def dispatch_rate(self) -> float:
        return self.sent / self.dispatch_seconds if self.dispatch_seconds else 0.0


def enqueue(*, organization_id: int, count: int, offset: int = 0) -> float:
    """Queue `count` messages through message_send, 1,000 per call; returns the seconds it took."""
    from accounts.models import APIKey, Organization
    from messaging.models import MessageChannel
    from messaging.services.sending import message_send

    organization = Organization.objects.get(pk=organization_id)
    api_key = APIKey.objects.filter(organization=organization).first()
    started = time.monotonic()
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        message_send(
            organization=organization,
            api_key=api_key,
            recipients=recipients(size, start=offset + start),
            body="Bench dispatch message",
            channel=MessageChannel.API,
        )
    return time.monotonic() - started


def _status_count(status: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_message WHERE status = %s", [status])
        return cursor.fetchone()[0]


def run(
    processes: Processes,
    log_dir: Path,
    *,
    simulator: Simulator,
    organization_id: int,
    messages: int = 20_000,
    workers: int = 2,
    time_cap: float = 300.0,
    profile_dir: Path | None = None,
    offset: int = 0,
) -> DispatchResult:
    parked = queued_messages_park()
    if parked:
        log(f"took {parked} queued messages of the earlier benchmark out of the queue")
    simulator.configure(latency_ms=0, error_rate=0.0, callback_url="")
    simulator.reset()
    sent_before = _status_count("sent")
    log(f"queueing {messages:,} messages through message_send ({CHUNK} per call)")
    enqueue_seconds = enqueue(organization_id=organization_id, count=messages, offset=offset)
    log(f"queued in {enqueue_seconds:.1f} s ({messages / enqueue_seconds:,.0f} messages/s)")

    children = []
    for index in range(workers):
        env = child_env()
        if profile_dir is not None:
            env["BENCH_PROFILE"] = str(profile_dir / f"dispatch_worker_{index}.prof")
        children.append(
            processes.start(
                f"dispatch-worker-{index}",
                [str(PYTHON), str(Path(__file__).with_name("dispatch_worker.py")), str(time_cap)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=open(log_dir / f"dispatch_worker_{index}.log", "w"),  # noqa: SIM115
                text=True,
            )
        )
    try:
        for child in children:
            line = child.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"dispatch worker did not start: {line!r}; see {log_dir}")
        started = time.monotonic()
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            output = child.stdout.read()
            child.wait(timeout=time_cap + 60)
            match = next((line for line in output.splitlines() if line.startswith("RESULT ")), None)
            if match is None:
                raise RuntimeError(f"dispatch worker failed (exit {child.returncode}); see {log_dir}")
            results.append(json.loads(match.removeprefix("RESULT ")))
        dispatch_seconds = time.monotonic() - started
    finally:
        for child in children:
            processes.stop(child)
    sent = _status_count("sent") - sent_before
    stats = simulator.stats()
    accepted = sum(api.get("accepted", 0) for api in stats.values() if isinstance(api, dict))
    result = DispatchResult(
        messages=messages,
        workers=workers,
        enqueue_seconds=enqueue_seconds,
        dispatch_seconds=dispatch_seconds,
        sent=sent,
        simulator_accepted=accepted,
        peak_rss_mb=[r["peak_rss_mb"] for r in results],
        worker_results=results,
    )
    log(
        f"dispatched {sent:,} of {messages:,} in {dispatch_seconds:.2f} s with {workers} worker(s): "
        f"{result.dispatch_rate:,.0f} messages/s; simulator stats {json.dumps(stats)}; "
        f"peak RSS per worker {', '.join(f'{mb:.0f} MB' for mb in result.peak_rss_mb)}"
    )
    return result
