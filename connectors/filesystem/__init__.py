"""The ``filesystem`` connector: bounded reads and part-file writes of csv / json / parquet.

See :mod:`connectors.filesystem.factory` (options, scan, sink) and
:mod:`connectors.filesystem.paths` (how 'path' resolves to files).
"""
