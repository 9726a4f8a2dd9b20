"""The usage dashboard in real headless Chromium, fed by real requests through Prism."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from selenium.webdriver.common.by import By

from tenants.models import ApiKey
from tenants.services import usage_records_create
from tests.browser import browser, screenshot  # noqa: F401  (fixture)
from tests.conftest import record, usage_records

pytestmark = pytest.mark.browser


def test_staff_read_usage_in_the_dashboard(browser, prism_url, openai_client, transactional_db):  # noqa: F811
    for index in range(6):
        openai_client.chat.completions.create(model="gpt-4" if index % 2 else "mock-1",
                                              messages=[{"role": "user", "content": "hello " * index}])
    list(openai_client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "s"}],
                                               stream=True))
    usage_records(7)
    api_key = ApiKey.objects.get()
    usage_records_create(records=[  # earlier today, for the charts
        record(api_key, f"earlier-{hours}", ago=timedelta(hours=hours), prompt=hours * 10, completion=hours * 5)
        for hours in [3, 5, 9, 14]
    ])
    get_user_model().objects.create_superuser("staff", password="pw-for-tests")

    browser.get(f"{prism_url}/dashboard/")
    browser.find_element(By.NAME, "username").send_keys("staff")
    browser.find_element(By.NAME, "password").send_keys("pw-for-tests")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    summary = browser.find_element(By.ID, "summary").text
    assert "11\nrequests" in summary
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")) >= 3 * 4
    assert "acme" in browser.find_element(By.ID, "by-tenant").text
    assert "gpt-3.5-turbo" in browser.find_element(By.ID, "by-model").text
    screenshot(browser, "dashboard")
