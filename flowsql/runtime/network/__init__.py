"""The network layer of a FlowSQL cluster: gates by key, Arrow Flight channels, control calls."""
