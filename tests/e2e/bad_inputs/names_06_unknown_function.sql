-- A function that is not a Flink built-in.
-- kind: NotSupportedError
-- error: Not supported yet: function MY_UDF()
-- error: Hint: FlowSQL batch mode runs Flink built-in functions only
SELECT MY_UDF(name) FROM orders;
