"""The registration page in a real browser: the optional companions section adds people up
to ten, renumbers them after a removal, and a registration with companions goes through."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_companions_are_added_up_to_ten_renumbered_and_registered(live_server, page):
    page.goto(f"{live_server}/register?lang=en")
    assert page.locator("#companions").get_attribute("open") is None  # collapsed by default
    page.click("#companions > summary")
    add = page.locator('[data-add-row="companions"]')
    for _ in range(9):
        add.click()
    assert page.locator('#companions [data-row]').count() == 10
    assert add.is_hidden()
    page.locator('#companions [data-row]').nth(1).locator("[data-remove-row]").click()
    names = page.eval_on_selector_all('#companions [name$="-given_name"]', "els => els.map(e => e.name)")
    assert names == [f"companions-{i}-given_name" for i in range(9)]
    assert add.is_visible()

    page.fill("#given_name", "Ann")
    page.fill("#family_name", "Lee")
    page.fill("#email", "ann.browser@example.org")
    page.select_option("#stops-0-country", "FR")
    page.fill("#stops-0-arrival", "2030-05-01")
    page.fill("#companions-0-given_name", "Kid")
    page.fill("#companions-0-family_name", "Lee")
    page.select_option("#companions-0-age_band", "5-11")
    page.check("#consent")
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    assert "Thank you, you are registered" in page.content()
    assert page.js_errors == []
