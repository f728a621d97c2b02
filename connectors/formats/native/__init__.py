"""Compiled helpers of the formats (C extension modules built by ``setup.py``, optional: a
machine without a C compiler installs FlowSQL without them, and the callers fall back to their
pure-Python/Arrow paths)."""
