"""The web search page for people (/search/q/q/form, rd/search.rd.in) in a real headless Chromium
(Debian's chromium and chromium-driver): the page loads with its fields, a cone around the Crab
lists the four Crab runs, and an event-list link of the results delivers a FITS file.

A screenshot of the results page is kept in tests/artefacts/webform-results.png.
"""

import os
import shutil

import pytest
import requests

ARTEFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artefacts")
CHROMEDRIVER = "/usr/bin/chromedriver"
CRAB_RUNS = {"23523", "23526", "23559", "23592"}
FIELDS = ("ra", "dec", "radius", "time_from", "time_to", "energy_from", "energy_to")


def form_url(service):
    return f"{service.url}/search/q/q/form"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not os.path.exists(CHROMEDRIVER) or not shutil.which("chromium"):
        pytest.skip("chromium and chromium-driver are not installed (bin/setup-system)")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1600,1000"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                              options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def by():
    from selenium.webdriver.common.by import By
    return By


def result_rows(driver):
    """{obs_id: row element} of the results table."""
    header = [th.text.split("\n")[0] for th in
              driver.find_elements(by().CSS_SELECTOR, "table.results thead th")]
    column = header.index("Observation")
    rows = {}
    for tr in driver.find_elements(by().CSS_SELECTOR, "table.results tbody tr.data"):
        cells = tr.find_elements(by().TAG_NAME, "td")
        rows[cells[column].text] = tr
    return rows


@pytest.fixture(scope="module")
def crab_results(service, browser):
    """The results page of a 2-degree cone around the Crab, submitted in the browser."""
    browser.get(form_url(service))
    for name, value in (("ra", "83.63"), ("dec", "22.01"), ("radius", "2")):
        field = browser.find_element(by().ID, f"genForm-{name}")
        field.clear()
        field.send_keys(value)
    browser.find_element(by().ID, "genForm-action-submit").click()
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 60).until(
        lambda d: d.find_elements(by().CSS_SELECTOR, "table.results")
        or d.find_elements(by().CSS_SELECTOR, ".errors"))
    os.makedirs(ARTEFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTEFACTS, "webform-results.png"))
    return browser


def test_the_page_loads_with_its_fields(service, browser):
    browser.get(form_url(service))
    assert "Search Cherenkov gamma-ray observations" in browser.title
    for name in FIELDS:
        assert browser.find_element(by().ID, f"genForm-{name}").is_displayed()
    collections = {box.get_attribute("value") for box in
                   browser.find_elements(by().CSS_SELECTOR, "input[name=collection]")}
    assert {"HESS-DL3-DR1", "CTA-1DC"} <= collections
    modes = {box.get_attribute("value") for box in
             browser.find_elements(by().CSS_SELECTOR, "input[name=obs_mode]")}
    assert {"WOBBLE", "POINTING"} <= modes


def test_a_crab_cone_lists_the_crab_runs(crab_results):
    assert not crab_results.find_elements(by().CSS_SELECTOR, ".errors")
    rows = result_rows(crab_results)
    assert set(rows) == CRAB_RUNS
    for tr in rows.values():
        assert "Crab" in tr.text
        links = {a.get_attribute("class"): a.get_attribute("href")
                 for a in tr.find_elements(by().TAG_NAME, "a")}
        assert set(links) >= {"datalink", "event-list", "preview"}
        assert "/dlmeta?ID=" in links["datalink"]
        assert links["event-list"].endswith("&PART=event-list")
        assert links["preview"].endswith("&PART=preview-image")
    assert os.path.getsize(os.path.join(ARTEFACTS, "webform-results.png")) > 0


def test_an_event_list_link_downloads_a_fits_file(crab_results):
    link = crab_results.find_element(by().CSS_SELECTOR, "table.results a.event-list")
    response = requests.get(link.get_attribute("href"), timeout=60)
    assert response.status_code == 200
    assert response.content.startswith(b"SIMPLE  =")


def test_the_datalink_and_preview_links_work(crab_results):
    row = result_rows(crab_results)["23523"]
    datalink = requests.get(row.find_element(by().CSS_SELECTOR, "a.datalink").get_attribute("href"),
                            timeout=60)
    assert datalink.status_code == 200 and b"VOTABLE" in datalink.content
    preview = requests.get(row.find_element(by().CSS_SELECTOR, "a.preview").get_attribute("href"),
                           timeout=120)
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")


def test_time_energy_and_collection_constraints(service):
    """The other fields, through plain HTTP (what the browser sends)."""
    def obs_ids(**params):
        response = requests.get(form_url(service), timeout=60,
                                params=dict(params, __nevow_form__="genForm"))
        assert response.status_code == 200
        from lxml import html
        page = html.fromstring(response.content)
        assert not page.xpath("//*[contains(@class, 'errors')]"), response.text
        return {tr.xpath("td")[1].text_content() for tr in
                page.xpath("//table[@class='results']/tbody/tr[contains(@class, 'data')]")}

    crab = dict(ra=83.63, dec=22.01, radius=2)
    assert obs_ids(**crab, time_from="2004-12-04", time_to="2004-12-04") == {"23523", "23526"}
    assert obs_ids(**crab, time_from="53345.5", time_to="53345.99") == {"23559"}
    assert obs_ids(**crab, collection="CTA-1DC") == set()
    assert obs_ids(**crab, obs_mode="POINTING") == set()
    # energy_max >= 90 TeV: not 23526 (84.9 TeV); energy_min <= 0.68 TeV: only 23559 (0.66 TeV)
    assert obs_ids(**crab, energy_from=90) == CRAB_RUNS - {"23526"}
    assert obs_ids(**crab, energy_to=0.68) == {"23559"}
    assert obs_ids(**crab, energy_from=0.1, energy_to=0.5) == set()
    assert obs_ids(collection="CTA-1DC") == {"110380", "111140", "111159", "111630"}
