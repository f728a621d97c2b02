"""From a JobGraph to task deployment descriptors: subtasks, channel addresses, placement.

Contract (the "execution graph" step of the JobManager):
1. :func:`task_ids` cuts the graph into chains (:meth:`JobGraph.chains`); chain ``c`` with
   parallelism ``p`` becomes ``p`` tasks with ids ``"<job>/<c>.<i>"``, in chain order.
2. The scheduler places every task id on a process (``placement``: task id -> TaskManager id).
3. :func:`build_descriptors` gives each task one input gate (keyed by its task id) with one
   channel per upstream producer: for each incoming edge of the head (declaration order =
   ``input_index``) one channel from the paired subtask (``forward``) or one per upstream
   subtask (other partitionings). Every outgoing network edge of a chain tail becomes an
   :class:`~flowsql.runtime.descriptors.OutputEdge` whose targets are the downstream channels'
   addresses ``(TaskManager id, gate key, channel)``.
4. Every descriptor carries the checkpoint to restore from (``restore``, None for a fresh
   start) and the job's restart ``attempt``.
5. With ``result`` (a remote client reads a SELECT), each collect sink subtask ``i`` writes to
   channel ``i`` of the result gate ``"<job>/result"`` on the JobManager.
Nothing here holds a live object: descriptors are plain data (see :mod:`..descriptors`).
"""

from __future__ import annotations

from collections.abc import Mapping

from flowsql.physical.graph import Chain, Edge, JobGraph
from flowsql.runtime.descriptors import (
    JOBMANAGER,
    ChannelAddress,
    OutputEdge,
    TaskDeploymentDescriptor,
    gate_key,
)

RESULT_SUFFIX = "/result"


def task_id(job_id: str, chain: Chain, subtask: int) -> str:
    return f"{job_id}/{chain.index}.{subtask}"


def task_ids(job_id: str, graph: JobGraph) -> list[str]:
    return [task_id(job_id, c, s) for c in graph.chains() for s in range(c.parallelism)]


def task_ids_of_chain(job_id: str, chain: Chain) -> list[str]:
    return [task_id(job_id, chain, s) for s in range(chain.parallelism)]


def result_gate(job_id: str) -> str:
    return job_id + RESULT_SUFFIX


def collect_parallelism(graph: JobGraph) -> int:
    """How many channels a result gate needs: the collect sinks' subtasks."""
    return sum(op.parallelism for op in graph.operators if op.kind == "collect-sink")


def build_descriptors(
    job_id: str,
    graph: JobGraph,
    placement: Mapping[str, str],
    *,
    locations: Mapping[str, str],
    channel_capacity: int,
    config: Mapping[str, str],
    result: bool = False,
    restore: str | None = None,
    attempt: int = 0,
) -> list[TaskDeploymentDescriptor]:
    chains = graph.chains()
    chain_of = {op_id: chain for chain in chains for op_id in chain.operator_ids}
    edge_pos = {id(e): i for i, e in enumerate(graph.edges)}

    # Step 3a: channel layout of every gate: (edge position, upstream subtask) -> channel.
    channel_maps: dict[tuple[int, int], dict[tuple[int, int], int]] = {}
    channel_inputs: dict[tuple[int, int], tuple[int, ...]] = {}
    for chain in chains:
        incoming = graph.inputs(chain.head)
        for sub in range(chain.parallelism if incoming else 0):
            mapping: dict[tuple[int, int], int] = {}
            inputs: list[int] = []
            for input_index, edge in enumerate(incoming):
                upstream = chain_of[edge.source].parallelism
                producers = [sub] if edge.partitioning == "forward" else range(upstream)
                for up in producers:
                    mapping[(edge_pos[id(edge)], up)] = len(inputs)
                    inputs.append(input_index)
            channel_maps[(chain.index, sub)] = mapping
            channel_inputs[(chain.index, sub)] = tuple(inputs)

    # Step 3b: the addresses every outgoing edge writes to.
    def output(edge: Edge, up: int) -> OutputEdge:
        target = chain_of[edge.target]
        subs = [up] if edge.partitioning == "forward" else range(target.parallelism)
        pos = edge_pos[id(edge)]
        targets = tuple(
            ChannelAddress(
                placement[task_id(job_id, target, t)],
                gate_key(task_id(job_id, target, t), attempt),
                channel_maps[(target.index, t)][(pos, up)],
            )
            for t in subs
        )
        return OutputEdge(edge.partitioning, tuple(edge.keys), up, targets)

    # Step 5: result channels, numbered over the collect sinks' subtasks.
    result_channel = 0
    descriptors = []
    for chain in chains:
        specs = tuple(graph.operator(op_id) for op_id in chain.operator_ids)
        out_edges = graph.outputs(chain.tail)
        collects = result and any(s.kind == "collect-sink" for s in specs)
        for sub in range(chain.parallelism):
            key = (chain.index, sub)
            address = None
            if collects:
                address = ChannelAddress(JOBMANAGER, result_gate(job_id), result_channel)
                result_channel += 1
            desc = TaskDeploymentDescriptor(
                job_id=job_id,
                task_id=task_id(job_id, chain, sub),
                chain_index=chain.index,
                operators=specs,
                subtask_index=sub,
                parallelism=chain.parallelism,
                num_channels=len(channel_inputs.get(key, ())),
                channel_inputs=channel_inputs.get(key, ()),
                outputs=tuple(output(e, sub) for e in out_edges),
                config=dict(config),
                result=address,
                capacity=channel_capacity,
                restore=restore,
                attempt=attempt,
            )
            needed = desc.processes()
            descriptors.append(
                TaskDeploymentDescriptor(
                    **{**desc.__dict__,
                       "locations": {p: locations[p] for p in sorted(needed) if p in locations}}
                )
            )
    return descriptors
