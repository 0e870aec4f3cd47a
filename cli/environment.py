"""``galcat environment …``: SORT redshifts and the environment measured from them."""

from __future__ import annotations

from typing import Annotated

import typer

from galcat.cli.shared import LocalOption, WaitOption, submit_job

environment_app = typer.Typer(
    help="Galaxy environments: SORT redshifts from many photo-z and few spec-z, and local "
    "densities from the best redshift of each galaxy.", no_args_is_help=True)
WhereOption = Annotated[str | None, typer.Option(
    help="SQL condition on galaxy rows: the galaxies to run on (default: all).")]


@environment_app.command("sort")
def environment_sort(
    where: WhereOption = None,
    reference_where: Annotated[str | None, typer.Option(
        help="SQL condition on galaxy rows: whose z_spec are references (default: every "
             "z_spec).")] = None,
    cell_arcmin: Annotated[float, typer.Option(
        help="Side of the pencil-beam sub-volumes, arcmin.")] = 8.0,
    overlap: Annotated[float, typer.Option(
        help="Overlap of the shifted grids of sub-volumes, as a fraction of a side (0.5: "
             "every galaxy in 4 sub-volumes; 0.75: in 16).")] = 0.5,
    min_reference: Annotated[int, typer.Option(
        help="Fewest references a sub-volume needs.")] = 5,
    kernel_dz: Annotated[float, typer.Option(
        help="Gaussian smoothing of the reference dN/dz, in units of 1+z.")] = 0.001,
    seed: Annotated[int, typer.Option(help="Seed of SORT's draws.")] = 0,
    tile_cells: Annotated[int, typer.Option(
        help="Sub-volumes per side of one sky tile (one shard).")] = 8,
    name: Annotated[str, typer.Option(help="Registry name of the SORT run.")] = "sort",
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """SORT redshifts (Tejos+2018) for the catalogue's galaxies, sharded by sky tile, into
    redshift_estimate under a new version of NAME (method, settings, input fingerprint).

    Example: galcat environment sort --cell-arcmin 8 --overlap 0.5 --wait
    """
    from galcat.models.environment.sort import SortParameters
    from galcat.workers.queue.specs import SortRedshifts

    try:
        SortParameters(cell_arcmin, overlap, min_reference, kernel_dz, seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    submit_job(SortRedshifts(
        where=where, reference_where=reference_where, cell_arcmin=cell_arcmin, overlap=overlap,
        min_reference=min_reference, kernel_dz=kernel_dz, seed=seed, tile_cells=tile_cells,
        name=name), wait, local)


@environment_app.command("measure")
def environment_measure(
    redshifts: Annotated[str | None, typer.Option(
        help="SORT or redshift-network version whose redshifts to use where a galaxy has no "
             "z_spec (sort@1, environment-z@2); default: z_phot.")] = None,
    where: WhereOption = None,
    radius_mpc_h: Annotated[float, typer.Option(
        help="Comoving radius of the cylinder, h⁻¹ Mpc.")] = 1.0,
    dv_km_s: Annotated[float, typer.Option(
        help="Half depth of the cylinder along the line of sight, km/s.")] = 1000.0,
    nth: Annotated[int, typer.Option(help="Which neighbour's distance to store.")] = 5,
    name: Annotated[str, typer.Option(
        help="Registry name of the measure.")] = "environment",
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Galaxies in a cylinder and distance to the n-th neighbour for every galaxy, from its
    z_spec, else the chosen version's redshift, else its photo-z; into environment_measure.

    Example: galcat environment measure --redshifts sort@1 --radius-mpc-h 1 --dv-km-s 1000 --wait
    """
    from galcat.workers.queue.specs import MeasureEnvironment

    if radius_mpc_h <= 0 or dv_km_s <= 0 or nth < 1:
        raise typer.BadParameter("--radius-mpc-h and --dv-km-s must be positive, --nth ≥ 1")
    submit_job(MeasureEnvironment(redshifts=redshifts, where=where, radius_mpc_h=radius_mpc_h,
                                  dv_km_s=dv_km_s, nth=nth, name=name), wait, local)
