-- A streaming-only construct (a temporal join) in batch mode.
-- kind: NotSupportedError
-- error: Not supported yet: FOR SYSTEM_TIME AS OF something other than a PROCTIME() attribute (a temporal join on event time) in batch mode
-- error: Hint: a lookup join (AS OF a PROCTIME() attribute) runs as a plain join
SELECT o.id, c.city
FROM orders AS o
JOIN customers FOR SYSTEM_TIME AS OF o.id AS c ON o.id = c.id;
