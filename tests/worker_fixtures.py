"""Real `galcat worker` processes and the toy jobs they run, shared by the job tests
(loaded by conftest.py as a pytest plugin)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REDIS_URL, unavailable

from bench.fixtures.toy_jobs import TOY_WORKER_ENV, create_toy_tables, drop_toy_tables
from galcat.catalog.db import Database
from galcat.catalog.registry import register
from galcat.catalog.settings import load_settings

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


PAIRS = pytest.mark.parametrize(("database_url", "broker_url"),
                                [("sqlite", "embedded"), ("postgresql", "redis")], indirect=True)
