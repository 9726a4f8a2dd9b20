"""The usage dashboard in real headless Chromium, fed by real requests through Prism."""

from datetime import timedelta

import openai
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from selenium.webdriver.common.by import By

from tenants.models import UsageRecord
from tests.browser import browser, screenshot  # noqa: F401  (fixture)
from tests.conftest import usage_records

pytestmark = pytest.mark.browser


def test_staff_read_usage_in_the_dashboard(browser, prism_url, openai_client, transactional_db):  # noqa: F811
    for index in range(6):
        openai_client.chat.completions.create(model="gpt-4" if index % 2 else "mock-1",
                                              messages=[{"role": "user", "content": "hello " * index}])
    list(openai_client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "s"}],
                                               stream=True))
    usage_records(7)
    for hours, record in zip([3, 5, 9, 14], UsageRecord.objects.all()):  # spread them over the day for the charts
        UsageRecord.objects.filter(id=record.id).update(created_at=timezone.now() - timedelta(hours=hours))
    get_user_model().objects.create_superuser("staff", password="pw-for-tests")

    browser.get(f"{prism_url}/dashboard/")
    browser.find_element(By.NAME, "username").send_keys("staff")
    browser.find_element(By.NAME, "password").send_keys("pw-for-tests")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    summary = browser.find_element(By.ID, "summary").text
    assert "7\nrequests" in summary
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")) >= 3 * 4
    assert "acme" in browser.find_element(By.ID, "by-tenant").text
    assert "gpt-3.5-turbo" in browser.find_element(By.ID, "by-model").text
    screenshot(browser, "dashboard")
