"""Dispatcher: ``python -m bench`` runs every bench, ``python -m bench NAME [options]`` one.

Options after the name go to that bench (``python -m bench foundation --help``).
Options without a name go to every bench (``python -m bench --quick``).
To add a bench, write ``bench/<name>.py`` with ``DESCRIPTION`` and ``main(argv) -> int``
and add it to ``BENCHES``.
"""

from __future__ import annotations

import importlib
import sys

BENCHES: dict[str, str] = {
    "foundation": "bench.foundation",
    "jobs": "bench.jobs",
    "release": "bench.release",
    "dla": "bench.dla",
    "dla-refine": "bench.dla_refine",
    "ingest": "bench.ingest",
    "galaxy": "bench.galaxy",
    "sim-phases": "bench.simulation_phases",
    "environment": "bench.environment",
    "service": "bench.service",
    "scaling": "bench.scaling",
}


def _usage() -> str:
    lines = [
        "usage: python -m bench [NAME] [options]",
        "",
        "Run one bench (NAME) or all of them; options go to each bench that runs.",
        "Example: python -m bench foundation --quick",
        "",
        "benches:",
    ]
    for name, module in BENCHES.items():
        description = getattr(importlib.import_module(module), "DESCRIPTION", "")
        lines.append(f"  {name:<12} {description}")
    lines.append("")
    lines.append("python -m bench NAME --help shows a bench's options.")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in BENCHES:
            print(f"unknown bench {name!r}\n\n{_usage()}", file=sys.stderr)
            return 2
        selected = [name]
    else:
        selected, rest = list(BENCHES), argv
    status = 0
    for name in selected:
        module = importlib.import_module(BENCHES[name])
        status = max(status, int(module.main(list(rest))))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
