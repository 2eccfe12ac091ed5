"""The review page in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium),
against a real `griefguard review` server on 127.0.0.1.

`.ci/run` installs the browser; elsewhere these tests skip when it is missing, unless GRIEFGUARD_REQUIRE_BROWSER=1
(as CI sets) makes a missing browser a failure. GRIEFGUARD_SCREENSHOT=path saves the page as the README shows it.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
if not HAVE_BROWSER and os.environ.get("GRIEFGUARD_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"GRIEFGUARD_REQUIRE_BROWSER=1 but no browser: {CHROMIUM}, {CHROMEDRIVER}")
if not HAVE_BROWSER:
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402  (only with a browser to drive)
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

GRIEFGUARD = [sys.executable, "-m", "griefguard"]
HOSTILE = '<img src=x onerror="window.pwned=1;alert(1)"><script>window.pwned=2</script>'
POST = "We lost our Eli on Tuesday. He was 19. Please hug your kids tonight."
ROWS = [
    ("1", "", "So sorry for your loss. Eli was a light.", POST),
    ("2", "", "she only posted this for attention", POST),
    ("3", "2", "seriously, who raised you? she just lost her son", POST),
    ("4", "2", "couldn't agree more", POST),
    ("5", "", "What church is the service at? I'd like to send flowers", POST),
    ("6", "", "Posting your dead son for likes is disgusting", POST),
    ("7", "", HOSTILE, POST),
    ("8", "", "Sending love to all of you 💙 he will be missed", POST),
]


def _write_input(folder: Path) -> Path:
    path = folder / "thread.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "parent_id", "text", "post"])
        writer.writerows(ROWS)
    return path


class Review:
    """A running `griefguard review` process and the address it printed."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [*GRIEFGUARD, "review", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"http://\S+", line)
        if not match:
            self.stop()
            raise AssertionError(f"no address printed: {line!r} {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
        self.url = match.group(0)

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return err


def _browser(tmp_path: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,1400",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = _browser(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: webdriver.Chrome, condition, what: str, timeout: float = 20):  # type: ignore[no-untyped-def]
    return WebDriverWait(driver, timeout).until(lambda d: condition(d), message=f"waited for {what}")


def _ready(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), "the queue to load")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "article.item .terms .chip"), "the reasons to load")


def _press(driver: webdriver.Chrome, key: str) -> None:
    driver.find_element(By.TAG_NAME, "body").send_keys(key)


def _current(driver: webdriver.Chrome):  # type: ignore[no-untyped-def]
    return driver.find_element(By.CSS_SELECTOR, "article.item.current")


def _text_of(card) -> str:  # type: ignore[no-untyped-def]
    return card.find_element(By.CSS_SELECTOR, ".text").get_attribute("textContent")


def _decided(driver: webdriver.Chrome) -> dict[str, str]:
    """The decision each card shows, by reply text."""
    cards = driver.find_elements(By.CSS_SELECTOR, "article.item")
    return {_text_of(c): c.get_attribute("data-decision") for c in cards if c.get_attribute("data-decision")}


