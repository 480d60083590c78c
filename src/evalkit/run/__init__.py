"""Running it: params, the notebook pipeline and manifest, the province on Dask, the
command line. The last layer; nothing imports it.
"""
