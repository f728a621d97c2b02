"""blackhole."""
