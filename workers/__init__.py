"""galcat workers: the only place that reads rows, runs models and writes results."""
