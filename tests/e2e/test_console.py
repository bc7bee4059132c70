"""The operations console in a real browser (headless Chromium) against the whole stack: an operator signs
in, sees a new message's activation arrive in the live feed and finish, opens it (waterfall, journal,
reply) and replays it from its journal; a wrong token shows an error and no data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from switchboard.core import keys
from switchboard.devstack.stack import Stack
from switchboard.emulator.client import EmulatorClient
from tests.e2e.test_walking_skeleton import REPLY_TIMEOUT, wait_for_posted_reply
from tests.support.browser import headless_chromium, script_errors

PAGE_TIMEOUT = 15  # the console's own work: loading a page, an event from the feed, a recorded replay


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with headless_chromium() as driver:
        yield driver


def by_testid(name: str, **data: str) -> tuple[str, str]:
    """A locator for `[data-testid=name]`, narrowed by `data-*` attributes (`activation_id=`: `data-activation-id`)."""
    narrowed = "".join(f'[data-{key.replace("_", "-")}="{value}"]' for key, value in data.items())
    return By.CSS_SELECTOR, f'[data-testid="{name}"]{narrowed}'


def wait(browser: WebDriver, timeout: float = PAGE_TIMEOUT) -> WebDriverWait:
    return WebDriverWait(browser, timeout)


def sign_in(browser: WebDriver, stack: Stack, token: str) -> None:
    browser.get(f"{stack.admin_url}/console/")
    wait(browser).until(seen.visibility_of_element_located(by_testid("token-input"))).send_keys(token)
    browser.find_element(*by_testid("token-submit")).click()


def test_a_wrong_token_shows_an_error_and_no_data(stack: Stack, browser: WebDriver) -> None:
    sign_in(browser, stack, f"not-{stack.admin_token}")

    error = wait(browser).until(seen.visibility_of_element_located(by_testid("token-error")))
    assert "401" in error.text
    assert browser.find_elements(*by_testid("feed-view")) == []
    assert not browser.find_element(*by_testid("nav")).is_displayed()
    assert browser.execute_script("return sessionStorage.length") == 0  # a rejected token is not kept
    status = browser.execute_async_script(  # what the page gets from the API with no token at all
        "const done = arguments[arguments.length - 1];"
        "fetch('../api/activations').then((answer) => done(answer.status), (error) => done(String(error)));")
    assert status == 401
    assert script_errors(browser) == []


def test_console_follows_an_activation_and_replays_it_from_its_journal(
        stack: Stack, browser: WebDriver, emulator: EmulatorClient, store: redis.Redis) -> None:
    sign_in(browser, stack, stack.admin_token)
    wait(browser).until(seen.text_to_be_present_in_element(by_testid("feed-status"), "live"))
    wait(browser).until(seen.presence_of_element_located(by_testid("feed-view", loaded="true")))

    channel = emulator.create_channel("console")["id"]
    asked = emulator.inject_message(channel_id=channel, author="bob", mention_bot=True,
                                    content="Name three colours of the rainbow.")
    row = by_testid("activation-row", activation_id=asked["id"])
    wait(browser, REPLY_TIMEOUT).until(seen.presence_of_element_located(row))  # on `accepted`, or when it finished
    assert "Name three colours" in browser.find_element(*row).text
    assert "Bob" in browser.find_element(*row).text
    wait(browser, REPLY_TIMEOUT).until(lambda page: page.find_element(*row).get_attribute("data-outcome") != "running")
    assert browser.find_element(*row).find_element(*by_testid("activation-outcome")).text == "replied"
    reply = wait_for_posted_reply(store, emulator, asked["id"])

    browser.find_element(*row).find_element(*by_testid("activation-link")).click()
    wait(browser).until(seen.presence_of_element_located(by_testid("activation-view", loaded="true")))
    assert browser.current_url.endswith(f"#/activation/{asked['id']}")
    check_activation_page(browser, reply, store.get(keys.posted(asked["id"])).split(","))
    check_recorded_replay(browser, reply)
    assert script_errors(browser) == []


def check_activation_page(browser: WebDriver, reply: dict, posted_ids: list[str]) -> None:
    assert browser.find_element(*by_testid("summary-outcome")).text == "replied"
    assert browser.find_element(*by_testid("summary-author")).text == "Bob"
    assert browser.find_element(*by_testid("reply-text")).text.strip() == reply["content"].strip()
    shown_ids = [item.text for item in browser.find_elements(*by_testid("reply-message-id"))]
    # The answer, then any continuation or attached picture: every message the gateway posted for it.
    assert shown_ids[0] == reply["id"] and shown_ids == posted_ids

    hops = {row.get_attribute("data-name"): row for row in browser.find_elements(*by_testid("waterfall-row"))}
    assert {"queue", "planner", "infer:0"} <= set(hops)
    assert hops["infer:0"].find_elements(*by_testid("waterfall-bar")), "the model's hop has a bar"
    assert hops["infer:0"].get_attribute("data-from-journal") == "false"  # the original ran it

    step = browser.find_element(*by_testid("journal-step", step="infer:0"))
    step.find_element(By.TAG_NAME, "summary").click()
    output = wait(browser).until(lambda _: visible(step.find_element(*by_testid("journal-output"))))
    assert reply["content"].strip().splitlines()[0][:40] in output.text


def check_recorded_replay(browser: WebDriver, reply: dict) -> None:
    Select(browser.find_element(*by_testid("replay-mode"))).select_by_value("recorded")
    version = Select(browser.find_element(*by_testid("replay-callsystem")))
    assert version.first_selected_option.get_attribute("value") == "", "the original's version unless chosen"
    assert not browser.find_element(*by_testid("replay-deliver")).is_selected()
    browser.find_element(*by_testid("replay-submit")).click()

    ended = wait(browser, REPLY_TIMEOUT).until(
        lambda page: page.find_elements(*by_testid("replay-report")) or page.find_elements(*by_testid("replay-error")))
    assert ended[0].get_attribute("data-testid") == "replay-report", ended[0].text
    report = ended[0]
    assert report.get_attribute("data-verdict") == "matches", report.text
    assert report.find_element(*by_testid("replay-verdict")).text.lower() == "matches"
    original = report.find_element(*by_testid("replay-original-text")).text.strip()
    replayed = report.find_element(*by_testid("replay-replayed-text")).text.strip()
    assert original == replayed == reply["content"].strip()
    assert "infer:0" in report.find_element(*by_testid("replay-steps-used")).text  # read from the journal
    assert report.find_elements(*by_testid("replay-not-recorded")) == []


def visible(element: WebElement) -> WebElement | None:
    return element if element.is_displayed() else None
