"""VOSI documents of the TAP service: capabilities, availability and the tableset."""

from __future__ import annotations

from xml.sax.saxutils import escape

from galcat.catalog.release.votable import votable_unit
from galcat.catalog.tap.output import FORMATS
from galcat.catalog.tap.tables import (
    VOTABLE_TYPES,
    adql_name,
    keys_from,
    schema_descriptions,
    tap_tables,
)
from galcat.catalog.tap.uws import RETENTION_DAYS

XML = '<?xml version="1.0" encoding="utf-8"?>\n'
MAX_ROWS = 1_000_000
DEFAULT_ROWS = 100_000
RETENTION_S = round(RETENTION_DAYS * 86_400)


def capabilities(base: str, sqlite: bool) -> bytes:
    """The VOSI capabilities of the service whose TAP root is ``base``."""
    formats = "".join(
        f"   <outputFormat><mime>{escape(f.media_type)}</mime><alias>{f.name}</alias>"
        "</outputFormat>\n" for f in FORMATS.values())
    geometry = ("POINT", "CIRCLE", "CONTAINS", "DISTANCE") if sqlite else (
        "POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "INTERSECTS", "DISTANCE",
        "AREA", "COORD1", "COORD2", "COORDSYS", "CENTROID")
    features = "".join(
        f"    <feature><form>{g}</form></feature>\n" for g in geometry)
    endpoints = "".join(
        f' <capability standardID="ivo://ivoa.net/std/VOSI#{name}">\n'
        f'  <interface xsi:type="vs:ParamHTTP" role="std">\n'
        f"   <accessURL use=\"full\">{escape(base)}/{name}</accessURL>\n"
        "  </interface>\n </capability>\n" for name in ("capabilities", "availability", "tables"))
    return (XML +
            '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
            'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">\n'
            ' <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">\n'
            '  <interface xsi:type="vs:ParamHTTP" role="std" version="1.1">\n'
            f'   <accessURL use="base">{escape(base)}</accessURL>\n'
            "  </interface>\n"
            '  <language>\n   <name>ADQL</name>\n'
            '   <version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>\n'
            "   <description>ADQL 2.0, translated by queryparser</description>\n"
            '   <languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo">\n'
            f"{features}   </languageFeatures>\n  </language>\n"
            f"{formats}"
            f"  <retentionPeriod><default>{RETENTION_S}</default><hard>{RETENTION_S}</hard>"
            "</retentionPeriod>\n"
            f"  <outputLimit><default unit=\"row\">{DEFAULT_ROWS}</default>"
            f"<hard unit=\"row\">{MAX_ROWS}</hard></outputLimit>\n"
            " </capability>\n"
            f"{endpoints}"
            "</vosi:capabilities>\n").encode("utf-8")


def availability(available: bool, note: str) -> bytes:
    """VOSI availability: whether the catalogue answers, and a note."""
    return (XML + '<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
            f"\n <vosi:available>{'true' if available else 'false'}</vosi:available>\n"
            f" <vosi:note>{escape(note)}</vosi:note>\n</vosi:availability>\n").encode("utf-8")


def tableset() -> bytes:
    """VOSI tables: every schema, table and column TAP shows, with units and UCDs."""
    parts = [XML, '<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1">\n']
    tables = list(tap_tables().values())
    for schema, description in schema_descriptions().items():
        parts.append(f" <schema>\n  <name>{escape(schema)}</name>\n"
                     f"  <description>{escape(description)}</description>\n")
        for table in (t for t in tables if t.schema == schema):
            parts.append(f'  <table type="table">\n   <name>{escape(table.qualified)}</name>\n'
                         f"   <description>{escape(table.description)}</description>\n")
            for column in table.columns:
                arraysize = ' arraysize="*"' if column.dtype == "str" else ""
                unit = (f"    <unit>{escape(votable_unit(column.unit))}</unit>\n"
                        if column.unit else "")
                ucd = f"    <ucd>{escape(column.ucd)}</ucd>\n" if column.ucd else ""
                flags = "    <flag>indexed</flag>\n" if column.name in table.indexed else ""
                parts.append(
                    f"   <column>\n    <name>{escape(adql_name(column.name))}</name>\n"
                    f"    <description>{escape(column.description)}</description>\n{unit}{ucd}"
                    f'    <dataType xsi:type="vs:VOTableType"{arraysize}>'
                    f"{VOTABLE_TYPES[column.dtype]}</dataType>\n{flags}   </column>\n")
            for key in keys_from(table.qualified):
                pairs = "".join(
                    f"    <fkColumn><fromColumn>{escape(a)}</fromColumn>"
                    f"<targetColumn>{escape(b)}</targetColumn></fkColumn>\n"
                    for a, b in key.columns)
                parts.append(f"   <foreignKey>\n    <targetTable>{escape(key.target_table)}"
                             f"</targetTable>\n{pairs}"
                             f"    <description>{escape(key.description)}</description>\n"
                             "   </foreignKey>\n")
            parts.append("  </table>\n")
        parts.append(" </schema>\n")
    parts.append("</vosi:tableset>\n")
    return "".join(parts).encode("utf-8")

