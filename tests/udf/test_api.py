"""The decorator API (flowsql.udf), the loader and the one call path of scalar UDFs."""

from __future__ import annotations

import pyarrow as pa
import pytest
import udf_samples

from flowsql.errors import ExecutionError, ValidationError
from flowsql.udf import AggregateFunction, ScalarFunction, TableFunction, udaf, udf, udtf
from flowsql.udf.invoke import call_scalar
from flowsql.udf.loader import load_function, looks_like_jvm_class


def test_result_type_declared_or_inferred():
    assert str(udf_samples.count_char.result_type) == "BIGINT"
    assert str(udf_samples.plus_one.result_type) == "BIGINT"  # -> pa.int64() (string annotation)
    assert str(udf_samples.halve.result_type) == "DOUBLE"  # -> float

    @udf(result_type=pa.string())
    def f(x):
        return x

    assert str(f.result_type) == "STRING"
    assert isinstance(f, ScalarFunction) and f.name == "f" and f.deterministic


def test_decorated_function_stays_callable():
    assert udf_samples.plus_one(pa.array([1, 2])).to_pylist() == [2, 3]


def test_missing_result_type_is_an_error():
    with pytest.raises(ValidationError, match="declares no result type"):
        @udf
        def f(x):
            return x


def test_bad_result_type_is_an_error():
    with pytest.raises(ValidationError, match="cannot use"):
        udf(lambda x: x, result_type=list)


def test_udtf_and_udaf_declarations():
    assert isinstance(udf_samples.split_words, TableFunction)
    assert udf_samples.split_words.names == ("word", "n")
    assert [str(t) for t in udf_samples.split_words.result_types] == ["STRING", "BIGINT"]
    with pytest.raises(ValidationError, match="2 names for 1 result types"):
        udtf(lambda s: s, result_types=["STRING"], names=["a", "b"])
    agg = udf_samples.SumSquares
    assert isinstance(agg, AggregateFunction) and agg.can_retract and agg.can_merge
    with pytest.raises(ValidationError, match="lacks accumulate, get_value"):
        @udaf(result_type="BIGINT")
        class Bad:
            def create_accumulator(self):
                return 0


def test_call_scalar_converts_and_checks_the_result():
    out = call_scalar(udf_samples.count_char, "count_char",
                      [pa.array(["banana", None]), pa.array(["a", "a"])], 2)
    assert out.to_pylist() == [3, None] and out.type == pa.int64()
    with pytest.raises(ExecutionError, match="returned 1 values for 3 rows"):
        call_scalar(udf_samples.wrong_length, "wrong_length", [pa.array([1, 2, 3])], 3)
    with pytest.raises(ExecutionError, match="returned values that are not BIGINT"):
        call_scalar(udf_samples.not_numbers, "not_numbers", [pa.array([1])], 1)


def test_a_raising_function_names_the_first_offending_row():
    with pytest.raises(ExecutionError) as info:
        call_scalar(udf_samples.fails_on_three, "f3", [pa.array([1, 2, 3, 4, 3])], 5)
    assert info.value.message == (
        "Python function 'f3' raised ValueError: three is not allowed on the row with arguments (3)"
    )


def test_loader_errors():
    assert load_function("udf_samples.count_char", "cc") is udf_samples.count_char
    with pytest.raises(ValidationError, match="has no attribute 'nope'"):
        load_function("udf_samples.nope", "f")
    with pytest.raises(ValidationError, match="is not a FlowSQL function"):
        load_function("udf_samples.plain_function", "f")
    with pytest.raises(ValidationError, match="not a Python path"):
        load_function("count_char", "f")
    with pytest.raises(ValidationError, match="names a Java class"):
        load_function("com.example.udf.MyUdf", "f")
    with pytest.raises(ValidationError, match="names a Java class"):
        load_function("udf_samples.count_char", "f", "JAVA")
    assert looks_like_jvm_class("org.acme.udf.CountChar")
    assert not looks_like_jvm_class("my_udfs.count_char")
    assert not looks_like_jvm_class("my_udfs.WeightedAvg")  # a Python aggregate class
    with pytest.raises(ValidationError, match="cannot import module 'gone_udfs'"):
        load_function("gone_udfs.WeightedAvg", "wavg")
