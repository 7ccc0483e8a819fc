"""Background tasks that the data services enqueue after commit: they take ids, load, and call the work.

The periodic jobs (erasures due, retention) are tasks of `privacy.periodic`.
"""

from django_tasks import task

from portal.queues import TaskQueue
from privacy.data.erasure_run import erasure_job_run
from privacy.data.export_archive import export_build


@task(queue_name=TaskQueue.MAINTENANCE)
def export_build_task(*, export_id: int) -> str:
    return export_build(export_id=export_id).status


@task(queue_name=TaskQueue.MAINTENANCE)
def erasure_job_run_task(*, job_id: int) -> str:
    return erasure_job_run(job_id=job_id).status
