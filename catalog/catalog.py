"""The session's view of the catalog: persistent store + TEMPORARY objects + current names.

API contract (used by the session handlers, the batch runner and the planner):
- ``Catalog(store_path)`` opens (creating if needed) the persistent store; a corrupt store
  raises ``CatalogError`` at start-up, never silently resets.
- ``current_catalog`` / ``current_database``; ``use_catalog(name)``, ``use_database(name)``.
- ``resolve(parts) -> ObjectName``: 1-3 identifier parts completed with the current names.
- ``get(name_or_parts) -> TableDefinition | ViewDefinition``: TEMPORARY objects shadow
  persistent ones; unknown names raise ``CatalogError`` naming the object and listing the
  objects that do exist in that database (closest match first).
- ``create_table(defn, if_not_exists=False)``, ``create_view(defn, if_not_exists=False)``,
  ``drop_table(parts, if_exists=False, temporary=False)``, ``drop_view(...)``,
  ``create_database(parts, if_not_exists=False, comment=None)``,
  ``drop_database(parts, if_exists=False, cascade=False)``.
- ``list_catalogs()``, ``list_databases()``, ``list_tables()``, ``list_views()``
  (the current catalog/database; tables excludes views, both include temporaries).
- Every change to the persistent store is atomic: a process killed mid-DDL leaves the
  object wholly present or wholly absent.
"""

from __future__ import annotations
