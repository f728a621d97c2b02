"""The network layer of a FlowSQL cluster: data exchange and control calls over Arrow Flight.

- :mod:`.gates`: the registry of a process's input gates, keyed by task id.
- :mod:`.codec`: control messages and FlowSQL errors as small versioned JSON bytes.
- :mod:`.exchange`: credit-based data channels (one Flight DoPut stream per channel) and DoGet
  result streams.
- :mod:`.server` / :mod:`.client`: one Flight server per process; control actions as JSON.

pyarrow.flight must never be used across ``fork``: start other processes with ``subprocess``.
"""
