"""HATS collections: a release table partitioned on the sky by hats-import, for LSDB.

The writer streams chunks into a scratch Parquet file; on close it runs hats-import
in process (a one-thread dask cluster that lives only for the call) to write, in
the folder ``galcat_<catalogue>_<tag>_<table>_hats``, ``collection.properties``, the
catalogue in ``<table>/`` and its margin cache in ``<table>_10arcs/`` (named
``galcat_<catalogue>_<tag>_<table>`` and ``…_10arcs`` in their properties). Every
properties file carries the release's provenance as ``galcat_*`` keys.

Output depends only on the rows and the provenance: the partitioning thresholds are
fixed here, a partition's rows are ordered by HEALPix index and then by the table's
key, a single input file means one shard per pixel, and the creation date, size
estimate and margin's primary-table reference that hats-import takes from the clock
and the output path are rewritten from the release. The bytes do depend on the
installed pyarrow, hats and hats-import (their versions are in the files), as they do
for the other formats' libraries.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from galcat.catalog.release.definitions import Column, TableDef
from galcat.catalog.release.parquet import ParquetWriter, arrow_schema
from galcat.catalog.release.provenance import Provenance
from galcat.catalog.release.query import Chunk
from galcat.catalog.release.writers import ReleaseWriteError, TableWriter

MARGIN_THRESHOLD_ARCSEC = 10.0
"""Margin cache width in arcsec: each partition's margin holds every row within this
distance of its edge. hats-import takes whole order-13 HEALPix pixels (about 26 arcsec
across), so a margin also holds some rows further out; cross-matches within 10 arcsec
are complete across partition edges."""

PIXEL_THRESHOLD_ROWS = 1_000_000
"""Most rows in one partition (hats-import's default, fixed here so a newer default
cannot change a frozen release)."""

HIGHEST_ORDER = 7
"""Finest HEALPix order a partition may have (0.21 deg²; a partition stays larger than
``PIXEL_THRESHOLD_ROWS`` only where the sky holds over 4.7 million rows per deg²)."""

SUFFIX = "_hats"

HEALPIX_COLUMN = Column(
    "_healpix_29", "int64", "", "pos.healpix",
    "HATS spatial index: HEALPix NESTED pixel of (ra, dec) at order 29")


class HatsWriter(TableWriter):
    """A release table as a HATS collection (catalogue, margin cache, properties)."""

    format = "hats"
    suffix = SUFFIX

    def __init__(self, path: Path, table: TableDef, widths: dict[str, int],
                 provenance: Provenance) -> None:
        super().__init__(path, table, widths, provenance)
        self._scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
        self._source = self._scratch / "rows.parquet"
        self._rows = ParquetWriter(self._source, table, widths, provenance)
        self._closed = False

    def write(self, chunk: Chunk) -> None:
        self._rows.write(chunk)
        self.rows_written += chunk.n

    def close(self) -> None:
        """Partition the rows into the collection, once every counted row was written."""
        if self._closed:
            return
        self._closed = True
        try:
            self._rows.close()
            if self.rows_written != self.provenance.row_count:
                return
            if self.rows_written == 0:
                raise ReleaseWriteError(
                    f"table {self.table.name} has no rows and a HATS catalogue cannot be "
                    "empty: leave hats out of --format or loosen --where")
            write_collection(self.path, self._source, self.table, self.provenance,
                             self._scratch)
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)


def margin_name(name: str) -> str:
    """The margin cache of catalogue (or folder) ``name``, hats-import's way."""
    return f"{name}_{MARGIN_THRESHOLD_ARCSEC:g}arcs"


