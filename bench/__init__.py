"""galcat benchmarks: ``python -m bench [NAME] [options]``.

Each bench module exposes ``DESCRIPTION`` (one line) and ``main(argv) -> int`` and is
registered in ``bench.__main__.BENCHES``. Benches print figures and ratios against a
baseline measured in the same run (the machines are shared and noisy); they never
assert on timings.
"""
