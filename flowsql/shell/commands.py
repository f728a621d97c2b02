"""Shell commands: the few inputs the shell answers itself instead of the session.

Contract:
- :func:`parse_command` recognises ``HELP``, ``CLEAR``, ``QUIT`` and ``EXIT`` — any case,
  with or without a trailing ``;`` and surrounding whitespace — and returns the
  :class:`Command`, or ``None`` for anything else (which goes to the session as SQL).
- :data:`HELP_TEXT` is what ``HELP;`` prints: the SQL statements FlowSQL accepts and the shell
  commands and keys.
"""

from __future__ import annotations

import enum


class Command(enum.Enum):
    HELP = "help"
    CLEAR = "clear"
    QUIT = "quit"


_COMMANDS = {
    "help": Command.HELP,
    "clear": Command.CLEAR,
    "quit": Command.QUIT,
    "exit": Command.QUIT,
}


def parse_command(text: str) -> Command | None:
    """The shell command ``text`` names, or None when it is SQL for the session."""
    word = text.strip().rstrip(";").strip().lower()
    return _COMMANDS.get(word)


HELP_TEXT = """\
Statements (end each with ';'; a statement may span several lines):
  CREATE [TEMPORARY] TABLE [IF NOT EXISTS] t (...) [WITH ('connector' = '...', ...)]
  CREATE [TEMPORARY] VIEW [IF NOT EXISTS] v AS SELECT ...
  CREATE DATABASE [IF NOT EXISTS] db         DROP DATABASE [IF EXISTS] db [CASCADE]
  DROP [TEMPORARY] TABLE|VIEW [IF EXISTS] name
  CREATE [TEMPORARY [SYSTEM]] FUNCTION [IF NOT EXISTS] f AS 'module.f' [LANGUAGE PYTHON]
  DROP [TEMPORARY [SYSTEM]] FUNCTION [IF EXISTS] f     (Python functions: docs/udf.md)
  USE CATALOG c       USE db
  SHOW CATALOGS|DATABASES|TABLES|VIEWS|[USER] FUNCTIONS|JOBS|CURRENT CATALOG|CURRENT DATABASE
  SHOW CREATE TABLE|VIEW name       DESCRIBE name
  SELECT ...          INSERT INTO|OVERWRITE t SELECT ...
  EXECUTE STATEMENT SET BEGIN INSERT ...; INSERT ...; END
  EXPLAIN SELECT ... | INSERT ...
  SET                 list the session settings that differ from their defaults
  SET 'key' = 'value' e.g. SET 'execution.runtime-mode' = 'batch';
                      SET 'sql-client.execution.result-mode' = 'table'|'changelog'|'tableau';
                      SET 'table.dml-sync' = 'true';  (INSERT waits for its job)
  RESET ['key']       restore one or all settings to their defaults
  STOP JOB 'id' [WITH SAVEPOINT [WITH DRAIN]]

Shell commands (any case, ';' optional):
  HELP                show this help
  CLEAR               clear the screen
  QUIT, EXIT          leave the shell (Ctrl-D too)

A streaming SELECT over unbounded input shows its result live (Q or Ctrl-C stops it);
INSERT submits a job and returns its id (SHOW JOBS lists jobs, STOP JOB 'id' stops one).

Keys: Ctrl-C cancels a running statement (at the prompt it clears the input);
Tab completes keywords, table, view and database names, and SET keys;
Up/Down recall earlier statements (history is kept in $FLOWSQL_HOME/history)."""
