"""Background work of the data side: thin wrappers that take ids, load, and call the domain modules."""

from django_tasks import task


@task()
def export_build_task(*, export_id: int) -> str:
    from privacy.export import export_build

    return export_build(export_id=export_id).status


@task()
def erasure_job_run_task(*, job_id: int) -> str:
    from privacy.erasure import erasure_job_run

    return erasure_job_run(job_id=job_id).status


# --- periodic (no arguments, idempotent) ---


@task()
def erasures_run_due_task() -> int:
    """Erasures whose grace period ended, areas waiting for a retry, and erasures whose legal hold was
    released."""
    from privacy.erasure import erasures_run_due

    return erasures_run_due()


@task()
def retention_run_task() -> dict[str, int]:
    from privacy.retention import retention_rules_ensure, retention_run

    retention_rules_ensure()
    return {result.category: result.affected for result in retention_run()}
