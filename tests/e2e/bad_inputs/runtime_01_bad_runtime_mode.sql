-- SET of a value 'execution.runtime-mode' does not take.
-- kind: ValidationError
-- error: Validation error: invalid value 'fast' for 'execution.runtime-mode'
-- error: Hint: valid values: streaming, batch
-- cli
SET 'execution.runtime-mode' = 'fast';
