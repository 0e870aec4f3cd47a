"""Damaged simulation manifests (truncated, characters replaced, a value swapped for
junk): ingesting one either loads it whole or refuses it with an error naming the file,
never raises anything else and never keeps part of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from galcat.catalog.db import Database
from galcat.catalog.ingest.simulations import ingest_simulations
from galcat.catalog.schema import Camera, Image, ImagePixels, Simulation, Snapshot
from galcat.workers.simulation.mock_files import write_mock_simulation

JUNK = ["-1", "nan", ".inf", "1e400", "[", "{a: 1}", "''", "null", "true", "0x10", "x" * 5000,
        "[1, 2]", "!!binary aGk=", "&a 1", "*nope", "2026-12-02", "'\\u0000'", "- 3"]


@st.composite
def damaged(draw: st.DrawFn, original: str) -> str:
    """The manifest truncated, with characters replaced, or with one value swapped."""
    kind = draw(st.sampled_from(["truncate", "replace", "value"]))
    if kind == "truncate":
        return original[:draw(st.integers(0, len(original) - 1))]
    if kind == "replace":
        text = list(original)
        for _ in range(draw(st.integers(1, 12))):
            text[draw(st.integers(0, len(text) - 1))] = draw(st.sampled_from(
                list(":-[]{}'\"#&*!|>%@`\t\n 0a.")))
        return "".join(text)
    lines = original.splitlines()
    valued = [i for i, line in enumerate(lines) if ": " in line and not line.endswith(":")]
    i = draw(st.sampled_from(valued))
    key = lines[i].split(": ", 1)[0]
    lines[i] = f"{key}: {draw(st.sampled_from(JUNK))}"
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-sim")
    manifest = write_mock_simulation("FUZZ", folder, 2, "merger", n_cameras=2)
    content = yaml.safe_load(manifest.read_text())
    content["snapshots"] = content["snapshots"][:4]
    manifest.write_text(yaml.safe_dump(content, sort_keys=False))
    return manifest


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_manifest_loads_whole_or_not_at_all(
    data: st.DataObject, mock: Path, sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("case")
    shutil.copy(sqlite_template, folder / "galcat.sqlite")
    path = mock.parent / f"damaged-{folder.name}.yaml"
    path.write_text(data.draw(damaged(mock.read_text())))
    db = Database.for_url(f"sqlite:///{folder / 'galcat.sqlite'}")
    try:
        summary = ingest_simulations(db, [path])
        outcome = summary.files[0]
        if not outcome.ok:
            assert all(str(path) in error for error in outcome.errors), outcome.errors
        with db.new_session() as session:
            counts = [session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                      for t in (Simulation, Snapshot, Camera, Image, ImagePixels)]
        if outcome.ok:
            assert counts[0] == 1 and counts[2] == counts[3] == counts[4] == outcome.rows_loaded
        else:
            assert counts == [0, 0, 0, 0, 0], "nothing of a refused manifest is kept"
    finally:
        db.dispose()
        path.unlink()
