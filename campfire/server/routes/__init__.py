"""The ``/api/v1`` routes, one module per resource family, and the web pages.

Each module exposes ``ROUTES``, a list of Starlette routes relative to ``/api/v1`` (the pages
module: relative to the site root).
"""
