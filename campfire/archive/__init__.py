"""The archive client: HTTP to the CAMPFIRE ``/api/v1`` server, logins and the wire formats.

* :mod:`campfire.archive.api`: the HTTP transport and the typed endpoints (:class:`ApiClient`).
* :mod:`campfire.archive.auth`: the credentials file, the device flow, API keys, token refresh.
* :mod:`campfire.archive.wire`: filter sets as query parameters, wire rows as local rows.
"""
