"""The ``print`` connector: a sink writing rows to standard output (or error), Flink style."""
