"""Labels, trained model versions, jobs and frozen releases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from galcat.catalog.schema.base import Base, utcnow

OBJECT_KINDS = ("galaxy", "sightline", "image", "snapshot")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")


class Label(Base):
    """A human or reference answer for one object, in a named label set."""

    __tablename__ = "label"

    id: Mapped[int] = mapped_column(primary_key=True)
    label_set: Mapped[str] = mapped_column(sa.String(64))
    object_kind: Mapped[str] = mapped_column(sa.String(16))
    object_id: Mapped[int]
    values: Mapped[dict[str, Any]]
    source: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("label_set", "object_kind", "object_id"),
        sa.Index("ix_label_object", "object_kind", "object_id"),
        sa.CheckConstraint(
            "object_kind IN ('galaxy', 'sightline', 'image', 'snapshot')", name="object_kind"
        ),
    )


class ModelVersion(Base):
    """One trained network: weights by sha256, how it was trained, how well it does."""

    __tablename__ = "model_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int]
    task: Mapped[str] = mapped_column(sa.String(32))
    weights_sha256: Mapped[str] = mapped_column(sa.String(64))
    weights_blob: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    hyperparameters: Mapped[dict[str, Any]]
    training_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    metrics: Mapped[dict[str, Any] | None]
    code_version: Mapped[str] = mapped_column(sa.String(64))
    command: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("name", "version"),)


class Job(Base):
    """One queued unit of work; the job table is the truth, the broker a doorbell.

    A ``held`` job is written but not yet queued (an IVOA UWS job in phase PENDING);
    ``release`` queues it."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    queue: Mapped[str] = mapped_column(sa.String(16), default="cpu")
    state: Mapped[str] = mapped_column(sa.String(16), default="queued")
    parameters: Mapped[dict[str, Any]]
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("job.id", ondelete="CASCADE"), index=True
    )
    shard_index: Mapped[int | None]
    model_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("model_version.id"))
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    error: Mapped[str | None] = mapped_column(sa.Text)
    worker: Mapped[str | None] = mapped_column(sa.String(128))
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        sa.Index("ix_job_state_heartbeat", "state", "heartbeat_at"),
        sa.CheckConstraint(
            "state IN ('held', 'queued', 'running', 'done', 'failed', 'cancelled')", name="state"
        ),
    )


class Release(Base):
    """One frozen public catalogue: a query pinned to model versions."""

    __tablename__ = "release"

    id: Mapped[int] = mapped_column(primary_key=True)
    catalog: Mapped[str] = mapped_column(sa.String(32))
    tag: Mapped[str] = mapped_column(sa.String(64), unique=True)
    spec: Mapped[dict[str, Any]]
    row_count: Mapped[int]
    code_version: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReleaseFile(Base):
    """A file written for a release, with its checksum."""

    __tablename__ = "release_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(sa.ForeignKey("release.id", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    format: Mapped[str] = mapped_column(sa.String(16))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.UniqueConstraint("release_id", "filename"),)
