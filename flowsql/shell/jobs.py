"""The jobs a script submitted, and waiting for them before the shell exits.

Contract:
- In script mode (``-f``, or a script piped on stdin) the runner records every job an
  ``INSERT`` / ``EXECUTE STATEMENT SET`` submitted (:meth:`JobWaiter.add`, with whether its
  input is bounded). The jobs run in this process's embedded MiniCluster
  (:func:`flowsql.runtime.local.local_cluster`), which stops when the shell exits, so
  :meth:`JobWaiter.wait_all` waits for them once the script is done (also after an error or a
  ``QUIT``), in submission order, and prints each job's final state:
  ``[INFO] Job <id> FINISHED.``; ``[ERROR] Job <id> FAILED: <message>`` (on the error
  console); ``[WARNING] Job <id> CANCELED.``.
- On a cluster (``execution.target = remote``) the jobs do not depend on the shell: bounded
  jobs are waited for as above, and an unbounded job is left running there, with a line
  saying how to stop it.
- Embedded, a job over unbounded input never finishes by itself: a line says so and the wait goes on
  until Ctrl-C (or a STOP JOB from elsewhere). Ctrl-C during the wait cancels every job still
  running and prints their final states.
- :meth:`JobWaiter.wait_all` returns false when a job FAILED, or when a job over bounded input
  did not finish (its output is incomplete); true otherwise (an unbounded job stopped with
  Ctrl-C is the normal way to end it).
- :func:`job_state` is a job's current state, for ``STOP JOB``'s outcome line.
- The cluster is the session's (:func:`flowsql.session.streaming.cluster`); over a gateway
  it is the gateway's jobs (:class:`flowsql.shell.remote_session.RemoteJobs`), which outlive
  the shell as a cluster's do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text

from flowsql.shell.render import Renderer

_WAIT_SLICE_SECONDS = 0.5  # wait in slices so Ctrl-C reaches the main thread
_FINAL = ("FINISHED", "FAILED", "CANCELED")


def _cluster(session: Any = None) -> Any:
    jobs = getattr(session, "jobs", None)  # a gateway session's view of the gateway's jobs
    if jobs is not None:
        return jobs
    from flowsql.session.streaming import cluster

    return cluster(session)


def _remote(session: Any) -> bool:
    """Whether the session's jobs outlive the shell (a cluster, or a gateway's engine)."""
    if session is None:
        return False
    return (getattr(session, "jobs", None) is not None
            or session.config.get("execution.target") == "remote")


def job_state(job_id: str, session: Any = None) -> str | None:
    """The job's state in the session's cluster, or None when it is unknown there."""
    try:
        return str(_cluster(session).job(job_id).state)
    except Exception:  # noqa: BLE001 - an unknown job simply has no state to report
        return None


@dataclass
class _Submitted:
    job_id: str
    bounded: bool


class JobWaiter:
    """Jobs submitted by a script, waited for at its end (see module contract)."""

    def __init__(self, renderer: Renderer, session: Any = None) -> None:
        self.renderer = renderer
        self.session = session
        self.jobs: list[_Submitted] = []

    def add(self, job_id: str, *, bounded: bool) -> None:
        self.jobs.append(_Submitted(job_id, bounded))

    def wait_all(self) -> bool:
        jobs, self.jobs = self.jobs, []
        if _remote(self.session):
            for job in [j for j in jobs if not j.bounded]:
                self.renderer.text(f"[INFO] Job {job.job_id} keeps running on the cluster; "
                                   f"STOP JOB '{job.job_id}' ends it.")
            jobs = [j for j in jobs if j.bounded]
        if not jobs:
            return True
        cluster = _cluster(self.session)
        pending = [j for j in jobs if str(cluster.job(j.job_id).state) not in _FINAL]
        if pending:
            self.renderer.text(
                f"[INFO] Waiting for {len(pending)} submitted job(s) to end "
                "(Ctrl-C cancels them)..."
            )
        ok = True
        remaining = list(jobs)
        try:
            while remaining:
                job = remaining[0]
                if not job.bounded and str(cluster.job(job.job_id).state) not in _FINAL:
                    self.renderer.text(
                        f"[INFO] Job {job.job_id} reads unbounded input: it runs until "
                        "Ctrl-C or STOP JOB."
                    )
                info = cluster.wait(job.job_id, _WAIT_SLICE_SECONDS)
                while str(info.state) not in _FINAL:
                    info = cluster.wait(job.job_id, _WAIT_SLICE_SECONDS)
                ok = self._report(job, info) and ok
                remaining.pop(0)
        except KeyboardInterrupt:
            if self.renderer.out.is_terminal:
                self.renderer.out.print()
            for job in remaining:
                try:
                    info = cluster.cancel(job.job_id, wait=True)
                except Exception:  # noqa: BLE001 - report what is known
                    info = cluster.job(job.job_id)
                ok = self._report(job, info) and ok
        self.renderer.out.print()
        return ok

    def _report(self, job: _Submitted, info: Any) -> bool:
        state = str(info.state)
        if state == "FINISHED":
            self.renderer.text(f"[INFO] Job {job.job_id} FINISHED.")
            return True
        if state == "FAILED":
            message = info.error or "the job failed"
            self.renderer.err.print(Text(f"[ERROR] Job {job.job_id} FAILED: {message}", "red"))
            return False
        self.renderer.text(f"[WARNING] Job {job.job_id} {state}.", "yellow")
        return not job.bounded
