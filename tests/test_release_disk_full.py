"""A release written onto a disk that fills up half way: one clear line, exit 1, no file
and no staging folder left in the output folder, no release registered; the same tag then
writes in full elsewhere. The small disk is a real tmpfs of a fixed size."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import unavailable
from typer.testing import CliRunner

from bench.fixtures.synthetic import sample_catalogue
from galcat.catalog.db import get_database
from galcat.catalog.settings import load_settings
from galcat.cli import app

runner = CliRunner()
FORMATS = "fits,votable,parquet,csv"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], capture_output=True, check=False)


def _mount_tmpfs(mount: Path, size_bytes: int) -> None:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs",
                           str(mount)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")


def _release(tag: str, out: Path, ref: str) -> object:
    return runner.invoke(app, ["release", "morphology", "--tag", tag, "--out", str(out),
                               "--model", ref, "--format", FORMATS])


def test_a_release_onto_a_full_disk_leaves_nothing(galcat_env: dict[str, str], tmp_path: Path,
                                                   small_disk: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    ref = sample_catalogue(get_database(load_settings()), n_galaxies=400).references
    roomy = tmp_path / "roomy"
    first = _release("SIZE", roomy, ref["morphology-old"])
    assert first.exit_code == 0, first.output
    total = sum(p.stat().st_size for p in roomy.iterdir())
    _mount_tmpfs(small_disk, total // 2)

    full = _release("DR1", small_disk, ref["morphology-old"])
    assert full.exit_code == 1 and not isinstance(full.exception, OSError), repr(full.exception)
    lines = [line for line in full.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), full.output
    assert "No space left on device" in lines[0] and str(small_disk) in lines[0], lines[0]
    assert "Traceback" not in full.output
    assert list(small_disk.iterdir()) == [], "no file and no staging folder is left"
    listing = runner.invoke(app, ["release", "list"])
    assert "DR1" not in listing.output, "a failed release is not registered"

    again = _release("DR1", tmp_path / "elsewhere", ref["morphology-old"])
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == \
        sorted(p.name.replace("SIZE", "DR1") for p in roomy.iterdir())
