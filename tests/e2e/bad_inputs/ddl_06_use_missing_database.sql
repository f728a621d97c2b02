-- USE of a database that does not exist.
-- kind: CatalogError
-- error: Catalog error: Database 'analytics' not found in catalog 'default_catalog'
-- error: Hint: existing databases: default_database
-- cli
USE analytics;
