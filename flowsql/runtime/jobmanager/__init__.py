"""JobManager side of the runtime: job states, slot scheduling, deployment, job tracking."""
