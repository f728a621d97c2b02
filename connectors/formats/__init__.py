"""Formats shared by the connectors (filesystem; kafka decodes message values with the json
decoder here, :func:`connectors.formats.json_format.decode_json_lines`, and has its own
per-message csv and raw codecs in ``connectors/kafka/``).

- :mod:`connectors.formats.csv_format`, :mod:`connectors.formats.json_format`: each declares its
  Flink options (``csv.*`` / ``json.*`` :class:`~connectors.base.OptionSpec` lists) and reads
  files into an Arrow table of the declared physical columns, reporting malformed records with
  their file and line.
- :mod:`connectors.formats.parquet_format`: a DuckDB table expression over parquet files.
- :mod:`connectors.formats.writer`: writes one part file in any of the three formats.
- :mod:`connectors.formats.duck`: small DuckDB helpers (quoting, a private connection,
  conforming a result to the declared Arrow schema).
"""