def write_collection(folder: Path, source: Path, table: TableDef, provenance: Provenance,
                     scratch: Path) -> None:
    """Import the rows of Parquet file ``source`` as a HATS collection in ``folder``.

    ``scratch`` holds hats-import's intermediate files.
    """
    from dask.distributed import Client
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.catalog.file_readers.parquet import ParquetPyarrowReader
    from hats_import.margin_cache.margin_cache_arguments import MarginCacheArguments
    from hats_import.pipeline import pipeline_with_client

    name = folder.name.removesuffix(SUFFIX)
    main, margin = table.name, margin_name(table.name)
    schema_file = scratch / "schema.parquet"
    pq.write_metadata(hats_schema(table, provenance), schema_file)
    quiet: dict[str, Any] = {"tmp_dir": scratch / "import", "resume": False,
                             "progress_bar": False}
    # distributed always serves HTTP, even without a dashboard: loopback, any free port
    with warnings.catch_warnings(), Client(
            processes=False, n_workers=1, threads_per_worker=1, local_directory=str(scratch),
            dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0") as client:
        # hats-import reads the margin's partition list before writing it, and says so
        warnings.filterwarnings("ignore", "Computing partitions from catalog parquet files")
        pipeline_with_client(ImportArguments(
            output_path=folder, output_artifact_name=main, input_file_list=[source],
            file_reader=ParquetPyarrowReader(), ra_column=_position(table, "ra"),
            dec_column=_position(table, "dec"), sort_columns=",".join(table.key),
            use_schema_file=schema_file, expected_total_rows=provenance.row_count,
            pixel_threshold=PIXEL_THRESHOLD_ROWS, highest_healpix_order=HIGHEST_ORDER,
            **quiet), client)
        pipeline_with_client(MarginCacheArguments(
            output_path=folder, output_artifact_name=margin, input_catalog_path=folder / main,
            margin_threshold=MARGIN_THRESHOLD_ARCSEC, **quiet), client)
    stamp = release_properties(table, provenance)
    _restamp(folder / main, stamp | {"catalog_name": name})
    _restamp(folder / margin, stamp | {"catalog_name": margin_name(name), "primary_catalog": name})
    _write_collection_properties(folder, name, main, margin, stamp)


def release_properties(table: TableDef, provenance: Provenance) -> dict[str, Any]:
    """The properties galcat adds to every properties file of a collection."""
    stamp: dict[str, Any] = {
        "obs_title": table.title,
        "obs_description": table.description,
        "hats_creator": "galcat",
        "hats_creation_date": creation_date(provenance.created_at),
        "galcat_margin_threshold_arcsec": f"{MARGIN_THRESHOLD_ARCSEC:g}",
    }
    for key, value in provenance.as_dict().items():
        stamp[f"galcat_{key}"] = value.replace("\\", "\\\\")  # the writer does not escape
    return stamp


def creation_date(created_at: str) -> str:
    """``hats_creation_date`` of a release made at ``created_at`` (UTC, to the minute,
    in hats' own ``YYYY-MM-DDThh:mmUTC`` form)."""
    return f"{created_at[:16]}UTC"


def hats_schema(table: TableDef, provenance: Provenance) -> pa.Schema:
    """The partitions' Arrow schema before hats-import prepends ``_healpix_29``; the
    astropy header in its metadata already describes that column."""
    full = arrow_schema(replace(table, columns=(HEALPIX_COLUMN, *table.columns)), provenance)
    return full.remove(0)


def _position(table: TableDef, axis: str) -> str:
    return next(c.name for c in table.columns if c.ucd == f"pos.eq.{axis};meta.main")


def _restamp(catalog: Path, stamp: dict[str, Any]) -> None:
    from hats.catalog import TableProperties

    TableProperties.read_from_dir(catalog).copy_and_update(**stamp).to_properties_file(catalog)


def _write_collection_properties(folder: Path, name: str, main: str, margin: str,
                                 stamp: dict[str, Any]) -> None:
    from importlib.metadata import version

    from hats.catalog.dataset.collection_properties import CollectionProperties
    from hats.catalog.dataset.table_properties import TableProperties

    built = TableProperties.new_provenance_dict(
        folder, builder=f"hats-import v{version('hats-import')}")
    CollectionProperties(obs_collection=name, hats_primary_table_url=main, all_margins=[margin],
                         default_margin=margin, **(built | stamp)
                         ).to_properties_file(folder)
