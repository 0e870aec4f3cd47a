"""Typed job specifications: one frozen dataclass per job kind.

A spec declares its parameters and their defaults once. It turns itself into the job
row's stored parameters (:meth:`JobSpec.to_params`) and back (:meth:`JobSpec.from_params`,
which refuses unknown keys and wrong types with a clear error), and prints the
``galcat`` command line that reproduces it (:meth:`JobSpec.command`). Which function
runs each kind is one explicit table, :data:`galcat.workers.handlers.HANDLERS`.

A field's ``flag`` is its command-line option (default ``--field-name``); ``shown``
says when :meth:`JobSpec.command` prints it: ``"set"`` (any value but None or False,
the default) or ``"changed"`` (only when it differs from its default).
"""

from __future__ import annotations

import dataclasses
import shlex
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self


class SpecError(ValueError):
    """Stored or given job parameters that do not make a valid spec."""


def option(default: Any = dataclasses.MISSING, *, flag: str | None = None,
           shown: str = "set") -> Any:
    """A spec field with its command-line ``flag`` and when :meth:`JobSpec.command` shows it."""
    metadata = {"flag": flag, "shown": shown}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class JobSpec:
    """One kind of job: its stored name, its queue, the CLI words that submit it, and which
    field (if any) names a registered model to resolve when the job is submitted."""

    kind: ClassVar[str]
    queue: ClassVar[str] = "gpu"
    verb: ClassVar[str | None] = None
    model_field: ClassVar[str | None] = None

    def to_params(self) -> dict[str, Any]:
        """The parameters as stored on the job row (JSON: tuples become lists)."""
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        """The spec stored as ``params``; unknown keys, missing required keys and values of
        the wrong type are refused, each named."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise SpecError(f"{cls.kind} job: unknown parameter{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(map(repr, unknown))} (known: {', '.join(sorted(names))})")
        hints = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            if f.name in params:
                values[f.name] = _coerce(cls.kind, f.name, params[f.name], hints[f.name])
            elif f.default is dataclasses.MISSING:
                raise SpecError(f"{cls.kind} job: parameter {f.name!r} is required")
        return cls(**values)

    @property
    def model_reference(self) -> str | None:
        """The registered model this job uses (``dla@3``), if any."""
        return None if self.model_field is None else getattr(self, self.model_field)

    def command(self) -> str | None:
        """The ``galcat`` command line that submits this job again (None for internal kinds)."""
        if self.verb is None:
            return None
        words = ["galcat", *self.verb.split()]
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or value is False:
                continue
            if f.metadata.get("shown") == "changed" and value == f.default:
                continue
            flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
            words += [flag] if value is True else [flag, _text(value)]
        return " ".join(shlex.quote(w) for w in words)


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _coerce(kind: str, name: str, value: Any, hint: Any) -> Any:
    """``value`` as type ``hint`` (int, float, str, bool, tuple[int | str, ...], or X | None)."""
    options = typing.get_args(hint) if typing.get_origin(hint) is typing.Union or \
        type(hint).__name__ == "UnionType" else (hint,)
    if value is None and type(None) in options:
        return None
    for option_type in options:
        if option_type is bool and isinstance(value, bool):
            return value
        if option_type is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option_type is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option_type is str and isinstance(value, str):
            return value
        if typing.get_origin(option_type) is tuple and isinstance(value, list | tuple) and \
                all(_is_a(v, typing.get_args(option_type)[0]) for v in value):
            return tuple(value)
    wanted = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise SpecError(f"{kind} job: parameter {name!r} is {value!r}, not {wanted}")


def _is_a(value: Any, element: type) -> bool:
    """``value`` is an ``element`` (int or str), and never a bool standing in for an int."""
    return isinstance(value, element) and not isinstance(value, bool)


# --- the DLA finder (Parks+2018) -----------------------------------------------------


@dataclass(frozen=True)
class TrainDla(JobSpec):
    """Train the DLA finder on seeded mock BOSS sightlines (or continue ``base``)."""

    kind: ClassVar[str] = "train_dla"
    verb: ClassVar[str | None] = "train dla"
    model_field: ClassVar[str | None] = "base"

    seed: int = 1
    sightlines: int = 2500
    epochs: int = 4
    n_eval: int = 1000
    name: str = "dla"
    base: str | None = option(None, flag="--from")
    learning_rate: float | None = None
    fresh_each_epoch: bool = False
    log_nhi_loss_weight: float | None = None
    network: str = option("parks18", shown="changed")
    validation_sightlines: int = option(400, shown="changed")
    chunk_sightlines: int = option(500, shown="changed")


@dataclass(frozen=True)
class CalibrateDla(JobSpec):
    """Fit a DLA model's log N_HI calibration on fresh mocks; same weights, new version."""

    kind: ClassVar[str] = "calibrate_dla"
    verb: ClassVar[str | None] = "train dla-calibration"
    model_field: ClassVar[str | None] = "base"

    base: str = option(flag="--from")
    sightlines: int = 4000
    seed: int = 777
    n_eval: int = 1000
    name: str = "dla"
    snr_min: float = option(5.0, shown="changed")


