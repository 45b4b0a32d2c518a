"""The API's documentation pages work with no internet: every script, style and font they
load is served by the API itself (a hotel's back office is often behind a firewall)."""

import re

from fastapi.testclient import TestClient

from serving.app import create_app

EXTERNAL = re.compile(r"""(?:src|href)=["']?(?:https?:)?//""")


def test_docs_and_redoc_load_nothing_from_another_host(settings):
    client = TestClient(create_app(settings))  # no lifespan: the pages need no platform
    for page in ("/docs", "/redoc"):
        r = client.get(page)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"], page
        assert not EXTERNAL.search(r.text), (page, EXTERNAL.findall(r.text))
        assets = re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", r.text)
        assert any(a.endswith(".js") for a in assets), (page, assets)
        for asset in assets:  # each one answers, from the API itself
            got = client.get(asset)
            assert got.status_code == 200 and len(got.content) > 1_000, (page, asset, got.status_code)
    assert "/openapi.json" in client.get("/docs").text
    assert client.get("/docs/oauth2-redirect").status_code == 200
