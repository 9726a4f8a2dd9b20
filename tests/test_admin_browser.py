"""Staff issue a key in the admin, in real headless Chromium, and the key works at once."""

import openai
import pytest
from django.contrib.auth import get_user_model
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tenants.models import ApiKey
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

    raw = browser.find_element(By.ID, "issued-key").get_attribute("value")
    assert "shown only once" in browser.page_source
    screenshot(browser, "admin-key-issued")
    api_key = ApiKey.objects.get()
    assert raw.startswith(f"prism-{api_key.prefix}-")

    client = openai.OpenAI(base_url=f"{prism_url}/v1", api_key=raw, max_retries=0)
    assert client.chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "hi"}]).choices
    usage_records(1)

    browser.find_element(By.LINK_TEXT, "Done").click()
    assert api_key.prefix in browser.page_source and raw not in browser.page_source
    screenshot(browser, "admin-key-list")
