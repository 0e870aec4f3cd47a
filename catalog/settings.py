"""galcat settings: the one place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where galcat keeps its data and which database and broker it talks to.

    Attributes
    ----------
    home:
        Data directory (``GALCAT_HOME``, default ``./galcat-data``).
    database_url:
        SQLAlchemy URL (``GALCAT_DATABASE_URL``, default a SQLite file in ``home``).
    broker_url:
        Celery broker URL (``GALCAT_BROKER_URL``, default kombu's SQLAlchemy
        transport on a SQLite file in ``home``).
    shard_size:
        Objects per inference shard (``GALCAT_SHARD_SIZE``).
    heartbeat_s:
        Seconds between worker heartbeats on a running job (``GALCAT_HEARTBEAT_S``).
    stale_after_s:
        A running job whose heartbeat is older than this is re-queued by the reaper
        (``GALCAT_STALE_AFTER_S``).
    readonly_role:
        PostgreSQL role used for public read-only queries (``GALCAT_READONLY_ROLE``).
    query_timeout_s:
        Seconds a user's SQL statement may run before it is stopped
        (``GALCAT_QUERY_TIMEOUT_S``).
    parks18_dir:
        Folder of the Parks+2018 test-set files (``GALCAT_PARKS18_DIR``, else
        ``GALCAT_DATA_DIR/parks18``); None when neither is set.
    boss_dir:
        Folder of real BOSS spectra the demo adds to its mocks (``GALCAT_BOSS_DIR``, else
        ``GALCAT_DATA_DIR/boss``); None when neither is set.
    """

    home: Path
    database_url: str
    broker_url: str
    shard_size: int = 2000
    heartbeat_s: float = 5.0
    stale_after_s: float = 60.0
    readonly_role: str = "galcat_reader"
    query_timeout_s: float = 60.0
    parks18_dir: Path | None = None
    boss_dir: Path | None = None

    @property
    def artifacts_dir(self) -> Path:
        """Content-addressed store of model weights."""
        return self.home / "artifacts"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default ``os.environ``)."""
    env = os.environ if environ is None else environ
    home = Path(env.get("GALCAT_HOME", "galcat-data")).expanduser().resolve()
    database_url = env.get("GALCAT_DATABASE_URL") or f"sqlite:///{home / 'galcat.sqlite'}"
    broker_url = env.get("GALCAT_BROKER_URL") or f"sqla+sqlite:///{home / 'broker.sqlite'}"
    return Settings(
        home=home,
        database_url=normalise_database_url(database_url),
        broker_url=broker_url,
        shard_size=int(env.get("GALCAT_SHARD_SIZE", "2000")),
        heartbeat_s=float(env.get("GALCAT_HEARTBEAT_S", "5")),
        stale_after_s=float(env.get("GALCAT_STALE_AFTER_S", "60")),
        readonly_role=env.get("GALCAT_READONLY_ROLE", "galcat_reader"),
        query_timeout_s=float(env.get("GALCAT_QUERY_TIMEOUT_S", "60")),
        parks18_dir=_data_folder(env, "GALCAT_PARKS18_DIR", "parks18"),
        boss_dir=_data_folder(env, "GALCAT_BOSS_DIR", "boss"),
    )


def _data_folder(env: Mapping[str, str], variable: str, name: str) -> Path | None:
    """A data folder: its own variable, else ``name`` under ``GALCAT_DATA_DIR``, else None."""
    if env.get(variable):
        return Path(env[variable]).expanduser().resolve()
    if env.get("GALCAT_DATA_DIR"):
        return (Path(env["GALCAT_DATA_DIR"]).expanduser() / name).resolve()
    return None


def normalise_database_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
