"""The simulation manifest (YAML): one simulated galaxy, its snapshots and, per snapshot,
its cameras with their images. Read whole and checked before anything is stored; a
mistake is reported with the line and the field at fault.

Format ``galcat-simulation/1`` (docs/simulations.md shows a full example and the mapping
from VELA's products)::

    format: galcat-simulation/1
    simulation: {name: VELA23, code: ART, resolution_pc: 17.5, description: ..., metadata: {...}}
    snapshots:
      - index: 0                  # unique, >= 0
        scale_factor: 0.20        # or redshift (one follows from the other)
        time_gyr: 1.55            # cosmic time; from the scale factor (Planck18) if absent
        log_m_dm_1kpc: 9.1        # log10 Msun within 1 / 10 kpc: dm, star_insitu,
        ...                       #   star_exsitu, gas
        sfr_1kpc_msun_yr: 3.0     # Msun/yr: sfr_1kpc, sfr_10kpc, inflow, outflow
        phase: pre-BN             # free text (pre-BN, BN, post-BN in galcat's mocks)
        compaction_cause: inflow  # inflow | merger | null
        time_since_merger_gyr: null
        events: [{type: merger, mass_ratio: 0.4}]
        cameras:
          - {index: 0, theta_deg: 0, phi_deg: 0, inclination_deg: 12.0, image: a0.200/cam00.fits}

Image paths are relative to the manifest's folder.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from galcat.catalog.formats.errors import InputError

FORMAT = "galcat-simulation/1"
MASS_FIELDS = tuple(f"log_m_{part}_{radius}" for part in ("dm", "star_insitu", "star_exsitu", "gas")
                    for radius in ("1kpc", "10kpc"))
RATE_FIELDS = ("sfr_1kpc_msun_yr", "sfr_10kpc_msun_yr", "inflow_msun_yr", "outflow_msun_yr")
CAUSES = ("inflow", "merger")


@dataclass(frozen=True)
class CameraEntry:
    """One camera of a snapshot: angles in degrees, the image file it saw."""

    index: int
    image: Path
    theta_deg: float | None = None
    phi_deg: float | None = None
    inclination_deg: float | None = None
    line: int = 0


@dataclass(frozen=True)
class SnapshotEntry:
    """One snapshot: the ``snapshot`` table's columns, and its cameras."""

    values: dict[str, Any]
    cameras: tuple[CameraEntry, ...]
    line: int = 0

    @property
    def index(self) -> int:
        return int(self.values["snapshot_index"])


@dataclass(frozen=True)
class SimulationManifest:
    """A checked manifest: the simulation row's values and its snapshots."""

    path: Path
    sha256: str
    simulation: dict[str, Any]
    snapshots: tuple[SnapshotEntry, ...] = field(default_factory=tuple)

    @property
    def n_cameras(self) -> int:
        return sum(len(s.cameras) for s in self.snapshots)


