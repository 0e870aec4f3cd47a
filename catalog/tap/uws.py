"""IVOA UWS 1.1 for TAP's asynchronous queries: job rows of kind ``tap_query`` read as
UWS jobs, their documents, and what the service needs to change them (``TapJobs``,
given to it by whoever has write access: the service itself only reads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from xml.sax.saxutils import escape, quoteattr

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.schema import Job

KIND = "tap_query"
RETENTION_DAYS = 7.0
"""How long an asynchronous job and its answer are kept (UWS destruction time)."""
PHASES = {"held": "PENDING", "queued": "QUEUED", "running": "EXECUTING",
          "done": "COMPLETED", "failed": "ERROR", "cancelled": "ABORTED"}
XML = '<?xml version="1.0" encoding="utf-8"?>\n'
NAMESPACES = ('xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" '
              'xmlns:xlink="http://www.w3.org/1999/xlink" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


class TapJobs(Protocol):
    """Creates, starts, aborts and deletes asynchronous TAP jobs."""

    def create(self, query: str, maxrec: int, fmt: str, run: bool, run_id: str = "",
               refusal: str = "") -> int:
        """A held job (queued at once when ``run``); with ``refusal``, one that ends in
        ERROR with that message when run."""

    def set_run_id(self, job_id: int, run_id: str) -> None: ...

    def run(self, job_id: int) -> None: ...

    def abort(self, job_id: int) -> None: ...

    def delete(self, job_id: int) -> None: ...


@dataclass(frozen=True)
class UwsJob:
    """One asynchronous query as UWS sees it."""

    job_id: int
    phase: str
    parameters: dict[str, Any]
    created: datetime
    started: datetime | None
    finished: datetime | None
    result: dict[str, Any] | None
    error: str | None

    @property
    def execution_s(self) -> int:
        return round(float(self.parameters.get("execution_s", 600.0)))

    @property
    def destruction(self) -> datetime:
        return self.created + _retention(self.parameters)

    @property
    def error_summary(self) -> str:
        text = self.error or "the job failed"
        for prefix in ("TapJobFailed: ", "JobFailed: "):
            text = text.removeprefix(prefix)
        return text


def load_job(connection: sa.Connection, job_id: int) -> UwsJob | None:
    """The TAP job ``job_id``, or None (also for jobs of other kinds)."""
    job = Session(bind=connection).execute(
        sa.select(Job).where(Job.id == job_id, Job.kind == KIND)).scalar_one_or_none()
    return None if job is None else _uws(job)


def recent_jobs(connection: sa.Connection, limit: int = 100) -> list[UwsJob]:
    """The newest TAP jobs first."""
    rows = Session(bind=connection).execute(
        sa.select(Job).where(Job.kind == KIND).order_by(Job.id.desc()).limit(limit)).scalars()
    return [_uws(job) for job in rows]


def expired_jobs(connection: sa.Connection, now: datetime) -> list[int]:
    """The TAP jobs whose destruction time (created + their retention) is before ``now``."""
    rows = connection.execute(sa.select(Job.id, Job.created_at, Job.parameters)
                              .where(Job.kind == KIND, Job.parent_id.is_(None)))
    return [job_id for job_id, created, parameters in rows
            if _utc(created) + _retention(parameters) < now]


def _retention(parameters: dict[str, Any]) -> timedelta:
    return timedelta(days=float(parameters.get("retention_days", RETENTION_DAYS)))


def _uws(job: Job) -> UwsJob:
    return UwsJob(job.id, PHASES.get(job.state, "UNKNOWN"), dict(job.parameters),
                  _utc(job.created_at), _utc_or_none(job.started_at),
                  _utc_or_none(job.finished_at), job.result, job.error)


def job_document(job: UwsJob, base: str) -> bytes:
    """The UWS job document; ``base`` is the job list's URL."""
    results = ""
    if job.phase == "COMPLETED":
        results = (f'  <uws:result id="result" xlink:type="simple" '
                   f'xlink:href={quoteattr(f"{base}/{job.job_id}/results/result")}/>\n')
    error = ""
    if job.phase == "ERROR":
        error = ('  <uws:errorSummary type="fatal" hasDetail="true">\n'
                 f"   <uws:message>{escape(job.error_summary)}</uws:message>\n"
                 "  </uws:errorSummary>\n")
    parameters = "".join(f'  <uws:parameter id="{name}">{escape(str(value))}</uws:parameter>\n'
                         for name, value in tap_parameters(job).items())
    return (XML + f'<uws:job {NAMESPACES} version="1.1">\n'
            f"  <uws:jobId>{job.job_id}</uws:jobId>\n"
            + (f"  <uws:runId>{escape(str(job.parameters['run_id']))}</uws:runId>\n"
               if job.parameters.get("run_id") else "") +
            '  <uws:ownerId xsi:nil="true"/>\n'
            f"  <uws:phase>{job.phase}</uws:phase>\n"
            '  <uws:quote xsi:nil="true"/>\n'
            f"  <uws:creationTime>{_iso(job.created)}</uws:creationTime>\n"
            f"  {_time('startTime', job.started)}\n"
            f"  {_time('endTime', job.finished)}\n"
            f"  <uws:executionDuration>{job.execution_s}</uws:executionDuration>\n"
            f"  <uws:destruction>{_iso(job.destruction)}</uws:destruction>\n"
            f"  <uws:parameters>\n{parameters}  </uws:parameters>\n"
            f"  <uws:results>\n{results}  </uws:results>\n"
            f"{error}</uws:job>\n").encode("utf-8")


def job_list(jobs: list[UwsJob], base: str) -> bytes:
    """The UWS job list."""
    refs = "".join(
        f'  <uws:jobref id="{j.job_id}" xlink:href={quoteattr(f"{base}/{j.job_id}")}>'
        f"<uws:phase>{j.phase}</uws:phase>"
        f"<uws:creationTime>{_iso(j.created)}</uws:creationTime></uws:jobref>\n"
        for j in jobs)
    return (XML + f'<uws:jobs {NAMESPACES} version="1.1">\n{refs}</uws:jobs>\n').encode()


def results_document(job: UwsJob, base: str) -> bytes:
    """The job's result list (empty until it completes)."""
    body = job_document(job, base).decode()
    start, end = body.index("  <uws:results>"), body.index("</uws:results>")
    return (XML + f"<uws:results {NAMESPACES}>\n"
            + body[start + len("  <uws:results>\n"):end] + "</uws:results>\n").encode()


def parameters_document(job: UwsJob) -> bytes:
    """The job's parameters (UWS)."""
    items = "".join(f'  <uws:parameter id="{name}">{escape(str(value))}</uws:parameter>\n'
                    for name, value in tap_parameters(job).items())
    return (XML + f"<uws:parameters {NAMESPACES}>\n{items}</uws:parameters>\n").encode()


def tap_parameters(job: UwsJob) -> dict[str, Any]:
    """The TAP parameters the job was created with."""
    p = job.parameters
    return {"LANG": "ADQL", "QUERY": p.get("query", ""), "MAXREC": p.get("maxrec", ""),
            "RESPONSEFORMAT": p.get("format", "votable")}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _time(name: str, value: datetime | None) -> str:
    if value is None:
        return f'<uws:{name} xsi:nil="true"/>'
    return f"<uws:{name}>{_iso(value)}</uws:{name}>"
