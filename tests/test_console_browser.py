"""The console in real headless Chromium: single sign-on through a local OpenID Connect provider, keys issued
and rotated and used with the openai SDK, roles and tenants kept apart, readable charts and the audit trail."""

import time
from datetime import timedelta

import openai
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bench.servers import BIN, Server
from console.models import Membership, Role
from tenants.models import ApiKey, Tenant
from tenants.services import key_issue, usage_records_create
from tests.browser import browser, screenshot  # noqa: F401  (fixture)
from tests.conftest import record

pytestmark = pytest.mark.browser
PASSWORD = "provider-pw-for-tests"


@pytest.fixture
def oidc_provider(prism_url, tmp_path, settings):
    """django-oauth-toolkit's OpenID Connect provider in its own process, Prism configured as its client."""
    users = f"alice:alice@acme.example:{PASSWORD},bob:bob@acme.example:{PASSWORD}"
    server = Server("oidc provider", [BIN / "python", "-m", "tests.oidc_provider.serve", "{port}"], {
        "OIDC_PROVIDER_DB": str(tmp_path / "provider.sqlite3"), "OIDC_CLIENT_ID": "prism",
        "OIDC_CLIENT_SECRET": "client-secret-for-tests", "OIDC_REDIRECT_URI": f"{prism_url}/oidc/callback/",
        "OIDC_USERS": users,
    })
    settings.PRISM_OIDC_ISSUER = f"{server.url}/o"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "prism", "client-secret-for-tests"
    settings.PRISM_OIDC_TENANT_DOMAINS = {"acme.example": "acme"}
    yield server
    server.stop()


@pytest.fixture
def tenants(transactional_db):
    """acme, whose admin is alice, and beta, with a key and a request of its own."""
    acme, beta = Tenant.objects.create(name="acme"), Tenant.objects.create(name="beta")
    alice = get_user_model().objects.create_user("alice@acme.example", email="alice@acme.example")
    Membership.objects.create(tenant=acme, user=alice, role=Role.ADMIN)
    acme.members.add(alice)
    beta_key, _ = key_issue(tenant=beta, label="beta-secret-project")
    usage_records_create(records=[record(beta_key, "beta-request-1")])
    return acme, beta


def sso_sign_in(browser, prism_url, username):
    browser.get(f"{prism_url}/console/")
    browser.find_element(By.ID, "sso").click()
    browser.find_element(By.ID, "provider-username").send_keys(username)
    browser.find_element(By.ID, "provider-password").send_keys(PASSWORD)
    screenshot(browser, f"console-0-provider-sign-in-{username}")
    browser.find_element(By.ID, "provider-submit").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Usage"


def chat(prism_url, raw_key) -> str:
    with openai.OpenAI(base_url=f"{prism_url}/v1", api_key=raw_key, max_retries=0) as client:
        answer = client.chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "hi"}])
    return answer.choices[0].message.content


def test_a_tenant_admin_signs_in_by_sso_issues_and_rotates_a_key(browser, prism_url, oidc_provider, tenants):  # noqa: F811
    acme, beta = tenants
    sso_sign_in(browser, prism_url, "alice")

    browser.find_element(By.LINK_TEXT, "Keys").click()
    browser.find_element(By.ID, "issue-key").click()
    browser.find_element(By.NAME, "label").send_keys("backend")
    browser.find_element(By.NAME, "allowed_models").send_keys("mock-1")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit].primary").click()
    first = browser.find_element(By.ID, "raw-key").text
    browser.find_element(By.CSS_SELECTOR, "button.copy").click()
    screenshot(browser, "console-1-key-issued")
    assert chat(prism_url, first)

    browser.find_element(By.PARTIAL_LINK_TEXT, "Key ").click()
    grace = browser.find_element(By.NAME, "grace_minutes")
    grace.clear()
    grace.send_keys("0.2")  # twelve seconds
    browser.find_element(By.CSS_SELECTOR, "#rotate button").click()
    second = browser.find_element(By.ID, "raw-key").text
    screenshot(browser, "console-2-key-rotated")
    assert "keeps working until" in browser.find_element(By.TAG_NAME, "main").text
    assert chat(prism_url, second) and chat(prism_url, first)  # both, during the grace period

    old = ApiKey.objects.get(label="backend", expires_at__isnull=False)
    time.sleep(max(0.0, (old.expires_at - timezone.now()).total_seconds()) + 1.5)  # and the key cache's second
    with pytest.raises(openai.AuthenticationError):
        chat(prism_url, first)
    assert chat(prism_url, second)

    beta_key = ApiKey.objects.get(tenant=beta)
    for path in (f"/console/keys/{beta_key.id}/", "/console/requests/beta-request-1/"):
        browser.get(prism_url + path)
        assert "Not Found" in browser.page_source
    browser.get(f"{prism_url}/console/keys/")
    assert "beta" not in browser.find_element(By.ID, "keys").text

    browser.get(f"{prism_url}/console/keys/")
    browser.find_element(By.LINK_TEXT, second.split("-")[1]).click()
    browser.find_element(By.CSS_SELECTOR, "#revoke button").click()
    browser.switch_to.alert.accept()
    assert "revoked" in browser.find_element(By.ID, "key-status").text
    time.sleep(1.5)  # the key cache's second
    with pytest.raises(openai.AuthenticationError):
        chat(prism_url, second)

    browser.find_element(By.LINK_TEXT, "Audit trail").click()
    trail = browser.find_element(By.ID, "audit").text
    screenshot(browser, "console-3-audit-trail")
    for action in ("issue", "rotate", "revoke"):
        assert action in trail
    assert "alice@acme.example" in trail and "console · 127.0.0.1" in trail and "(secret)" in trail


