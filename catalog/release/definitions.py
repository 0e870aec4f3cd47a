"""The public catalogues, declared once: every column's name, type, unit, UCD and meaning.

Every writer (FITS, VOTable, Parquet, CSV), the data model and the cone-search
service read these lists; nothing else names a public column. Units are astropy
"generic" strings; each writer renders them in its own convention (FITS
``log(cm-2)``, VOTable 1.3 / CDS ``[cm-2]``, ECSV and Parquet ``dex(cm-2)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DTYPES = ("int16", "int32", "int64", "float64", "bool", "str")


@dataclass(frozen=True)
class Column:
    """One public column.

    ``dtype`` is one of ``DTYPES``; ``str`` columns are fixed width in FITS and
    VOTable, the width being the longest value of the release. ``nullable`` integer
    columns carry ``TNULLn`` in FITS (the dtype's minimum) and a null flag elsewhere;
    a null float is NaN in FITS and null elsewhere.
    """

    name: str
    dtype: str
    unit: str = ""
    ucd: str = ""
    description: str = ""
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name}: dtype {self.dtype!r} is not one of {DTYPES}")


@dataclass(frozen=True)
class TableDef:
    """One public table: its columns in file order and the key that identifies a row."""

    name: str
    title: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    position_table: str
    """The positional table (``galaxy`` or ``sightline``) whose sky index serves cones."""

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def main_id(self) -> str:
        """The column that identifies a row on its own (UCD ``meta.id;meta.main``)."""
        return next(c.name for c in self.columns if c.ucd == "meta.id;meta.main")


@dataclass(frozen=True)
class CatalogueDef:
    """One public catalogue: the model tasks it pins and the tables it publishes."""

    name: str
    title: str
    tasks: tuple[str, ...]
    """Model tasks whose versions a release pins; the default model of a task has the
    task's own name (``dla``, ``morphology``, ``sersic``), latest version."""
    tables: tuple[TableDef, ...]
    how_made: tuple[str, ...] = field(default_factory=tuple)
    """Paragraphs of the data model explaining how the rows were chosen."""

    def table(self, name: str) -> TableDef:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"catalogue {self.name} has no table {name!r}")

    @property
    def main(self) -> TableDef:
        """The table cone searches and row counts refer to (the first one)."""
        return self.tables[0]


def _c(name: str, dtype: str, unit: str, ucd: str, description: str,
       nullable: bool = False) -> Column:
    return Column(name, dtype, unit, ucd, description, nullable)


_SIGHTLINE_IDS = (
    _c("sightline_id", "int64", "", "meta.id", "galcat sightline id (stable within a catalogue)"),
    _c("survey", "str", "", "meta.dataset", "Survey the quasar comes from"),
    _c("object_id", "str", "", "meta.id.cross", "The survey's own identifier of the quasar"),
    _c("plate", "int32", "", "instr.setup", "SDSS plate", nullable=True),
    _c("mjd", "int32", "d", "time.epoch;obs", "SDSS MJD of the observation", nullable=True),
    _c("fiber", "int32", "", "instr.setup", "SDSS fiber", nullable=True),
    _c("thing_id", "int64", "", "meta.id.cross", "SDSS THING_ID", nullable=True),
    _c("ra", "float64", "deg", "pos.eq.ra;meta.main", "Right ascension of the quasar (ICRS)"),
    _c("dec", "float64", "deg", "pos.eq.dec;meta.main", "Declination of the quasar (ICRS)"),
    _c("z_qso", "float64", "", "src.redshift", "Quasar redshift", nullable=True),
)

DLA_ABSORBERS = TableDef(
    name="absorbers",
    title="Damped Lyman-alpha and sub-DLA absorbers",
    description="One row per absorber the pinned DLA model found along a searched sightline.",
    key=("sightline_id", "absorber_index"),
    position_table="sightline",
    columns=(
        _c("absorber_id", "int64", "", "meta.id;meta.main", "galcat absorber id"),
        *_SIGHTLINE_IDS,
        _c("absorber_index", "int16", "", "meta.number",
           "Index of the absorber along its sightline (0 = first reported)"),
        _c("z_dla", "float64", "", "src.redshift", "Absorber redshift"),
        _c("log_nhi", "float64", "dex(cm-2)", "phys.columnDensity",
           "log10 of the H I column density N_HI in cm^-2"),
        _c("log_nhi_err", "float64", "dex(cm-2)", "stat.error;phys.columnDensity",
           "1-sigma uncertainty of log_nhi (calibrated on held-out mocks when the model "
           "carries an error model)", nullable=True),
        _c("z_dla_err", "float64", "", "stat.error;src.redshift",
           "1-sigma uncertainty of z_dla (null when the model carries no error model)",
           nullable=True),
        _c("p_dla", "float64", "", "stat.probability",
           "Probability that the true log N_HI >= 20.3, calibrated on held-out mocks: choose "
           "your own cut (type says DLA wherever log_nhi >= 20.3)", nullable=True),
        _c("confidence", "float64", "", "stat.probability",
           "Model confidence that the absorber is real, 0 to 1"),
        _c("type", "str", "", "meta.code.class",
           "DLA (log N_HI >= 20.3), SUBDLA, or LYB (a Lyman-beta alias)"),
    ),
)

