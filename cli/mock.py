"""``galcat mock …``: mock survey files with their truth tables (how models are trained)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from galcat.cli.output import console, fail

mock_app = typer.Typer(help="Write mock survey files with their truth tables.",
                       no_args_is_help=True)


@mock_app.command("spectra")
def mock_spectra(
    n: Annotated[int, typer.Argument(help="Number of sightlines.")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("mock-spectra"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write mock quasar sightlines with DLAs as BOSS spec files plus truth.ecsv.

    Example: galcat mock spectra 200 --out mocks/ --seed 7
    """
    from galcat.workers.dla.mock_files import write_mock_spectra

    truth = write_mock_spectra(n, out, seed)
    console.print(f"wrote {n} spectra to {out}/ and the truth table {truth}")


@mock_app.command("galaxies")
def mock_galaxies(
    n: Annotated[int, typer.Argument(help="Number of mock galaxies.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for FITS files and truth.ecsv.")],
    seed: Annotated[int, typer.Option(help="Seed: same seed, same files.")],
    kinds: Annotated[str, typer.Option(
        help="all, or comma-separated: sersic, bulge_disk, irregular, point.")] = "all",
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> None:
    """Write mock galaxies as profile FITS files (MAGZERO, PSF_FWHM, SKYSIG, WCS) + truth.

    Example: galcat mock galaxies 100 --out mocks/ --seed 3
    """
    from galcat.workers.galaxy.scan import write_mock_galaxies

    fractions = None if kinds == "all" else {k.strip(): 1.0 for k in kinds.split(",")}
    try:
        files, truth = write_mock_galaxies(n, out, seed, kind_fractions=fractions,
                                           overwrite=overwrite)
    except (ValueError, OSError) as exc:
        fail(exc)
    console.print(f"wrote {len(files)} FITS files and {truth}", markup=False)


@mock_app.command("simulation")
def mock_simulation(
    name: Annotated[str, typer.Argument(help="Name of the simulated galaxy (e.g. MOCK-7).")],
    out: Annotated[Path, typer.Option("--out", help="Folder; the galaxy goes in OUT/NAME/.")],
    seed: Annotated[int, typer.Option(help="Seed: same seed, same galaxy and images.")],
    history: Annotated[str, typer.Option(
        help="compaction (by a gas inflow), merger (a wet major merger) or quiet.")] = "compaction",
    cameras: Annotated[int, typer.Option(help="Viewing angles per snapshot.")] = 20,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing manifest.")] = False,
) -> None:
    """Write a mock simulated galaxy (VELA-like history rendered HST F160W-like from many
    angles) as a simulation manifest with one FITS image per camera and snapshot.

    Example: galcat mock simulation MOCK-7 --out sims/ --seed 7 --history merger
    """
    from rich.progress import Progress

    from galcat.models.simulation.history import HISTORIES
    from galcat.workers.simulation.mock_files import write_mock_simulation

    if history not in HISTORIES:
        fail(ValueError(f"--history {history!r}: choose one of {', '.join(HISTORIES)}"))
    if not 1 <= cameras <= 100:
        fail(ValueError(f"--cameras {cameras}: choose 1 to 100"))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("snapshots", total=None)
        try:
            manifest = write_mock_simulation(
                name, out, seed, history, n_cameras=cameras, overwrite=overwrite,
                progress=lambda done, total: bar.update(task, completed=done, total=total))
        except (ValueError, OSError) as exc:
            fail(exc)
    console.print(f"wrote {manifest}; load it with: galcat ingest simulation {manifest}",
                  markup=False)


@mock_app.command("lightcone")
def mock_lightcone(
    out: Annotated[Path, typer.Option("--out", help="Folder for lightcone.fits and truth.fits.")],
    seed: Annotated[int, typer.Option(help="Seed: same seed, same volume.")],
    n: Annotated[int, typer.Option(help="Expected number of galaxies.")] = 100_000,
    field_deg: Annotated[float, typer.Option(help="Side of the square field, deg.")] = 4.0,
    z_min: Annotated[float, typer.Option(help="Lowest cosmological redshift.")] = 0.4,
    z_max: Annotated[float, typer.Option(help="Highest cosmological redshift.")] = 0.8,
    sigma_z: Annotated[float, typer.Option(help="Photo-z scatter per (1+z).")] = 0.03,
    spec_fraction: Annotated[float, typer.Option(
        help="Fraction with a spectroscopic redshift.")] = 0.1,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> None:
    """Write a clustered mock light-cone (log-normal field with a ΛCDM power spectrum,
    Planck18, linear redshift-space distortions) as a galaxy catalogue with photo-z,
    their errors and a spec-z subset, plus truth.fits (true redshifts, density).

    Example: galcat mock lightcone --out cone/ --seed 1 --n 100000
    """
    from galcat.workers.environment.mock_files import write_mock_lightcone

    try:
        catalogue, truth = write_mock_lightcone(
            out, seed, n, overwrite=overwrite, field_deg=field_deg, z_min=z_min, z_max=z_max,
            sigma_z=sigma_z, spec_fraction=spec_fraction)
    except (ValueError, OSError) as exc:
        fail(exc)
    console.print(f"wrote {catalogue} and {truth}", markup=False)
