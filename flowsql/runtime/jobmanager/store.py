"""The JobManager's job store: each job's graph, config and status as one JSON file.

Contract:
- ``<dir>/<job id>.json`` holds ``{"version": 1, "job_id", "graph" (JobGraph JSON dict),
  "config", "state", "submit_time", "start_time", "end_time", "error" (message), "hint",
  "operator_id", "totals"}``; written atomically (temporary file + rename) at every state change, so a killed
  JobManager leaves each file whole, old or new.
- :meth:`JobStore.load_jobs` rebuilds the job records at start: a job stored in a final state
  comes back as it was (with its final counts); any other comes back ``resumable`` (its state
  as stored, its restart ``attempt`` counted on) when it had checkpointing on: the
  JobManager then restarts it from its latest complete checkpoint, or marks it FAILED when
  there is none; without checkpointing it is FAILED at once, because its tasks did not
  survive the JobManager. Unreadable files are skipped with a log line, never fatal.
- :meth:`JobStore.next_epoch` counts JobManager incarnations (``<dir>/../epoch``): the
  JobManager numbers TaskManager registrations from its epoch, so reports and acks made
  under an earlier incarnation never match a current registration.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from flowsql.errors import ExecutionError, ValidationError
from flowsql.physical import serde
from flowsql.runtime.checkpoints.options import checkpoint_options

log = logging.getLogger("flowsql.runtime")
VERSION = 1


def _checkpointing(config: dict[str, str]) -> bool:
    try:
        return checkpoint_options(config).enabled
    except ValidationError:
        return False


class JobStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def save(self, job: Any, totals: Any | None) -> None:
        data = {
            "version": VERSION,
            "job_id": job.job_id,
            "graph": serde.to_dict(job.graph),
            "config": job.config,
            "state": str(job.state),
            "submit_time": job.submit_time,
            "start_time": job.start_time,
            "end_time": job.end_time,
            "error": job.error.message if job.error else None,
            "hint": job.error.hint if job.error else None,
            "operator_id": job.error.operator_id if job.error else None,
            "totals": totals.__dict__ if totals is not None else None,
            "attempt": job.attempt,
        }
        path = self.directory / f"{job.job_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, path)

    def delete(self, job_id: str) -> None:
        """Forget a job (its file); a missing file is fine."""
        (self.directory / f"{job_id}.json").unlink(missing_ok=True)

    def next_epoch(self) -> int:
        path = self.directory.parent / "epoch"
        try:
            epoch = int(path.read_text().strip()) + 1
        except (OSError, ValueError):
            epoch = 1
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(epoch))
        os.replace(tmp, path)
        return epoch

    def load_jobs(self) -> list[Any]:
        from flowsql.runtime.jobmanager.jobmanager import JobTotals, _Job
        from flowsql.runtime.jobmanager.states import JobState

        jobs = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                job = _Job(data["job_id"], serde.from_dict(data["graph"]), {}, data.get("config") or {})
                state = JobState(data["state"])
                job.submit_time = data.get("submit_time") or 0.0
                job.start_time = data.get("start_time")
                job.end_time = data.get("end_time")
                if data.get("error"):
                    job.error = ExecutionError(data["error"], operator_id=data.get("operator_id"),
                                               hint=data.get("hint"))
                job.attempt = int(data.get("attempt") or 0)
                if not state.terminal and _checkpointing(job.config):
                    job.state = state
                    job.resumable = True
                    jobs.append(job)
                    continue
                if not state.terminal:
                    job.error = ExecutionError(
                        f"the JobManager stopped while the job was {state}; "
                        "its tasks did not survive")
                    state = JobState.FAILED
                    job.end_time = job.end_time or job.start_time or job.submit_time
                job.state = state
                if data.get("totals"):
                    job.stored_totals = JobTotals(**data["totals"])
                job.done.set()
                jobs.append(job)
            except Exception as e:  # noqa: BLE001 - one bad file must not stop the JobManager
                log.warning("skipping unreadable job file %s: %s", path, e)
        return jobs
