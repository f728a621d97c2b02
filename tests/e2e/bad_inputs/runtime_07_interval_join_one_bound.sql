-- An interval join that bounds the other input's time from one side only.
-- kind: ValidationError
-- error: Validation error: an interval join needs a lower and an upper bound between the inputs' time attributes; 'a.ts >= b.ts' has no upper bound (line 3, column 6)
-- error: Hint: bound both sides, e.g. ON a.ts BETWEEN b.ts - INTERVAL '10' SECOND AND b.ts + INTERVAL '10' SECOND (or join on an equality of the inputs' columns for a regular join)
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT a.url, b.url AS other FROM clicks AS a JOIN clicks AS b
  ON a.ts >= b.ts;