DLA_SIGHTLINES = TableDef(
    name="sightlines",
    title="Quasar sightlines searched",
    description="One row per sightline the pinned DLA model searched, with or without absorbers.",
    key=("sightline_id",),
    position_table="sightline",
    columns=(
        *(
            Column(c.name, c.dtype, c.unit, "meta.id;meta.main" if c.name == "sightline_id"
                   else c.ucd, c.description, c.nullable)
            for c in _SIGHTLINE_IDS
        ),
        _c("z_min", "float64", "", "src.redshift", "Lowest absorber redshift searched"),
        _c("z_max", "float64", "", "src.redshift", "Highest absorber redshift searched"),
        _c("snr", "float64", "", "stat.snr",
           "Median signal-to-noise ratio per pixel of the searched spectrum", nullable=True),
        _c("n_absorbers", "int16", "", "meta.number",
           "Number of absorbers the model reported on this sightline (all types)"),
    ),
)

_GALAXY_IDS = (
    _c("galaxy_id", "int64", "", "meta.id;meta.main", "galcat galaxy id"),
    _c("survey", "str", "", "meta.dataset", "Survey the galaxy comes from"),
    _c("object_id", "str", "", "meta.id.cross", "The survey's own identifier"),
    _c("ra", "float64", "deg", "pos.eq.ra;meta.main", "Right ascension (ICRS)"),
    _c("dec", "float64", "deg", "pos.eq.dec;meta.main", "Declination (ICRS)"),
    _c("z_spec", "float64", "", "src.redshift", "Spectroscopic redshift", nullable=True),
    _c("z_phot", "float64", "", "src.redshift.phot", "Photometric redshift", nullable=True),
)

MORPHOLOGY_GALAXIES = TableDef(
    name="galaxies",
    title="Galaxy morphologies and Sérsic structural parameters",
    description="One row per galaxy: CANDELS-style type fractions, bulge/disk probabilities "
                "and single-Sérsic parameters, all from the same image.",
    key=("galaxy_id",),
    position_table="galaxy",
    columns=(
        *_GALAXY_IDS,
        _c("log_mstar", "float64", "dex(solMass)", "phys.mass",
           "log10 of the stellar mass in solar masses", nullable=True),
        _c("image_id", "int64", "", "meta.id",
           "galcat id of the image the predictions come from (see 'How it was made')"),
        _c("f_spheroid", "float64", "", "stat.probability",
           "Fraction of classifiers calling the galaxy a spheroid"),
        _c("f_disk", "float64", "", "stat.probability", "Fraction calling it a disk"),
        _c("f_irr", "float64", "", "stat.probability", "Fraction calling it irregular"),
        _c("f_ps", "float64", "", "stat.probability", "Fraction calling it a point source"),
        _c("f_unc", "float64", "", "stat.probability", "Fraction calling it unclassifiable"),
        _c("p_bulge", "float64", "", "stat.probability", "Probability of a pure bulge"),
        _c("p_disk", "float64", "", "stat.probability", "Probability of a pure disk"),
        _c("p_bulge_disk", "float64", "", "stat.probability",
           "Probability of a bulge + disk system"),
        _c("mag", "float64", "mag", "phot.mag", "Sérsic total magnitude (AB)", nullable=True),
        _c("mag_err", "float64", "mag", "stat.error;phot.mag", "Uncertainty of mag",
           nullable=True),
        _c("r_eff_arcsec", "float64", "arcsec", "phys.angSize;src",
           "Sérsic effective (half-light) radius along the major axis", nullable=True),
        _c("r_eff_arcsec_err", "float64", "arcsec", "stat.error;phys.angSize;src",
           "Uncertainty of r_eff_arcsec", nullable=True),
        _c("sersic_n", "float64", "", "src.morph.param", "Sérsic index", nullable=True),
        _c("sersic_n_err", "float64", "", "stat.error;src.morph.param",
           "Uncertainty of sersic_n", nullable=True),
        _c("axis_ratio", "float64", "", "phys.size.axisRatio", "Minor-to-major axis ratio b/a",
           nullable=True),
        _c("axis_ratio_err", "float64", "", "stat.error;phys.size.axisRatio",
           "Uncertainty of axis_ratio", nullable=True),
        _c("pa_deg", "float64", "deg", "pos.posAng",
           "Position angle of the major axis, east of north (GALFIT convention)", nullable=True),
        _c("out_of_profile", "bool", "", "meta.code.qual",
           "True when either network flags the image as unlike its training set"),
    ),
)

