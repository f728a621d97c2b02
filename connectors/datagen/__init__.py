"""The ``datagen`` connector: generated rows (see :mod:`connectors.datagen.generator`)."""
