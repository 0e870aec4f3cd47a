"""``galcat release …`` as a user drives it, on both backends: write, refuse a second
write of the tag, list, diff, export byte for byte; errors exit 1 with a reason."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bench.fixtures.synthetic import sample_catalogue
from galcat.catalog.db import get_database
from galcat.catalog.settings import load_settings
from galcat.cli import app

runner = CliRunner()


def test_release_commands(galcat_env: dict[str, str], tmp_path: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    ref = sample_catalogue(get_database(load_settings())).references
    out = tmp_path / "DR1"
    result = runner.invoke(app, ["release", "morphology", "--tag", "DR1", "--out", str(out),
                                 "--model", ref["morphology-old"], "--format", "fits,csv"])
    assert result.exit_code == 0, result.output
    assert "galcat_morphology_DR1_galaxies.fits" in result.output
    assert f"{ref['morphology-old']}, {ref['sersic']}" in result.output
    assert sorted(p.suffix for p in out.iterdir()) == [".csv", ".fits", ".md", ".sha256"]

    again = runner.invoke(app, ["release", "dla", "--tag", "DR1", "--out", str(tmp_path / "x")])
    assert again.exit_code == 1 and "already exists" in again.output

    result = runner.invoke(app, ["release", "dla", "--tag", "DLA1", "--out", str(tmp_path / "d"),
                                 "--where", "z_qso > 3", "--format", "votable"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["release", "morphology", "--tag", "DR2", "--out",
                                 str(tmp_path / "DR2"), "--format", "csv"])
    assert result.exit_code == 0, result.output

    listing = runner.invoke(app, ["release", "list"])
    assert listing.exit_code == 0
    for text in ("DR1", "DLA1", "DR2", ref["dla"], ref["morphology-new"]):
        assert text in listing.output

    diff = runner.invoke(app, ["release", "diff", "DR1", "DR2", "--atol", "0.01"])
    assert diff.exit_code == 0, diff.output
    assert "galaxies (key galaxy_id)" in diff.output and "removed" in diff.output
    assert "p_bulge" in diff.output
    mixed = runner.invoke(app, ["release", "diff", "DR1", "DLA1"])
    assert mixed.exit_code == 1 and "same catalogue" in mixed.output

    mirror = tmp_path / "mirror"
    result = runner.invoke(app, ["release", "export", "DR1", "--out", str(mirror)])
    assert result.exit_code == 0, result.output
    for path in out.iterdir():
        assert (mirror / path.name).read_bytes() == path.read_bytes()

    bad = runner.invoke(app, ["release", "morphology", "--tag", "X", "--out", str(tmp_path / "y"),
                              "--where", "p_bulge >"])
    assert bad.exit_code == 1 and "refused the release query" in bad.output
    missing = runner.invoke(app, ["release", "export", "NOPE", "--out", str(tmp_path / "z")])
    assert missing.exit_code == 1 and "no release 'NOPE'" in missing.output
