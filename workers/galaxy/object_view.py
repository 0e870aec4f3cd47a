"""The object page of a galaxy of the morphology catalogue: the image its predictions
come from as the networks read it, the Sérsic model of the catalogued parameters
(:mod:`models.galaxy.model_image`) and the residual, the morphology fractions, and
its values with errors."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.pixels import stored_images
from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.release.definitions import MORPHOLOGY_GALAXIES
from galcat.catalog.service.objects import (
    Figure,
    ObjectPage,
    Row,
    new_figure,
    png_bytes,
    values_with_errors,
)
from galcat.models.galaxy.model_image import SersicModelImage, sersic_model_image
from galcat.models.galaxy.profile import HST_F160W_64
from galcat.models.galaxy.stamps import Stamp, make_stamp, network_arrays
from galcat.vocabulary import BD_CLASSES, BD_COLUMNS, CANDELS_FLAGS, SERSIC_PARAMETERS

IMAGES = "images"
MORPHOLOGY = "morphology"
FLAG_NAMES = ("spheroid", "disk", "irregular", "point source", "unclassifiable")


def stored_stamp(session: Session, image_id: int) -> Stamp | None:
    """The image as the networks read it (``workers.galaxy.inference``), or None when
    its pixels are not stored."""
    found = stored_images(session, [image_id])
    if not found:
        return None
    image = found[0]
    return make_stamp(image.pixels, image.rms, zero_point=image.zero_point_mag,
                      psf_fwhm_arcsec=image.psf_fwhm_arcsec, sky_sigma=image.sky_sigma,
                      pixel_scale_arcsec=image.pixel_scale_arcsec, raster=image.display_image)


def catalogued_model(stamp: Stamp, row: Row) -> SersicModelImage:
    """The row's Sérsic model on the stamp, with the zero point, PSF and sky the
    networks read the stamp with (the imaging profile's defaults where not recorded)."""
    inputs = network_arrays([stamp])
    return sersic_model_image(
        inputs["images"][0], mag=float(row["mag"]), r_eff_arcsec=float(row["r_eff_arcsec"]),
        sersic_n=float(row["sersic_n"]), axis_ratio=float(row["axis_ratio"]),
        pa_deg=float(row["pa_deg"]), zero_point=float(inputs["zero_point"][0]),
        psf_fwhm_arcsec=float(inputs["psf_fwhm_arcsec"][0]),
        sky_sigma=float(inputs["sky_sigma"][0]))


class MorphologyObjectView:
    """Object pages of the morphology catalogue's galaxies."""

    catalogue = "morphology"
    noun = "galaxy"
    preview_columns: tuple[str, ...] = (
        "galaxy_id", "object_id", "ra", "dec", "z_phot", "f_spheroid", "f_disk", "f_irr", "mag",
        "r_eff_arcsec", "sersic_n")

    def page(self, connection: sa.Connection, record: ReleaseRecord, row: Row) -> ObjectPage:
        stamp = stored_stamp(Session(bind=connection), int(row["image_id"]))
        title = f"Galaxy {row['galaxy_id']} ({row['survey']} {row['object_id']})"
        redshift = (f"z_spec = {row['z_spec']:.4f}" if row["z_spec"] is not None else
                    f"z_phot = {row['z_phot']:.3f}" if row["z_phot"] is not None else
                    "no redshift")
        fractions = ", ".join(f"{name} {float(row[c]):.2f}"
                              for name, c in zip(FLAG_NAMES, CANDELS_FLAGS, strict=True))
        summary = (f"At RA {row['ra']:.5f}°, Dec {row['dec']:+.5f}°, {redshift}. Classifier "
                   f"fractions: {fractions}. Predictions from galcat image {row['image_id']}, "
                   f"release {record.tag}.")
        missing = (sersic_problem(row, record.tag) if stamp is not None else
                   f"the pixels of image {row['image_id']} are not stored in this catalogue")
        drawn = ""
        if stamp is not None:
            inputs = network_arrays([stamp])
            drawn = (f" through a Gaussian PSF of FWHM {inputs['psf_fwhm_arcsec'][0]:.3f}″ at "
                     f"zero point {inputs['zero_point'][0]:.2f} and "
                     f"{HST_F160W_64.pixel_scale_arcsec}″ per pixel, as the networks read "
                     "this image")
        figures = [
            Figure(IMAGES, "Left: the central "
                   f"{HST_F160W_64.size_px}×{HST_F160W_64.size_px}-pixel stamp the networks "
                   "read (north up, east left; asinh stretch). Middle: the Sérsic model of the "
                   f"catalogued mag, r_eff, n, b/a and PA, pixel-integrated{drawn}, centred "
                   "on the stamp's light-weighted centroid (the catalogue stores no centre); "
                   "same stretch. Right: image − model in units of the sky noise σ (the cross "
                   "marks the model's centre).", missing),
            Figure(MORPHOLOGY, "The morphology network's answer: fractions of classifiers "
                   "ticking each CANDELS flag (left) and the bulge / disk / bulge+disk "
                   "probabilities (right)."),
        ]
        notes = []
        if stamp is not None and stamp.reasons:
            notes.append("The networks read this image outside their imaging profile ("
                         + "; ".join(stamp.reasons) + ").")
        if row["out_of_profile"]:
            notes.append("out_of_profile is set: treat the predictions with care.")
        return ObjectPage(title, summary, figures,
                          values_with_errors(MORPHOLOGY_GALAXIES, row), (), notes)

    def figure(self, connection: sa.Connection, record: ReleaseRecord, row: Row,
               name: str) -> bytes | None:
        if name == MORPHOLOGY:
            return morphology_png(row)
        if name != IMAGES or sersic_problem(row, record.tag):
            return None
        stamp = stored_stamp(Session(bind=connection), int(row["image_id"]))
        if stamp is None:
            return None
        return images_png(catalogued_model(stamp, row),
                          float(network_arrays([stamp])["sky_sigma"][0]))


def images_png(drawn: SersicModelImage, sky_sigma: float) -> bytes:
    """Image, model (same asinh stretch) and residual in units of the sky σ."""
    figure = new_figure(11.0, 3.9)
    axes = figure.subplots(1, 3)
    half = drawn.image.shape[0] * drawn.pixel_scale_arcsec / 2
    extent = (half, -half, -half, half)
    soft = 3.0 * sky_sigma
    top = float(np.arcsinh(np.percentile(drawn.image, 99.7) / soft))
    for ax, array, title in ((axes[0], drawn.image, "image"),
                             (axes[1], drawn.model, "Sérsic model")):
        shown = ax.imshow(np.arcsinh(array / soft), origin="lower", cmap="gray_r",
                          vmin=-1, vmax=max(top, 1.0), extent=extent)
        ax.set_title(title)
    figure.colorbar(shown, ax=axes[:2], shrink=0.8, label="asinh(flux / 3σ_sky)")
    pull = axes[2].imshow(drawn.residual / sky_sigma, origin="lower", cmap="RdBu_r",
                          vmin=-5, vmax=5, extent=extent)
    axes[2].set_title("(image − model) / σ_sky")
    figure.colorbar(pull, ax=axes[2], shrink=0.8, label="σ_sky")
    centre_x = half - drawn.x0 * drawn.pixel_scale_arcsec
    centre_y = drawn.y0 * drawn.pixel_scale_arcsec - half
    for ax in axes:
        ax.plot(centre_x, centre_y, "+", color="tab:orange", ms=8)
        ax.set_xlabel("ΔRA (″, east left)")
    axes[0].set_ylabel("ΔDec (″)")
    return png_bytes(figure)


def morphology_png(row: Row) -> bytes:
    """Bar charts of the CANDELS fractions and the bulge/disk probabilities."""
    figure = new_figure(9.0, 3.2)
    left, right = figure.subplots(1, 2, width_ratios=(5, 3))
    flags = [float(row[c]) for c in CANDELS_FLAGS]
    left.bar(FLAG_NAMES, flags, color="tab:blue")
    left.set_title("classifier fractions (CANDELS flags)")
    probabilities = [float(row[c]) for c in BD_COLUMNS]
    right.bar(BD_CLASSES, probabilities, color="tab:purple")
    right.set_title("bulge / disk probability")
    for ax, values in ((left, flags), (right, probabilities)):
        ax.set_ylim(0, 1.1)
        for i, v in enumerate(values):
            ax.text(i, v + 0.02, f"{v:.2f}", ha="center", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    return png_bytes(figure)


def sersic_problem(row: Row, tag: str) -> str:
    """Why the row's Sérsic model cannot be drawn ("" when it can)."""
    if not all(row.get(name) is not None and row[name] == row[name]
               for name in SERSIC_PARAMETERS):
        return f"image {row['image_id']} has no Sérsic fit in release {tag}"
    if not (row["r_eff_arcsec"] > 0 and row["sersic_n"] > 0 and 0 < row["axis_ratio"] <= 1):
        return (f"the catalogued r_eff_arcsec={row['r_eff_arcsec']}, sersic_n="
                f"{row['sersic_n']}, axis_ratio={row['axis_ratio']} describe no Sérsic profile")
    return ""
