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
