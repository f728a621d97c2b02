-- DROP TABLE of a table that does not exist.
-- kind: CatalogError
-- error: Catalog error: Table 'nosuch' not found in default_catalog.default_database
-- error: Hint: existing tables and views: orders, customers, clicks
DROP TABLE nosuch;
