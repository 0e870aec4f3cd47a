"""``galcat infer …``: a registered model over catalogue objects, as a sharded job."""

from __future__ import annotations

from typing import Annotated

import typer

from galcat.cli.shared import LocalOption, WaitOption, submit_job

infer_app = typer.Typer(help="Run a registered model over catalog objects.",
                        no_args_is_help=True)
ShardOption = Annotated[int | None, typer.Option(help="Images per shard.")]
WhereOption = Annotated[str | None, typer.Option(help="SQL condition on image rows.")]


@infer_app.command("dla")
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
    from galcat.workers.queue.specs import InferDla

    submit_job(InferDla(model=model, where=where, shard_size=shard_size), wait, local)


@infer_app.command("sersic")
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
    from galcat.workers.queue.specs import InferSersic

    submit_job(InferSersic(model=model, where=where, shard_size=shard_size), wait, local)


@infer_app.command("morphology")
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
    from galcat.workers.queue.specs import InferMorphology

    submit_job(InferMorphology(model=model, where=where, shard_size=shard_size), wait, local)


@infer_app.command("phases")
def infer_phases(
    model: Annotated[str, typer.Option(help="Model reference: phases, phases@2.")] = "phases",
    where: Annotated[str | None, typer.Option(
        help="SQL condition on image rows (a model that reads the redshift answers only for "
             "camera images, whose snapshot gives it).")] = None,
    shard_size: ShardOption = None,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Phase (pre-BN, BN, post-BN), compaction cause and time since the last major merger
    for the camera images of simulated galaxies, into phase_prediction.

    Example: galcat infer phases --model phases@latest --wait
    """
    from galcat.workers.queue.specs import InferPhases

    submit_job(InferPhases(model=model, where=where, shard_size=shard_size), wait, local)


@infer_app.command("environment")
def infer_environment(
    model: Annotated[str, typer.Option(
        help="Model reference: environment-z, environment-z@2.")] = "environment-z",
    where: Annotated[str | None, typer.Option(
        help="SQL condition on galaxy rows (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the one draw stored per galaxy.")] = 0,
    tile_arcmin: Annotated[float, typer.Option(
        help="Side of a sky tile (one shard), arcmin.")] = 80.0,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Redshifts (posterior median, σ and one draw) from a trained neighbour redshift
    network for galaxies without z_spec, sharded by sky tile, into redshift_estimate.

    Example: galcat infer environment --model environment-z@latest --wait
    """
    from galcat.workers.queue.specs import InferEnvironment

    submit_job(InferEnvironment(model=model, where=where, seed=seed, tile_arcmin=tile_arcmin),
               wait, local)
