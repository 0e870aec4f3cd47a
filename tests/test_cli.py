"""The CLI as a user drives it: init, ingest, cone, SQL, with exit codes that tell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from conftest import cli_commands
from typer.testing import CliRunner

from galcat.catalog.schema_version import SCHEMA_HEAD
from galcat.cli import app

runner = CliRunner()


def test_every_command_has_help_with_an_example() -> None:
    paths = [path for path, _ in cli_commands()]
    assert ("query", "cone") in paths and ("ingest", "catalog") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, path


def test_a_session_on_both_backends(galcat_env: dict[str, str], tmp_path: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    rng = np.random.default_rng(5)
    table = Table({"id": [f"q{i}" for i in range(200)], "ra": rng.uniform(10, 11, 200),
                   "dec": rng.uniform(-1, 1, 200), "z": rng.uniform(2, 4, 200)})
    table.write(tmp_path / "qso.fits")
    bad = table.copy()
    bad["dec"][3] = -95
    bad.write(tmp_path / "bad.fits")
    result = runner.invoke(app, ["ingest", "catalog", str(tmp_path / "qso.fits"),
                                 str(tmp_path / "bad.fits"), "--kind", "sightline"])
    assert result.exit_code == 1
    assert "bad.fits, row 4, column 'dec'" in result.output
    assert "1 of 2 files loaded (200 new rows)" in result.output
    out = tmp_path / "cone.csv"
    result = runner.invoke(app, ["query", "cone", "10.5", "0", "0.3", "--table", "sightline",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    cone = Table.read(out, format="ascii.csv")
    sep = np.hypot((table["ra"] - 10.5) * np.cos(np.radians(table["dec"])), table["dec"])
    assert len(cone) == int(np.sum(sep <= 0.3)) > 0
    result = runner.invoke(app, ["query", "sql", "SELECT count(*) AS n FROM sightline"])
    assert result.exit_code == 0 and "200" in result.output
    result = runner.invoke(app, ["query", "sql", "DELETE FROM sightline"])
    assert result.exit_code == 1 and "read-only" in result.output
    attached = tmp_path / "attached.sqlite"
    result = runner.invoke(app, ["query", "sql", f"ATTACH DATABASE '{attached}' AS x"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert not attached.exists()
    result = runner.invoke(app, ["query", "cone", "10", "100", "1"])
    assert result.exit_code == 2 and "outside [-90, 90]" in result.output


def test_console_script_is_installed(tmp_path: Path) -> None:
    env = {**os.environ, "GALCAT_HOME": str(tmp_path)}
    env.pop("GALCAT_DATABASE_URL", None)
    galcat = Path(sys.executable).with_name("galcat")
    early = subprocess.run([str(galcat), "query", "sql", "SELECT 1"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert early.returncode == 2 and "galcat init" in early.stderr
    done = subprocess.run([str(galcat), "init"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "galcat.sqlite").exists()
    status = subprocess.run([str(galcat), "status"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert f"schema    {SCHEMA_HEAD}" in status.stdout


@pytest.mark.parametrize("argv", [["nonsense"], ["query", "cone"]])
def test_usage_errors_exit_nonzero(argv: list[str]) -> None:
    assert runner.invoke(app, argv).exit_code != 0


def test_reading_commands_refuse_a_catalog_that_was_never_initialised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from galcat.catalog.db import forget_databases

    monkeypatch.setenv("GALCAT_HOME", str(tmp_path))
    monkeypatch.setenv("GALCAT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        for args in (["query", "sql", "SELECT 1"], ["query", "cone", "10", "0", "1"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 2, result.output
            assert "no galcat catalogue" in result.output
            assert "run `galcat init` first" in result.output
    finally:
        forget_databases()
