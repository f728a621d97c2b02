"""physical."""
