"""initial schema

Longer than a module should be: Alembic wrote it, and it creates the whole first
schema in one revision (rewriting history would break every catalogue made from it).

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 22:05:48.465343
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('label',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_set', sa.String(length=64), nullable=False),
    sa.Column('object_kind', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('values', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("object_kind IN ('galaxy', 'sightline', 'image', 'snapshot')", name=op.f('ck_label_object_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label')),
    sa.UniqueConstraint('label_set', 'object_kind', 'object_id', name=op.f('uq_label_label_set_object_kind_object_id'))
    )
    with op.batch_alter_table('label', schema=None) as batch_op:
        batch_op.create_index('ix_label_object', ['object_kind', 'object_id'], unique=False)

    op.create_table('model_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('task', sa.String(length=32), nullable=False),
    sa.Column('weights_sha256', sa.String(length=64), nullable=False),
    sa.Column('weights_blob', sa.LargeBinary(), nullable=True),
    sa.Column('hyperparameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('training_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('metrics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('code_version', sa.String(length=64), nullable=False),
    sa.Column('command', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_version')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_model_version_name_version'))
    )
    op.create_table('release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catalog', sa.String(length=32), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('spec', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('code_version', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release')),
    sa.UniqueConstraint('tag', name=op.f('uq_release_tag'))
    )
    op.create_table('simulation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_simulation')),
    sa.UniqueConstraint('name', name=op.f('uq_simulation_name'))
    )
    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('band', sa.String(length=32), nullable=True),
    sa.Column('pixel_scale_arcsec', sa.Double(), nullable=True),
    sa.Column('zero_point_mag', sa.Double(), nullable=True),
    sa.Column('psf_fwhm_arcsec', sa.Double(), nullable=True),
    sa.Column('resolution', sa.Double(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('catalog', 'imaging', 'spectroscopy', 'simulation', 'mock')", name=op.f('ck_survey_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey')),
    sa.UniqueConstraint('name', name=op.f('uq_survey_name'))
    )
    op.create_table('galaxy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('ra_deg', sa.Float(precision=53), nullable=False),
    sa.Column('dec_deg', sa.Float(precision=53), nullable=False),
    sa.Column('healpix_29', sa.BigInteger(), nullable=False),
    sa.Column('z_spec', sa.Double(), nullable=True),
    sa.Column('z_phot', sa.Double(), nullable=True),
    sa.Column('log_mstar', sa.Double(), nullable=True),
    sa.Column('mag_ab', sa.Double(), nullable=True),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.CheckConstraint('dec_deg BETWEEN -90 AND 90', name=op.f('ck_galaxy_dec_range')),
    sa.CheckConstraint('ra_deg >= 0 AND ra_deg < 360', name=op.f('ck_galaxy_ra_range')),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_galaxy_survey_id_survey'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_galaxy')),
    sa.UniqueConstraint('survey_id', 'external_id', name=op.f('uq_galaxy_survey_id_external_id'))
    )
    with op.batch_alter_table('galaxy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_galaxy_healpix_29'), ['healpix_29'], unique=False)
        batch_op.create_index(batch_op.f('ix_galaxy_log_mstar'), ['log_mstar'], unique=False)
        batch_op.create_index(batch_op.f('ix_galaxy_z_phot'), ['z_phot'], unique=False)
        batch_op.create_index(batch_op.f('ix_galaxy_z_spec'), ['z_spec'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('queue', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('shard_index', sa.Integer(), nullable=True),
    sa.Column('model_version_id', sa.Integer(), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker', sa.String(length=128), nullable=True),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'cancelled')", name=op.f('ck_job_state')),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_job_model_version_id_model_version')),
    sa.ForeignKeyConstraint(['parent_id'], ['job.id'], name=op.f('fk_job_parent_id_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_job_state_heartbeat', ['state', 'heartbeat_at'], unique=False)

    op.create_table('release_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_release_file_release_id_release'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_file')),
    sa.UniqueConstraint('release_id', 'filename', name=op.f('uq_release_file_release_id_filename'))
    )
    op.create_table('sightline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('plate', sa.Integer(), nullable=True),
    sa.Column('mjd', sa.Integer(), nullable=True),
    sa.Column('fiber', sa.Integer(), nullable=True),
    sa.Column('thing_id', sa.BigInteger(), nullable=True),
    sa.Column('ra_deg', sa.Float(precision=53), nullable=False),
    sa.Column('dec_deg', sa.Float(precision=53), nullable=False),
    sa.Column('healpix_29', sa.BigInteger(), nullable=False),
    sa.Column('z_qso', sa.Double(), nullable=True),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.CheckConstraint('dec_deg BETWEEN -90 AND 90', name=op.f('ck_sightline_dec_range')),
    sa.CheckConstraint('ra_deg >= 0 AND ra_deg < 360', name=op.f('ck_sightline_ra_range')),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_sightline_survey_id_survey'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sightline')),
    sa.UniqueConstraint('survey_id', 'external_id', name=op.f('uq_sightline_survey_id_external_id'))
    )
    with op.batch_alter_table('sightline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sightline_healpix_29'), ['healpix_29'], unique=False)
        batch_op.create_index('ix_sightline_plate_mjd_fiber', ['plate', 'mjd', 'fiber'], unique=False)
        batch_op.create_index(batch_op.f('ix_sightline_thing_id'), ['thing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sightline_z_qso'), ['z_qso'], unique=False)

    op.create_table('snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('simulation_id', sa.Integer(), nullable=False),
    sa.Column('snapshot_index', sa.Integer(), nullable=False),
    sa.Column('redshift', sa.Double(), nullable=False),
    sa.Column('time_gyr', sa.Double(), nullable=True),
    sa.Column('log_mstar', sa.Double(), nullable=True),
    sa.Column('log_mgas', sa.Double(), nullable=True),
    sa.Column('sfr_msun_per_yr', sa.Double(), nullable=True),
    sa.Column('phase', sa.String(length=32), nullable=True),
    sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['simulation_id'], ['simulation.id'], name=op.f('fk_snapshot_simulation_id_simulation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_snapshot')),
    sa.UniqueConstraint('simulation_id', 'snapshot_index', name=op.f('uq_snapshot_simulation_id_snapshot_index'))
    )
    with op.batch_alter_table('snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_snapshot_phase'), ['phase'], unique=False)
        batch_op.create_index(batch_op.f('ix_snapshot_redshift'), ['redshift'], unique=False)

    op.create_table('camera',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('camera_index', sa.Integer(), nullable=False),
    sa.Column('theta_deg', sa.Double(), nullable=True),
    sa.Column('phi_deg', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['snapshot_id'], ['snapshot.id'], name=op.f('fk_camera_snapshot_id_snapshot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera')),
    sa.UniqueConstraint('snapshot_id', 'camera_index', name=op.f('uq_camera_snapshot_id_camera_index'))
    )
    op.create_table('dla_absorber',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('sightline_id', sa.Integer(), nullable=False),
    sa.Column('absorber_index', sa.Integer(), nullable=False),
    sa.Column('z_dla', sa.Double(), nullable=False),
    sa.Column('log_nhi', sa.Double(), nullable=False),
    sa.Column('log_nhi_err', sa.Double(), nullable=True),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('type', sa.String(length=8), nullable=False),
    sa.CheckConstraint("type IN ('DLA', 'SUBDLA', 'LYB')", name=op.f('ck_dla_absorber_type')),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_dla_absorber_model_version_id_model_version'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sightline_id'], ['sightline.id'], name=op.f('fk_dla_absorber_sightline_id_sightline'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dla_absorber')),
    sa.UniqueConstraint('model_version_id', 'sightline_id', 'absorber_index', name=op.f('uq_dla_absorber_model_version_id_sightline_id_absorber_index'))
    )
    with op.batch_alter_table('dla_absorber', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dla_absorber_log_nhi'), ['log_nhi'], unique=False)
        batch_op.create_index(batch_op.f('ix_dla_absorber_sightline_id'), ['sightline_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dla_absorber_z_dla'), ['z_dla'], unique=False)

    op.create_table('sightline_search',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('sightline_id', sa.Integer(), nullable=False),
    sa.Column('z_min', sa.Double(), nullable=False),
    sa.Column('z_max', sa.Double(), nullable=False),
    sa.Column('snr', sa.Double(), nullable=True),
    sa.Column('n_absorbers', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_sightline_search_model_version_id_model_version'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sightline_id'], ['sightline.id'], name=op.f('fk_sightline_search_sightline_id_sightline'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sightline_search')),
    sa.UniqueConstraint('model_version_id', 'sightline_id', name=op.f('uq_sightline_search_model_version_id_sightline_id'))
    )
    with op.batch_alter_table('sightline_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sightline_search_sightline_id'), ['sightline_id'], unique=False)

    op.create_table('spectrum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sightline_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.Integer(), nullable=True),
    sa.Column('mjd', sa.Integer(), nullable=True),
    sa.Column('fiber', sa.Integer(), nullable=True),
    sa.Column('source_path', sa.Text(), nullable=True),
    sa.Column('source_format', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('n_pixels', sa.Integer(), nullable=False),
    sa.Column('wavelength_min_aa', sa.Double(), nullable=False),
    sa.Column('wavelength_max_aa', sa.Double(), nullable=False),
    sa.Column('snr_median', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sightline_id'], ['sightline.id'], name=op.f('fk_spectrum_sightline_id_sightline'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spectrum')),
    sa.UniqueConstraint('sha256', name=op.f('uq_spectrum_sha256'))
    )
    with op.batch_alter_table('spectrum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spectrum_sightline_id'), ['sightline_id'], unique=False)

    op.create_table('image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('galaxy_id', sa.Integer(), nullable=True),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('source_path', sa.Text(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('channels', sa.Integer(), nullable=False),
    sa.Column('dtype', sa.String(length=16), nullable=False),
    sa.Column('bands', sa.String(length=64), nullable=True),
    sa.Column('pixel_scale_arcsec', sa.Double(), nullable=True),
    sa.Column('zero_point_mag', sa.Double(), nullable=True),
    sa.Column('psf_fwhm_arcsec', sa.Double(), nullable=True),
    sa.Column('sky_sigma', sa.Double(), nullable=True),
    sa.Column('wcs_header', sa.Text(), nullable=True),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['camera.id'], name=op.f('fk_image_camera_id_camera'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['galaxy_id'], ['galaxy.id'], name=op.f('fk_image_galaxy_id_galaxy'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_image_survey_id_survey')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image')),
    sa.UniqueConstraint('sha256', name=op.f('uq_image_sha256'))
    )
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_galaxy_id'), ['galaxy_id'], unique=False)

    op.create_table('spectrum_pixels',
    sa.Column('spectrum_id', sa.Integer(), nullable=False),
    sa.Column('loglam', sa.LargeBinary(), nullable=False),
    sa.Column('flux', sa.LargeBinary(), nullable=False),
    sa.Column('ivar', sa.LargeBinary(), nullable=False),
    sa.Column('mask', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['spectrum_id'], ['spectrum.id'], name=op.f('fk_spectrum_pixels_spectrum_id_spectrum'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('spectrum_id', name=op.f('pk_spectrum_pixels'))
    )
    op.create_table('image_pixels',
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('rms', sa.LargeBinary(), nullable=True),
    sa.Column('psf', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_image_pixels_image_id_image'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', name=op.f('pk_image_pixels'))
    )
    op.create_table('morphology',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('f_spheroid', sa.Double(), nullable=False),
    sa.Column('f_disk', sa.Double(), nullable=False),
    sa.Column('f_irr', sa.Double(), nullable=False),
    sa.Column('f_ps', sa.Double(), nullable=False),
    sa.Column('f_unc', sa.Double(), nullable=False),
    sa.Column('p_bulge', sa.Double(), nullable=False),
    sa.Column('p_disk', sa.Double(), nullable=False),
    sa.Column('p_bulge_disk', sa.Double(), nullable=False),
    sa.Column('out_of_profile', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_morphology_image_id_image'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_morphology_model_version_id_model_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_morphology')),
    sa.UniqueConstraint('model_version_id', 'image_id', name=op.f('uq_morphology_model_version_id_image_id'))
    )
    with op.batch_alter_table('morphology', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_morphology_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_morphology_p_bulge'), ['p_bulge'], unique=False)
        batch_op.create_index(batch_op.f('ix_morphology_p_disk'), ['p_disk'], unique=False)

    op.create_table('phase_prediction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=32), nullable=False),
    sa.Column('p_pre', sa.Double(), nullable=False),
    sa.Column('p_compaction', sa.Double(), nullable=False),
    sa.Column('p_post', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_phase_prediction_image_id_image'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_phase_prediction_model_version_id_model_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phase_prediction')),
    sa.UniqueConstraint('model_version_id', 'image_id', name=op.f('uq_phase_prediction_model_version_id_image_id'))
    )
    with op.batch_alter_table('phase_prediction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phase_prediction_image_id'), ['image_id'], unique=False)

    op.create_table('sersic_fit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('mag', sa.Double(), nullable=False),
    sa.Column('mag_err', sa.Double(), nullable=True),
    sa.Column('r_eff_arcsec', sa.Double(), nullable=False),
    sa.Column('r_eff_err', sa.Double(), nullable=True),
    sa.Column('sersic_n', sa.Double(), nullable=False),
    sa.Column('sersic_n_err', sa.Double(), nullable=True),
    sa.Column('axis_ratio', sa.Double(), nullable=False),
    sa.Column('axis_ratio_err', sa.Double(), nullable=True),
    sa.Column('pa_deg', sa.Double(), nullable=False),
    sa.Column('out_of_profile', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_sersic_fit_image_id_image'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_sersic_fit_model_version_id_model_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sersic_fit')),
    sa.UniqueConstraint('model_version_id', 'image_id', name=op.f('uq_sersic_fit_model_version_id_image_id'))
    )
    with op.batch_alter_table('sersic_fit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sersic_fit_image_id'), ['image_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sersic_fit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sersic_fit_image_id'))

    op.drop_table('sersic_fit')
    with op.batch_alter_table('phase_prediction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phase_prediction_image_id'))

    op.drop_table('phase_prediction')
    with op.batch_alter_table('morphology', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_morphology_p_disk'))
        batch_op.drop_index(batch_op.f('ix_morphology_p_bulge'))
        batch_op.drop_index(batch_op.f('ix_morphology_image_id'))

    op.drop_table('morphology')
    op.drop_table('image_pixels')
    op.drop_table('spectrum_pixels')
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_galaxy_id'))
        batch_op.drop_index(batch_op.f('ix_image_camera_id'))

    op.drop_table('image')
    with op.batch_alter_table('spectrum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spectrum_sightline_id'))

    op.drop_table('spectrum')
    with op.batch_alter_table('sightline_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sightline_search_sightline_id'))

    op.drop_table('sightline_search')
    with op.batch_alter_table('dla_absorber', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dla_absorber_z_dla'))
        batch_op.drop_index(batch_op.f('ix_dla_absorber_sightline_id'))
        batch_op.drop_index(batch_op.f('ix_dla_absorber_log_nhi'))

    op.drop_table('dla_absorber')
    op.drop_table('camera')
    with op.batch_alter_table('snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_snapshot_redshift'))
        batch_op.drop_index(batch_op.f('ix_snapshot_phase'))

    op.drop_table('snapshot')
    with op.batch_alter_table('sightline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sightline_z_qso'))
        batch_op.drop_index(batch_op.f('ix_sightline_thing_id'))
        batch_op.drop_index('ix_sightline_plate_mjd_fiber')
        batch_op.drop_index(batch_op.f('ix_sightline_healpix_29'))

    op.drop_table('sightline')
    op.drop_table('release_file')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_state_heartbeat')
        batch_op.drop_index(batch_op.f('ix_job_parent_id'))

    op.drop_table('job')
    with op.batch_alter_table('galaxy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_galaxy_z_spec'))
        batch_op.drop_index(batch_op.f('ix_galaxy_z_phot'))
        batch_op.drop_index(batch_op.f('ix_galaxy_log_mstar'))
        batch_op.drop_index(batch_op.f('ix_galaxy_healpix_29'))

    op.drop_table('galaxy')
    op.drop_table('survey')
    op.drop_table('simulation')
    op.drop_table('release')
    op.drop_table('model_version')
    with op.batch_alter_table('label', schema=None) as batch_op:
        batch_op.drop_index('ix_label_object')

    op.drop_table('label')
