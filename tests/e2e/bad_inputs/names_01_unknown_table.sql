-- A table that does not exist; the hint lists the existing ones.
-- kind: CatalogError
-- error: Catalog error: Table 'order' not found in default_catalog.default_database
-- error: Hint: did you mean 'orders'? existing tables and views: orders, customers, clicks
-- cli
SELECT * FROM `order`;
