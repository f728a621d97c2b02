"""The interactive SQL shell: a prompt_toolkit prompt in front of a :class:`Runner`.

Contract:
- The prompt is ``FlowSQL> ``; Enter runs the input when it is complete (every statement
  closed by ``;`` outside quotes, comments and BEGIN … END blocks, or a bare shell command,
  see :mod:`flowsql.shell.scanner`), otherwise it starts a new line under the continuation
  prompt ``       > ``. Escape-Enter runs the input as it is.
- History is kept in ``<FLOWSQL_HOME>/history`` (one entry per input, multi-line entries
  whole), so Up recalls earlier statements, also across restarts.
- Tab completes keywords, catalog names (refreshed after DDL/USE) and SET keys
  (:mod:`flowsql.shell.completer`); input is highlighted with pygments' SQL lexer.
- Ctrl-C at the prompt clears the input; Ctrl-C while a statement runs cancels it (the
  runner's job); Ctrl-D on an empty line, ``QUIT`` or ``EXIT`` leave with exit code 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.filters import has_focus
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.shortcuts import clear as clear_screen
from pygments.lexers.sql import SqlLexer

from flowsql import __version__
from flowsql.errors import QueryCancelled
from flowsql.shell.completer import SqlCompleter
from flowsql.shell.render import Renderer
from flowsql.shell.runner import CONTINUATION, PROMPT, Runner
from flowsql.shell.scanner import is_complete

HISTORY_FILE = "history"
BANNER = (
    f"Welcome to FlowSQL {__version__}. "
    "End statements with ';'. Type HELP; for help, QUIT; (or Ctrl-D) to leave."
)


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter", filter=has_focus("DEFAULT_BUFFER"))
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            buffer.complete_state = None  # Enter picks the highlighted completion
            return
        if is_complete(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    return bindings


class Repl:
    """The read–run–print loop over ``runner`` (see module contract)."""

    def __init__(self, session: Any, renderer: Renderer, *, history_path: Path | None = None):
        self.session = session
        self.renderer = renderer
        self.runner = Runner(session, renderer, on_clear=clear_screen)
        self.completer = SqlCompleter(getattr(session, "catalog", None))
        self.completer.refresh()
        path = history_path or Path(session.home) / HISTORY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        self.prompt = PromptSession(
            message=PROMPT,
            multiline=True,
            prompt_continuation=lambda width, line_number, is_soft_wrap: CONTINUATION,
            history=FileHistory(str(path)),
            completer=self.completer,
            complete_while_typing=False,
            lexer=PygmentsLexer(SqlLexer),
            key_bindings=_key_bindings(),
            enable_history_search=False,
        )

    def run(self) -> int:
        """Read and run inputs until QUIT/EXIT/Ctrl-D; returns the exit code (0)."""
        self.renderer.text(BANNER)
        self.renderer.out.print()
        while True:
            try:
                text = self.prompt.prompt()
            except KeyboardInterrupt:  # Ctrl-C at the prompt: drop the input, ask again
                continue
            except EOFError:  # Ctrl-D on an empty line
                self.renderer.text("Exiting FlowSQL.")
                return 0
            if not text.strip():
                continue
            try:
                outcome = self.runner.run_text(text)
            except KeyboardInterrupt:  # Ctrl-C between statements or while printing
                self.renderer.error(QueryCancelled("cancelled"))
                continue
            if outcome.ddl or self.completer.catalog is not getattr(self.session, "catalog", None):
                self.completer.catalog = getattr(self.session, "catalog", None)  # SET ... kind
                self.completer.refresh()
            if outcome.quit:
                return 0
