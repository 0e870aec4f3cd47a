"""Jobs through real `galcat worker` processes, on both brokers and both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from conftest import REDIS_URL, unavailable
from tcp_proxy import TcpProxy

from bench.fixtures.toy_jobs import (
    THROTTLE_ENV,
    TOY_PREDICTION,
    TOY_WORKER_ENV,
    InferToy,
    Noop,
    create_toy_tables,
    drop_toy_tables,
)
from galcat.catalog.db import Database
from galcat.catalog.registry import artifact_path, register
from galcat.catalog.schema import Galaxy, Job
from galcat.catalog.settings import load_settings
from galcat.catalog.sky import healpix_29
from galcat.catalog.surveys import survey_id
from galcat.workers.queue.jobs import JobHandle, retry, submit

GALCAT = str(Path(sys.executable).with_name("galcat"))


@pytest.fixture(params=["embedded", "redis"])
def broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "embedded":
        return f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def env(database_url: str, broker_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"GALCAT_HOME": str(tmp_path / "home"), "GALCAT_DATABASE_URL": database_url,
              "GALCAT_BROKER_URL": broker_url, "GALCAT_STALE_AFTER_S": "3",
              "GALCAT_HEARTBEAT_S": "0.5", "TF_CPP_MIN_LOG_LEVEL": "2",
              **TOY_WORKER_ENV}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


class Workers:
    """Real worker processes, each in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int = 1, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([GALCAT, "worker", "--concurrency", str(concurrency),
                                 "--name", f"w{len(self.procs)}@%h"], env={**self.env, **env},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill9(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def toy_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.fixtures import toy_regressor
    from galcat.workers.model_io import save_model

    model, _ = toy_regressor.train(toy_regressor.ToyConfig(epochs=2, n_train=500), seed=1)
    return save_model(model, tmp_path_factory.mktemp("toy"))


def _galaxies(db: Database, n: int) -> None:
    rng = np.random.default_rng(11)
    ra, dec = rng.uniform(0, 360, n), rng.uniform(-80, 80, n)
    with db.session() as session:
        sid = survey_id(session, "mock")
        db.bulk_upsert(session, Galaxy.__table__,  # type: ignore[arg-type]
                       ["survey_id", "external_id", "ra_deg", "dec_deg", "healpix_29"],
                       [(sid, f"g{i}", float(a), float(b), int(p)) for i, (a, b, p)
                        in enumerate(zip(ra, dec, healpix_29(ra, dec), strict=True))],
                       key=("survey_id", "external_id"))


@pytest.fixture
def toy_table(db: Database) -> Iterator[None]:
    """The toy prediction table for the duration of a test."""
    create_toy_tables(db)
    yield
    drop_toy_tables(db)


def _register_toy(db: Database, weights: Path) -> str:
    with db.session() as session:
        row = register(session, load_settings().artifacts_dir, "toy", "toy", weights,
                       {"epochs": 2}, None, None)
        return row.weights_sha256


def test_two_hundred_jobs_each_done_exactly_once(db: Database, env, workers: Workers) -> None:
    handles = [submit(Noop()) for _ in range(200)]
    workers.start(concurrency=2)
    for handle in handles:
        assert handle.wait(timeout_s=300).state == "done"
    with db.new_session() as session:
        attempts = session.execute(sa.select(Job.attempts)).scalars().all()
    assert len(attempts) == 200 and set(attempts) == {1}


PAIRS = pytest.mark.parametrize(("database_url", "broker_url"),
                                [("sqlite", "embedded"), ("postgresql", "redis")], indirect=True)


@PAIRS
def test_failed_job_reports_its_error_and_retries(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None
) -> None:
    _galaxies(db, 300)
    sha = _register_toy(db, toy_weights)
    stored = artifact_path(load_settings().artifacts_dir, sha)
    good = stored.read_bytes()
    stored.write_bytes(good[:-10] + b"corrupted!")
    workers.start()
    handle = submit(InferToy(model="toy@latest"))
    state = handle.wait(timeout_s=300)
    assert state.state == "failed"
    assert "shard 0 failed: RegistryError" in (state.error or "")
    assert "refused" in (state.error or "")
    stored.write_bytes(good)
    assert retry(None, handle.id).wait(timeout_s=300).state == "done"
    with db.new_session() as session:
        n = session.execute(sa.select(sa.func.count()).select_from(TOY_PREDICTION)).scalar()
    assert n == 300


@PAIRS
def test_killed_worker_job_completes_without_duplicates(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None
) -> None:
    n = 3000
    _galaxies(db, n)
    _register_toy(db, toy_weights)
    first = workers.start(**{THROTTLE_ENV: "0.6"})
    handle: JobHandle = submit(InferToy(shard_size=1000))
    deadline = time.monotonic() + 180
    while True:
        status = handle.status()
        if status.shards.get("running") and status.done > 0:
            break
        assert time.monotonic() < deadline, "no shard started"
        time.sleep(0.1)
    workers.kill9(first)
    workers.start(**{THROTTLE_ENV: "0.6"})
    assert handle.wait(timeout_s=300).state == "done"
    with db.new_session() as session:
        rows = session.execute(sa.select(sa.func.count(), sa.func.count(
            sa.distinct(TOY_PREDICTION.c.galaxy_id)))).one()
        attempts = session.execute(sa.select(Job.attempts).where(
            Job.parent_id == handle.id)).scalars().all()
    assert tuple(rows) == (n, n)
    assert max(attempts) == 2


POSTGRES_PAIRS = pytest.mark.parametrize(("database_url", "broker_url"),
                                         [("postgresql", "redis"), ("postgresql", "embedded")],
                                         indirect=True)


def _through(proxy: TcpProxy, url: str) -> str:
    return sa.engine.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


@POSTGRES_PAIRS
def test_worker_started_before_postgres_is_reachable(db: Database, env, workers: Workers) -> None:
    proxy = TcpProxy("127.0.0.1", sa.engine.make_url(env["GALCAT_DATABASE_URL"]).port or 5432)
    workers.start(GALCAT_DATABASE_URL=_through(proxy, env["GALCAT_DATABASE_URL"]))
    handles = [submit(Noop()) for _ in range(5)]
    time.sleep(4)
    assert {h.status().state for h in handles} == {"queued"}
    proxy.start()
    try:
        for handle in handles:
            assert handle.wait(timeout_s=180).state == "done"
    finally:
        proxy.stop()


@POSTGRES_PAIRS
def test_worker_losing_postgres_briefly_loses_no_job(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None
) -> None:
    n = 2000
    _galaxies(db, n)
    _register_toy(db, toy_weights)
    proxy = TcpProxy("127.0.0.1", sa.engine.make_url(env["GALCAT_DATABASE_URL"]).port or 5432)
    proxy.start()
    workers.start(GALCAT_DATABASE_URL=_through(proxy, env["GALCAT_DATABASE_URL"]),
                  **{THROTTLE_ENV: "0.5"})
    handle = submit(InferToy(shard_size=1000))
    deadline = time.monotonic() + 180
    while handle.status().done == 0:
        assert time.monotonic() < deadline, "no shard made progress"
        time.sleep(0.1)
    proxy.stop()
    time.sleep(3)
    proxy.start()
    try:
        assert handle.wait(timeout_s=240).state == "done"
    finally:
        proxy.stop()
    with db.new_session() as session:
        rows = session.execute(sa.select(sa.func.count(), sa.func.count(
            sa.distinct(TOY_PREDICTION.c.galaxy_id)))).one()
    assert tuple(rows) == (n, n)
