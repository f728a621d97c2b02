"""Checkpoints: options, storage of task state, the JobManager's coordinator and restarts."""
