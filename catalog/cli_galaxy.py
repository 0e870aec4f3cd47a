"""Galaxy commands: image and label ingest, Sérsic and morphology training, inference,
quick-look scans, evaluation, mocks and classic fits. Each parses arguments and
calls one function; workers, models, Keras and matplotlib are imported inside."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from galcat.catalog.cli_jobs import LocalOption, WaitOption, submit_job
from galcat.catalog.cli_output import console, errors, fail, show_ingest
from galcat.catalog.settings import load_settings

Files = Annotated[list[Path], typer.Argument(help="Image files or folders.")]
OutFile = Annotated[Path, typer.Option("--out", help="Table to write (.csv, .ecsv, .fits, …).")]
SeedOption = Annotated[int, typer.Option(help="Seed of mocks, weights and shuffling.")]
NOption = Annotated[int, typer.Option("--n", help="Training mocks.")]
NEvalOption = Annotated[int, typer.Option(help="Held-out mocks scored after training.")]
FiltersOption = Annotated[str, typer.Option(help="Convolution filters per stage, comma-separated.")]
BatchOption = Annotated[int, typer.Option(help="Batch size.")]
RateOption = Annotated[float, typer.Option(help="Adam learning rate.")]
ShardOption = Annotated[int | None, typer.Option(help="Images per shard.")]
WhereOption = Annotated[str | None, typer.Option(help="SQL condition on image rows.")]


def _database() -> Any:
    from galcat.catalog.cli import _ready_database

    return _ready_database()


def ingest_images(
    files: Files,
    survey: Annotated[str | None, typer.Option(help="Imaging survey of the images.")] = None,
    catalog: Annotated[Path | None, typer.Option(
        help="Table joining files to galaxies (position) and labels.")] = None,
    label_set: Annotated[str | None, typer.Option(
        help="Label set for the catalogue's columns (default: its file name).")] = None,
    hdu: Annotated[str | None, typer.Option(help="FITS HDU name or number.")] = None,
) -> None:
    """Load galaxy cutouts (FITS, PNG/JPEG, .npy); each image loads whole or not at all.

    Example: galcat ingest images rings/*.png --catalog rings.csv --survey legacy-dr9
    """
    from galcat.catalog.formats.errors import InputError, InputErrors
    from galcat.catalog.formats.tables import TableFormatError
    from galcat.catalog.ingest.images import ingest_images as run

    chosen: int | str | None = int(hdu) if hdu is not None and hdu.isdigit() else hdu
    try:
        summary = run(_database(), files, survey, catalog, label_set, chosen)
    except InputErrors as exc:
        fail(Exception("; ".join(str(e) for e in exc.errors)))
    except (InputError, TableFormatError) as exc:
        fail(exc)
    for companion, image in summary.attached.items():
        console.print(f"attached {companion} to {image}", markup=False, highlight=False)
    show_ingest(summary)
    if catalog is not None:
        console.print(f"{summary.linked} images linked to galaxies; "
                      f"{len(summary.unmatched)} matched no row of {catalog}", markup=False)
    if not summary.ok:
        raise typer.Exit(1)


def ingest_labels(
    files: Annotated[list[Path], typer.Argument(help="Label tables (CSV, FITS, …).")],
    label_set: Annotated[str, typer.Option("--set", help="Label set name.")],
    kind: Annotated[str, typer.Option(help="What one row labels: galaxy or image.")] = "galaxy",
    style: Annotated[str, typer.Option(
        help="auto, gz2, candels, sersic or columns.")] = "auto",
    id: Annotated[str | None, typer.Option("--id", help="Object id column.")] = None,
    survey: Annotated[str | None, typer.Option(help="Survey of the galaxies.")] = None,
    gz2_variant: Annotated[str | None, typer.Option(
        help="GZ2 columns to read: fraction, weighted_fraction or debiased.")] = None,
    re_unit: Annotated[str | None, typer.Option(help="Sérsic radii in arcsec or pixel.")] = None,
    pixel_scale: Annotated[float | None, typer.Option(
        help="Arcsec per pixel, for radii in pixels.")] = None,
) -> None:
    """Load vote fractions (GZ2, CANDELS) or Sérsic fits as labels of galaxies or images.

    Example: galcat ingest labels training_solutions_rev1.csv --set gz2 --kind image
    """
    from galcat.catalog.ingest.labels import LabelOutcome
    from galcat.catalog.ingest.labels import ingest_labels as run

    try:
        summary = run(_database(), files, label_set, kind, style=style, id_col=id,
                      survey=survey, gz2_variant=gz2_variant, re_unit=re_unit,
                      pixel_scale_arcsec=pixel_scale)
    except ValueError as exc:
        fail(exc)
    show_ingest(summary)
    for outcome in summary.files:
        if outcome.ok and isinstance(outcome, LabelOutcome):
            console.print(f"{outcome.path}: read as {outcome.style}; {outcome.unmatched} rows "
                          f"matched no {kind}", markup=False, highlight=False)
    if not summary.ok:
        raise typer.Exit(1)


def _config(filters: str, batch_size: int, learning_rate: float, epochs: int) -> dict[str, Any]:
    try:
        stages = [int(f) for f in filters.split(",") if f.strip()]
    except ValueError:
        fail(ValueError(f"--filters must be integers separated by commas, not {filters!r}"))
    return {"filters": stages, "batch_size": batch_size, "learning_rate": learning_rate,
            "epochs": epochs}


def train_sersic(
    seed: SeedOption = 1,
    n: NOption = 20000,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 40,
    n_eval: NEvalOption = 2000,
    filters: FiltersOption = "16,32,64",
    batch_size: BatchOption = 64,
    learning_rate: RateOption = 1e-3,
    name: Annotated[str, typer.Option(help="Registry name of the model.")] = "sersic",
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Train the Sérsic emulator on seeded single-Sérsic mocks and register it.

    Example: galcat train sersic --seed 1 --n 20000 --epochs 40 --wait
    """
    command = (f"galcat train sersic --seed {seed} --n {n} --epochs {epochs} --n-eval {n_eval} "
               f"--filters {filters} --batch-size {batch_size} --learning-rate "
               f"{learning_rate} --name {name}")
    params = {"task": "sersic", "seed": seed, "n": n, "n_eval": n_eval, "name": name,
              "config": _config(filters, batch_size, learning_rate, epochs), "command": command}
    submit_job("train", params, None, None, wait, local)


def train_morphology(
    seed: SeedOption = 1,
    n: NOption = 20000,
    epochs: Annotated[int | None, typer.Option(
        help="Training epochs (default 30; 10 when fine-tuning).")] = None,
    n_eval: NEvalOption = 2000,
    filters: FiltersOption = "16,32,64",
    batch_size: BatchOption = 64,
    learning_rate: RateOption = 1e-3,
    name: Annotated[str | None, typer.Option(
        help="Registry name (default morphology, or morphology-SET).")] = None,
    labels: Annotated[str | None, typer.Option(
        help="Fine-tune on the catalog's images with labels of this set.")] = None,
    base: Annotated[str | None, typer.Option(
        "--from", help="Model to fine-tune (default morphology@latest).")] = None,
    whole_network: Annotated[bool, typer.Option(
        help="Fine-tune every layer, not only a new head.")] = False,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Train the CANDELS-style morphology network on mocks, or fine-tune it on your labels.

    Example: galcat train morphology --labels my-rings --from morphology@1 --wait
    """
    if base is not None and labels is None:
        fail(ValueError("--from needs --labels SET (it names the model to fine-tune)"))
    if labels is not None:
        epochs = 10 if epochs is None else epochs
        command = (f"galcat train morphology --labels {labels} --from {base or 'morphology'} "
                   f"--epochs {epochs} --seed {seed}"
                   + (" --whole-network" if whole_network else "")
                   + (f" --name {name}" if name else ""))
        params = {"task": "morphology", "labels": labels, "seed": seed, "epochs": epochs,
                  "whole_network": whole_network, "name": name, "command": command}
        submit_job("train", params, base or "morphology", None, wait, local)
        return
    epochs = 30 if epochs is None else epochs
    name = name or "morphology"
    command = (f"galcat train morphology --seed {seed} --n {n} --epochs {epochs} --n-eval "
               f"{n_eval} --filters {filters} --batch-size {batch_size} --learning-rate "
               f"{learning_rate} --name {name}")
    params = {"task": "morphology", "seed": seed, "n": n, "n_eval": n_eval, "name": name,
              "config": _config(filters, batch_size, learning_rate, epochs), "command": command}
    submit_job("train", params, None, None, wait, local)


def infer_sersic(
    model: Annotated[str, typer.Option(help="Model reference: sersic, sersic@2.")] = "sersic",
    where: WhereOption = None,
    shard_size: ShardOption = None,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Sérsic parameters for every image matching --where, into sersic_fit.

    Example: galcat infer sersic --model sersic@1 --where "survey_id = 2" --wait
    """
    submit_job("infer", {"task": "sersic", "shard_size": shard_size}, model, where, wait, local)


def infer_morphology(
    model: Annotated[str, typer.Option(
        help="Model reference: morphology, morphology@2, morphology-rings@1.")] = "morphology",
    where: WhereOption = None,
    shard_size: ShardOption = None,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Morphology fractions and bulge/disk probabilities for images, into morphology.

    Example: galcat infer morphology --model morphology@latest --wait
    """
    submit_job("infer", {"task": "morphology", "shard_size": shard_size}, model, where, wait,
            local)


def _scan(task: str, files: list[Path], out: Path, model: str) -> None:
    from galcat.catalog.registry import RegistryError
    from galcat.workers.galaxy_scan import load_model_reference, scan_files

    try:
        network, label = load_model_reference(load_settings(), model, task)
    except (RegistryError, FileNotFoundError, ValueError) as exc:
        fail(exc)
    _report_files(scan_files(task, files, out, network, label))


def _report_files(result: Any) -> None:
    for message in result.errors:
        errors.print(f"refused {message}", markup=False, highlight=False)
    if result.rows:
        console.print(f"wrote {result.rows} rows to {result.out}", markup=False)
    if not result.ok or not result.rows:
        errors.print(f"{len(result.errors)} files refused; {result.rows} rows written"
                     if result.errors else "no image files found (.fits, .png, .jpg, .npy)",
                     markup=False)
        raise typer.Exit(1)


def scan_sersic(
    files: Files,
    out: OutFile,
    model: Annotated[str, typer.Option(help="Registry reference or .keras file.")] = "sersic",
) -> None:
    """Quick look: Sérsic parameters of image files into a table, no database writes.

    Example: galcat scan sersic cutouts/*.fits --out sersic.csv --model sersic@1
    """
    _scan("sersic", files, out, model)


def scan_morphology(
    files: Files,
    out: OutFile,
    model: Annotated[str, typer.Option(help="Registry reference or .keras file.")] = "morphology",
) -> None:
    """Quick look: morphology of image files into a table, no database writes.

    Example: galcat scan morphology cutouts/*.fits --out morphology.csv
    """
    _scan("morphology", files, out, model)


def _evaluate(task: str, model: str, out: Path, n: int, n_fit: int, seed: int) -> None:
    from galcat.catalog.registry import RegistryError
    from galcat.workers.galaxy_evaluate import evaluate_morphology, evaluate_sersic
    from galcat.workers.galaxy_scan import load_model_reference

    try:
        network, label = load_model_reference(load_settings(), model, task)
    except (RegistryError, FileNotFoundError, ValueError) as exc:
        fail(exc)
    if task == "sersic":
        result = evaluate_sersic(network, out, n=n, n_fit=n_fit, seed=seed, model_label=label)
    else:
        result = evaluate_morphology(network, out, n=n, seed=seed, model_label=label)
    for path in result.files:
        console.print(f"wrote {path}", markup=False)


def evaluate_sersic(
    out: Annotated[Path, typer.Option("--out", help="Folder for tables and PNGs.")],
    model: Annotated[str, typer.Option(help="Registry reference or .keras file.")] = "sersic",
    n: Annotated[int, typer.Option("--n", help="Held-out mocks.")] = 1000,
    n_fit: Annotated[int, typer.Option(help="Of them, fitted by the classic fitter.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the held-out mocks.")] = 7,
) -> None:
    """Score the emulator and the classic fitter side by side on held-out mocks.

    Example: galcat evaluate sersic --model sersic@1 --n 1000 --n-fit 100 --out eval/
    """
    _evaluate("sersic", model, out, n, n_fit, seed)


def evaluate_morphology(
    out: Annotated[Path, typer.Option("--out", help="Folder for tables and PNGs.")],
    model: Annotated[str, typer.Option(help="Registry reference or .keras file.")] = "morphology",
    n: Annotated[int, typer.Option("--n", help="Held-out mocks.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the held-out mocks.")] = 7,
) -> None:
    """Score the morphology network on held-out mocks: fraction bias/scatter, accuracy.

    Example: galcat evaluate morphology --model morphology@1 --n 1000 --out eval/
    """
    _evaluate("morphology", model, out, n, 0, seed)


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
    from galcat.workers.galaxy_scan import write_mock_galaxies

    fractions = None if kinds == "all" else {k.strip(): 1.0 for k in kinds.split(",")}
    try:
        files, truth = write_mock_galaxies(n, out, seed, kind_fractions=fractions,
                                           overwrite=overwrite)
    except (ValueError, OSError) as exc:
        fail(exc)
    console.print(f"wrote {len(files)} FITS files and {truth}", markup=False)


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
    from galcat.workers.galaxy_scan import fit_files

    _report_files(fit_files(files, out, zero_point=zero_point, pixel_scale_arcsec=pixel_scale,
                            psf_fwhm_arcsec=psf_fwhm))


def register(apps: dict[str, typer.Typer]) -> None:
    """Add the galaxy commands to galcat's sub-apps."""
    apps["ingest"].command("images")(ingest_images)
    apps["ingest"].command("labels")(ingest_labels)
    apps["train"].command("sersic")(train_sersic)
    apps["train"].command("morphology")(train_morphology)
    apps["infer"].command("sersic")(infer_sersic)
    apps["infer"].command("morphology")(infer_morphology)
    apps["scan"].command("sersic")(scan_sersic)
    apps["scan"].command("morphology")(scan_morphology)
    apps["evaluate"].command("sersic")(evaluate_sersic)
    apps["evaluate"].command("morphology")(evaluate_morphology)
    apps["mock"].command("galaxies")(mock_galaxies)
    apps["fit"].command("sersic")(fit_sersic)
