"""HTML pages and the sky plot of the service (every value HTML-escaped)."""

from __future__ import annotations

import io
from html import escape
from typing import Any
from urllib.parse import quote

import numpy as np
import sqlalchemy as sa

from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.release.definitions import CATALOGUES, TableDef, catalogue
from galcat.catalog.release.query import CHUNK_ROWS, iter_chunks, select_rows
from galcat.catalog.tap.tables import tap_tables

STYLE = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
         "text-align:left;vertical-align:top}code{font-size:90%}")
SKY_BINS = (180, 90)


def page(title: str, body: str) -> bytes:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n{body}\n</body></html>\n").encode()


def index_page(releases: list[ReleaseRecord]) -> bytes:
    """Catalogues with their cone-search endpoints, and every release."""
    items = "".join(
        f"<li><b>{escape(c.title)}</b>: cone search <code>/scs/{escape(name)}?RA=&amp;DEC="
        f"&amp;SR=</code> (newest release)</li>" for name, c in CATALOGUES.items())
    rows = "".join(
        f"<tr><td><a href=\"/releases/{quote(r.tag)}\">{escape(r.tag)}</a></td>"
        f"<td>{escape(r.catalogue)}</td><td>{escape(r.created_at)}</td>"
        f"<td>{r.row_count}</td><td>{escape(', '.join(m.reference for m in r.models))}</td>"
        "</tr>" for r in reversed(releases))
    body = (f"<h2>Catalogues</h2><ul>{items}</ul>"
            "<p>ADQL over TAP: <a href=\"/tap\">/tap</a> (pyvo, TOPCAT). API reference: "
            "<a href=\"/api\">/api</a>.</p><h2>Releases</h2>"
            "<table><tr><th>tag</th><th>catalogue</th><th>created (UTC)</th><th>rows</th>"
            f"<th>models</th></tr>{rows}</table>"
            "<p>Machine-readable listing: <a href=\"/releases\">/releases</a> (JSON).</p>")
    return page("galcat public catalogues", body)


def release_page(record: ReleaseRecord, available: bool) -> bytes:
    """One release: counts, models, download links with sha256, sky plot, data model."""
    tag = quote(record.tag)
    definition = catalogue(record.catalogue)
    counts = "".join(f"<li>{escape(t)}: {n} rows</li>" for t, n in record.table_rows.items())
    models = "".join(
        f"<tr><td>{escape(m.task)}</td><td>{escape(m.reference)}</td>"
        f"<td><code>{escape(m.weights_sha256)}</code></td>"
        f"<td><code>{escape(m.training_fingerprint)}</code></td></tr>" for m in record.models)
    files = "".join(
        f"<tr><td><a href=\"/releases/{tag}/files/{quote(f.filename)}\">{escape(f.filename)}"
        f"</a></td><td>{escape(f.format)}</td><td>{f.size_bytes:,}</td>"
        f"<td><code>{escape(f.sha256)}</code></td></tr>" for f in record.files)
    where = record.spec.get("where") or ""
    note = "" if available else (
        "<p><b>The files are not on this server yet</b>: run <code>galcat release export "
        f"{escape(record.tag)} --out DIR</code> into a folder the service knows.</p>")
    body = (
        f"<p>{escape(definition.title)}, created {escape(record.created_at)} UTC with galcat "
        f"{escape(record.code_version)}. Row filter: <code>{escape(where) or 'none'}</code>.</p>"
        f"<ul>{counts}</ul>"
        f"<p>Cone search: <code>/scs/{escape(record.catalogue)}/{escape(record.tag)}"
        "?RA=&amp;DEC=&amp;SR=</code></p>"
        f"<img src=\"/releases/{tag}/sky.png\" alt=\"sky distribution\" width=\"720\">"
        "<h2>Models</h2><table><tr><th>task</th><th>model</th><th>weights sha256</th>"
        f"<th>training-set fingerprint</th></tr>{models}</table>"
        f"<h2>Files</h2>{note}<table><tr><th>file</th><th>format</th><th>bytes</th>"
        f"<th>sha256</th></tr>{files}</table>"
        "<h2>Data model</h2>"
        + "".join(f"<p>{escape(p)}</p>" for p in definition.how_made)
        + "".join(_table_html(t) for t in definition.tables))
    return page(f"{record.catalogue} release {record.tag}", body)


def _table_html(table: TableDef) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(c.name)}</code></td><td>{escape(c.dtype)}</td>"
        f"<td>{escape(c.unit)}</td><td>{escape(c.ucd)}</td><td>{escape(c.description)}</td>"
        "</tr>" for c in table.columns)
    return (f"<h3>{escape(table.name)}: {escape(table.title)}</h3>"
            f"<p>{escape(table.description)} Key: {escape(', '.join(table.key))}.</p>"
            "<table><tr><th>column</th><th>type</th><th>unit</th><th>UCD</th>"
            f"<th>description</th></tr>{rows}</table>")


