-- A temporal join whose condition has no equality on the versioned table's primary key.
-- kind: ValidationError
-- error: Validation error: a temporal join must join on the primary key of the versioned table rates (cur), but the condition has no equality on cur (line 6, column 36)
-- error: Hint: e.g. ON o.cur = r.cur
SET 'execution.runtime-mode' = 'streaming';
CREATE TEMPORARY TABLE rates (cur STRING, rate DOUBLE, rts TIMESTAMP(3),
  PRIMARY KEY (cur) NOT ENFORCED, WATERMARK FOR rts AS rts - INTERVAL '5' SECOND)
  WITH ('connector' = 'datagen', 'number-of-rows' = '10');
SELECT c.url, r.rate FROM clicks AS c
  JOIN rates FOR SYSTEM_TIME AS OF c.ts AS r ON c.url = CAST(r.rate AS STRING);
