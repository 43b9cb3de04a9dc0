"""The whole stack in a browser: Open WebUI started with the environment the module
tier renders for nas-01 (upstream's unit variables merged with ours), pointed at the
nix/lib gateway in front of real llama-servers and the real Ollama, driven by Debian's
headless Chromium. Screenshots are kept in the test's folder (the path is printed)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest

from testkit import openai_client as api
from testkit.local_stack import local_stack
from testkit.waiting import wait_until

EMAIL, PASSWORD = "admin@example.org", "correct horse battery"
PROMPT = "Say hello."


class Page:
    """The few things the test does in Open WebUI, with a screenshot after each step."""

    def __init__(self, driver, url: str, shots: Path):
        self.driver, self.url, self.shots = driver, url, shots
        shots.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{len(list(self.shots.iterdir())) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def wait_for(self, what: str, find, timeout: float = 90.0):
        from selenium.common.exceptions import StaleElementReferenceException

        shot_name = "timeout-" + what.replace(" ", "-")

        return wait_until(
            find,
            what=f"Open WebUI's {what}",
            timeout=timeout,
            interval=0.25,
            ignoring=(StaleElementReferenceException,),  # the page re-rendered while we looked
            detail=lambda: f"screenshot: {self.shot(shot_name)}",
        )

    def visible(self, css: str):
        from selenium.webdriver.common.by import By

        return [element for element in self.driver.find_elements(By.CSS_SELECTOR, css) if element.is_displayed()]

    def button(self, text: str):
        from selenium.webdriver.common.by import By

        buttons = self.driver.find_elements(By.XPATH, f"//button[contains(normalize-space(.), {text!r})]")
        return [button for button in buttons if button.is_displayed()]

    def sign_up_first_admin(self) -> None:
        self.driver.get(f"{self.url}/auth")
        self.wait_for("onboarding page", lambda: self.button("Get started"))[0].click()
        name = self.wait_for("sign-up form", lambda: self.visible("input#name"))[0]
        name.send_keys("Admin")
        self.visible("input#email")[0].send_keys(EMAIL)
        self.visible("input#password")[0].send_keys(PASSWORD)
        self.shot("sign-up")
        self.button("Create Admin Account")[0].click()
        self.wait_for("chat page after sign-up", lambda: self.visible("#chat-input"))
        for close in self.button("Okay, Let's Go!"):  # the release notes shown once
            close.click()

    def model_selector(self, expected: set[str]) -> list[str]:
        """The models the opened selector lists, once it lists `expected` (it fills in
        while it opens: the first look may miss some), or what it lists after the wait."""
        self.wait_for("model selector", lambda: self.visible("#model-selector-model-button"))[0].click()
        listed: list[str] = []

        def every_model() -> bool:
            listed[:] = [option.get_attribute("data-value") for option in self.visible("[id^=model-option-]")]
            return expected <= set(listed)

        with contextlib.suppress(AssertionError):  # the test says which are missing
            self.wait_for("every model in the selector", every_model, timeout=30)
        self.shot("model-selector")
        return listed

    def choose(self, model: str) -> None:
        def click() -> bool:
            (option,) = [o for o in self.visible("[id^=model-option-]") if o.get_attribute("data-value") == model]
            option.click()
            return True

        self.wait_for(f"option {model}", click)

    def send_and_watch(self, text: str) -> list[int]:
        """Send `text`; returns the lengths the answer's text went through while it arrived."""
        from selenium.webdriver.common.keys import Keys

        # Record the newest answer's length at every change of the page, to see it stream in.
        self.driver.execute_script(
            "window.answerLengths = [];"
            "window.answerObserver = window.answerObserver || new MutationObserver(() => {"
            "  const answers = document.querySelectorAll('#response-content-container');"
            "  if (answers.length) window.answerLengths.push(answers[answers.length - 1].textContent.length);"
            "});"
            "window.answerObserver.observe(document.body, {subtree: true, childList: true, characterData: true});"
        )
        answers_before = len(self.visible("#response-content-container"))

        def type_message() -> bool:
            box = self.visible("#chat-input")[0]
            box.click()
            box.send_keys(text, Keys.ENTER)
            return True

        self.wait_for("message box", type_message)
        self.wait_for(
            "answer",
            lambda: [a for a in self.visible("#response-content-container")[answers_before:] if a.text.strip()],
        )
        # Done when the text has not changed for two seconds.
        stable_since, last = time.monotonic(), None
        while time.monotonic() - stable_since < 2.0:
            now = self.driver.execute_script("return window.answerLengths.length")
            if now != last:
                stable_since, last = time.monotonic(), now
            time.sleep(0.2)
        self.shot("answer")
        return self.driver.execute_script("return window.answerLengths")


@pytest.mark.timeout(900)
def test_sign_up_pick_every_gateway_model_and_get_a_streamed_answer(module_eval, open_webui, browser, tmp_path):
    # Open WebUI's unit environment as the module tier renders it for nas-01.
    environment = module_eval("nas-01")["units"]["open-webui"]["environment"]
    # What nas-01's unit gets from us and from upstream, as rendered.
    assert environment["ENABLE_SIGNUP"] == "False" and environment["OFFLINE_MODE"] == "True"
    assert environment["DATA_DIR"].startswith("/var/lib/open-webui/")
    assert environment["STATIC_DIR"] == "/var/lib/open-webui/static"
    with local_stack(work_dir=tmp_path / "stack", with_ollama=True) as stack:
        # nas-01 points Open WebUI at llama-swap and Ollama on their host ports; here the
        # local gateway and the real Ollama answer there. The secret key comes from the
        # host's environmentFile, which this machine does not have.
        webui = open_webui(
            {
                **environment,
                "OPENAI_API_BASE_URLS": stack.base_url,
                "OLLAMA_BASE_URL": stack.endpoints["ollama"],
                "WEBUI_SECRET_KEY": os.urandom(16).hex(),
            }
        )
        page = Page(browser, webui.info["url"], tmp_path / "screenshots")
        print(f"\nscreenshots: {page.shots}")
        page.sign_up_first_admin()

        gateway = [model["id"] for model in api.get(f"{stack.base_url}/models").json()["data"]]
        assert len(gateway) == 16
        listed = page.model_selector(set(gateway))
        assert set(gateway) <= set(listed), f"missing in the selector: {sorted(set(gateway) - set(listed))}"

        page.choose("tiny-chat")
        before = stack.upstream_requests()["chat"]
        # Streamed: the answer grows in several steps, not in one. Random weights end an
        # answer after a few tokens now and then (the end-of-text token is as likely as
        # any other), too short to see it grow: then the next message shows it.
        steps = []
        for _attempt in range(3):
            steps.append(sorted({length for length in page.send_and_watch(PROMPT) if length > 0}))
            if len(steps[-1]) >= 3:
                break
        assert len(steps[-1]) >= 3, steps
        assert stack.upstream_requests()["chat"] > before
        assert PROMPT in browser.page_source
        assert webui.running, webui.log_tail()
