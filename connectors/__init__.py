"""FlowSQL connectors: one folder each, a factory that declares and validates its options."""
