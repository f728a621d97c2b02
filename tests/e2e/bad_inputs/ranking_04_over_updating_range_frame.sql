-- An OVER aggregation over an updating input with a bounded RANGE frame over a STRING sort key.
-- kind: NotSupportedError
-- error: Not supported yet: this RANGE frame over an updating input (line 2, column 51)
-- error: Hint: a bounded RANGE frame takes one sort key: an integer with a number (RANGE BETWEEN 3 PRECEDING AND CURRENT ROW) or a TIMESTAMP with an INTERVAL; or ROWS frames
SET 'execution.runtime-mode' = 'streaming';
SELECT url, SUM(n) OVER (PARTITION BY id ORDER BY url RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS s
FROM (SELECT url, id, COUNT(*) AS n FROM clicks GROUP BY url, id);
