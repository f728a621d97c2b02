"""An embedded (shell) job killed with its process resumes from its retained checkpoint.

A `flowsql shell -f` process runs a paced, bounded INSERT into an exactly-once filesystem sink
with 1 s checkpoints retained; it is killed with SIGKILL after its second checkpoint. A new
shell sets ``execution.savepoint.path`` to the latest complete checkpoint and runs the same
INSERT. Pass: the committed output holds every input row exactly once.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.e2e.resume_shell import ROWS, script, shell
from tests.runtime.sink_output import committed_ids
from tests.waiting import until


def _latest_checkpoint(chk: Path) -> Path | None:
    done = [m.parent for m in chk.glob("*/chk-*/_metadata")]
    return max(done, key=lambda p: int(p.name.split("-")[1])) if done else None


def _killed_after_two_checkpoints(tmp_path: Path) -> Path:
    """Run the job in a shell, kill -9 the shell after its second checkpoint; returns the
    latest complete checkpoint."""
    first = shell(tmp_path, "first", script(tmp_path, None))
    try:
        until("the second checkpoint", lambda: (c := _latest_checkpoint(tmp_path / "chk"))
              and int(c.name.split("-")[1]) >= 2, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    checkpoint = _latest_checkpoint(tmp_path / "chk")
    assert checkpoint is not None
    return checkpoint


def test_a_killed_shell_job_resumes_from_its_checkpoint_with_exact_output(tmp_path):
    checkpoint = _killed_after_two_checkpoints(tmp_path)
    second = shell(tmp_path, "second", script(tmp_path, str(checkpoint)))
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, out[-2000:] + err[-2000:]
    assert "FINISHED" in out, out[-2000:]
    ids = committed_ids(tmp_path / "out")
    assert len(ids) == ROWS and sorted(ids) == list(range(1, ROWS + 1)), (
        f"{len(ids)} rows, {len(set(ids))} distinct, of {ROWS}")


def test_the_same_checkpoint_restored_twice_gives_no_duplicates(tmp_path):
    """A first resume from checkpoint n (it commits n's pending files on restore) is killed
    two seconds in, before it completes a checkpoint of its own (interval 1 h); a second
    resume restores checkpoint n again. Pass: every row exactly once (n's files are committed
    once, whatever the first resume read after n was never committed)."""
    checkpoint = _killed_after_two_checkpoints(tmp_path)
    again = shell(tmp_path, "again", script(tmp_path, str(checkpoint), interval="1 h"))
    try:
        time.sleep(2.0)  # let it restore and read rows past the checkpoint (never committed)
    finally:
        again.send_signal(signal.SIGKILL)
        again.communicate(timeout=30)
    second = shell(tmp_path, "second", script(tmp_path, str(checkpoint)))
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, out[-2000:] + err[-2000:]
    ids = committed_ids(tmp_path / "out")
    assert len(ids) == ROWS and sorted(ids) == list(range(1, ROWS + 1)), (
        f"{len(ids)} rows, {len(set(ids))} distinct, of {ROWS}")
