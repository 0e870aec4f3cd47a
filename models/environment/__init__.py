"""Galaxy environments from many photometric and few spectroscopic redshifts: a clustered
mock light-cone, SORT, a learned redshift network, environment measures and ξ(s)."""
