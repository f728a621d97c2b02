"""Vectorized Flink SQL expressions: ``compile_expression(ast, schema).evaluate(batch)``.

Modules: compile (entry point, name resolution) · operators / conditional / calls (node
compilation) · functions (the built-in function table) · strings / temporal / casts
(kernels) · typing (Flink type rules) · kernels (shared vectorized helpers).
"""

from flowsql.expr.compile import CompiledExpr, compile_expression, parse_expression

__all__ = ["CompiledExpr", "compile_expression", "parse_expression"]