DLA = CatalogueDef(
    name="dla",
    title="galcat damped Lyman-alpha absorber catalogue",
    tasks=("dla",),
    tables=(DLA_ABSORBERS, DLA_SIGHTLINES),
    how_made=(
        "Every sightline the pinned DLA model version searched is in the sightlines table; "
        "every absorber it reported on those sightlines (DLA, SUBDLA and LYB alike) is a row "
        "of the absorbers table. Positions, plate/MJD/fiber and z_qso come from the "
        "sightline as ingested. Absorbers are matched between releases by "
        "(sightline_id, absorber_index).",
    ),
)

MORPHOLOGY = CatalogueDef(
    name="morphology",
    title="galcat galaxy morphology catalogue",
    tasks=("morphology", "sersic"),
    tables=(MORPHOLOGY_GALAXIES,),
    how_made=(
        "Predictions are made per image, and a galaxy may have several images. Each galaxy's "
        "row uses exactly one image: the one with the lowest galcat image id among its images "
        "that have a prediction from the pinned morphology model version. The Sérsic columns "
        "come from the pinned Sérsic model version on that same image; they are null when "
        "that image has no Sérsic fit. Galaxies without any morphology prediction are not "
        "in the catalogue.",
    ),
)

ENVIRONMENT_GALAXIES = TableDef(
    name="galaxies",
    title="Galaxy environments",
    description="One row per galaxy the pinned environment measure covered: the redshift "
                "it used and the galaxy's local density.",
    key=("galaxy_id",),
    position_table="galaxy",
    columns=(
        *_GALAXY_IDS,
        _c("z_phot_err", "float64", "", "stat.error;src.redshift.phot",
           "1-sigma error of z_phot", nullable=True),
        _c("z_env", "float64", "", "src.redshift",
           "Redshift the environment was measured from: z_spec, else the pinned measure's "
           "redshift version (SORT or network), else z_phot", nullable=True),
        _c("cylinder_count", "int32", "", "phys.density;meta.number",
           "Other galaxies in a cylinder around this one (radius and depth in the release's "
           "provenance; Planck18 comoving)", nullable=True),
        _c("nth_neighbour_mpc_h", "float64", "Mpc", "pos.distance",
           "Comoving distance to the n-th nearest galaxy in redshift space, h^-1 Mpc (n in "
           "the release's provenance)", nullable=True),
    ),
)

ENVIRONMENT = CatalogueDef(
    name="environment",
    title="galcat galaxy environment catalogue",
    tasks=("environment",),
    tables=(ENVIRONMENT_GALAXIES,),
    how_made=(
        "The pinned environment measure (galcat environment measure) gives every galaxy it "
        "covered a redshift — its spectroscopic one, else that of the redshift version named "
        "in the measure's hyper-parameters (SORT, Tejos+2018, or the neighbour redshift "
        "network), else its photo-z — and counts the other galaxies in a cylinder of the "
        "recorded comoving radius and velocity depth, and the distance to the n-th neighbour. "
        "Join with the morphology catalogue on galaxy_id.",
    ),
)

CATALOGUES: dict[str, CatalogueDef] = {c.name: c for c in (DLA, MORPHOLOGY, ENVIRONMENT)}


def catalogue(name: str) -> CatalogueDef:
    """The public catalogue called ``name``."""
    try:
        return CATALOGUES[name]
    except KeyError:
        raise ValueError(
            f"unknown catalogue {name!r}: choose one of {', '.join(CATALOGUES)}"
        ) from None