class _Reader:
    """Walks the YAML node tree, converting values and naming the line of each mistake."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, where: str, message: str) -> InputError:
        return InputError(self.path, f"line {node.start_mark.line + 1}, {where}: {message}")

    def mapping(self, node: yaml.Node, where: str, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "expected a mapping (key: value lines)")
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name not in allowed:
                raise self.fail(key, f"{where}.{name}" if where else name,
                                f"unknown field (allowed: {', '.join(allowed)})")
            if name in out:
                raise self.fail(key, f"{where}.{name}" if where else name, "given twice")
            out[name] = value
        for name in required:
            if name not in out:
                raise self.fail(node, where or "manifest", f"the field {name!r} is missing")
        return out

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, where, "expected a list")
        return list(node.value)

    def plain(self, node: yaml.Node) -> Any:
        return yaml.safe_load(yaml.serialize(node))

    def number(self, node: yaml.Node, where: str, *, null: bool = True,
               check: Callable[[float], bool] | None = None, hint: str = "") -> float | None:
        value = self.plain(node)
        if value is None and null:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(float(value)):
            raise self.fail(node, where, f"expected a finite number, got {value!r}")
        if check is not None and not check(float(value)):
            raise self.fail(node, where, f"{value!r} is out of range{hint}")
        return float(value)

    def integer(self, node: yaml.Node, where: str) -> int:
        value = self.plain(node)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(node, where, f"expected a whole number >= 0, got {value!r}")
        return int(value)

    def text(self, node: yaml.Node, where: str, max_len: int, *, null: bool = True) -> str | None:
        value = self.plain(node)
        if value is None and null:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, where, f"expected text, got {value!r}")
        if len(value) > max_len:
            raise self.fail(node, where, f"longer than {max_len} characters")
        return value


SIMULATION_FIELDS = ("name", "code", "resolution_pc", "description", "metadata")
SNAPSHOT_FIELDS = ("index", "scale_factor", "redshift", "time_gyr", *MASS_FIELDS, *RATE_FIELDS,
                   "phase", "compaction_cause", "time_since_merger_gyr", "events", "cameras")
CAMERA_FIELDS = ("index", "theta_deg", "phi_deg", "inclination_deg", "image")


def read_manifest(path: str | Path) -> SimulationManifest:
    """Read and check a simulation manifest; raises ``InputError`` naming line and field."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the manifest: {exc.strerror or exc}") from exc
    try:
        root = yaml.compose(raw.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        raise InputError(path, "the manifest is not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(path, f"{where}not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if root is None:
        raise InputError(path, "the manifest is empty")
    r = _Reader(path)
    top = r.mapping(root, "", ("format", "simulation", "snapshots"),
                    ("format", "simulation", "snapshots"))
    if r.plain(top["format"]) != FORMAT:
        raise r.fail(top["format"], "format", f"expected {FORMAT!r}")
    simulation = _simulation(r, top["simulation"])
    snapshots = [_snapshot(r, node, f"snapshots[{i}]", path.parent)
                 for i, node in enumerate(r.sequence(top["snapshots"], "snapshots"))]
    if not snapshots:
        raise r.fail(top["snapshots"], "snapshots", "no snapshots listed")
    seen: dict[int, int] = {}
    for s in snapshots:
        if s.index in seen:
            raise InputError(path, f"line {s.line}, snapshots: index {s.index} is used twice "
                             f"(first on line {seen[s.index]})")
        seen[s.index] = s.line
    return SimulationManifest(path, hashlib.sha256(raw).hexdigest(), simulation,
                              tuple(sorted(snapshots, key=lambda s: s.index)))


def _simulation(r: _Reader, node: yaml.Node) -> dict[str, Any]:
    m = r.mapping(node, "simulation", SIMULATION_FIELDS, ("name",))
    values: dict[str, Any] = {"name": r.text(m["name"], "simulation.name", 64, null=False)}
    if "code" in m:
        values["code"] = r.text(m["code"], "simulation.code", 64)
    if "description" in m:
        values["description"] = r.text(m["description"], "simulation.description", 10_000)
    if "resolution_pc" in m:
        values["resolution_pc"] = r.number(m["resolution_pc"], "simulation.resolution_pc",
                                           check=lambda v: v > 0, hint=" (must be > 0)")
    if "metadata" in m:
        metadata = r.plain(m["metadata"])
        if metadata is not None and not isinstance(metadata, dict):
            raise r.fail(m["metadata"], "simulation.metadata", "expected a mapping")
        values["extra"] = metadata
    return values


def _snapshot(r: _Reader, node: yaml.Node, where: str, folder: Path) -> SnapshotEntry:
    m = r.mapping(node, where, SNAPSHOT_FIELDS, ("index", "cameras"))
    values: dict[str, Any] = {"snapshot_index": r.integer(m["index"], f"{where}.index")}
    a = r.number(m["scale_factor"], f"{where}.scale_factor", check=lambda v: 0 < v <= 1,
                 hint=" (0 < a <= 1)") if "scale_factor" in m else None
    z = r.number(m["redshift"], f"{where}.redshift", check=lambda v: v >= 0,
                 hint=" (z >= 0)") if "redshift" in m else None
    if a is None and z is None:
        raise r.fail(node, where, "give the scale_factor or the redshift")
    if a is not None and z is not None and abs(1.0 / a - 1.0 - z) > 1e-3 * (1.0 + z):
        raise r.fail(m["redshift"], f"{where}.redshift",
                     f"{z} disagrees with scale_factor {a} (z = 1/a - 1 = {1 / a - 1:.4f})")
    values["scale_factor"] = a if a is not None else 1.0 / (1.0 + float(z or 0.0))
    values["redshift"] = z if z is not None else 1.0 / float(a or 1.0) - 1.0
    values["time_gyr"] = (r.number(m["time_gyr"], f"{where}.time_gyr", check=lambda v: v > 0)
                          if "time_gyr" in m else None)
    for name in MASS_FIELDS:
        if name in m:
            values[name] = r.number(m[name], f"{where}.{name}", check=lambda v: 0 <= v < 16,
                                    hint=" (log10 solar masses)")
    for name in RATE_FIELDS:
        if name in m:
            values[name] = r.number(m[name], f"{where}.{name}", check=lambda v: v >= 0,
                                    hint=" (a rate in Msun/yr is >= 0)")
    if "phase" in m:
        values["phase"] = r.text(m["phase"], f"{where}.phase", 32)
    if "compaction_cause" in m:
        cause = r.plain(m["compaction_cause"])
        if cause is not None and cause not in CAUSES:
            raise r.fail(m["compaction_cause"], f"{where}.compaction_cause",
                         f"{cause!r} is not one of {', '.join(CAUSES)} (or null)")
        values["compaction_cause"] = cause
    if "time_since_merger_gyr" in m:
        values["time_since_merger_gyr"] = r.number(
            m["time_since_merger_gyr"], f"{where}.time_since_merger_gyr", check=lambda v: v >= 0)
    if "events" in m:
        values["events"] = _events(r, m["events"], f"{where}.events")
    cameras = [_camera(r, c, f"{where}.cameras[{i}]", folder)
               for i, c in enumerate(r.sequence(m["cameras"], f"{where}.cameras"))]
    seen: set[int] = set()
    for camera in cameras:
        if camera.index in seen:
            raise InputError(r.path, f"line {camera.line}, {where}.cameras: index "
                             f"{camera.index} is used twice")
        seen.add(camera.index)
    return SnapshotEntry(values, tuple(cameras), node.start_mark.line + 1)


def _events(r: _Reader, node: yaml.Node, where: str) -> list[dict[str, Any]]:
    events = []
    for i, item in enumerate(r.sequence(node, where)):
        event = r.plain(item)
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise r.fail(item, f"{where}[{i}]", "an event is a mapping with a 'type' (text)")
        ratio = event.get("mass_ratio")
        if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, int | float)
                                  or not 0 < ratio <= 1):
            raise r.fail(item, f"{where}[{i}].mass_ratio",
                         f"{ratio!r}: a mass ratio is a number in (0, 1]")
        events.append(event)
    return events


def _camera(r: _Reader, node: yaml.Node, where: str, folder: Path) -> CameraEntry:
    m = r.mapping(node, where, CAMERA_FIELDS, ("index", "image"))
    image_text = r.text(m["image"], f"{where}.image", 4096, null=False)
    image = Path(str(image_text))
    image = image if image.is_absolute() else folder / image
    if not image.is_file():
        raise r.fail(m["image"], f"{where}.image", f"no such file: {image}")

    def angle(name: str, lo: float, hi: float) -> float | None:
        if name not in m:
            return None
        return r.number(m[name], f"{where}.{name}", check=lambda v: lo <= v <= hi,
                        hint=f" ({lo:g} to {hi:g} degrees)")

    return CameraEntry(r.integer(m["index"], f"{where}.index"), image,
                       angle("theta_deg", 0, 180), angle("phi_deg", -360, 360),
                       angle("inclination_deg", 0, 180), node.start_mark.line + 1)
