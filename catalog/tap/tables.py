"""The tables TAP shows, and ``TAP_SCHEMA`` describing them (TAP 1.1, section 4).

Each public catalogue's tables are ``<catalogue>.<table>`` (``dla.absorbers``,
``morphology.galaxies``, …) and hold the catalogue's newest release; their columns,
units and UCDs are the release's own (``catalog.release.definitions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from galcat.catalog.release.definitions import CATALOGUES, Column, TableDef
from galcat.catalog.release.votable import votable_unit

VOTABLE_TYPES = {"int16": "short", "int32": "int", "int64": "long", "float64": "double",
                 "bool": "boolean", "str": "char"}
TAP_SCHEMA = "TAP_SCHEMA"


@dataclass(frozen=True)
class TapTable:
    """One table TAP shows: ``schema.name``, its columns, and where its rows come from
    (a catalogue's table, or ``TAP_SCHEMA``)."""

    schema: str
    name: str
    description: str
    columns: tuple[Column, ...]
    indexed: frozenset[str] = frozenset()
    catalogue: str = ""
    """The catalogue whose newest release fills it; empty for ``TAP_SCHEMA``."""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def cte(self) -> str:
        """The name it runs under in SQL (a common table expression)."""
        return f"tap_{self.schema.lower()}_{self.name.lower()}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class ForeignKey:
    key_id: str
    from_table: str
    target_table: str
    columns: tuple[tuple[str, str], ...]
    description: str


ADQL_RESERVED = frozenset({"size"})
"""Column names that are ADQL reserved words, shown delimited (TAP 1.1: ``"size"``)."""


def adql_name(name: str) -> str:
    """A column's name as ADQL (and TAP_SCHEMA) writes it."""
    return f'"{name}"' if name.lower() in ADQL_RESERVED else name


def keys_from(qualified: str) -> list[ForeignKey]:
    """The foreign keys of a table (by its qualified name)."""
    return [k for k in FOREIGN_KEYS if k.from_table == qualified]


def _s(name: str, description: str, dtype: str = "str") -> Column:
    return Column(name, dtype, "", "", description, nullable=True)


SCHEMA_TABLES = (
    ("schemas", "Schemas TAP shows", (
        _s("schema_name", "Schema name"), _s("description", "What the schema holds"),
        _s("utype", "Schema utype"), _s("schema_index", "Order to show the schemas", "int32"))),
    ("tables", "Tables TAP shows", (
        _s("schema_name", "Schema the table is in"), _s("table_name", "Qualified table name"),
        _s("table_type", "table or view"), _s("description", "What the table holds"),
        _s("utype", "Table utype"), _s("table_index", "Order to show the tables", "int32"))),
    ("columns", "Columns of the tables TAP shows", (
        _s("table_name", "Qualified table name"), _s("column_name", "Column name"),
        _s("datatype", "VOTable datatype"), _s("arraysize", "VOTable arraysize"),
        _s("xtype", "VOTable xtype"), _s("size", "Deprecated length (TAP 1.0)", "int32"),
        _s("description", "What the column holds"), _s("utype", "Column utype"),
        _s("unit", "Unit (VOUnit)"), _s("ucd", "UCD1+ word"),
        _s("indexed", "1 when the column is indexed", "int32"),
        _s("principal", "1 when the column is of main interest", "int32"),
        _s("std", "1 when the column is defined by a standard", "int32"),
        _s("column_index", "Order of the column in its table", "int32"))),
    ("keys", "Foreign keys between the tables TAP shows", (
        _s("key_id", "Key id"), _s("from_table", "Table the key is in"),
        _s("target_table", "Table the key points to"), _s("description", "What the key means"),
        _s("utype", "Key utype"))),
    ("key_columns", "Columns of the foreign keys", (
        _s("key_id", "Key id"), _s("from_column", "Column in from_table"),
        _s("target_column", "Column in target_table"))),
)

FOREIGN_KEYS = (
    ForeignKey("tap_tables_schema", "TAP_SCHEMA.tables", "TAP_SCHEMA.schemas",
               (("schema_name", "schema_name"),), "The schema a table is in"),
    ForeignKey("tap_columns_table", "TAP_SCHEMA.columns", "TAP_SCHEMA.tables",
               (("table_name", "table_name"),), "The table a column is in"),
    ForeignKey("tap_keys_from", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables",
               (("from_table", "table_name"),), "The table a key is in"),
    ForeignKey("tap_keys_target", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables",
               (("target_table", "table_name"),), "The table a key points to"),
    ForeignKey("tap_key_columns_key", "TAP_SCHEMA.key_columns", "TAP_SCHEMA.keys",
               (("key_id", "key_id"),), "The key a column pair belongs to"),
    ForeignKey("dla_absorbers_sightline", "dla.absorbers", "dla.sightlines",
               (("sightline_id", "sightline_id"),),
               "The sightline an absorber was found on"),
    ForeignKey("environment_morphology_galaxy", "environment.galaxies", "morphology.galaxies",
               (("galaxy_id", "galaxy_id"),), "The same galaxy in the morphology catalogue"),
)


def _catalogue_table(catalogue_name: str, table: TableDef) -> TapTable:
    indexed = {"ra", "dec", *table.key}
    return TapTable(catalogue_name, table.name, f"{table.title}. {table.description} "
                    f"Rows of the newest {catalogue_name} release.", table.columns,
                    frozenset(indexed), catalogue_name)


@lru_cache(maxsize=1)
def tap_tables() -> dict[str, TapTable]:
    """Every table TAP shows, by lower-case qualified name, catalogues first."""
    found = [_catalogue_table(name, t) for name, c in CATALOGUES.items() for t in c.tables]
    found += [TapTable(TAP_SCHEMA, name, description, columns)
              for name, description, columns in SCHEMA_TABLES]
    return {t.qualified.lower(): t for t in found}


def schema_descriptions() -> dict[str, str]:
    """Each schema TAP shows, with what it holds."""
    out = {name: f"{c.title} (newest release)" for name, c in CATALOGUES.items()}
    out[TAP_SCHEMA] = "Tables describing the tables and columns TAP shows (TAP 1.1)"
    return out


def tap_schema_rows() -> dict[str, list[tuple[Any, ...]]]:
    """The rows of each ``TAP_SCHEMA`` table, in its column order."""
    tables = list(tap_tables().values())
    schemas = [(name, text, None, i) for i, (name, text)
               in enumerate(schema_descriptions().items())]
    table_rows = [(t.schema, t.qualified, "table", t.description, None, i)
                  for i, t in enumerate(tables)]
    columns = []
    for t in tables:
        for i, c in enumerate(t.columns):
            columns.append((
                t.qualified, adql_name(c.name), VOTABLE_TYPES[c.dtype],
                "*" if c.dtype == "str" else None,
                None, None, c.description, None, votable_unit(c.unit) if c.unit else None,
                c.ucd or None,
                int(c.name in t.indexed), 1, int(t.schema == TAP_SCHEMA), i))
    keys = [(k.key_id, k.from_table, k.target_table, k.description, None)
            for k in FOREIGN_KEYS]
    key_columns = [(k.key_id, a, b) for k in FOREIGN_KEYS for a, b in k.columns]
    return {"schemas": schemas, "tables": table_rows, "columns": columns, "keys": keys,
            "key_columns": key_columns}
