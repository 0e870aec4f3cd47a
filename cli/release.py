"""``galcat release …`` and ``galcat serve``: public catalogues and the cone-search service.

"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from galcat.catalog.sql import Rows
from galcat.cli.output import console, emit, fail
from galcat.cli.shared import TableFormat, ready_database

if TYPE_CHECKING:
    from galcat.catalog.release import ReleaseRecord

release_app = typer.Typer(help="Public catalogue releases: write, list, compare, re-export.",
                          no_args_is_help=True)

TagOption = Annotated[str, typer.Option("--tag", help="Release tag, e.g. DR1 (written once).")]
OutOption = Annotated[Path, typer.Option("--out", help="Folder to write the files into.")]
ModelOption = Annotated[list[str] | None, typer.Option(
    "--model", help="Pin a model version, NAME@N (repeatable; default: latest of each task).")]
WhereOption = Annotated[str, typer.Option(
    "--where", help="SQL filter on the public column names, e.g. \"z_qso > 2.5\".")]
FormatOption = Annotated[str, typer.Option(
    "--format", help="Comma-separated: fits, votable, parquet, csv (these four by default), "
                     "hats (a HATS collection per table, with a 10 arcsec margin cache, for "
                     "LSDB; only when asked for).")]
DEFAULT_FORMATS = "fits,votable,parquet,csv"


@release_app.command("dla")
def release_dla(tag: TagOption, out: OutOption, model: ModelOption = None,
                where: WhereOption = "", format: FormatOption = DEFAULT_FORMATS) -> None:
    """Write a frozen DLA catalogue release (absorbers and sightlines searched).

    Example: galcat release dla --tag DR1 --out releases/DR1 --model dla@3 --where "z_qso > 2"
    """
    _make("dla", tag, out, model or [], where, format)


@release_app.command("morphology")
def release_morphology(tag: TagOption, out: OutOption, model: ModelOption = None,
                       where: WhereOption = "", format: FormatOption = DEFAULT_FORMATS) -> None:
    """Write a frozen galaxy morphology release (fractions, probabilities, Sérsic fits).

    Example: galcat release morphology --tag DR1 --out releases/DR1 --format fits,parquet
    """
    _make("morphology", tag, out, model or [], where, format)


@release_app.command("environment")
def release_environment(tag: TagOption, out: OutOption, model: ModelOption = None,
                        where: WhereOption = "", format: FormatOption = DEFAULT_FORMATS) -> None:
    """Write a frozen galaxy environment release (redshift used, cylinder counts, n-th
    neighbour distances from one environment measure; join with morphology on galaxy_id).

    Example: galcat release environment --tag ENV1 --out releases/ENV1 --model environment@1
    """
    _make("environment", tag, out, model or [], where, format)


@release_app.command("export")
def release_export(
    tag: Annotated[str, typer.Argument(help="Release tag.")], out: OutOption,
) -> None:
    """Rewrite a frozen release's files byte for byte (checked against their sha256).

    Example: galcat release export DR1 --out mirror/DR1
    """
    from galcat.catalog.release import ReleaseError, export_release

    try:
        record = export_release(ready_database(), tag, out)
    except ReleaseError as exc:
        fail(exc)
    _show_files(record, out, "rewrote")


@release_app.command("list")
def release_list(fmt: TableFormat = None) -> None:
    """Every release: tag, catalogue, creation time, rows, pinned models, files.

    Example: galcat release list --format csv
    """
    from galcat.catalog.release import list_releases

    records = list_releases(ready_database())
    emit(Rows(["tag", "catalogue", "created_utc", "rows", "models", "formats", "files"],
              [(r.tag, r.catalogue, str(r.created_at), r.row_count,
                ", ".join(m.reference for m in r.models), ",".join(r.spec["formats"]),
                len(r.files)) for r in records]), fmt, title="releases")


@release_app.command("diff")
def release_diff(
    tag_a: Annotated[str, typer.Argument(help="The older release.")],
    tag_b: Annotated[str, typer.Argument(help="The newer release.")],
    atol: Annotated[float, typer.Option(help="Float changes above this count (absolute).")] = 1e-6,
) -> None:
    """Rows added, removed and changed (beyond --atol) from TAG_A to TAG_B, by key.

    Example: galcat release diff DR1 DR2 --atol 0.01
    """
    from galcat.catalog.release import ReleaseError, diff_releases

    try:
        diffs = diff_releases(ready_database(), tag_a, tag_b, atol=atol)
    except ReleaseError as exc:
        fail(exc)
    for d in diffs:
        console.print(f"[bold]{d.table}[/] (key {', '.join(d.key)}): {d.added} added, "
                      f"{d.removed} removed, {d.changed} changed, {d.unchanged} unchanged")
        for column, count in sorted(d.changed_columns.items(), key=lambda kv: -kv[1]):
            size = d.max_abs_change.get(column)
            largest = f" (largest change {size:.6g})" if size else ""
            console.print(f"  {column:<18} changed in {count} rows{largest}")
        for kind, keys in d.examples.items():
            if keys:
                console.print(f"  first {kind}: " + "; ".join(
                    ", ".join(str(v) for v in key) for key in keys))


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 = any free port).")] = 8000,
    files: Annotated[list[Path] | None, typer.Option(
        "--files", help="Extra folder holding release files (repeatable).")] = None,
    workers: Annotated[int, typer.Option(
        min=1, help="uvicorn worker processes (each with its own connections).")] = 1,
) -> None:
    """Serve TAP (ADQL), cone search (IVOA SCS), release listings, downloads and pages
    (with a page per absorber and per galaxy), read-only.

    Example: galcat serve --port 8000 --files /data/releases  (then open http://127.0.0.1:8000/)
    """
    from galcat.catalog.settings import load_settings
    from galcat.workers.service_views import run_public_service

    run_public_service(load_settings(), host, port, files or [], workers)


def _make(catalogue: str, tag: str, out: Path, models: list[str], where: str,
          formats: str) -> None:
    from galcat.catalog.release import ReleaseError, make_release

    try:
        record = make_release(ready_database(), catalogue, tag, out, models, where, formats)
    except ReleaseError as exc:
        fail(exc)
    _show_files(record, out, "wrote")


def _show_files(record: ReleaseRecord, out: Path, verb: str) -> None:
    counts = ", ".join(f"{n} {t}" for t, n in record.table_rows.items())
    pins = ", ".join(m.reference for m in record.models)
    console.print(f"{verb} release {record.tag} ({record.catalogue}: {counts}; models {pins}) "
                  f"to {out}")
    for f in record.files:
        console.print(f"  {f.sha256}  {f.size_bytes:>12,}  {f.filename}", highlight=False)


