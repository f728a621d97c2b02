"""Python UDFs of the differential tests (tests/e2e is on sys.path, see conftest.py)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.udf import udaf, udf


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


@udaf(result_type="DOUBLE")
class WeightedAvg:
    """SUM(v * w) / SUM(w) over the rows where both are set (NULL when no weight)."""

    def create_accumulator(self):
        return [0, 0]

    def _parts(self, v, w):
        both = pc.and_(pc.is_valid(v), pc.is_valid(w))
        vw = pc.sum(pc.multiply(pc.cast(pc.filter(v, both), pa.int64()),
                                pc.cast(pc.filter(w, both), pa.int64()))).as_py() or 0
        return vw, pc.sum(pc.cast(pc.filter(w, both), pa.int64())).as_py() or 0

    def accumulate(self, acc, v, w):
        vw, ws = self._parts(v, w)
        return [acc[0] + vw, acc[1] + ws]

    def retract(self, acc, v, w):
        vw, ws = self._parts(v, w)
        return [acc[0] - vw, acc[1] - ws]

    def merge(self, acc, others):
        return [acc[0] + sum(o[0] for o in others), acc[1] + sum(o[1] for o in others)]

    def get_value(self, acc):
        return acc[0] / acc[1] if acc[1] else None


@udaf(result_type="BIGINT")
class CountLong:
    """How many non-NULL strings longer than 3 characters."""

    def create_accumulator(self):
        return 0

    def accumulate(self, acc, s):
        return acc + (pc.sum(pc.greater(pc.utf8_length(s), 3)).as_py() or 0)

    def retract(self, acc, s):
        return acc - (pc.sum(pc.greater(pc.utf8_length(s), 3)).as_py() or 0)

    def get_value(self, acc):
        return acc

