"""campfire.server: the reference ``/api/v1`` archive server, its ingest and the demo archive.

The server is a Starlette app (:func:`campfire.server.app.create_app`) over an *archive
directory*: one SQLite file (``archive.db``) plus a file store (``store/<fits_path>``).
``campfire deploy`` loads pipeline products into it
(:func:`campfire.server.ingest.deploy.deploy_products`),
``campfire serve`` runs it, and :func:`campfire.server.testing.running_server` runs it on loopback
for tests.

Examples
--------
>>> from campfire.server.testing import running_server  # doctest: +SKIP
>>> with running_server("archive/") as srv:  # doctest: +SKIP
...     print(srv.base_url)
http://127.0.0.1:54321/api/v1
"""
