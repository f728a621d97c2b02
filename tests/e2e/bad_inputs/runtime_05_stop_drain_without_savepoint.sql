-- STOP JOB ... WITH DRAIN without WITH SAVEPOINT.
-- kind: ValidationError
-- error: Validation error: STOP JOB ... WITH DRAIN needs WITH SAVEPOINT: drain fires every event-time window, then the job stops with a savepoint
-- error: Hint: STOP JOB '3f9c2b7a1d4e4f6a' WITH SAVEPOINT WITH DRAIN;  (or STOP JOB '3f9c2b7a1d4e4f6a'; to cancel without firing windows)
-- cli
STOP JOB '3f9c2b7a1d4e4f6a' WITH DRAIN;
