"""Python UDFs of the differential tests (tests/e2e is on sys.path, see conftest.py)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.udf import udf


@udf(result_type="BIGINT")
def count_char(s, c):
    """Nexmark q14's ``count_char(extra, 'c')``: occurrences of ``c`` in ``s``."""
    return pc.count_substring(s, c[0].as_py())


@udf(result_type="STRING")
def tag(k, v):
    """``k:v``, NULL when either is NULL."""
    return pc.binary_join_element_wise(k, pc.cast(v, pa.string()), ":")


@udf
def scaled(v, p) -> float:
    return pc.multiply(pc.cast(v, pa.float64()), pc.fill_null(p, 1.0))
