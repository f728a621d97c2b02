-- A function that is not a Flink built-in.
-- kind: NotSupportedError
-- error: Not supported yet: function MY_UDF()
-- error: Hint: FlowSQL runs Flink's built-in functions; register a Python function with CREATE FUNCTION (docs/udf.md)
SELECT MY_UDF(name) FROM orders;
