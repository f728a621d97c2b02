"""Vectorized operators: each takes and returns pyarrow RecordBatches."""
