"""A service restarted under a running sharded job: a private Redis broker (no persistence,
so every queued message is lost) and a private PostgreSQL cluster (fast shutdown, every
connection cut). The job ends done and every galaxy has exactly one row: lost messages
are rung again by the reaper, work cut mid-transaction is redone."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol

import pytest
import sqlalchemy as sa
from conftest import unavailable
from worker_fixtures import Workers, _register_toy

from bench.fixtures.toy_jobs import (
    THROTTLE_ENV,
    TOY_PREDICTION,
    InferToy,
    add_toy_galaxies,
    create_toy_tables,
)
from galcat.catalog import migrate
from galcat.catalog.db import Database, forget_databases
from galcat.workers.queue.jobs import submit

N_GALAXIES, SHARD = 2000, 250


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(ready: object, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} did not come up in {timeout_s} s"
        time.sleep(0.1)


class RedisServer:
    """A redis-server of our own on a free port, without persistence."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed")
        self.binary, self.folder, self.port = str(binary), folder, _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=open(self.folder / "redis.log", "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115
        _wait_until(self._answers, "redis-server")

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


class PostgresCluster:
    """A PostgreSQL cluster of our own (initdb into a temporary folder, trust auth), run
    as the ``postgres`` system user when we are root (the folder is outside pytest's
    temporary tree, which only its owner may enter)."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not found:
            unavailable("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = found[-1].parent
        self.folder, self.port = Path(tempfile.mkdtemp(prefix="galcat-pg-")), _free_port()
        self.data = self.folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/galcat"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            self.folder.chmod(0o755)
            shutil.chown(self.folder, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "--no-instructions")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self.prefix, str(self.bin / tool), *args], capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, f"{tool} failed: {done.stdout}{done.stderr}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self) -> None:
        admin = sa.create_engine(self.url.rsplit("/", 1)[0] + "/postgres",
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE galcat")
        admin.dispose()


class Service(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def _restart_under_a_sharded_job(db: Database, workers: Workers, toy_weights: Path,
                                 service: Service, **worker_env: str) -> None:
    """A sharded toy job on two worker processes; ``service`` stopped once a shard is
    done and started again 2 s later; then the job must end done, each galaxy once."""
    add_toy_galaxies(db, N_GALAXIES)
    _register_toy(db, toy_weights)
    workers.start(concurrency=2, **worker_env, **{THROTTLE_ENV: "0.4"})
    handle = submit(InferToy(shard_size=SHARD))
    deadline = time.monotonic() + 180
    while handle.status().done == 0:
        assert time.monotonic() < deadline, "no shard made progress"
        time.sleep(0.1)
    service.stop()
    time.sleep(2)
    service.start()
    forget_databases()
    db.dispose()
    assert handle.wait(timeout_s=180).state == "done"
    with db.new_session() as session:
        rows, galaxies = session.execute(sa.select(
            sa.func.count(), sa.func.count(sa.distinct(TOY_PREDICTION.c.galaxy_id)))).one()
    assert (rows, galaxies) == (N_GALAXIES, N_GALAXIES), "every galaxy exactly once"


@pytest.mark.parametrize(("database_url", "broker_url"), [("postgresql", "redis")],
                         indirect=True)
def test_redis_restarted_mid_job_loses_nothing(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = RedisServer(tmp_path / "redis")
    broker.start()
    try:
        monkeypatch.setenv("GALCAT_BROKER_URL", broker.url)
        _restart_under_a_sharded_job(db, workers, toy_weights, broker,
                                     GALCAT_BROKER_URL=broker.url)
    finally:
        workers.stop_all()
        broker.stop()


@pytest.mark.parametrize(("database_url", "broker_url"), [("sqlite", "embedded")],
                         indirect=True)
def test_postgres_restarted_mid_job_loses_nothing(
    env, workers: Workers, toy_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = PostgresCluster()
    cluster.start()
    db = Database.for_url(cluster.url)
    try:
        cluster.create_database()
        monkeypatch.setenv("GALCAT_DATABASE_URL", cluster.url)
        migrate.upgrade(db)
        create_toy_tables(db)
        _restart_under_a_sharded_job(db, workers, toy_weights, cluster,
                                     GALCAT_DATABASE_URL=cluster.url)
    finally:
        workers.stop_all()
        db.dispose()
        forget_databases()
        cluster.remove()
