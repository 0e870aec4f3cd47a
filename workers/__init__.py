"""galcat workers: the only place that reads rows, runs models and writes results."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
