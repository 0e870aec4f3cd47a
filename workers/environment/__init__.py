"""Galaxy environments on the catalogue: SORT and learned redshifts by sky tile, the
environment measured from them, the mock light-cone's files and the evaluation."""
