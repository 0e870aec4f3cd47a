"""`galcat demo` end to end, small size, on SQLite + embedded broker and PostgreSQL + Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import REDIS_URL, unavailable

from galcat.catalog.db import Database
from galcat.catalog.schema import DlaAbsorber, Job, Release, SightlineSearch

GALCAT = str(Path(sys.executable).with_name("galcat"))


def _run(env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GALCAT, "demo", "--home", str(home), "--size", "small"],
                          env={**os.environ, **env, "COLUMNS": "120"}, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_demo_publishes_and_reruns_as_a_no_op(database_url: str, tmp_path: Path) -> None:
    """The demo on both backends; the rerun (every stage skipped, nothing doubled) only on
    the embedded default that `make demo` uses, since skipping is the same code on both."""
    home = tmp_path / "home"
    env = {"GALCAT_HOME": str(home)}
    if database_url.startswith("postgresql"):
        import redis

        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).flushdb()
        except redis.exceptions.ConnectionError as exc:
            unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
        env |= {"GALCAT_DATABASE_URL": database_url, "GALCAT_BROKER_URL": REDIS_URL}
    else:
        env |= {"GALCAT_DATABASE_URL": f"sqlite:///{home / 'galcat.sqlite'}"}
    first = _run(env, home)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    output = first.stdout + first.stderr
    assert "Traceback" not in output and "Warning" not in output, output[-3000:]
    assert "galcat demo: summary" in first.stdout and "DR-demo-dla" in first.stdout
    for name in ("spectrum_with_dlas.png", "dla_completeness.png"):
        assert (home / "demo" / "plots" / name).stat().st_size > 10_000
    db = Database.for_url(env["GALCAT_DATABASE_URL"])
    with db.new_session() as session:
        searched = session.execute(sa.select(sa.func.count()).select_from(SightlineSearch)).scalar()
        absorbers = session.execute(sa.select(sa.func.count()).select_from(DlaAbsorber)).scalar()
        releases = session.execute(sa.select(Release.tag).order_by(Release.tag)).scalars().all()
    assert searched and searched >= 200 and absorbers and absorbers > 50
    assert "DR-demo-dla" in releases
    if database_url.startswith("postgresql"):
        db.dispose()
        return
    again = _run(env, home)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "exists already (frozen)" in again.stdout
    assert again.stdout.count("no objects matched") == 3, again.stdout[-3000:]
    with db.new_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(DlaAbsorber)).scalar() \
            == absorbers
        assert session.execute(sa.select(sa.func.count()).select_from(Job).where(
            Job.state != "done")).scalar() == 0
    db.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_says_when_the_real_spectra_are_absent(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from galcat.workers.demo import pipeline as demo

    console = Console(record=True, width=200)
    report = demo.DemoReport()
    demo._ingest_spectra(db, tmp_path / "mocks", 3, report, console, tmp_path / "no-such-folder")
    text = console.export_text()
    assert f"no real BOSS spectra at {tmp_path / 'no-such-folder'}" in text
    assert report.ingested["spectra"] == 3
