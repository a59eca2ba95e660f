"""The archive client: HTTP to the CAMPFIRE ``/api/v1`` server, logins and the wire formats.

* :mod:`campfire.archive.transport`: the one HTTP layer (sessions, CA bundle, proxies, the
  offline switch), used for JSON and for file downloads; :mod:`campfire.archive.streams` is its
  lean path for file bytes.
* :mod:`campfire.archive.backoff`: the one retry loop (backoff with jitter, ``Retry-After``).
* :mod:`campfire.archive.status`: HTTP status to typed error (:func:`raise_for_status`).
* :mod:`campfire.archive.api`: the typed endpoints (:class:`ApiClient`); the credentials
  provider is passed in, so this module never imports :mod:`campfire.archive.auth`.
* :mod:`campfire.archive.contract`: the ``/version`` announcement, sync pages, filter params.
* :mod:`campfire.archive.auth`: the credentials file, the device flow, API keys, token refresh.
"""
