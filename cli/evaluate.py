"""``galcat evaluate …``: a model scored on held-out mocks: tables and PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from galcat.catalog.settings import load_settings
from galcat.cli.output import console, emit, errors, fail
from galcat.cli.shared import ModelOption, dla_model, galaxy_model, ready_database

evaluate_app = typer.Typer(help="Score a model on held-out mocks: tables and PNG plots.",
                           no_args_is_help=True)
Parks18Option = Annotated[Path | None, typer.Option(
    help="Parks+2018 test-set folder (default: GALCAT_PARKS18_DIR, or parks18/ under "
    "GALCAT_DATA_DIR).")]


@evaluate_app.command("dla")
def evaluate_dla(
    out: Annotated[Path, typer.Option(help="Folder for tables and PNG plots.")] = Path("eval-dla"),
    n: Annotated[int, typer.Option(help="Held-out mock sightlines.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the held-out mocks.")] = 20_181,
    model: ModelOption = None,
    parks18: Parks18Option = None,
    z_qso_from: Annotated[Path | None, typer.Option(
        help="Quasar catalogue whose redshifts (a Z, Z_QSO or ZEM column, 2.2-5) the mocks "
             "take, so the test set looks like your survey (default: uniform 2.2-5).")] = None,
    like_parks18: Annotated[bool, typer.Option(
        help="Mocks shaped like Parks's test set: a DLA in every sightline, no sub-DLAs, "
             "quasar redshifts and DLA column densities drawn from the --parks18 files.")] = False,
    refine: Annotated[bool, typer.Option(
        "--refine", help="Score the catalogue after the Voigt-profile refinement of each "
        "candidate (experimental: on mocks it does not yet beat the network alone).")] = False,
) -> None:
    """Completeness, purity, σ(Δz) and σ(Δlog N_HI) on held-out mocks, beside Parks+2018.

    Example: galcat evaluate dla --n 2000 --out eval-dla/ --z-qso-from DR12Q.fits
    (like for like with the anchor: galcat evaluate dla --like-parks18)
    """
    from galcat.workers.dla.evaluate import evaluate_dla as run
    from galcat.workers.dla.scan import default_refinement

    parks18 = _parks18(parks18)
    population = _population(like_parks18, parks18, z_qso_from)
    window_model, network, _ = dla_model(model)
    result = run(window_model, network, out, n, seed,
                 parks18_dir=parks18 if parks18 is not None and parks18.exists() else None,
                 population=population, refine=default_refinement() if refine else None)
    for row in result.summary:
        console.print(
            f"{row['model']}: completeness {row['completeness_dla']:.3f} (as H I "
            f"{row['completeness_hi']:.3f}), false DLAs per 100 sightlines "
            f"{row['false_dla_per_100_sightlines']:.2f}, σ(Δz) {row['sigma_dz']:.4f}, "
            f"σ(Δlog N_HI) {row['sigma_dlog_nhi']:.3f} (mean {row['mean_dlog_nhi']:+.3f})",
            markup=False)
    u = result.uncertainties
    console.print(
        f"galcat uncertainties: pull σ log N_HI {u['log_nhi_pull']['sigma']:.2f}, z "
        f"{u['z_pull']['sigma']:.2f} ({u['n_matched']} matched absorbers); p_dla reliability "
        f"within {u['p_dla_max_miscalibration']:.3f} in bins of ≥ 20 absorbers", markup=False)
    console.print("wrote " + ", ".join(str(p) for p in result.files))


@evaluate_app.command("dla-bound")
def evaluate_dla_bound(
    out: Annotated[Path, typer.Option(help="Folder for tables and the PNG plot.")] = Path(
        "eval-dla-bound"),
    n: Annotated[int, typer.Option(help="Held-out mock sightlines.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the held-out mocks.")] = 20_181,
    parks18: Parks18Option = None,
    like_parks18: Annotated[bool, typer.Option(
        help="Mocks shaped like Parks's test set (see evaluate dla).")] = False,
    z_qso_from: Annotated[Path | None, typer.Option(
        help="Quasar catalogue whose redshifts the mocks take (see evaluate dla).")] = None,
) -> None:
    """The log N_HI precision no unbiased estimator can beat on held-out mocks, and the
    completeness as DLA it would allow (every DLA assumed found).

    Example: galcat evaluate dla-bound --n 2000 --out eval-dla-bound/
    """
    from rich.progress import Progress

    from galcat.workers.dla.bound import evaluate_bound

    population = _population(like_parks18, _parks18(parks18), z_qso_from)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("true DLAs", total=None)
        try:
            result = evaluate_bound(out, n, seed, population=population,
                                    progress=lambda done, total: bar.update(
                                        task, completed=done, total=total))
        except ValueError as exc:
            fail(exc)
    console.print(f"{result.summary.meta['n_dla']} true DLAs on sightlines with S/N ≥ 5:")
    for row in result.summary:
        console.print(
            f"  {row['meaning']}: median σ(log N_HI) {row['median_sigma_log_nhi']:.3f} "
            f"({row['median_sigma_log_nhi_20.3_20.5']:.3f} at 20.3-20.5), completeness as DLA "
            f"of an unbiased estimator {row['ideal_completeness_dla']:.3f}", markup=False)
    console.print("wrote " + ", ".join(str(p) for p in result.files))


@evaluate_app.command("sersic")
def evaluate_sersic(
    out: Annotated[Path, typer.Option("--out", help="Folder for tables and PNGs.")],
    model: ModelOption = None,
    n: Annotated[int, typer.Option("--n", help="Held-out mocks.")] = 1000,
    n_fit: Annotated[int, typer.Option(help="Of them, fitted by the classic fitter.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the held-out mocks.")] = 7,
) -> None:
    """Score the emulator and the classic fitter side by side on held-out mocks.

    Example: galcat evaluate sersic --model sersic@1 --n 1000 --n-fit 100 --out eval/
    """
    _evaluate("sersic", model, out, n, n_fit, seed)


@evaluate_app.command("morphology")
def evaluate_morphology(
    out: Annotated[Path, typer.Option("--out", help="Folder for tables and PNGs.")],
    model: ModelOption = None,
    n: Annotated[int, typer.Option("--n", help="Held-out mocks.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the held-out mocks.")] = 7,
) -> None:
    """Score the morphology network on held-out mocks: fraction bias/scatter, accuracy.

    Example: galcat evaluate morphology --model morphology@1 --n 1000 --out eval/
    """
    _evaluate("morphology", model, out, n, 0, seed)


def _evaluate(task: str, model: str | None, out: Path, n: int, n_fit: int, seed: int) -> None:
    from galcat.workers.galaxy.evaluate import evaluate_morphology, evaluate_sersic

    opened = galaxy_model(task, model)
    network, label = opened.model, opened.label
    if task == "sersic":
        result = evaluate_sersic(network, out, n=n, n_fit=n_fit, seed=seed, model_label=label)
    else:
        result = evaluate_morphology(network, out, n=n, seed=seed, model_label=label)
    for path in result.files:
        console.print(f"wrote {path}", markup=False)


def _parks18(folder: Path | None) -> Path | None:
    return folder if folder is not None else load_settings().parks18_dir


def _population(like_parks18: bool, parks18: Path | None, z_qso_from: Path | None) -> Any:
    """The mock population the evaluation options ask for (a ``MockConfig``)."""
    from galcat.models.dla.mock import MockConfig
    from galcat.workers.dla.evaluate import parks18_like_population

    if like_parks18 and z_qso_from is not None:
        fail(ValueError("choose one of --like-parks18 and --z-qso-from"))
    if like_parks18:
        if parks18 is None:
            fail(ValueError("--like-parks18 needs the Parks+2018 test files: give --parks18 "
                            "DIR or set GALCAT_PARKS18_DIR (or GALCAT_DATA_DIR)"))
        if not parks18.exists():
            fail(ValueError(f"--like-parks18 needs the Parks+2018 test files; {parks18} is "
                            "absent"))
        return parks18_like_population(parks18)
    return MockConfig(z_qso_sample=_redshifts(z_qso_from) if z_qso_from is not None else ())


def _redshifts(path: Path) -> tuple[float, ...]:
    """Quasar redshifts in [2.2, 5] from a catalogue's Z / Z_QSO / ZEM column."""
    import numpy as np

    from galcat.catalog.formats.tables import read_table

    try:
        table = read_table(path)
    except Exception as exc:
        fail(ValueError(f"{path}: cannot read the catalogue: {exc}"))
    names = {n.lower(): n for n in table.colnames}
    column = next((names[c] for c in ("z_qso", "zem", "z", "qso_zem") if c in names), None)
    if column is None:
        fail(ValueError(f"{path}: no quasar redshift column (Z, Z_QSO or ZEM)"))
    z = np.asarray(table[column], dtype=float)
    z = z[np.isfinite(z) & (z >= 2.2) & (z <= 5.0)]
    if z.size == 0:
        fail(ValueError(f"{path}: no redshift in [2.2, 5] in column {column}"))
    return tuple(float(v) for v in z)


