"""FITS downloads: planned from the local catalog, streamed, verified and renamed into place.

* :mod:`campfire.download.service`: the client's download service (sync, plan, run; open
  and fetch single spectra).
* :mod:`campfire.download.plan`: which files to fetch, decided from the catalog alone.
* :mod:`campfire.download.run`: the bounded worker pool and the per-run report.
* :mod:`campfire.download.transfer`: one file streamed with resume, verified, fsynced, renamed.
"""
