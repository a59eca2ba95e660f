"""Clients of the demo users for the inspection tests (imported by them; not a test module)."""

from __future__ import annotations

import os
from pathlib import Path

from campfire import Campfire
from campfire.archive.backoff import RetryPolicy


def user_client(srv, who: str, data_dir: Path, *, offline: bool = False) -> Campfire:
    """A ``Campfire`` of demo user ``who`` on ``data_dir`` (``offline``: CAMPFIRE_OFFLINE=1),
    built from the environment as users build it (the per-test environment is restored), with
    quick retries so a test of an outage does not wait out the real backoff."""
    key = srv.user(f"{who}@campfire.demo")["api_key"]
    env = {"CAMPFIRE_API_KEY": key, "CAMPFIRE_OFFLINE": "1" if offline else ""}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        cf = Campfire(base_url=srv.base_url, data_dir=data_dir)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    cf.api.retry = RetryPolicy(retries=2, backoff=0.01, jitter=0.0, sleep=lambda s: None)
    return cf
