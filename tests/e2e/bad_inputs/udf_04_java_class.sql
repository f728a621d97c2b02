-- CREATE FUNCTION with a Java class, as a Flink script would register one.
-- kind: ValidationError
-- error: Validation error: function 'count_char' AS 'com.example.CountChar' names a Java class, but FlowSQL runs Python functions only
-- error: Hint: write the function in Python and register it with CREATE FUNCTION count_char AS 'my_udfs.count_char' LANGUAGE PYTHON
CREATE FUNCTION count_char AS 'com.example.CountChar' LANGUAGE JAVA;
