"""The synthetic demo archive: a generator of physically plausible products, and its build.

:func:`campfire.server.demo.archive.build_demo_archive` generates the products
(:mod:`campfire.server.demo.generate`) and deploys them through the real ingest.
"""
