"""CLI commands of the DLA finder: ingest spectra, mocks, infer, scan, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from galcat.catalog.cli_jobs import LocalOption, WaitOption, submit_job
from galcat.catalog.cli_output import console, errors, fail, show_ingest

PARKS18_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "parks18"


def ingest_spectra(
    paths: Annotated[list[str], typer.Argument(help="spec-*.fits / spSpec-*.fit files, folders "
                                               "or globs; or tables with wavelength, flux, ivar.")],
    survey: Annotated[str | None, typer.Option(help="Survey name (default by format).")] = None,
    z_qso: Annotated[float | None, typer.Option(help="Quasar redshift for plain tables.")] = None,
) -> None:
    """Load quasar spectra; two observations of one quasar become one sightline.

    Example: galcat ingest spectra ../shared/data/boss/
    """
    from galcat.catalog.cli import _ready_database
    from galcat.catalog.ingest.spectra import ingest_spectra as run

    summary = run(_ready_database(), paths, survey, z_qso)
    show_ingest(summary)
    if not summary.ok:
        raise typer.Exit(1)


def mock_spectra(
    n: Annotated[int, typer.Argument(help="Number of sightlines.")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("mock-spectra"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write mock quasar sightlines with DLAs as BOSS spec files plus truth.ecsv.

    Example: galcat mock spectra 200 --out mocks/ --seed 7
    """
    from galcat.workers.dla_mock_files import write_mock_spectra

    truth = write_mock_spectra(n, out, seed)
    console.print(f"wrote {n} spectra to {out}/ and the truth table {truth}")


def infer_dla(
    model: Annotated[str, typer.Option(help="Model reference: dla, dla@latest, dla@2.")] = "dla",
    where: Annotated[str | None, typer.Option(help="SQL condition on sightline rows.")] = None,
    shard_size: Annotated[int | None, typer.Option(help="Sightlines per shard.")] = None,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Search every ingested sightline (matching --where) for damped Lyα systems.

    Example: galcat infer dla --model dla@latest --where "z_qso > 2.5" --wait
    """
    submit_job("infer", {"task": "dla", "shard_size": shard_size}, model, where, wait, local)


def scan_dla(
    paths: Annotated[list[str], typer.Argument(help="Spectrum files, folders or globs.")],
    out: Annotated[Path, typer.Option(help="Absorber table (.csv/.fits/.vot/.parquet); "
                                      "sightlines go to <out>_sightlines.")] = Path("dlas.csv"),
    model_dir: Annotated[Path | None, typer.Option(help="Exported model folder "
                                                   "(default: the shipped model).")] = None,
    z_qso: Annotated[float | None, typer.Option(help="Quasar redshift for plain tables.")] = None,
) -> None:
    """Quick look: find DLAs in spectrum files without a database.

    Example: galcat scan dla ../shared/data/boss/ --out dlas.csv
    """
    from galcat.workers.dla_scan import scan_dla as run

    result = run(paths, out, model_dir, z_qso)
    for message in result.errors:
        errors.print(f"skipped {message}", markup=False, highlight=False)
    console.print(f"searched {result.n_spectra} spectra, found {result.n_absorbers} absorbers: "
                  f"{result.absorbers_path} (where it looked: {result.sightlines_path})")
    if result.n_repeats:
        console.print(f"{result.n_repeats} repeat observations set aside: each quasar "
                      "(THING_ID) is searched in its highest-S/N spectrum")
    if result.errors:
        errors.print(f"{len(result.errors)} files could not be read")
        raise typer.Exit(1)


def evaluate_dla(
    out: Annotated[Path, typer.Option(help="Folder for tables and PNG plots.")] = Path("eval-dla"),
    n: Annotated[int, typer.Option(help="Held-out mock sightlines.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the held-out mocks.")] = 20_181,
    model_dir: Annotated[Path | None, typer.Option(help="Exported model folder "
                                                   "(default: the shipped model).")] = None,
    parks18: Annotated[Path, typer.Option(help="Parks+2018 test-set folder.")] = PARKS18_DEFAULT,
    z_qso_from: Annotated[Path | None, typer.Option(
        help="Quasar catalogue whose redshifts (a Z, Z_QSO or ZEM column, 2.2-5) the mocks "
             "take, so the test set looks like your survey (default: uniform 2.2-5).")] = None,
    like_parks18: Annotated[bool, typer.Option(
        help="Mocks shaped like Parks's test set: a DLA in every sightline, no sub-DLAs, "
             "quasar redshifts and DLA column densities drawn from the --parks18 files.")] = False,
) -> None:
    """Completeness, purity, σ(Δz) and σ(Δlog N_HI) on held-out mocks, beside Parks+2018.

    Example: galcat evaluate dla --n 2000 --out eval-dla/ --z-qso-from DR12Q.fits
    (like for like with the anchor: galcat evaluate dla --like-parks18)
    """
    from galcat.workers.dla_evaluate import evaluate_dla as run
    from galcat.workers.dla_scan import load_shipped_dla

    population = _population(like_parks18, parks18, z_qso_from)
    model, network, _ = load_shipped_dla(model_dir)
    result = run(model, network, out, n, seed, parks18_dir=parks18 if parks18.exists() else None,
                 population=population)
    for row in result.summary:
        console.print(
            f"{row['model']}: completeness {row['completeness_dla']:.3f} (as H I "
            f"{row['completeness_hi']:.3f}), false DLAs per 100 sightlines "
            f"{row['false_dla_per_100_sightlines']:.2f}, σ(Δz) {row['sigma_dz']:.4f}, "
            f"σ(Δlog N_HI) {row['sigma_dlog_nhi']:.3f} (mean {row['mean_dlog_nhi']:+.3f})",
            markup=False)
    console.print("wrote " + ", ".join(str(p) for p in result.files))


def evaluate_dla_bound(
    out: Annotated[Path, typer.Option(help="Folder for tables and the PNG plot.")] = Path(
        "eval-dla-bound"),
    n: Annotated[int, typer.Option(help="Held-out mock sightlines.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the held-out mocks.")] = 20_181,
    parks18: Annotated[Path, typer.Option(help="Parks+2018 test-set folder.")] = PARKS18_DEFAULT,
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

    from galcat.workers.dla_bound import evaluate_bound

    population = _population(like_parks18, parks18, z_qso_from)
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


def _population(like_parks18: bool, parks18: Path, z_qso_from: Path | None) -> Any:
    """The mock population the evaluation options ask for (a ``MockConfig``)."""
    from galcat.models.dla.mock import MockConfig
    from galcat.workers.dla_evaluate import parks18_like_population

    if like_parks18 and z_qso_from is not None:
        fail(ValueError("choose one of --like-parks18 and --z-qso-from"))
    if like_parks18 and not parks18.exists():
        fail(ValueError(f"--like-parks18 needs the Parks+2018 test files; {parks18} is absent"))
    if like_parks18:
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


def register(apps: dict[str, typer.Typer]) -> None:
    """Add the DLA commands to galcat's command groups."""
    apps["ingest"].command("spectra")(ingest_spectra)
    apps["mock"].command("spectra")(mock_spectra)
    apps["infer"].command("dla")(infer_dla)
    apps["scan"].command("dla")(scan_dla)
    apps["evaluate"].command("dla")(evaluate_dla)
    apps["evaluate"].command("dla-bound")(evaluate_dla_bound)


