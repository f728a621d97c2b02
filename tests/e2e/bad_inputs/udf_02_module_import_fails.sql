-- CREATE FUNCTION naming a module whose own imports fail.
-- kind: ValidationError
-- error: Validation error: function 'shout': cannot import module 'broken_udfs': ModuleNotFoundError: No module named 'a_library_that_is_not_installed'
SET 'python.files' = '${DATA}/broken_udfs.py';
CREATE TEMPORARY FUNCTION shout AS 'broken_udfs.shout';