# --- galaxies: the Sérsic emulator (Tuccillo+2018) and morphology (Huertas-Company+2015)


@dataclass(frozen=True)
class TrainGalaxyNetwork(JobSpec):
    """Train a galaxy network on seeded mocks (fields shared by both networks)."""

    kind: ClassVar[str] = ""
    seed: int = 1
    n: int = 20000
    epochs: int = 40
    n_eval: int = 2000
    filters: tuple[int, ...] = (16, 32, 64)
    batch_size: int = 64
    learning_rate: float = 1e-3
    name: str = ""
    dense_units: int = option(128, shown="changed")
    run_eagerly: bool = False


@dataclass(frozen=True)
class TrainSersic(TrainGalaxyNetwork):
    """Train the Sérsic emulator on seeded single-Sérsic mocks."""

    kind: ClassVar[str] = "train_sersic"
    verb: ClassVar[str | None] = "train sersic"

    name: str = "sersic"


@dataclass(frozen=True)
class TrainMorphology(TrainGalaxyNetwork):
    """Train the CANDELS-style morphology network on seeded mocks of every kind."""

    kind: ClassVar[str] = "train_morphology"
    verb: ClassVar[str | None] = "train morphology"

    epochs: int = 30
    name: str = "morphology"
    dense_units: int = option(64, shown="changed")


@dataclass(frozen=True)
class FinetuneMorphology(JobSpec):
    """Fine-tune a registered morphology model on the catalogue's images of a label set."""

    kind: ClassVar[str] = "finetune_morphology"
    verb: ClassVar[str | None] = "train morphology"
    model_field: ClassVar[str | None] = "base"

    labels: str = option()
    base: str = option("morphology", flag="--from")
    epochs: int = 10
    seed: int = 1
    whole_network: bool = False
    name: str | None = None
    run_eagerly: bool = False


# --- simulated galaxies: phases, compaction cause, time since merger (Huertas-Company+2018)


@dataclass(frozen=True)
class TrainPhases(JobSpec):
    """Train the phase network on the cameras of the catalogue's simulated galaxies
    (``simulations``: SQL on simulation rows) and score it on others (``held_out``)."""

    kind: ClassVar[str] = "train_phases"
    verb: ClassVar[str | None] = "train phases"

    simulations: str = option()
    held_out: str | None = None
    seed: int = 1
    epochs: int = 12
    filters: tuple[int, ...] = (16, 32, 64)
    dense_units: int = 64
    batch_size: int = 64
    learning_rate: float = 1e-3
    images_only: bool = False
    name: str = "phases"
    run_eagerly: bool = False


# --- inference: a parent job fans out into shards -------------------------------------


@dataclass(frozen=True)
class InferSpec(JobSpec):
    """Run a registered model over catalogue objects (``where``: SQL on the object table);
    with ``skip_done``, only over objects this model version has no answer for yet."""

    queue: ClassVar[str] = "cpu"
    model_field: ClassVar[str | None] = "model"
    task: ClassVar[str]

    model: str = ""
    where: str | None = None
    shard_size: int | None = None
    skip_done: bool = False


@dataclass(frozen=True)
class InferDla(InferSpec):
    """Search sightlines for damped Lyα systems."""

    kind: ClassVar[str] = "infer_dla"
    verb: ClassVar[str | None] = "infer dla"
    task: ClassVar[str] = "dla"

    model: str = "dla"


@dataclass(frozen=True)
class InferSersic(InferSpec):
    """Sérsic parameters of images."""

    kind: ClassVar[str] = "infer_sersic"
    verb: ClassVar[str | None] = "infer sersic"
    task: ClassVar[str] = "sersic"

    model: str = "sersic"


@dataclass(frozen=True)
class InferMorphology(InferSpec):
    """Morphology fractions and bulge/disk probabilities of images."""

    kind: ClassVar[str] = "infer_morphology"
    verb: ClassVar[str | None] = "infer morphology"
    task: ClassVar[str] = "morphology"

    model: str = "morphology"


@dataclass(frozen=True)
class InferShard(JobSpec):
    """One shard of an inference job: ``task``'s model over these object ids."""

    kind: ClassVar[str] = "infer_shard"

    task: str = option()
    object_ids: tuple[int, ...] = option()


@dataclass(frozen=True)
class InferPhases(InferSpec):
    """Phase, compaction cause and time since merger for the images of simulated galaxies."""

    kind: ClassVar[str] = "infer_phases"
    verb: ClassVar[str | None] = "infer phases"
    task: ClassVar[str] = "phases"

    model: str = "phases"


# --- galaxy environments: SORT and a learned redshift network (Tejos+2018) --------------


