-- A ROW_NUMBER() Top-N whose filter has no upper bound on the row number.
-- kind: NotSupportedError
-- error: Not supported yet: ROW_NUMBER() OVER without an upper bound on the row number (line 3, column 45)
-- error: Hint: filter it: WHERE rn <= N (Top-N) or rn = 1 (deduplication)
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT id, url FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY url ORDER BY id DESC) AS rn FROM clicks
) WHERE rn > 1;
