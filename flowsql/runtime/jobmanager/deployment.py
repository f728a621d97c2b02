"""From a JobGraph to task descriptors: subtasks, channels and partitioning writers.

Contract (the "execution graph" step of the JobManager):
1. The graph is cut into chains (:meth:`JobGraph.chains`); chain ``c`` with parallelism ``p``
   becomes ``p`` tasks with ids ``"<job>/<c>.<i>"``.
2. Every task whose chain head has inputs gets one input gate with one channel per upstream
   producer: for each incoming edge of the head (declaration order = ``input_index``) one
   channel from the paired subtask (``forward``) or one per upstream subtask (other
   partitionings).
3. Every task whose chain tail has outgoing network edges gets one
   :class:`~flowsql.runtime.taskmanager.outputs.EdgeWriter` per edge, writing into the
   matching channels of the downstream gates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowsql.physical.graph import Chain, Edge, JobGraph
from flowsql.runtime.taskmanager.channels import InputGate, Transport
from flowsql.runtime.taskmanager.outputs import EdgeWriter
from flowsql.runtime.taskmanager.task import TaskDescriptor


def task_id(job_id: str, chain: Chain, subtask: int) -> str:
    return f"{job_id}/{chain.index}.{subtask}"


def build_descriptors(
    job_id: str,
    graph: JobGraph,
    transport: Transport,
    *,
    channel_capacity: int,
    resources: Mapping[str, Any],
    config: Mapping[str, str],
) -> list[TaskDescriptor]:
    chains = graph.chains()
    chain_of = {op_id: chain for chain in chains for op_id in chain.operator_ids}

    # Step 2: channel layout of every gate: (edge position, upstream subtask) -> channel.
    gates: dict[tuple[int, int], InputGate] = {}
    channel_maps: dict[tuple[int, int], dict[tuple[int, int], int]] = {}
    channel_inputs: dict[tuple[int, int], tuple[int, ...]] = {}
    edge_pos = {id(e): i for i, e in enumerate(graph.edges)}
    for chain in chains:
        incoming = graph.inputs(chain.head)
        if not incoming:
            continue
        for sub in range(chain.parallelism):
            mapping: dict[tuple[int, int], int] = {}
            inputs: list[int] = []
            for input_index, edge in enumerate(incoming):
                upstream = chain_of[edge.source].parallelism
                producers = [sub] if edge.partitioning == "forward" else range(upstream)
                for up in producers:
                    mapping[(edge_pos[id(edge)], up)] = len(inputs)
                    inputs.append(input_index)
            key = (chain.index, sub)
            gates[key] = transport.create_gate(task_id(job_id, chain, sub), len(inputs), channel_capacity)
            channel_maps[key] = mapping
            channel_inputs[key] = tuple(inputs)

    # Step 3: writers of every outgoing network edge, then the descriptors.
    def writers(edge: Edge, up: int) -> EdgeWriter:
        target = chain_of[edge.target]
        subs = [up] if edge.partitioning == "forward" else range(target.parallelism)
        pos = edge_pos[id(edge)]
        endpoints = [
            gates[(target.index, t)].writer(channel_maps[(target.index, t)][(pos, up)]) for t in subs
        ]
        return EdgeWriter(edge.partitioning, endpoints, edge.keys, start=up)

    descriptors = []
    for chain in chains:
        specs = tuple(graph.operator(op_id) for op_id in chain.operator_ids)
        out_edges = graph.outputs(chain.tail)
        for sub in range(chain.parallelism):
            key = (chain.index, sub)
            descriptors.append(
                TaskDescriptor(
                    job_id=job_id,
                    task_id=task_id(job_id, chain, sub),
                    chain_index=chain.index,
                    operators=specs,
                    subtask_index=sub,
                    parallelism=chain.parallelism,
                    input_gate=gates.get(key),
                    channel_inputs=channel_inputs.get(key, ()),
                    outputs=[writers(e, sub) for e in out_edges],
                    resources=resources,
                    config=config,
                )
            )
    return descriptors
