"""``galcat train …``: training as a typed job (queued, or ``--local``)."""

from __future__ import annotations

from typing import Annotated

import typer

from galcat.cli.output import fail
from galcat.cli.shared import (
    BatchOption,
    FiltersOption,
    LocalOption,
    NEvalOption,
    NOption,
    RateOption,
    SeedOption,
    WaitOption,
    submit_job,
)

train_app = typer.Typer(help="Train a model as a queued job.", no_args_is_help=True)


@train_app.command("dla")
def train_dla(
    seed: Annotated[int, typer.Option(help="Seed of mocks, weights and shuffling.")] = 1,
    sightlines: Annotated[int, typer.Option(help="Mock training sightlines.")] = 2500,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 4,
    n_eval: Annotated[int, typer.Option(help="Held-out mock sightlines scored.")] = 1000,
    name: Annotated[str, typer.Option(help="Registry name of the model.")] = "dla",
    base: Annotated[str | None, typer.Option(
        "--from", help="Continue training this model (dla@N) on fresh mocks.")] = None,
    learning_rate: Annotated[float | None, typer.Option(
        help="Adam learning rate (default 1e-3).")] = None,
    fresh_each_epoch: Annotated[bool, typer.Option(
        help="Draw --sightlines new mocks for every epoch instead of reusing one set.")] = False,
    log_nhi_loss_weight: Annotated[float | None, typer.Option(
        help="Weight of the log N_HI loss against the classifier's (default 1).")] = None,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Train the DLA finder on seeded mock BOSS sightlines and register it.

    Example: galcat train dla --seed 1 --sightlines 2500 --epochs 4 --local
    (continue one: galcat train dla --from dla@1 --seed 2 --learning-rate 3e-4 --local)
    """
    from galcat.workers.queue.specs import TrainDla

    submit_job(TrainDla(seed=seed, sightlines=sightlines, epochs=epochs, n_eval=n_eval,
                        name=name, base=base, learning_rate=learning_rate,
                        fresh_each_epoch=fresh_each_epoch,
                        log_nhi_loss_weight=log_nhi_loss_weight), wait, local)


@train_app.command("dla-calibration")
def train_dla_calibration(
    base: Annotated[str, typer.Option("--from", help="The DLA model to calibrate (dla@N).")],
    sightlines: Annotated[int, typer.Option(help="Mock sightlines to fit on.")] = 4000,
    seed: Annotated[int, typer.Option(help="Seed of those mocks (keep it apart from "
                                      "evaluate's 20181).")] = 777,
    n_eval: Annotated[int, typer.Option(help="Held-out mock sightlines scored.")] = 1000,
    name: Annotated[str, typer.Option(help="Registry name of the new version.")] = "dla",
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Fit a DLA model's log N_HI calibration on fresh mocks; register it as a new
    version with the same weights, so its estimates are unbiased against the truth.

    Example: galcat train dla-calibration --from dla@1 --sightlines 4000 --seed 777 --local
    """
    from galcat.workers.queue.specs import CalibrateDla

    submit_job(CalibrateDla(base=base, sightlines=sightlines, seed=seed, n_eval=n_eval,
                            name=name), wait, local)


@train_app.command("sersic")
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
    from galcat.workers.queue.specs import TrainSersic

    submit_job(TrainSersic(seed=seed, n=n, epochs=epochs, n_eval=n_eval,
                           filters=_filters(filters), batch_size=batch_size,
                           learning_rate=learning_rate, name=name), wait, local)


@train_app.command("morphology")
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
    from galcat.workers.queue.specs import FinetuneMorphology, TrainMorphology

    if labels is not None:
        submit_job(FinetuneMorphology(
            labels=labels, base=base or FinetuneMorphology.base,
            epochs=FinetuneMorphology.epochs if epochs is None else epochs, seed=seed,
            whole_network=whole_network, name=name), wait, local)
        return
    submit_job(TrainMorphology(
        seed=seed, n=n, epochs=TrainMorphology.epochs if epochs is None else epochs,
        n_eval=n_eval, filters=_filters(filters), batch_size=batch_size,
        learning_rate=learning_rate, name=name or TrainMorphology.name), wait, local)


def _filters(filters: str) -> tuple[int, ...]:
    try:
        return tuple(int(f) for f in filters.split(",") if f.strip())
    except ValueError:
        fail(ValueError(f"--filters must be integers separated by commas, not {filters!r}"))


@train_app.command("phases")
def train_phases(
    simulations: Annotated[str, typer.Option(
        help="SQL condition on simulation rows: the simulated galaxies to train on.")],
    held_out: Annotated[str | None, typer.Option(
        help="SQL condition on simulation rows: galaxies never trained on, scored after.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of weights, augmentation and shuffling.")] = 1,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 12,
    filters: FiltersOption = "16,32,64",
    dense_units: Annotated[int, typer.Option(help="Units of the dense layer.")] = 64,
    batch_size: BatchOption = 64,
    learning_rate: RateOption = 1e-3,
    images_only: Annotated[bool, typer.Option(
        help="Read the images alone (by default the snapshot's redshift is an input).")] = False,
    name: Annotated[str, typer.Option(help="Registry name of the model.")] = "phases",
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Train the phase network (phase, compaction cause, time since merger) on the cameras
    of the catalogue's simulated galaxies and register it.

    Example: galcat train phases --simulations "name LIKE 'T%'" --held-out "name LIKE 'H%'" --wait
    """
    from galcat.workers.queue.specs import TrainPhases

    submit_job(TrainPhases(
        simulations=simulations, held_out=held_out, seed=seed, epochs=epochs,
        filters=_filters(filters), dense_units=dense_units, batch_size=batch_size,
        learning_rate=learning_rate, images_only=images_only, name=name), wait, local)


@train_app.command("environment")
def train_environment(
    seed: Annotated[int, typer.Option(
        help="Seed of the training light-cone (the held-out one is seed + 100003).")] = 1,
    n: Annotated[int, typer.Option(help="Galaxies in each mock light-cone.")] = 100_000,
    field_deg: Annotated[float, typer.Option(help="Side of the square mock field, deg.")] = 4.0,
    z_min: Annotated[float, typer.Option(help="Lowest redshift of the mock.")] = 0.4,
    z_max: Annotated[float, typer.Option(help="Highest redshift of the mock.")] = 0.8,
    sigma_z: Annotated[float, typer.Option(
        help="Photo-z scatter of the mock, per (1+z): match your survey's.")] = 0.03,
    spec_fraction: Annotated[float, typer.Option(
        help="Fraction of mock galaxies with a spectroscopic redshift.")] = 0.1,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 20,
    batch_size: BatchOption = 512,
    width: Annotated[int, typer.Option(help="Units of the network's hidden layers.")] = 64,
    max_arcmin: Annotated[float, typer.Option(
        help="Farthest neighbour the network reads, arcmin.")] = 10.0,
    name: Annotated[str, typer.Option(help="Registry name of the model.")] = "environment-z",
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Train the neighbour redshift network (a galaxy's photo-z and its sky neighbours'
    photo-z and spec-z in, a redshift posterior out) on a mock light-cone; score it on an
    independent one and register it.

    Example: galcat train environment --n 100000 --epochs 20 --wait
    """
    from galcat.workers.queue.specs import TrainEnvironment

    submit_job(TrainEnvironment(
        seed=seed, n=n, field_deg=field_deg, z_min=z_min, z_max=z_max, sigma_z=sigma_z,
        spec_fraction=spec_fraction, epochs=epochs, batch_size=batch_size, width=width,
        max_arcmin=max_arcmin, name=name), wait, local)
