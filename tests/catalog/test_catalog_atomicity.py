"""Crash safety: a process SIGKILLed mid-DDL leaves each object wholly present or absent.

A child process loops over CREATE/DROP TABLE (large option maps, so each write spans many
pages) and CREATE/DROP DATABASE … CASCADE; the test kills it with SIGKILL at random moments,
several times over the same store, and after each kill opens the store and checks every
object decodes to a complete definition.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog.catalog import Catalog
from catalog.table import TableDefinition

REPO = Path(__file__).resolve().parents[2]
N_OPTIONS = 400
N_COLUMNS = 40

CHILD = f"""
import sys
from catalog.catalog import Catalog
from catalog.table import Column, TableDefinition

N_OPTIONS, N_COLUMNS = {N_OPTIONS}, {N_COLUMNS}
catalog = Catalog(sys.argv[1])
i = int(sys.argv[2])
ready = False
while True:
    if i % 5 == 1 and not ready:  # a DDL has committed: let the parent pick its moment
        print("ready", flush=True)
        ready = True
    db = "db" if i % 11 < 6 else "default_database"
    if db == "db" and not catalog.create_database("db", if_not_exists=True) and i % 23 == 0:
        catalog.drop_database("db", cascade=True)
        i += 1
        continue
    name = (db, "t" + str(i % 5))
    if catalog.find(name) is not None:
        catalog.drop_table(name)
    else:
        catalog.create_table(TableDefinition(
            name=catalog.resolve(name),
            columns=tuple(Column("c" + str(j), "BIGINT") for j in range(N_COLUMNS)),
            options={{"k" + str(j): str(i) + "-" + str(j) + "-" + "x" * 100
                      for j in range(N_OPTIONS)}},
        ))
    i += 1
"""


def _check_complete(defn: TableDefinition) -> None:
    assert len(defn.columns) == N_COLUMNS
    assert len(defn.options) == N_OPTIONS
    generation = defn.options["k0"].split("-")[0]
    for j in range(N_OPTIONS):
        assert defn.options[f"k{j}"] == f"{generation}-{j}-" + "x" * 100


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_ddl_leaves_objects_whole_or_absent(tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    store = tmp_path / "catalog.db"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    seen_objects = 0
    for round_ in range(6):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(store), str(round_ * 1000)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(REPO),
        )
        try:
            line = proc.stdout.readline()
            assert line.strip() == b"ready", proc.stderr.read().decode()
            time.sleep(rng.uniform(0.02, 0.4))  # a random point in the DDL loop
            assert proc.poll() is None, proc.stderr.read().decode()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL

        catalog = Catalog(store)  # must open: no CatalogError after a crash
        try:
            for database in catalog.list_databases():
                for name, kind in catalog.list_objects(database=database):
                    assert kind == "table"
                    obj = catalog.get((database, name))
                    assert isinstance(obj, TableDefinition), f"seed {seed}"
                    _check_complete(obj)
                    seen_objects += 1
        finally:
            catalog.close()
    assert seen_objects > 0, f"seed {seed}: the child never committed a table"
