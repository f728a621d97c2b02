"""The ``blackhole`` connector: a sink that counts rows and drops them (benchmarks, tests)."""
