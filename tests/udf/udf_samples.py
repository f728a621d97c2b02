"""Python UDFs the tests register with CREATE FUNCTION ... AS 'udf_samples.<name>'."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.udf import udaf, udf, udtf


@udf(result_type="BIGINT")
def count_char(s, c):
    """How often the one-character string ``c`` occurs in ``s`` (NULL for NULL)."""
    return pc.count_substring(s, c[0].as_py() if len(c) else "")


@udf
def plus_one(x) -> pa.int64():
    return pc.add(x, 1)


@udf
def halve(x) -> float:
    return pc.divide(pc.cast(x, pa.float64()), 2.0)


@udf(result_type="BIGINT")
def fails_on_three(x):
    if pc.any(pc.equal(x, 3)).as_py():
        raise ValueError("three is not allowed")
    return x


@udf(result_type="BIGINT")
def wrong_length(x):
    return pa.array([1], pa.int64())


@udf(result_type="BIGINT")
def not_numbers(x):
    return pa.array(["x"] * len(x))


@udtf(result_types=["STRING", "BIGINT"], names=["word", "n"])
def split_words(s):
    return {"$row": [], "word": [], "n": []}


@udaf(result_type="BIGINT")
class SumSquares:
    def create_accumulator(self):
        return 0

    def accumulate(self, acc, x):
        return acc + (pc.sum(pc.multiply(x, x)).as_py() or 0)

    def retract(self, acc, x):
        return acc - (pc.sum(pc.multiply(x, x)).as_py() or 0)

    def merge(self, acc, others):
        return acc + sum(others)

    def get_value(self, acc):
        return acc


def plain_function(x):
    return x


@udaf(result_type="BIGINT")
class FailsOnSeven:
    def create_accumulator(self):
        return 0

    def accumulate(self, acc, x):
        if pc.any(pc.equal(x, 7)).as_py():
            raise ValueError("seven")
        return acc + len(x)

    def get_value(self, acc):
        return acc


@udtf(result_types=["STRING", "INT"], names=["word", "len"])
def words(s):
    """The words of ``s`` split on spaces (none for NULL), with their lengths."""
    lists = pc.split_pattern(s, " ")
    flat = pc.list_flatten(lists)
    return {"$row": pc.list_parent_indices(lists), "word": flat, "len": pc.utf8_length(flat)}