def test_a_viewer_cannot_issue_keys(browser, prism_url, oidc_provider, tenants):  # noqa: F811
    acme_key, _ = key_issue(tenant=tenants[0], label="ci")
    sso_sign_in(browser, prism_url, "bob")  # acme.example maps to acme: bob joins as a viewer
    browser.get(f"{prism_url}/console/keys/")
    screenshot(browser, "console-4-viewer-keys")
    assert acme_key.prefix in browser.find_element(By.ID, "keys").text
    assert browser.find_element(By.ID, "read-only") and not browser.find_elements(By.ID, "issue-key")
    status = browser.execute_script("""
        const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        const response = await fetch('/console/keys/new/', {method: 'POST', headers: {'X-CSRFToken': token},
                                                             body: new URLSearchParams({tenant: arguments[0], label: 'x'})});
        return response.status;""", tenants[0].id)
    assert status == 403
    assert not ApiKey.objects.filter(label="x").exists()


def test_the_chart_shows_empty_hours_and_values_on_hover_and_focus(browser, prism_url, tenants):  # noqa: F811
    acme, _ = tenants
    api_key, _ = key_issue(tenant=acme, label="web")
    usage_records_create(records=[
        record(api_key, f"r{hours}-{n}", model="gpt-4o" if n % 3 else "mock-1", ago=timedelta(hours=hours, minutes=n),
               prompt=300 + 40 * n, completion=120, status=500 if n == 4 else 200, latency=180 + 90 * n * n,
               ttft=40 + 25 * n if n % 2 else None)
        for hours in (1, 2, 3, 7, 8, 13, 20) for n in range(hours % 5 + 2)
    ])
    staff = get_user_model().objects.create_superuser("staff", password="pw-for-tests")
    browser.get(f"{prism_url}/console/login/")
    browser.find_element(By.NAME, "username").send_keys(staff.username)
    browser.find_element(By.NAME, "password").send_keys("pw-for-tests")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    browser.find_element(By.ID, "summary")  # signed in: the console's home
    browser.get(f"{prism_url}/console/?tenant={acme.id}")
    assert "28\nrequests" in browser.find_element(By.ID, "summary").text  # acme's alone

    columns = browser.find_elements(By.CSS_SELECTOR, "g.column")
    assert len(columns) >= 24 and len(browser.find_elements(By.CSS_SELECTOR, "rect.zero")) >= 15
    busiest = browser.execute_script("return [...document.querySelectorAll('g.column')]"
                                     ".sort((a, b) => b.querySelectorAll('rect.bar').length"
                                     " - a.querySelectorAll('rect.bar').length)[0]")
    ActionChains(browser).move_to_element(busiest).perform()
    tooltip = browser.find_element(By.CSS_SELECTOR, ".tooltip")
    assert tooltip.is_displayed() and "gpt-4o" in tooltip.text and "total" in tooltip.text
    screenshot(browser, "console-5-chart-hover")

    empty = browser.find_elements(By.CSS_SELECTOR, "g.column")[5]
    browser.execute_script("arguments[0].focus()", empty)
    assert "0" in tooltip.text
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert tooltip.is_displayed()
    screenshot(browser, "console-6-chart-focus")

    browser.get(f"{prism_url}/console/?tenant={acme.id}&metric=latency")
    screenshot(browser, "console-7-latency")
    browser.get(f"{prism_url}/console/?tenant={acme.id}&metric=tokens&split=class&period=7d")
    screenshot(browser, "console-8-tokens-by-class")
    browser.get(f"{prism_url}/console/requests/?tenant={acme.id}&status=error")
    screenshot(browser, "console-9-requests")
    assert "500" in browser.find_element(By.ID, "requests").text
