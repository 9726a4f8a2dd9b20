"""Generated query strings and paths for the usage API, the dashboard and the static files: never a 500."""

import http.client
import urllib.parse

import httpx2 as httpx
import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import PrismProcess
from tests.openapi import assert_valid

dates = st.sampled_from(["2026-02-30", "2026-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "9999-12-30",
                         "2026-01-01", "2025-12-31", "20260101", "2026-1-1", ""]) | st.text(max_size=12)
tenant_ids = st.sampled_from(["²", "1", "0", "-1", "1.5", "9" * 19, "9" * 5000, "٣", " 1", ""]) | st.text(max_size=8)
queries = st.fixed_dictionaries({}, optional={
    "period": st.sampled_from(["24h", "7d", "30d", "1y"]) | st.text(max_size=5),
    "since": dates, "until": dates, "tenant": tenant_ids, "x": st.text(max_size=8),
})
HYPOTHESIS = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture
def staff(prism_url, transactional_db, client):
    """A logged-in staff member's browser."""
    client.force_login(get_user_model().objects.create_superuser("staff", password="pw-for-tests"))
    with httpx.Client(base_url=prism_url, cookies={"sessionid": client.cookies["sessionid"].value}, timeout=10) as http:
        yield http


@pytest.fixture
def prism(prism_url, api_key):
    """A Prism key's script."""
    with httpx.Client(base_url=prism_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10) as http:
        yield http


def test_the_usage_api_answers_any_query_string_in_openais_shape(prism, staff):
    @HYPOTHESIS
    @given(query=queries, as_staff=st.booleans())
    def fuzz(query, as_staff):
        response = (staff if as_staff else prism).get("/v1/usage?" + urllib.parse.urlencode(query))
        assert response.status_code in (200, 400), response.text
        if response.status_code == 400:
            assert_valid("ErrorResponse", response.json())

    fuzz()


def test_the_dashboard_answers_any_query_string_without_a_500(staff):
    @HYPOTHESIS
    @given(query=queries, table=st.sampled_from(["", "export/recent.csv", "export/by_model.csv", "export/nope.csv"]))
    def fuzz(query, table):
        response = staff.get(f"/dashboard/{table}?" + urllib.parse.urlencode(query))
        assert response.status_code in (200, 400, 404), response.text[:500]
        assert "Traceback" not in response.text

    fuzz()


@pytest.mark.parametrize("query, param", [
    ("tenant=%C2%B2", "tenant"), ("tenant=99999999999999999999", "tenant"), ("since=2026-02-30&until=2026-03-01", "since"),
    ("since=2026-01-01&until=9999-12-31", "until"), ("since=2026-03-01&until=2026-02-01", "since"),
])
def test_impossible_selections_answer_400(prism, staff, query, param):
    response = prism.get(f"/v1/usage?{query}")
    assert response.status_code == 400 and response.json()["error"]["param"] == param
    assert_valid("ErrorResponse", response.json())
    page = staff.get(f"/dashboard/?{query}")
    assert page.status_code == 400 and param in page.text


@pytest.mark.parametrize("path", ["/static/../", "/static/../manage.py", "/static/%2e%2e/manage.py",
                                  "/static/..%2fmanage.py", "/static/admin/../../x", "/static/admin/%2e%2e/%2e%2e/x"])
def test_static_paths_that_climb_out_are_not_found(prism_url, path):
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(prism_url).netloc, timeout=10)
    connection.request("GET", path)  # sent as written (httpx would resolve the dot segments first)
    assert connection.getresponse().status == 404
    connection.close()


def test_the_model_list_and_usage_answer_503_in_openais_shape_without_a_database(upstream, api_key):
    prism = PrismProcess(upstream.url, server="uvicorn", DATABASE_URL="postgres://postgres@127.0.0.1:1/prism")
    try:
        for path in ["/v1/models", "/v1/models/gpt-4", "/v1/usage"]:
            response = httpx.get(prism.url + path, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
            assert response.status_code == 503, (path, response.text[:300])
            assert_valid("ErrorResponse", response.json())
            assert response.json()["error"]["message"] == "Prism's database is unavailable."
    finally:
        prism.stop()
