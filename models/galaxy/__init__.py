"""Galaxy-image science: imaging profile, Sérsic rendering and mocks, emulator, fitter, morphology.

Importing this package imports neither Keras nor TensorFlow; the network
modules (``emulator``, ``morphology``, ``gz2``, ``nets``) do when imported.
"""
