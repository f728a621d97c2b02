-- A streaming-only construct (a temporal join) in batch mode.
-- kind: NotSupportedError
-- error: Not supported yet: FOR SYSTEM_TIME AS OF (temporal join) in batch mode
SELECT o.id, c.city
FROM orders AS o
JOIN customers FOR SYSTEM_TIME AS OF o.id AS c ON o.id = c.id;
