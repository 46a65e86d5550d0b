"""Smoke tests of the demo shop, run by the launch's smoke hook against the new instance.

SHOP_URL is the instance; GATEKEEPER_RELEASE_VERSION (set by gatekeeper launch) is the
release it must serve. Standard library only, so Debian's python3-pytest is all it needs.
"""

import json
import os
import urllib.request

BASE = os.environ["SHOP_URL"].rstrip("/")


def fetch(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, resp.read().decode()


def test_version_is_release():
    status, body = fetch("/version")
    assert status == 200
    want = os.environ.get("GATEKEEPER_RELEASE_VERSION")
    if want:
        assert json.loads(body)["version"] == want


def test_homepage_loads():
    status, body = fetch("/")
    assert status == 200
    assert "Demo shop" in body


def test_products_listed():
    status, body = fetch("/products")
    assert status == 200
    assert any(p["id"] == "tea" for p in json.loads(body))


def test_checkout_completes():
    status, body = fetch("/cart", {"id": "tea", "qty": 2})
    assert status == 200
    status, body = fetch("/checkout", {})
    assert status == 200
    assert json.loads(body)["status"] == "confirmed"