@evaluate_app.command("environment")
def evaluate_environment(
    truth: Annotated[Path, typer.Option(
        help="Truth table of the mock light-cone (truth.fits from galcat mock lightcone).")],
    redshifts: Annotated[list[str] | None, typer.Option(
        "--redshifts", help="A SORT or redshift-network version to score (repeatable).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for tables and the PNG.")] = Path(
        "eval-environment"),
    where: Annotated[str | None, typer.Option(help="SQL condition on galaxy rows.")] = None,
    radius_mpc_h: Annotated[float, typer.Option(
        help="Cylinder radius of the density, h⁻¹ Mpc.")] = 1.0,
    dv_km_s: Annotated[float, typer.Option(help="Cylinder half depth, km/s.")] = 1000.0,
    random_factor: Annotated[int, typer.Option(help="Randoms per galaxy for ξ(s).")] = 2,
) -> None:
    """ξ(s) from true z, photo-z and each version's redshifts on a mock light-cone, as the
    ratio to the true ξ(s) (PNG), with per-galaxy accuracy and the rank correlation of each
    galaxy's local density with the one from true z.

    Example: galcat evaluate environment --truth cone/truth.fits --redshifts sort@1 --out ev/
    """
    from rich.progress import Progress

    from galcat.catalog.registry import RegistryError
    from galcat.catalog.sql import Rows
    from galcat.workers.environment.evaluate import (
        SCORE_COLUMNS,
        evaluate_environment,
        score_rows,
        write_evaluation,
    )

    if not truth.is_file():
        fail(FileNotFoundError(f"no truth table at {truth}"))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("ξ(s)", total=None)
        try:
            scores, _ = evaluate_environment(
                ready_database(), truth, list(redshifts or []), where,
                radius_mpc_h=radius_mpc_h, dv_km_s=dv_km_s, random_factor=random_factor,
                progress=lambda done, total, name: bar.update(
                    task, completed=done, total=total, description=f"ξ(s): {name}"))
        except (ValueError, RegistryError, OSError, KeyError) as exc:
            fail(exc)
    emit(Rows(list(SCORE_COLUMNS), score_rows(scores)), title="redshift sets on the mock")
    files = write_evaluation(scores, out)
    errors.print("wrote " + ", ".join(str(p) for p in files), markup=False, highlight=False)
