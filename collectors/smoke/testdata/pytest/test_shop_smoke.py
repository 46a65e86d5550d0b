"""A tiny smoke suite for gatekeeper's testdata: pass, fail, error, skip, xfail."""
import time

import pytest


@pytest.fixture
def broken_session():
    raise RuntimeError("session service unavailable")


def test_homepage_loads_with_200():
    time.sleep(0.05)
    assert 200 == 200


def test_checkout_pays_with_card():
    total = 19.99 + 5.00
    assert round(total, 2) == 25.00, "checkout total mismatch"


def test_dashboard_loads_for_test_user(broken_session):
    assert broken_session is not None


@pytest.mark.skip(reason="wishlist sync disabled in this environment")
def test_wishlist_syncs():
    pass


class TestSearch:
    def test_search_returns_results(self):
        assert ["shoe"]

    @pytest.mark.xfail(reason="known issue SHOP-1432")
    def test_search_typo_tolerance(self):
        assert "shoo" == "shoe"