def _wait_saved(driver: webdriver.Chrome, text: str, label: str) -> None:
    def shown(d: webdriver.Chrome) -> bool:
        return _decided(d).get(text, "") == label and "Saving" not in d.find_element(By.ID, "status").text

    _wait(driver, shown, f"{text!r} to show {label or 'no decision'}")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_moderator_decides_undoes_reloads_and_finds_the_decisions_kept(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = _write_input(tmp_path)
    review = Review([source.name, "--port", "0"], tmp_path)
    try:
        _ready(browser, review.url)
        cards = browser.find_elements(By.CSS_SELECTOR, "article.item")
        assert len(cards) == len(ROWS)
        scores = [float(c.find_element(By.CSS_SELECTOR, ".score").text) for c in cards]
        assert scores == sorted(scores, reverse=True), "the queue starts with the highest scores"
        assert "flagged" in cards[0].get_attribute("class"), "the first reply is flagged"
        pile_on = next(c for c in cards if _text_of(c) == "couldn't agree more")
        assert "read under a critical comment" in pile_on.text, "a reply in a thread is read under its parent"

        # Three decisions with the keyboard: c on the first two (each key moves on), j to skip one, then n.
        decided = []
        for key, label in (("c", "critical"), ("c", "critical"), ("j", ""), ("n", "neutral")):
            text = _text_of(_current(browser))
            _press(browser, key)
            if label:
                _wait_saved(browser, text, label)
                decided.append((text, label))
        # One with a button, then undo it with u.
        last = browser.find_elements(By.CSS_SELECTOR, "article.item")[-1]
        last_text = _text_of(last)
        last.find_element(By.CSS_SELECTOR, "button[data-label='critical']").click()
        _wait_saved(browser, last_text, "critical")
        assert len(_rows(tmp_path / "thread.decisions.csv")) == 4, "every decision is on disk as soon as it is saved"
        _press(browser, "u")
        _wait_saved(browser, last_text, "")

        rows = _rows(tmp_path / "thread.decisions.csv")
        assert [(r["text"], r["label"]) for r in rows] == decided
        assert list(rows[0]) == ["text", "label", "parent", "post", "model_label", "model_score", "decided_at"]
        assert all(r["post"] == POST and r["model_label"] and 0 <= float(r["model_score"]) <= 1 for r in rows)
        _wait(browser, lambda d: "From 3 decisions (2 critical)" in d.find_element(By.ID, "fit-at").text, "the fit")

        browser.refresh()
        _ready(browser, review.url)
        assert _decided(browser) == dict(decided), "decisions come back when the page is reopened"
        if os.environ.get("GRIEFGUARD_SCREENSHOT"):
            browser.save_screenshot(os.environ["GRIEFGUARD_SCREENSHOT"])
    finally:
        review.stop()

    # The same input opened again by a new process resumes the same decisions.
    again = Review([source.name], tmp_path)
    try:
        _ready(browser, again.url)
        assert _decided(browser) == dict(decided)
    finally:
        again.stop()
    evaluated = subprocess.run(
        [*GRIEFGUARD, "evaluate", str(tmp_path / "thread.decisions.csv"), "--sweep"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "threshold sweep (3 replies, 2 critical)" in evaluated.stdout


def test_a_hostile_reply_is_shown_as_text_and_runs_nothing(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = _write_input(tmp_path)
    review = Review([str(source)], tmp_path)
    try:
        _ready(browser, review.url)
        card = next(c for c in browser.find_elements(By.CSS_SELECTOR, "article.item") if "onerror" in _text_of(c))
        assert _text_of(card) == HOSTILE, "the reply is shown exactly as written"
        assert browser.find_elements(By.CSS_SELECTOR, "#queue img, #queue script") == []
        assert browser.execute_script("return window.pwned === undefined")
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018
        policy = httpx.get(review.url).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
    finally:
        review.stop()


def test_a_token_protected_page_refuses_requests_without_it(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = _write_input(tmp_path)
    token = "a-long-enough-review-secret"
    review = Review([str(source), "--token", token], tmp_path)
    try:
        assert httpx.get(review.url).status_code == 401
        assert httpx.get(review.url.replace("/review/", "/review/api/queue")).status_code == 401
        refused = httpx.post(
            review.url + "api/decide", json={"ids": [0], "label": "critical"}, headers={"Authorization": "Bearer wrong"}
        )
        assert refused.status_code == 401 and "token" in refused.json()["error"]
        browser.get(review.url)
        assert "token" in browser.find_element(By.TAG_NAME, "body").text
        _ready(browser, review.url + "?token=" + token)
        assert "token" not in browser.current_url, "the token leaves the address bar for a same-site cookie"
        first = _text_of(_current(browser))
        _press(browser, "c")
        _wait_saved(browser, first, "critical")
        with_header = httpx.get(review.url + "api/queue", headers={"Authorization": f"Bearer {token}"})
        assert with_header.status_code == 200 and with_header.json()["decisions"] == 1
    finally:
        review.stop()


def test_the_page_loads_nothing_from_anywhere_else(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = _write_input(tmp_path)
    review = Review([str(source)], tmp_path)
    try:
        _ready(browser, review.url)
        time.sleep(0.5)
        urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        origin = review.url.split("/review/")[0]
        assert urls and all(u.startswith(origin) for u in urls), urls
    finally:
        review.stop()


def test_filters_the_live_threshold_and_a_decision_on_a_selection(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import Select

    source = _write_input(tmp_path)
    review = Review([source.name], tmp_path)
    try:
        _ready(browser, review.url)

        def shown() -> list:  # type: ignore[type-arg]
            return browser.find_elements(By.CSS_SELECTOR, "article.item")

        labels = [c.find_element(By.CSS_SELECTOR, ".label").text for c in shown()]
        Select(browser.find_element(By.ID, "f-label")).select_by_value("critical")
        assert len(shown()) == labels.count("critical") and len(shown()) < len(ROWS)
        Select(browser.find_element(By.ID, "f-label")).select_by_value("")

        # The threshold control: at 0 every reply with evidence is flagged; the flag filter follows it live.
        field = browser.find_element(By.ID, "threshold-value")
        field.clear()
        field.send_keys("0\n")
        _wait(browser, lambda d: f"flags {len(ROWS)} of {len(ROWS)}" in d.find_element(By.ID, "would-flag").text, "0")
        field.clear()
        field.send_keys("0.999\n")
        _wait(browser, lambda d: "flags 1 of" in d.find_element(By.ID, "would-flag").text, "a high threshold")
        Select(browser.find_element(By.ID, "f-flag")).select_by_value("yes")
        assert len(shown()) == 1
        Select(browser.find_element(By.ID, "f-flag")).select_by_value("")

        # Select two replies with x and decide them at once with a button; undo takes both back.
        first, second = (_text_of(c) for c in shown()[-2:])
        browser.find_element(By.CSS_SELECTOR, f"#{shown()[-2].get_attribute('id')}").click()
        _press(browser, "x")
        _press(browser, "j")
        _press(browser, "x")
        assert "2 selected" in browser.find_element(By.ID, "bulk-count").text
        browser.find_element(By.CSS_SELECTOR, "button[data-bulk='supportive']").click()
        _wait_saved(browser, first, "supportive")
        _wait_saved(browser, second, "supportive")
        assert sorted(r["text"] for r in _rows(tmp_path / "thread.decisions.csv")) == sorted([first, second])
        assert browser.find_element(By.ID, "bulk").is_displayed() is False
        _press(browser, "u")
        _wait_saved(browser, first, "")
        _wait_saved(browser, second, "")
        assert _rows(tmp_path / "thread.decisions.csv") == []
    finally:
        review.stop()


def test_a_long_queue_pages_the_random_sample_is_stable_and_the_fitted_threshold_applies(
    browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import Select

    path = tmp_path / "many.txt"
    lines = [f"reply number {i} about the service times" for i in range(56)] + [
        "posting your dead son for likes is disgusting",
        "fake tears, PR stunt for the album",
        "so sorry for your loss, he was a good man",
        "what time is the funeral on friday?",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    review = Review([path.name], tmp_path)
    try:
        _ready(browser, review.url)
        assert len(browser.find_elements(By.CSS_SELECTOR, "article.item")) == 50, "50 at a time"
        assert browser.find_element(By.ID, "more").is_displayed()
        for _ in range(52):
            _press(browser, "j")
        assert len(browser.find_elements(By.CSS_SELECTOR, "article.item")) == len(lines), "moving on shows more"

        Select(browser.find_element(By.ID, "f-order")).select_by_value("random")
        order = [c.get_attribute("id") for c in browser.find_elements(By.CSS_SELECTOR, "article.item")]
        browser.refresh()
        _ready(browser, review.url)
        Select(browser.find_element(By.ID, "f-order")).select_by_value("random")
        assert [c.get_attribute("id") for c in browser.find_elements(By.CSS_SELECTOR, "article.item")] == order
        assert order != sorted(order, key=lambda i: int(i.split("-")[1])), "a shuffle, not file order"

        Select(browser.find_element(By.ID, "f-order")).select_by_value("score")
        first = _text_of(_current(browser))
        _press(browser, "c")
        _wait_saved(browser, first, "critical")
        second = _text_of(_current(browser))
        _press(browser, "n")
        _wait_saved(browser, second, "neutral")
        use = browser.find_element(By.ID, "use-threshold")
        _wait(browser, lambda d: use.is_enabled(), "a fitted threshold")
        fitted = browser.find_element(By.ID, "cli-threshold").get_attribute("value")
        assert fitted.startswith("--threshold ")
        use.click()
        value = float(browser.find_element(By.ID, "threshold-value").get_attribute("value"))
        assert abs(value - float(fitted.split()[1])) < 1e-4
        _wait(browser, lambda d: "flags 1 of" in d.find_element(By.ID, "would-flag").text, "the fitted threshold")
    finally:
        review.stop()
