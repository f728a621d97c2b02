-- A temporal join on event time against a table that has no primary key and no watermark.
-- kind: ValidationError
-- error: Validation error: a temporal join needs a versioned table (a primary key and a watermark): customers has no primary key and no watermark, and 'c.ts' is not a processing-time attribute (line 3, column 40)
-- error: Hint: for a lookup join use a PROCTIME() attribute of the probe side, e.g. FROM (SELECT *, PROCTIME() AS p FROM o) o JOIN t FOR SYSTEM_TIME AS OF o.p; for an event-time temporal join declare PRIMARY KEY (...) NOT ENFORCED and a WATERMARK on the versioned table
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT c.url, u.name FROM clicks AS c
  JOIN customers FOR SYSTEM_TIME AS OF c.ts AS u ON c.id = u.id;
