"""C extension modules (everything else is in pyproject.toml).

All are optional: without a C compiler (or Python's headers) the build warns and FlowSQL
installs without them; their callers then use the pure-Python/Arrow paths. ``make test``
checks that they were built (tests/connectors/test_native_built.py)."""

from setuptools import Extension, setup

ARGS = ["-O2", "-std=gnu11", "-Wall", "-Wno-unused-function"]


def native(module: str, *depends: str) -> Extension:
    path = module.replace(".", "/")
    return Extension(module, [f"{path}.c"], depends=list(depends), extra_compile_args=ARGS,
                     libraries=["dl"], optional=True)


setup(ext_modules=[
    native("connectors.kafka.native._consumer", "connectors/kafka/native/rdkafka_api.h"),
    native("connectors.kafka.native._producer", "connectors/kafka/native/rdkafka_api.h"),
    native("connectors.formats.native._jsonscan", "connectors/formats/native/scanbuf.h"),
    native("connectors.formats.native._csvscan", "connectors/formats/native/scanbuf.h"),
    native("connectors.formats.native._jsonwrite"),
])
