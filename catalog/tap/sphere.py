"""pg_sphere's point-and-circle functions for SQLite, as queryparser's MySQL
translation of ADQL calls them: ``spoint``, ``scircle``, ``srcontainsl``, ``sdist``.

A point is carried between functions as the text ``"P <ra> <dec>"`` and a circle as
``"C <ra> <dec> <radius>"`` (radians); boxes and polygons are not provided, and a
query using them is told to use PostgreSQL.
"""

from __future__ import annotations

import math
from typing import Any


def _spoint(ra: float | None, dec: float | None) -> str | None:
    if ra is None or dec is None:
        return None
    return f"P {float(ra)!r} {float(dec)!r}"


def _scircle(centre: str | None, radius: float | None) -> str | None:
    if centre is None or radius is None:
        return None
    _, ra, dec = centre.split()
    return f"C {ra} {dec} {float(radius)!r}"


def _angle(a: list[str], b: list[str]) -> float:
    ra1, dec1, ra2, dec2 = float(a[1]), float(a[2]), float(b[1]), float(b[2])
    hav = (math.sin((dec2 - dec1) / 2) ** 2
           + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2)
    return 2 * math.asin(min(1.0, math.sqrt(hav)))


def _sdist(a: str | None, b: str | None) -> float | None:
    if a is None or b is None:
        return None
    return _angle(a.split(), b.split())


def _contains(inner: str | None, outer: str | None) -> int | None:
    if inner is None or outer is None:
        return None
    point, circle = inner.split(), outer.split()
    if point[0] != "P" or circle[0] != "C":
        raise ValueError("on SQLite, CONTAINS takes a POINT and a CIRCLE; other shapes "
                         "need PostgreSQL with pg_sphere")
    return int(_angle(point, circle) <= float(circle[3]))


FUNCTIONS: dict[str, tuple[int, Any]] = {
    "spoint": (2, _spoint), "scircle": (2, _scircle), "sdist": (2, _sdist),
    "srcontainsl": (2, _contains),
}


def add_sphere_functions(dbapi_connection: Any) -> None:
    """Register the functions on one sqlite3 connection."""
    for name, (n_args, function) in FUNCTIONS.items():
        dbapi_connection.create_function(name, n_args, function, deterministic=True)
