"""The galaxy networks (Sérsic emulator, morphology) moving rows and files through
:mod:`galcat.models.galaxy`: inference, training, fine-tuning, scan, fits, evaluation."""