def sky_counts(connection: sa.Connection, record: ReleaseRecord) -> np.ndarray:
    """Rows of the main table per cell of (longitude, Dec), longitude = −RA wrapped to
    [−180°, 180°] so that RA grows to the left; streamed, so memory does not grow with
    the number of rows."""
    table = catalogue(record.catalogue).main
    counts = np.zeros(SKY_BINS)
    edges = (np.linspace(-180, 180, SKY_BINS[0] + 1), np.linspace(-90, 90, SKY_BINS[1] + 1))
    for chunk in iter_chunks(connection, select_rows(record.pinned, table), table, CHUNK_ROWS):
        ra = np.asarray(chunk.values["ra"])
        lon = -np.where(ra > 180, ra - 360, ra)
        counts += np.histogram2d(lon, chunk.values["dec"], bins=edges)[0]
    return counts


def sky_png(counts: np.ndarray, title: str) -> bytes:
    """A Mollweide map of ``sky_counts`` (RA increasing to the left), as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.8), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="mollweide")
    lon_edges = np.radians(np.linspace(-180, 180, counts.shape[0] + 1))
    dec_edges = np.radians(np.linspace(-90, 90, counts.shape[1] + 1))
    mesh = ax.pcolormesh(lon_edges, dec_edges, np.ma.masked_equal(counts, 0).T,
                         shading="flat", cmap="viridis")
    ticks = np.arange(-150, 151, 30)
    ax.set_xticks(np.radians(ticks))
    ax.set_xticklabels([f"{int(-t) % 360}°" for t in ticks])
    ax.grid(True, alpha=0.4)
    ax.set_title(title)
    fig.colorbar(mesh, ax=ax, orientation="horizontal", fraction=0.05, pad=0.08,
                 label="rows per 2° × 2° cell (RA increases to the left)")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def tap_page(base: str, dialect: str) -> bytes:
    """The TAP service: endpoints, tables, and copy-paste snippets."""
    tables = "".join(
        f"<tr><td><code>{escape(t.qualified)}</code></td><td>{escape(t.description)}</td></tr>"
        for t in tap_tables().values())
    example = "SELECT TOP 10 * FROM dla.absorbers WHERE log_nhi > 20.3 ORDER BY log_nhi DESC"
    geometry = ("PostgreSQL with pg_sphere: every ADQL 2.0 geometry function, on the sky "
                "index." if dialect == "postgresql" else
                "This service runs on the embedded SQLite catalogue: ADQL geometry is POINT, "
                "CIRCLE, CONTAINS and DISTANCE, evaluated row by row (no sky index); BOX, "
                "POLYGON and INTERSECTS need PostgreSQL with pg_sphere.")
    body = (
        f"<p>IVOA TAP 1.1 at <code>{escape(base)}</code>. The tables hold the newest "
        f"release of each catalogue.</p><p>{escape(geometry)}</p>"
        "<ul><li><a href=\"/tap/tables\">tables</a> (VOSI)</li>"
        "<li><a href=\"/tap/capabilities\">capabilities</a></li>"
        "<li><a href=\"/tap/availability\">availability</a></li>"
        f"<li><code>/tap/sync?LANG=ADQL&amp;QUERY=…</code>: "
        f"<a href=\"/tap/sync?LANG=ADQL&amp;QUERY={quote(example)}\">an example</a></li></ul>"
        "<h2>From Python (pyvo)</h2>"
        f"<pre>import pyvo\ntap = pyvo.dal.TAPService({escape(repr(base))})\n"
        f"table = tap.search({escape(repr(example))}).to_table()</pre>"
        "<h2>From TOPCAT</h2><p>VO &#8594; Table Access Protocol (TAP) Query; paste "
        f"<code>{escape(base)}</code> as the TAP URL.</p>"
        f"<h2>Tables</h2><table><tr><th>table</th><th>what</th></tr>{tables}</table>")
    return page("galcat TAP service", body)


def api_page(openapi: dict[str, Any]) -> bytes:
    """The API reference: every route with its summary, description and parameters."""
    sections = []
    for path, methods in openapi.get("paths", {}).items():
        for method, operation in methods.items():
            parameters = "".join(
                f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
                f"<td>{'yes' if p.get('required') else ''}</td>"
                f"<td>{escape(p.get('description', ''))}</td></tr>"
                for p in operation.get("parameters", []))
            table = ("<table><tr><th>parameter</th><th>in</th><th>required</th><th>meaning"
                     f"</th></tr>{parameters}</table>" if parameters else "")
            sections.append(
                f"<h2><code>{escape(method.upper())} {escape(path)}</code></h2>"
                f"<p><b>{escape(operation.get('summary', ''))}</b></p>"
                f"<p>{escape(operation.get('description', ''))}</p>{table}")
    intro = ("<p>Generated from the service's OpenAPI document, "
             "<a href=\"/openapi.json\">/openapi.json</a>.</p>")
    return page(f"{openapi.get('info', {}).get('title', 'galcat')}: API", intro + "".join(sections))
