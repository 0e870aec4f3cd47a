"""Images and spectra: metadata rows, with pixels in tables of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from galcat.catalog.schema.base import Base, utcnow


class Image(Base):
    """One cutout of a galaxy, or of a simulated galaxy seen by one camera."""

    __tablename__ = "image"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(sa.ForeignKey("survey.id"))
    galaxy_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("galaxy.id", ondelete="CASCADE"), index=True
    )
    camera_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("camera.id", ondelete="CASCADE"), index=True
    )
    source_path: Mapped[str | None] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    height: Mapped[int]
    width: Mapped[int]
    channels: Mapped[int] = mapped_column(default=1)
    dtype: Mapped[str] = mapped_column(sa.String(16))
    bands: Mapped[str | None] = mapped_column(sa.String(64))
    pixel_scale_arcsec: Mapped[float | None]
    zero_point_mag: Mapped[float | None]
    psf_fwhm_arcsec: Mapped[float | None]
    sky_sigma: Mapped[float | None]
    wcs_header: Mapped[str | None] = mapped_column(sa.Text)
    extra: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImagePixels(Base):
    """Pixel blobs of one image (row-major, ``image.dtype``, shape H×W×C)."""

    __tablename__ = "image_pixels"

    image_id: Mapped[int] = mapped_column(
        sa.ForeignKey("image.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    rms: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    psf: Mapped[bytes | None] = mapped_column(sa.LargeBinary)


class Spectrum(Base):
    """One observation of a sightline."""

    __tablename__ = "spectrum"

    id: Mapped[int] = mapped_column(primary_key=True)
    sightline_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sightline.id", ondelete="CASCADE"), index=True
    )
    plate: Mapped[int | None]
    mjd: Mapped[int | None]
    fiber: Mapped[int | None]
    source_path: Mapped[str | None] = mapped_column(sa.Text)
    source_format: Mapped[str] = mapped_column(sa.String(16))
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    n_pixels: Mapped[int]
    wavelength_min_aa: Mapped[float]
    wavelength_max_aa: Mapped[float]
    snr_median: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpectrumPixels(Base):
    """Pixel blobs of one spectrum: log10(λ/Å), flux, ivar (float32), mask (int32)."""

    __tablename__ = "spectrum_pixels"

    spectrum_id: Mapped[int] = mapped_column(
        sa.ForeignKey("spectrum.id", ondelete="CASCADE"), primary_key=True
    )
    loglam: Mapped[bytes] = mapped_column(sa.LargeBinary)
    flux: Mapped[bytes] = mapped_column(sa.LargeBinary)
    ivar: Mapped[bytes] = mapped_column(sa.LargeBinary)
    mask: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
