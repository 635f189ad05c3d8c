"""The dev server's approval page (/as/user_authz.oauth2) in a real browser: headless Chromium
(Debian's `chromium`) driven by Playwright, with the firmware running on the unix port.

A person reads the link and the code the firmware printed, opens the page, types the code and
approves: the firmware signs in (exit 0). Denies: the firmware reports it (exit 3). A wrong code
shows an error on the page. The approval page is saved as build/approval-page.png (copy it to
docs/ for the README).
Skipped, with the reason, only when Playwright or /usr/bin/chromium is not installed.
"""

import os
import subprocess

import pytest
from devauth_tools import runner
from devauth_tools.dev_as import DevAS
from e2e import ROOT, Run, compiled_firmware, write_config

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = os.path.join(ROOT, "build", "approval-page.png")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser):
    # The dev server's certificate comes from its test CA, which this browser does not know.
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 480, "height": 300})
    p = context.new_page()
    p.set_default_timeout(15000)
    try:
        yield p
    finally:
        context.close()


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("browser-pki")


class Firmware:
    """The firmware running until it exits; `link` and `code` from its first console line."""

    def __init__(self, cfg):
        cmd = runner.firmware_command(cfg, once=True, stats=True, firmware=compiled_firmware())
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.first = self.proc.stdout.readline().strip()
        assert self.first.startswith("To sign in, visit "), self.first
        words = self.first.split()
        self.link, self.code = words[4], words[-1]

    def finish(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)
        proc = subprocess.CompletedProcess(
            self.proc.args, self.proc.returncode, self.first + "\n" + out, err
        )
        run = Run(proc)
        assert "Traceback" not in run.out + run.err, run
        return run

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def start(pki_dir, tmp_path):
    srv = DevAS(str(pki_dir), port=0, interval=1, expires_in=120, quiet=True).start()
    try:
        return srv, Firmware(write_config(tmp_path, srv.base_url, srv.pki))
    except BaseException:
        srv.stop()
        raise


def enter_code(page, fw, code=None):
    """Open the link the firmware printed and type the code as a person reads it."""
    page.goto(fw.link)
    assert page.title() == "devauth: Connect a device"
    page.fill("#user_code", code if code is not None else fw.code)


def test_approving_in_the_browser_signs_the_firmware_in(browser, page, pki_dir, tmp_path):
    srv, fw = start(pki_dir, tmp_path)
    try:
        enter_code(page, fw)
        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=True)
        page.click("button[value=approve]")
        page.wait_for_selector("p.ok")
        assert "Device approved" in page.inner_text("p.ok")
        assert page.title() == "devauth: Approved"
        run = fw.finish()
    finally:
        fw.kill()
        srv.stop()
    assert run.code == 0, run
    assert "Signed in." in run.lines, run
    assert os.path.getsize(SCREENSHOT) > 1000


def test_denying_in_the_browser_makes_the_firmware_report_denied(browser, page, pki_dir, tmp_path):
    srv, fw = start(pki_dir, tmp_path)
    try:
        enter_code(page, fw, fw.code.lower().replace("-", ""))  # typed loosely: still found
        page.click("button[value=deny]")
        page.wait_for_selector("p.ok")
        assert "Access denied" in page.inner_text("p.ok")
        run = fw.finish()
    finally:
        fw.kill()
        srv.stop()
    assert run.code == 3, run
    assert run.lines[-2].startswith("Denied: token endpoint: access_denied"), run


def test_a_wrong_code_shows_an_error_and_the_right_one_still_works(
    browser, page, pki_dir, tmp_path
):
    srv, fw = start(pki_dir, tmp_path)
    try:
        wrong = "BBBB-BBBB" if fw.code != "BBBB-BBBB" else "CCCC-CCCC"
        enter_code(page, fw, wrong)
        page.click("button[value=approve]")
        page.wait_for_selector("p.error")
        assert page.inner_text("p.error") == "Unknown or expired code"
        assert page.input_value("#user_code") == wrong  # kept, so the person can correct it
        assert fw.proc.poll() is None  # the firmware keeps polling
        page.fill("#user_code", fw.code)
        page.click("button[value=approve]")
        page.wait_for_selector("p.ok")
        run = fw.finish()
    finally:
        fw.kill()
        srv.stop()
    assert run.code == 0, run
