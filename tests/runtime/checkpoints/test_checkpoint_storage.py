"""Checkpoint storage: Arrow IPC state files, metadata last, incomplete checkpoints ignored."""

from __future__ import annotations

import pyarrow as pa
import pytest

from flowsql.errors import ExecutionError
from flowsql.runtime.checkpoints.storage import CheckpointStorage, open_checkpoint, read_state


def test_state_round_trips_and_only_checkpoints_with_metadata_count(tmp_path):
    st = CheckpointStorage(str(tmp_path), "job1")
    t = pa.table({"k": [1, 2], "v": ["a", None]})
    assert st.write_state(1, "3-window", 0, {"slices": t, "meta": pa.table({"w": [5]})}) > 0
    assert st.latest() is None  # no metadata yet: not complete
    done = st.complete(1, {"checkpoint_id": 1})
    st.write_state(2, "3-window", 0, {"slices": t})  # checkpoint 2 never completes
    assert st.latest().checkpoint_id == 1
    assert read_state(done.path, "3-window", 0)["slices"].equals(t)
    assert read_state(done.path, "3-window", 1) == {}
    assert (tmp_path / "job1" / "chk-1" / "_metadata").exists()
    assert not list((tmp_path / "job1" / "chk-1").glob("*.inprogress"))
    st.discard(2)
    assert not (tmp_path / "job1" / "chk-2").exists()


def test_open_checkpoint_takes_the_directory_or_its_metadata_file(tmp_path):
    st = CheckpointStorage(str(tmp_path), "j")
    st.complete(7, {"checkpoint_id": 7})
    assert open_checkpoint(str(tmp_path / "j" / "chk-7")).checkpoint_id == 7
    assert open_checkpoint(str(tmp_path / "j" / "chk-7" / "_metadata")).checkpoint_id == 7
    with pytest.raises(ExecutionError, match="not a complete checkpoint"):
        open_checkpoint(str(tmp_path / "j" / "chk-8"))


def test_a_uri_directory_works_through_pyarrow_fs(tmp_path):
    st = CheckpointStorage(f"file://{tmp_path}", "j")
    st.write_state(1, "op", 0, {"t": pa.table({"x": [1]})})
    done = st.complete(1, {"checkpoint_id": 1})
    assert done.path.startswith("file://")
    assert read_state(done.path, "op", 0)["t"].column("x").to_pylist() == [1]
