"""Staff issue a key in the admin, in real headless Chromium, and the key works at once."""

from datetime import timedelta

import openai
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tenants.models import ApiKey
from tenants.services import key_issue
from tests.browser import browser, screenshot  # noqa: F401  (fixture)
from tests.conftest import usage_records

pytestmark = pytest.mark.browser


def test_staff_issue_a_key_in_the_admin_and_it_is_shown_once(browser, prism_url, tenant, transactional_db):  # noqa: F811
    get_user_model().objects.create_superuser("staff", password="pw-for-tests")
    browser.get(f"{prism_url}/admin/login/?next=/admin/tenants/apikey/add/")
    browser.find_element(By.NAME, "username").send_keys("staff")
    browser.find_element(By.NAME, "password").send_keys("pw-for-tests")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    Select(browser.find_element(By.NAME, "tenant")).select_by_visible_text("acme")
    browser.find_element(By.NAME, "label").send_keys("from the browser")
    browser.find_element(By.NAME, "allowed_models").send_keys("mock-*")
    screenshot(browser, "admin-key-add")
    browser.find_element(By.NAME, "_save").click()

    raw = browser.find_element(By.ID, "issued-key-1").get_attribute("value")
    assert "shown only once" in browser.page_source
    api_key = ApiKey.objects.get()
    assert raw.startswith(f"prism-{api_key.prefix}-")
    # The copy button puts the key on the clipboard (which this test may read: it grants itself the permission).
    browser.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": prism_url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    copy = browser.find_element(By.CSS_SELECTOR, ".copy-key")
    copy.click()
    WebDriverWait(browser, 5).until(lambda _: copy.text == "Copied")
    assert browser.execute_async_script("navigator.clipboard.readText().then(arguments[0])") == raw
    screenshot(browser, "admin-key-issued")

    client = openai.OpenAI(base_url=f"{prism_url}/v1", api_key=raw, max_retries=0)
    assert client.chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "hi"}]).choices
    usage_records(1)

    browser.find_element(By.LINK_TEXT, "Done").click()
    assert api_key.prefix in browser.page_source and raw not in browser.page_source
    screenshot(browser, "admin-key-list")


def staff_login(browser, prism_url, next_url):
    get_user_model().objects.create_superuser("staff", password="pw-for-tests")
    browser.get(f"{prism_url}/admin/login/?next={next_url}")
    browser.find_element(By.NAME, "username").send_keys("staff")
    browser.find_element(By.NAME, "password").send_keys("pw-for-tests")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda _: "/login/" not in browser.current_url)


def test_staff_revoke_a_key_from_its_own_page_and_it_stops_working(browser, prism_url, api_key, transactional_db):  # noqa: F811
    key = ApiKey.objects.get()
    client = openai.OpenAI(base_url=f"{prism_url}/v1", api_key=api_key, max_retries=0)
    assert client.chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "hi"}]).choices
    staff_login(browser, prism_url, f"/admin/tenants/apikey/{key.id}/change/")
    screenshot(browser, "admin-key-change")
    browser.find_element(By.XPATH, "//button[normalize-space()='Revoke this key']").click()
    alert = browser.switch_to.alert
    assert key.prefix in alert.text
    alert.accept()
    assert f"The key {key.prefix} is revoked" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    screenshot(browser, "admin-key-revoked")
    key.refresh_from_db()
    assert key.state == "revoked" and not browser.find_elements(By.XPATH, "//button[normalize-space()='Revoke this key']")
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "hi"}])
    usage_records(1)


def test_the_key_list_fits_a_1400_pixel_screen(browser, prism_url, tenant, transactional_db):  # noqa: F811
    for label in ["production web application", "nightly batch jobs", "ci"]:
        key_issue(tenant=tenant, label=label, expires_at=timezone.now() + timedelta(days=90))
    browser.set_window_size(1400, 900)
    staff_login(browser, prism_url, "/admin/tenants/apikey/")
    assert "production web application" in browser.page_source
    screenshot(browser, "admin-key-list-1400")
    for outer, inner in [("document.documentElement", "document.documentElement"),
                         ("document.querySelector('#changelist .results')", "document.querySelector('#result_list')")]:
        overflow = browser.execute_script(f"return {inner}.scrollWidth - {outer}.clientWidth")
        assert overflow <= 0, f"{inner} is {overflow} px wider than what shows it"
