"""No socket is left open after a one-off fetch or a download (#15 item 12).

``open_spectrum`` of a file not yet downloaded fetches it over the lean file path; a
download runs worker threads that each keep a connection. Once the call returns and the client
is gone, no ``ResourceWarning`` (an unclosed socket found by the garbage collector) may appear.
"""

from __future__ import annotations

import gc
import warnings

from campfire import Campfire


def unclosed_sockets(action) -> list[str]:
    gc.collect()  # what earlier tests left behind is collected before we listen
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_open_spectrum_of_a_remote_file_leaves_no_socket(server, helpers, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(server, "alice"))

    def fetch_one_without_a_catalog() -> None:
        cf = Campfire()
        sid = str(cf.query_spectra(limit=1, remote=True)["spectrum_id"][0])
        spec = cf.open_spectrum(sid)
        assert spec.spectrum_id == sid and len(spec.wavelength) > 0

    assert unclosed_sockets(fetch_one_without_a_catalog) == []


def test_a_download_leaves_no_worker_socket(server, helpers, monkeypatch):
    monkeypatch.setenv("CAMPFIRE_API_URL", server.base_url)
    monkeypatch.setenv("CAMPFIRE_API_KEY", helpers.user_key(server, "alice"))

    def download() -> None:
        cf = Campfire()
        cf.sync()
        result = cf.download(observations=["capers_cosmos_p1"], max_workers=4)
        assert result.ok and result.downloaded > 4

    assert unclosed_sockets(download) == []
