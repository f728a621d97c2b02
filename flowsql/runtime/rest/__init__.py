"""The JobManager's HTTP face: Flink-compatible REST API, web dashboard, Prometheus /metrics.

Modules: :mod:`.view` (the :class:`ClusterView` protocol the app reads), :mod:`.app` (the
FastAPI app factory), :mod:`.flink` (view data -> Flink's REST shapes), :mod:`.models`
(pydantic response models with Flink's field names), :mod:`.sampler` (per-job rate
sampler), :mod:`.prometheus` (the /metrics collector), :mod:`.server` (uvicorn in a thread)
and ``static/`` (the dashboard: plain HTML/CSS/JS, no build step). The JobManager is the
view, in its own process or in the embedded MiniCluster.
"""

from flowsql.runtime.rest.view import ClusterView, TaskManagerInfo

__all__ = ["ClusterView", "TaskManagerInfo", "create_app"]


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003 - thin lazy re-export
    from flowsql.runtime.rest.app import create_app as _create_app

    return _create_app(*args, **kwargs)