@dataclass(frozen=True)
class SortRedshifts(JobSpec):
    """SORT redshifts for the catalogue's galaxies (``where``: SQL on galaxy rows), sharded
    by sky tile; ``reference_where`` picks the spectroscopic redshifts used as reference."""

    kind: ClassVar[str] = "sort_redshifts"
    queue: ClassVar[str] = "cpu"
    verb: ClassVar[str | None] = "environment sort"

    where: str | None = None
    reference_where: str | None = None
    cell_arcmin: float = 8.0
    overlap: float = 0.5
    min_reference: int = option(5, shown="changed")
    kernel_dz: float = option(0.001, shown="changed")
    seed: int = 0
    tile_cells: int = option(8, shown="changed")
    name: str = option("sort", shown="changed")


@dataclass(frozen=True)
class TrainEnvironment(JobSpec):
    """Train the neighbour redshift network on a seeded mock light-cone."""

    kind: ClassVar[str] = "train_environment"
    verb: ClassVar[str | None] = "train environment"

    seed: int = 1
    n: int = 100_000
    field_deg: float = 4.0
    z_min: float = 0.4
    z_max: float = 0.8
    sigma_z: float = 0.03
    spec_fraction: float = 0.1
    epochs: int = 20
    batch_size: int = 512
    width: int = 64
    max_arcmin: float = 10.0
    name: str = "environment-z"


@dataclass(frozen=True)
class InferEnvironment(JobSpec):
    """Redshifts from a registered neighbour redshift network, sharded by sky tile."""

    kind: ClassVar[str] = "infer_environment"
    queue: ClassVar[str] = "cpu"
    verb: ClassVar[str | None] = "infer environment"
    model_field: ClassVar[str | None] = "model"

    model: str = "environment-z"
    where: str | None = None
    seed: int = 0
    tile_arcmin: float = option(80.0, shown="changed")


@dataclass(frozen=True)
class RedshiftTile(JobSpec):
    """One sky tile of a SORT or learned-redshift job: the parent's method over the
    galaxies of this tile, read with a margin."""

    kind: ClassVar[str] = "redshift_tile"
    queue: ClassVar[str] = "cpu"

    row: int = option()
    column: int = option()
    size_arcmin: float = option()
    where: str | None = None
    reference_where: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class MeasureEnvironment(JobSpec):
    """Cylinder counts and n-th neighbour distances from the best redshift of each galaxy:
    its spectroscopic one, else the named version's (``redshifts``), else its photo-z."""

    kind: ClassVar[str] = "measure_environment"
    queue: ClassVar[str] = "cpu"
    verb: ClassVar[str | None] = "environment measure"
    model_field: ClassVar[str | None] = "redshifts"

    redshifts: str | None = None
    where: str | None = None
    radius_mpc_h: float = 1.0
    dv_km_s: float = 1000.0
    nth: int = 5
    name: str = option("environment", shown="changed")


@dataclass(frozen=True)
class TapQuery(JobSpec):
    """An asynchronous TAP query (ADQL), answered into a file the service serves."""

    kind: ClassVar[str] = "tap_query"
    queue: ClassVar[str] = "cpu"

    query: str
    maxrec: int = 100_000
    format: str = "votable"
    execution_s: float = 600.0
    """Longest the query may run, seconds (UWS executionDuration)."""
    retention_days: float = 7.0
    """How long the answer is kept (UWS destruction time = creation + this)."""
    run_id: str = ""
    """The client's label for the job (UWS runId)."""
    refusal: str = ""
    """Why the request cannot run (a wrong parameter); the job ends in ERROR with it."""


# --- ingest: files fanned out to workers in shards ----------------------------------

INGEST_KINDS = ("spectra", "images")


@dataclass(frozen=True)
class IngestFiles(JobSpec):
    """Spectrum or image files (absolute paths, folders or globs, as the workers see them)
    loaded by workers in shards of ``shard_files``; each file all in or all out."""

    kind: ClassVar[str] = "ingest_files"
    queue: ClassVar[str] = "cpu"

    what: str = option()
    paths: tuple[str, ...] = option()
    survey: str | None = None
    z_qso: float | None = None
    shard_files: int = 500

    def __post_init__(self) -> None:
        if self.what not in INGEST_KINDS:
            raise SpecError(f"ingest_files job: what must be one of {', '.join(INGEST_KINDS)}, "
                            f"not {self.what!r}")
        if self.shard_files < 1:
            raise SpecError("ingest_files job: shard_files must be at least 1")


@dataclass(frozen=True)
class IngestShard(JobSpec):
    """One shard of an ingest job: these files, loaded as ``galcat ingest`` loads them."""

    kind: ClassVar[str] = "ingest_shard"
    queue: ClassVar[str] = "cpu"

    what: str = option()
    paths: tuple[str, ...] = option()
    survey: str | None = None
    z_qso: float | None = None
