"""Tab completion for the shell: SQL keywords, catalog names and SET keys.

Contract:
- After ``SET`` / ``RESET`` (optionally inside the opening quote) the completer offers the
  known configuration keys of :data:`flowsql.config.KNOWN_OPTIONS`, quoted; after
  ``SET 'key' =`` it offers that key's choices when it has any.
- Elsewhere it offers SQL keywords (in upper case, matched case-insensitively), shell
  commands, and the names of the current database's tables and views, the databases and
  the catalogs. Names come from :meth:`SqlCompleter.refresh`, which the REPL calls at
  start-up and after statements that may change them (DDL, USE); completing never touches the
  catalog store, so typing stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from flowsql.config import KNOWN_OPTIONS

KEYWORDS: tuple[str, ...] = tuple(
    sorted(
        set(
            """
    SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT OFFSET FETCH FIRST NEXT ROWS ROW ONLY AS
    DISTINCT ALL UNION INTERSECT EXCEPT MINUS VALUES WITH JOIN INNER LEFT RIGHT FULL OUTER
    CROSS ON USING LATERAL UNNEST AND OR NOT IN IS NULL LIKE SIMILAR BETWEEN EXISTS CASE WHEN
    THEN ELSE END CAST TRY_CAST TRUE FALSE INTERVAL SECOND MINUTE HOUR DAY MONTH YEAR ASC DESC
    OVER PARTITION WINDOW RANGE PRECEDING FOLLOWING UNBOUNDED CURRENT FILTER TABLE TUMBLE HOP
    CUMULATE SESSION DESCRIPTOR TUMBLE_START TUMBLE_END HOP_START HOP_END SESSION_START
    SESSION_END COUNT SUM AVG MIN MAX ROW_NUMBER RANK DENSE_RANK FIRST_VALUE LAST_VALUE LISTAGG
    COALESCE IF NULLIF DATE_FORMAT TO_TIMESTAMP TO_TIMESTAMP_LTZ TO_DATE UNIX_TIMESTAMP
    FROM_UNIXTIME SPLIT_INDEX REGEXP_EXTRACT REGEXP_REPLACE SUBSTRING UPPER LOWER TRIM CONCAT
    CONCAT_WS CHAR_LENGTH PROCTIME CURRENT_TIMESTAMP LOCALTIMESTAMP
    CREATE DROP ALTER TEMPORARY VIEW DATABASE CATALOG FUNCTION IF PRIMARY KEY ENFORCED
    WATERMARK FOR COMMENT PARTITIONED LIKE INCLUDING EXCLUDING OVERWRITING OPTIONS METADATA
    VIRTUAL CONSTRAINT CASCADE RESTRICT USE SHOW TABLES VIEWS DATABASES CATALOGS FUNCTIONS
    JOBS DESCRIBE DESC EXPLAIN INSERT INTO OVERWRITE EXECUTE STATEMENT SET RESET BEGIN STOP
    JOB SAVEPOINT DRAIN
    BOOLEAN TINYINT SMALLINT INT INTEGER BIGINT FLOAT DOUBLE PRECISION DECIMAL DEC NUMERIC
    CHAR VARCHAR STRING BINARY VARBINARY BYTES DATE TIME TIMESTAMP TIMESTAMP_LTZ ZONE LOCAL
    ARRAY MAP MULTISET
    """.split()
        )
    )
)
SHELL_COMMANDS: tuple[str, ...] = ("HELP", "CLEAR", "QUIT", "EXIT")

_SET_KEY = re.compile(r"^\s*(?:SET|RESET)\s+'?(?P<prefix>[\w.\-]*)$", re.IGNORECASE)
_SET_VALUE = re.compile(
    r"^\s*SET\s+'(?P<key>[\w.\-]+)'\s*=\s*'?(?P<prefix>[\w.\-]*)$", re.IGNORECASE
)
_WORD_BEFORE = re.compile(r"[\w$]*$")


def _plain_name(item: Any) -> str:
    """A catalog listing's entry as a bare name (str, ObjectName or name parts)."""
    if isinstance(item, str):
        return item
    if isinstance(item, tuple | list) and item:
        return str(item[-1])
    name = getattr(item, "name", None)
    if isinstance(name, str):
        return name
    return str(name if name is not None else item)


class SqlCompleter(Completer):
    """Completes keywords, names and SET keys (see module contract)."""

    def __init__(self, catalog: Any = None) -> None:
        self.catalog = catalog
        self.names: tuple[str, ...] = ()

    def refresh(self) -> None:
        """Re-read table, view, database and catalog names from the catalog."""
        names: set[str] = set()
        if self.catalog is not None:
            for method in ("list_tables", "list_views", "list_databases", "list_catalogs"):
                try:
                    names.update(_plain_name(x) for x in getattr(self.catalog, method)())
                except Exception:  # noqa: BLE001 - completion must never break the prompt
                    continue
        self.names = tuple(sorted(names, key=str.lower))

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        before = document.text_before_cursor
        line = before.rsplit(";", 1)[-1]  # only the statement being typed matters
        key_match = _SET_KEY.match(line)
        if key_match:
            prefix = key_match.group("prefix")
            typed = len(prefix) + (1 if line.rstrip().endswith("'" + prefix) else 0)
            yield from self._offer(
                (f"'{key}'" for key in KNOWN_OPTIONS),
                prefix.lower(),
                typed,
                strip_quote=True,
                meta={f"'{k}'": o.description for k, o in KNOWN_OPTIONS.items()},
            )
            return
        value_match = _SET_VALUE.match(line)
        if value_match:
            option = KNOWN_OPTIONS.get(value_match.group("key"))
            if option and option.choices:
                prefix = value_match.group("prefix")
                typed = len(prefix) + (1 if line.endswith("'" + prefix) else 0)
                choices = (f"'{c}'" for c in option.choices)
                yield from self._offer(choices, prefix.lower(), typed, strip_quote=True)
            return
        word = _WORD_BEFORE.search(before)
        prefix = word.group() if word else ""
        if not prefix:
            return
        lowered = prefix.lower()
        for name in self.names:
            if name.lower().startswith(lowered) and name != prefix:
                yield Completion(name, start_position=-len(prefix), display_meta="name")
        for keyword in KEYWORDS + SHELL_COMMANDS:
            if keyword.lower().startswith(lowered) and keyword != prefix:
                yield Completion(keyword, start_position=-len(prefix))

    @staticmethod
    def _offer(
        candidates: Iterable[str],
        prefix: str,
        typed: int,
        *,
        strip_quote: bool,
        meta: dict[str, str] | None = None,
    ) -> Iterator[Completion]:
        for candidate in candidates:
            bare = candidate.strip("'") if strip_quote else candidate
            if bare.lower().startswith(prefix):
                yield Completion(
                    candidate,
                    start_position=-typed,
                    display_meta=(meta or {}).get(candidate, ""),
                )
