"""Two catalogues on one Redis: each catalogue's jobs reach only its own workers.

A lab runs one Redis for several catalogues (a PostgreSQL one and a SQLite scratch
one, say). A worker of catalogue B that took a message for catalogue A's job would
find no such queued job in B, drop the message, and leave A's job waiting for the
reaper's re-ring (ten stale intervals later).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from worker_fixtures import Workers

from bench.fixtures.toy_jobs import Noop
from galcat.catalog.db import Database
from galcat.workers.queue.jobs import submit


def _wait_ready(log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while "ready." not in (log.read_text(errors="replace") if log.exists() else ""):
        assert time.monotonic() < deadline, f"worker never became ready: {log}"
        time.sleep(0.1)


@pytest.mark.parametrize(("database_url", "broker_url"),
                         [("sqlite", "redis"), ("postgresql", "redis")], indirect=True)
def test_a_worker_of_another_catalogue_never_takes_our_jobs(
    db: Database, env: dict[str, str], workers: Workers, tmp_path: Path,
    sqlite_template: Path,
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(sqlite_template, other / "galcat.sqlite")
    workers.start(concurrency=2, GALCAT_HOME=str(other / "home"),
                  GALCAT_DATABASE_URL=f"sqlite:///{other / 'galcat.sqlite'}",
                  GALCAT_STALE_AFTER_S="600")
    _wait_ready(tmp_path / "worker-0.log")
    handles = [submit(Noop()) for _ in range(6)]
    time.sleep(3.0)
    workers.start(concurrency=1, GALCAT_STALE_AFTER_S="600")
    for handle in handles:
        assert handle.wait(timeout_s=60).state == "done", \
            "our job waited for the reaper: the other catalogue's worker took its message"
    assert "not claimed" not in (tmp_path / "worker-0.log").read_text(errors="replace")


def test_a_catalogue_is_one_catalogue_however_its_url_is_spelled(
    postgres_url: str, tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from galcat.workers.queue.app import broker_queue

    url = sa.engine.make_url(postgres_url)
    spellings = [postgres_url, url.set(host="localhost").render_as_string(hide_password=False)]
    if Path("/var/run/postgresql").is_dir():
        spellings.append(url.set(host=None, port=None, query={"host": "/var/run/postgresql"})
                         .render_as_string(hide_password=False))
    admin = url.set(database="test").render_as_string(hide_password=False)
    databases = [Database.for_url(u) for u in [*spellings, admin]]
    try:
        identities = [d.identity for d in databases]
    finally:
        for d in databases:
            d.dispose()
    assert len(set(identities[:-1])) == 1, identities
    assert identities[-1] != identities[0], "another database of the cluster is another catalogue"

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(sqlite_template, tmp_path / name / "galcat.sqlite")
    monkeypatch.chdir(tmp_path)
    relative, absolute, copy = (Database.for_url(u) for u in (
        "sqlite:///a/galcat.sqlite", f"sqlite:///{tmp_path / 'a' / 'galcat.sqlite'}",
        "sqlite:///b/galcat.sqlite"))
    assert relative.identity == absolute.identity != copy.identity, \
        "a copied catalogue file is a catalogue of its own"
    assert broker_queue("cpu", relative.identity) != broker_queue("cpu", copy.identity)
    assert broker_queue("cpu", relative.identity) != broker_queue("gpu", relative.identity)
    for d in (relative, absolute, copy):
        d.dispose()
