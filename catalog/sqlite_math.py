"""SQL math functions for SQLite connections, as PostgreSQL has them."""

from __future__ import annotations

import math
from typing import Any

SQL_MATH_FUNCTIONS: dict[str, tuple[int, Any]] = {
    "sin": (1, math.sin), "cos": (1, math.cos), "tan": (1, math.tan), "asin": (1, math.asin),
    "acos": (1, math.acos), "atan": (1, math.atan), "atan2": (2, math.atan2),
    "radians": (1, math.radians), "degrees": (1, math.degrees), "sqrt": (1, math.sqrt),
    "power": (2, math.pow), "pow": (2, math.pow), "exp": (1, math.exp), "ln": (1, math.log),
    "log10": (1, math.log10), "floor": (1, math.floor), "ceil": (1, math.ceil),
    "pi": (0, lambda: math.pi),
}


def ensure_math_functions(dbapi_connection: Any) -> None:
    """SQL math functions on every SQLite connection, as PostgreSQL has them.

    Python's SQLite usually has them built in, but a library loaded earlier in the
    process (TensorFlow ships its own libsqlite3) can leave them out.
    """
    try:
        dbapi_connection.execute("SELECT degrees(1), atan2(1, 1), power(2, 2)").fetchall()
        return
    except Exception:
        pass
    for name, (n_args, function) in SQL_MATH_FUNCTIONS.items():
        dbapi_connection.create_function(name, n_args, _null_safe(function), deterministic=True)


def _null_safe(function: Any) -> Any:
    def call(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        try:
            return function(*args)
        except (ValueError, OverflowError):
            return None

    return call
