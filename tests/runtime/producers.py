"""A producer blocked in ``put`` on its own thread, for channel tests."""

from __future__ import annotations

import threading

from flowsql.runtime.taskmanager.channels import ChannelWriter, Message, TaskCancelled


def put_in_thread(writer: ChannelWriter, message: Message) -> tuple[threading.Thread, list[str]]:
    """Start a thread that puts ``message``; its list gets ``"cancelled"`` when the put raises
    TaskCancelled. Returns once the thread is about to put."""
    outcome: list[str] = []
    started = threading.Event()

    def put() -> None:
        started.set()
        try:
            writer.put(message)
        except TaskCancelled:
            outcome.append("cancelled")

    t = threading.Thread(target=put)
    t.start()
    started.wait(10)
    return t, outcome
