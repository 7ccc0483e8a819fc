"""Tasks the scheduler tests schedule: each run is recorded here (the test backend runs tasks at once)."""

from django_tasks import task

RUNS: list[str] = []


@task()
def probe_minutely() -> None:
    RUNS.append("minutely")


@task()
def probe_hourly() -> None:
    RUNS.append("hourly")


@task()
def probe_daily() -> None:
    RUNS.append("daily")
