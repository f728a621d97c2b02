"""Python user-defined functions: the decorator API users import (``from flowsql.udf import
udf, udtf, udaf``), plus loading (:mod:`.loader`), resolution of catalog functions in a query
(:mod:`.resolve`) and the one call path both engines use (:mod:`.invoke`). See docs/udf.md."""

from flowsql.udf.api import AggregateFunction, ScalarFunction, TableFunction, udaf, udf, udtf

__all__ = ["udf", "udtf", "udaf", "ScalarFunction", "TableFunction", "AggregateFunction"]
