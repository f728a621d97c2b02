-- CREATE FUNCTION naming a Python module that is not on the module search path.
-- kind: ValidationError
-- error: Validation error: function 'shout': cannot import module 'no_such_udfs': ModuleNotFoundError: No module named 'no_such_udfs'
-- error: Hint: put the module on PYTHONPATH or list its file in SET 'python.files'
-- cli
CREATE TEMPORARY FUNCTION shout AS 'no_such_udfs.shout';
