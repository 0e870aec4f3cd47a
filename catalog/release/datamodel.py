"""The human-readable data model written with every release (Markdown)."""

from __future__ import annotations

from collections.abc import Sequence

from galcat.catalog.release.definitions import CatalogueDef, TableDef
from galcat.catalog.release.hats import MARGIN_THRESHOLD_ARCSEC, margin_name
from galcat.catalog.release.provenance import ModelPin

FORMAT_NOTES = {
    "fits": "FITS binary table in extension 1 (TUNITn, TUCDn, TCOMMn; null integers are "
            "TNULLn, null floats NaN; provenance keywords and CHECKSUM/DATASUM in every HDU).",
    "votable": "VOTable 1.3, BINARY2 serialization; provenance in INFO elements; units in "
               "the CDS syntax VOTable 1.3 prescribes.",
    "parquet": "Parquet (zstd); unit, ucd and description in each field's metadata, "
               "provenance as JSON in the schema metadata key galcat.provenance, and "
               "astropy's table_meta_yaml so astropy restores units.",
    "csv": "CSV whose '#' comment lines are an ECSV 1.0 header (types, units, "
           "descriptions, provenance): read it with astropy as format='ascii.ecsv', or with "
           "any CSV reader that skips '#' lines. Nulls are empty fields.",
    "hats": "HATS collection folder (hats-import): the table partitioned by HEALPix in "
            "`TABLE/dataset/Norder=*/Dir=*/Npix=*.parquet` with a `_healpix_29` index "
            f"column, a {MARGIN_THRESHOLD_ARCSEC:g} arcsec margin cache in "
            f"`{margin_name('TABLE')}/`, and the provenance as `galcat_*` keys in "
            "`collection.properties` and each `hats.properties`; open it with "
            "`lsdb.open_catalog(folder)`. Every file inside is in the MANIFEST.",
}


def render_datamodel(
    definition: CatalogueDef, tag: str, created_at: str, code_version: str,
    models: Sequence[ModelPin], where: str, row_counts: dict[str, int],
    files: dict[str, list[str]],
) -> str:
    """The data model of one release: what each column means and how rows were chosen.

    ``files`` maps each format to the file names written in it.
    """
    lines = [f"# {definition.title}, release {tag}", "",
             f"- Release tag: `{tag}`",
             f"- Created: {created_at} UTC",
             f"- galcat version: {code_version}",
             f"- Row filter: `{where}`" if where.strip() else "- Row filter: none",
             *(f"- Rows in `{name}`: {count}" for name, count in row_counts.items()),
             "", "## Models", "",
             "| task | model | weights sha256 | training-set fingerprint | trained with |",
             "|---|---|---|---|---|"]
    lines += [f"| {m.task} | `{m.reference}` | `{m.weights_sha256}` | "
              f"`{m.training_fingerprint or 'unknown'}` | galcat {m.code_version} |"
              for m in models]
    lines += ["", "## How it was made", ""]
    for paragraph in definition.how_made:
        lines += [paragraph, ""]
    lines += ["Rows are ordered by each table's key. The release is frozen: `galcat release "
              f"export {tag} --out DIR` rewrites these files byte for byte (prediction rows "
              "written after the release are excluded by their row id).", ""]
    for table in definition.tables:
        lines += _table_section(table)
    lines += ["## Files", ""]
    for fmt, names in files.items():
        lines += [f"- {fmt}: " + ", ".join(f"`{n}`" for n in names) + f". {FORMAT_NOTES[fmt]}"]
    lines += ["", "Checksums: the MANIFEST file lists the sha256 of every file "
              "(`sha256sum -c` reads it).", ""]
    return "\n".join(lines)


def _table_section(table: TableDef) -> list[str]:
    lines = [f"## Table `{table.name}`: {table.title}", "", table.description, "",
             f"Key: {', '.join(f'`{k}`' for k in table.key)}.", "",
             "| column | type | unit | UCD | null? | description |",
             "|---|---|---|---|---|---|"]
    for c in table.columns:
        lines.append(f"| `{c.name}` | {c.dtype} | {c.unit or ''} | {c.ucd} | "
                     f"{'yes' if c.nullable else ''} | {c.description} |")
    return [*lines, ""]
