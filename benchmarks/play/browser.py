"""Headless Chromium driving the page (Selenium with the system's chromium and chromedriver): the browser tests
and docs/play.png use it.

`headless_chromium()` raises BrowserUnavailable, with the reason, where there is no usable Chromium
(Debian: `apt-get install chromium chromium-driver`; $CHROMIUM and $CHROMEDRIVER name other binaries).
`play_dialog` plays one whole dialog on the page the way a person would: picks the mode and agent,
presses Start, answers every turn (typing a sentence, or pressing attribute buttons) and waits for
the result table.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from simulators.catalog.catalog import Catalog

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ITEM_URL = re.compile(r"/api/images/([0-9]+)\.png$")
Answer = Callable[[int, int, int], Any]
"""(target, image on show, turn) -> a sentence to type (Play) or [(attribute word, relation)] (WhittleSearch)."""


class BrowserUnavailable(RuntimeError):
    """No headless Chromium can be started here (the reason is the message)."""


@contextlib.contextmanager
def headless_chromium(width: int = 1000, height: int = 900) -> Iterator[Any]:
    """A headless Chromium WebDriver, quit on exit."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise BrowserUnavailable("selenium is not installed (pip install -e '.[dev]')") from None
    binary = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if binary is None or driver_path is None:
        raise BrowserUnavailable("no chromium and chromedriver on PATH (Debian: apt-get install chromium "
                                 "chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--disable-extensions", "--no-first-run", f"--window-size={width},{height}"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    except WebDriverException as err:
        raise BrowserUnavailable(f"chromium did not start: {str(err).strip().splitlines()[0]}") from None
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def item_of(img: Any) -> int:
    """The catalog index an <img> of the page shows (from its URL)."""
    match = ITEM_URL.search(img.get_attribute("src") or "")
    if match is None:
        raise AssertionError(f"not a catalog image: {img.get_attribute('src')!r}")
    return int(match.group(1))


def images_loaded(driver: Any) -> bool:
    """Whether every visible <img> of the page has loaded a real image."""
    return driver.execute_script(
        "return [...document.images].filter(i => i.offsetParent !== null)"
        ".every(i => i.complete && i.naturalWidth > 0);")


def play_dialog(driver: Any, url: str, mode: str, agent: str | None, answer: Answer,
                timeout: float = 20.0) -> dict[str, Any]:
    """Play one dialog on the page at `url` in `mode` ("play" or "whittlesearch") against `agent` (Play only),
    answering each turn with `answer(target, image on show, turn)`. Returns what the page showed: target,
    images, sentences and the result table's rows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(driver, timeout)
    driver.get(url + "/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#agent option"))
    driver.find_element(By.ID, f"mode-{mode}").click()
    if agent is not None and mode == "play":
        Select(driver.find_element(By.ID, "agent")).select_by_value(agent)
    driver.find_element(By.ID, "start").click()
    wait.until(lambda d: d.find_element(By.ID, "dialog").is_displayed() and images_loaded(d))
    target = item_of(driver.find_element(By.ID, "target"))
    said, turn = [], 0
    while not driver.find_element(By.ID, "result").is_displayed():
        shown = item_of(driver.find_element(By.ID, "shown"))
        reply = answer(target, shown, turn)
        if mode == "play":
            box = driver.find_element(By.ID, "feedback")
            box.clear()
            box.send_keys(reply)
            driver.find_element(By.ID, "send").click()
        else:
            for word, relation in reply:
                driver.find_element(
                    By.CSS_SELECTOR, f"button.relation[data-attribute='{word}'][data-relation='{relation}']").click()
            driver.find_element(By.ID, "send-attributes").click()
        said.append(reply)
        turn += 1
        wait.until(lambda d, n=turn: len(d.find_elements(By.CSS_SELECTOR, "#history li")) >= n
                   or d.find_element(By.ID, "status").get_attribute("class") == "error")
        error = driver.find_element(By.ID, "status")
        if error.get_attribute("class") == "error":
            raise AssertionError(f"the page reported an error at turn {turn}: {error.text}")
        if turn > 50:
            raise AssertionError("the dialog did not end")
    wait.until(images_loaded)
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in driver.find_elements(By.CSS_SELECTOR, "#ranks tbody tr")]
    shown = [item_of(img) for img in driver.find_elements(By.CSS_SELECTOR, "#ranks img")]
    return {"target": target, "said": said, "shown": shown, "rows": rows,
            "title": driver.find_element(By.ID, "result-title").text}


def grammar_sentences(catalog: Catalog, seed: int = 0) -> Answer:
    """Answers a person might type: the caption grammar's sentence about (target, image on show)."""
    from simulators.users import GrammarUser

    if catalog.params is None:
        raise ValueError("the grammar user needs a catalog with generative parameters")
    user = GrammarUser(catalog.params, seed)
    return lambda target, shown, turn: user.describe(np.array([target]), np.array([shown]))[0]
