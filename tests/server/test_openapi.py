"""The OpenAPI document covers every route, and schemathesis over it finds no 5xx (issue #13).

The fuzzing is bounded (``EXAMPLES`` per route and generation mode) so it stays a couple of
minutes in ``make test``; it runs against a private copy of the archive, as the full-access
user (the admin for ``/deploy/*``), with positive and negative (schema-violating) data.
"""

from __future__ import annotations

import warnings
from collections import Counter

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from starlette.routing import Mount

from campfire.server.app import create_app
from campfire.server.routes.openapi import OPERATIONS, openapi_document

EXAMPLES = 15  # per route and generation mode


def _routing_table(routes, prefix=""):
    for route in routes:
        if isinstance(route, Mount):
            yield from _routing_table(route.routes, prefix + route.path)
            continue
        template = prefix + route.path.replace(":path}", "}")
        explicit_head = "GET" not in (route.methods or ())
        for method in route.methods or ():
            if method == "HEAD" and not explicit_head and template != "/api/v1/files/{path}":
                continue  # Starlette answers HEAD for every GET route
            yield method, template


def test_every_route_is_in_the_openapi_document(tmp_path):
    app = create_app(tmp_path / "archive")
    try:
        table = set(_routing_table(app.routes))
    finally:
        app.state.archive.close()
    missing = sorted(table - set(OPERATIONS))
    assert not missing, (
        f"routes not in the OpenAPI document: {missing}; describe each in "
        "campfire/server/routes/openapi.py (OPERATIONS)"
    )
    stale = sorted(set(OPERATIONS) - table)
    assert not stale, f"OPERATIONS describes routes the app does not have: {stale}"


def test_the_document_is_served_with_each_handlers_summary(server):
    r = requests.get(server.base_url + "/openapi.json", timeout=10)
    assert r.status_code == 200
    doc = r.json()
    assert set(doc["paths"]) == set(openapi_document()["paths"])
    assert doc["paths"]["/api/v1/objects"]["get"]["summary"].startswith("``GET /objects``")
    # schemathesis reads it as a valid OpenAPI 3 document
    schema = schemathesis.openapi.from_dict(doc)
    assert sum(1 for r in schema.get_all_operations() if r.ok()) == len(OPERATIONS)


def _fuzz(operation, mode, call, seen, errors):
    """Run ``EXAMPLES`` generated requests of one operation through ``call``."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def probe(case):
        resp = call(case)
        seen[resp.status_code] += 1
        if resp.status_code >= 500:
            errors.append(f"{case.method} {case.formatted_path} -> {resp.status_code}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generation notes, not our code's warnings
        try:
            probe()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert mode == GenerationMode.NEGATIVE, operation.path


def test_schemathesis_finds_no_server_error(fresh, capsys):
    doc = requests.get(fresh.base_url + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(doc)
    session = requests.Session()
    seen: Counter[int] = Counter()
    errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        who = "admin" if "/deploy/" in operation.path else "full"
        headers = {"Authorization": f"Bearer {fresh.keys[who]}"}

        def call(case, headers=headers):
            return case.call(base_url=fresh.root_url, session=session, headers=headers, timeout=30)

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, call, seen, errors)
    total = sum(seen.values())
    with capsys.disabled():
        print(f"\nschemathesis: {total} requests over {len(OPERATIONS)} operations, statuses "
              f"{dict(sorted(seen.items()))}, 5xx: {len(errors)}")  # fmt: skip
    assert total >= len(OPERATIONS) * EXAMPLES  # every operation was exercised
    assert errors == [], errors[:20]
