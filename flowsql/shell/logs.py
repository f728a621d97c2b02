"""Where the engine's log records go while the shell runs.

Contract:
- :func:`configure_logging` sends records of the ``flowsql`` logger tree (e.g. the runtime's
  ``task ... failed`` with its traceback) to ``<FLOWSQL_HOME>/log/flowsql.log`` instead of the
  terminal: the shell reports job failures itself, as one clear message, and tracebacks are
  for ``--verbose`` (then records also go to stderr). Without this, Python's last-resort
  handler would print them in the middle of the user's results.
- Calling it again replaces the handlers it installed before (one home per process).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_DIR = "log"
LOG_FILE = "flowsql.log"
_MARK = "_flowsql_shell_handler"


def configure_logging(home: Path, *, verbose: bool = False) -> Path | None:
    """Route the ``flowsql`` loggers (see module contract); returns the log file's path."""
    logger = logging.getLogger("flowsql")
    for handler in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    path: Path | None = Path(home) / LOG_DIR / LOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, encoding="utf-8", delay=True))
    except OSError:
        path = None
        handlers.append(logging.NullHandler())
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        setattr(handler, _MARK, True)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    logger.propagate = False
    return path
