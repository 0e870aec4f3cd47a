"""HTML pages and the sky plot of the service (every value HTML-escaped)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

import numpy as np
import sqlalchemy as sa

from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.release.definitions import CATALOGUES, TableDef, catalogue
from galcat.catalog.release.query import CHUNK_ROWS, iter_chunks, select_rows
from galcat.catalog.service.objects import ObjectPage, Value
from galcat.catalog.tap.tables import tap_tables

STYLE = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
         "text-align:left;vertical-align:top}code{font-size:90%}"
         "pre{background:#f4f4f4;padding:.5em;overflow-x:auto}img{max-width:100%}"
         "figure{margin:1em 0}figcaption{font-size:90%;max-width:60em}")
SKY_BINS = (180, 90)


def page(title: str, body: str) -> bytes:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><link rel=\"icon\" href=\"data:,\">"
            f"<style>{STYLE}</style></head>\n<body>\n"
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


def release_page(record: ReleaseRecord, available: bool, base: str = "",
                 preview: Sequence[Mapping[str, Any]] = (), preview_columns: Sequence[str] = (),
                 linked: bool = False, newest: bool = True) -> bytes:
    """One release: counts, how to query it (pyvo, TOPCAT, LSDB; ``base`` is the service's
    URL), its first rows (``preview``, linked to their object pages when ``linked``),
    models, download links with sha256, sky plot, data model. ``newest``: whether TAP
    holds this release (TAP serves the newest release of each catalogue)."""
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
        + _snippets_html(record, base, preview, newest)
        + _preview_html(record, preview, preview_columns, linked)
        + "<h2>Models</h2><table><tr><th>task</th><th>model</th><th>weights sha256</th>"
        f"<th>training-set fingerprint</th></tr>{models}</table>"
        f"<h2>Files</h2>{note}<table><tr><th>file</th><th>format</th><th>bytes</th>"
        f"<th>sha256</th></tr>{files}</table>"
        "<h2>Data model</h2>"
        + "".join(f"<p>{escape(p)}</p>" for p in definition.how_made)
        + "".join(_table_html(t) for t in definition.tables))
    return page(f"{record.catalogue} release {record.tag}", body)


def _preview_html(record: ReleaseRecord, rows: Sequence[Mapping[str, Any]],
                  columns: Sequence[str], linked: bool) -> str:
    if not rows or not columns:
        return ""
    table = catalogue(record.catalogue).main
    main_id = table.main_id
    tag = quote(record.tag)

    def cell(row: Mapping[str, Any], name: str) -> str:
        text = escape(format_value(row.get(name)))
        if linked and name == main_id:
            return (f"<td><a href=\"/releases/{tag}/objects/{quote(str(row[name]))}\">{text}"
                    "</a></td>")
        return f"<td>{text}</td>"

    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(r, c) for c in columns) + "</tr>" for r in rows)
    what = ("each links to its page (the data and the model behind its values)" if linked
            else "this service has no object pages for this catalogue")
    total = record.table_rows.get(table.name, record.row_count)
    return (f"<h2>First rows</h2><p>The first {len(rows)} of {total} rows of "
            f"<code>{escape(table.name)}</code> by {escape(', '.join(table.key))}; {what}.</p>"
            f"<table><tr>{head}</tr>{body}</table>")


def _snippets_html(record: ReleaseRecord, base: str, rows: Sequence[Mapping[str, Any]],
                   newest: bool) -> str:
    table = catalogue(record.catalogue).main
    tap_url, cone_url = f"{base}/tap", f"{base}/scs/{record.catalogue}/{record.tag}"
    adql = f"SELECT TOP 100 * FROM {record.catalogue}.{table.name}"
    ra, dec = ((round(float(rows[0]["ra"]), 3), round(float(rows[0]["dec"]), 3))
               if rows and rows[0].get("ra") is not None else (150.0, 2.0))
    tap_note = ("TAP holds this release (the newest of its catalogue)." if newest else
                "TAP holds the newest release of each catalogue, which is not this one: query "
                "this frozen release by cone search or read its files.")
    hats = sorted({f.filename.split("/")[0] for f in record.files if f.format == "hats"})
    folders = [f"galcat_{record.catalogue}_{record.tag}_{t.name}_hats"
               for t in catalogue(record.catalogue).tables]
    lsdb_note = (
        "This release has HATS collections: " + ", ".join(f"<code>{escape(h)}</code>"
                                                          for h in hats)
        + f" (download them, or <code>galcat release export {escape(record.tag)} --out DIR"
          "</code>)." if hats else
        "This release was written without HATS collections; a release made with "
        "<code>--format …,hats</code> has one folder per table, named like "
        + ", ".join(f"<code>{escape(f)}</code>" for f in folders) + ".")
    python = (f"import pyvo\n\ntap = pyvo.dal.TAPService({tap_url!r})\n"
              f"rows = tap.search({adql!r}).to_table()\n\n"
              f"scs = pyvo.dal.SCSService({cone_url!r})\n"
              f"near = scs.search(pos=({ra}, {dec}), radius=0.1).to_table()  # degrees")
    lsdb = (f"import lsdb\n\ncatalog = lsdb.open_catalog({(hats or folders)[0]!r})\n"
            f"near = catalog.cone_search(ra={ra}, dec={dec}, radius_arcsec=360).compute()")
    return (
        "<h2>Query it</h2>"
        f"<h3>Python (pyvo)</h3><p>{escape(tap_note)}</p><pre>{escape(python)}</pre>"
        "<h3>TOPCAT</h3><ul><li>VO &#8594; Table Access Protocol (TAP) Query: TAP URL "
        f"<code>{escape(tap_url)}</code></li><li>VO &#8594; Cone Search: Cone URL "
        f"<code>{escape(cone_url)}</code></li></ul>"
        f"<h3>LSDB (HATS)</h3><p>{lsdb_note}</p><pre>{escape(lsdb)}</pre>")


def object_page(record: ReleaseRecord, object_id: int, content: ObjectPage) -> bytes:
    """One object of a release: its figures, values with errors, related rows, notes."""
    tag = quote(record.tag)
    base = f"/releases/{tag}/objects/{quote(str(object_id))}"
    figures = "".join(
        f"<p><b>{escape(f.name)}</b>: {escape(f.missing)}</p>" if f.missing else
        f"<figure><img src=\"{base}/{quote(f.name)}.png\" alt=\"{escape(f.caption)}\">"
        f"<figcaption>{escape(f.caption)}</figcaption></figure>" for f in content.figures)
    values = "".join(_value_html(v) for v in content.values)
    listings = ""
    for listing in content.listings:
        head = "".join(f"<th>{escape(c)}</th>" for c in listing.columns)
        rows = ""
        for i, row in enumerate(listing.rows):
            link = listing.object_ids[i] if i < len(listing.object_ids) else None
            cells = [escape(format_value(v)) for v in row]
            if link is not None and cells:
                cells[0] = f"<a href=\"/releases/{tag}/objects/{link}\">{cells[0]}</a>"
            rows += "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        note = f"<p>{escape(listing.note)}</p>" if listing.note else ""
        listings += (f"<h2>{escape(listing.title)}</h2>{note}"
                     f"<table><tr>{head}</tr>{rows}</table>")
    notes = "".join(f"<li>{escape(n)}</li>" for n in content.notes)
    body = (
        f"<p><a href=\"/releases/{tag}\">&#8592; release {escape(record.tag)}</a> "
        f"({escape(catalogue(record.catalogue).title)})</p><p>{escape(content.summary)}</p>"
        f"{figures}<h2>Values</h2><table><tr><th>column</th><th>value</th><th>1&#963; error"
        f"</th><th>unit</th><th>meaning</th></tr>{values}</table>{listings}"
        + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""))
    return page(content.title, body)


def _value_html(value: Value) -> str:
    error = "" if value.error is None else format_value(value.error, digits=4)
    return (f"<tr><td><code>{escape(value.name)}</code></td>"
            f"<td>{escape(format_value(value.value))}</td><td>{escape(error)}</td>"
            f"<td>{escape(value.unit)}</td><td>{escape(value.description)}</td></tr>")


def format_value(value: Any, digits: int = 7) -> str:
    """A catalogue value as text: floats to ``digits`` significant digits, null empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else f"{value:.{digits}g}"
    return str(value)


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
