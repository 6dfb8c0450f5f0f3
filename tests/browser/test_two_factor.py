"""Two-factor sign-in in a real headless Chromium: a store owner turns it on from the account
page (scanning is replaced by reading the key off the page and computing the code, as an
authenticator app would), signs out, and signs back in with the password and a code."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pyotp
import pytest

from storeplex.db import Database
from tests.browser.journeys import CHROMIUM, Shots
from tests.support.factories import PASSWORD, make_store_kit
from tests.support.stack import Stack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


async def test_owner_turns_on_two_factor_and_signs_in_with_a_code(
    database: Database, stack: Stack, page: Any, shots: Shots
) -> None:
    kit = await make_store_kit(database)
    await page.goto("/admin/login")
    await page.get_by_label("Email").fill(kit.owner_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/admin$"))

    await page.get_by_role("link", name="Account").click()
    await page.get_by_role("button", name="Set up two-factor sign-in").click()
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert (await page.locator("#totp-uri").get_attribute("href") or "").startswith(
        "otpauth://totp/"
    )
    await shots("enrol")
    code_field = page.get_by_label("Code from the app")
    await code_field.fill("000000")
    await page.get_by_role("button", name="Turn on two-factor sign-in").click()
    await page.get_by_role("alert").filter(has_text="That code is not right").wait_for()
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.locator("#recovery-codes li")
    await codes.first.wait_for()
    assert await codes.count() == 10
    await shots("recovery-codes")

    await page.get_by_role("button", name=re.compile("Log out")).click()
    await page.wait_for_url(re.compile(r"/admin/login"))
    await page.get_by_label("Email").fill(kit.owner_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/admin/login/code"))
    await page.get_by_label("Code").fill("111111")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="That code is not right").wait_for()
    await shots("wrong-code")
    # The code of the next 30-second step: accepted, and later than the one used to enrol.
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/admin$"))
    await page.get_by_role("link", name="Account").click()
    await page.get_by_text("Recovery codes left: 10").wait_for()
    await shots("signed-in")
