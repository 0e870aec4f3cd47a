"""The DLA finder (Parks+2018) moving rows and files through :mod:`galcat.models.dla`:
inference, training, calibration, scan, evaluation, precision bound, mock files."""
