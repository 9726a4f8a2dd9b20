"""The front page in real headless Chromium: what a person sees who opens Prism's address, or the admin's "View site"."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import browser, screenshot  # noqa: F401  (fixture)
from tests.test_admin_browser import staff_login

pytestmark = pytest.mark.browser


def test_the_front_page_links_to_the_dashboard_the_admin_and_the_api(browser, prism_url, transactional_db):  # noqa: F811
    browser.get(f"{prism_url}/")
    assert browser.title == "Prism: an OpenAI-compatible LLM gateway"
    assert browser.find_element(By.ID, "readiness").text == "Ready: the database and the cache answer."
    assert f'base_url="{prism_url}/v1"' in browser.find_element(By.TAG_NAME, "pre").text
    screenshot(browser, "home")
    links = {link.text: link.get_attribute("href") for link in browser.find_elements(By.CSS_SELECTOR, "nav a")}
    assert links == {"Console: usage, keys, members": f"{prism_url}/console/",
                     "Admin: tenants, keys, routing": f"{prism_url}/admin/", "API": f"{prism_url}/#api"}
    browser.find_element(By.LINK_TEXT, "Console: usage, keys, members").click()
    WebDriverWait(browser, 10).until(lambda _: "/console/login/" in browser.current_url)


def test_the_admins_view_site_link_leads_to_the_front_page(browser, prism_url, transactional_db):  # noqa: F811
    staff_login(browser, prism_url, "/admin/")
    browser.find_element(By.LINK_TEXT, "VIEW SITE").click()
    WebDriverWait(browser, 10).until(lambda _: browser.current_url == f"{prism_url}/")
    assert "OpenAI-compatible LLM gateway" in browser.page_source
