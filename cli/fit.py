"""``galcat fit …``: classic least-squares fits, the baselines the networks are judged by."""

from __future__ import annotations

from typing import Annotated

import typer

from galcat.cli.shared import Files, OutFile, report_files, require_inputs

fit_app = typer.Typer(help="Classic least-squares fits (baselines for the networks).",
                      no_args_is_help=True)


@fit_app.command("sersic")
def fit_sersic(
    files: Files,
    out: OutFile,
    zero_point: Annotated[float | None, typer.Option(
        help="AB zero point when the header has none.")] = None,
    pixel_scale: Annotated[float | None, typer.Option(
        help="Arcsec per pixel when there is no WCS.")] = None,
    psf_fwhm: Annotated[float | None, typer.Option(
        help="Gaussian PSF FWHM in arcsec when the header has none.")] = None,
) -> None:
    """Classic least-squares single-Sérsic fit of image files (the emulator's baseline).

    Example: galcat fit sersic galfit_sersic_n1.fits.gz --pixel-scale 1 --out fit.csv
    """
    from galcat.workers.galaxy.scan import fit_files

    require_inputs(files)
    report_files(fit_files(files, out, zero_point=zero_point, pixel_scale_arcsec=pixel_scale,
                            psf_fwhm_arcsec=psf_fwhm))
