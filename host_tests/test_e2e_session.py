"""Staying signed in, end to end on the unix port against `devauth dev-as`: a stored token
means no new code, a pending sign-in survives a restart."""

import json
import os
import subprocess
import time

import pytest
from devauth_tools import runner
from devauth_tools.dev_as import DevAS
from e2e import compiled_firmware, run_firmware, write_config


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("pki-session")


def test_a_valid_stored_token_exits_0_without_a_new_code(pki_dir, tmp_path):
    with DevAS(str(pki_dir), port=0, auto_approve=0.3, interval=1, quiet=True) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki)
        first = run_firmware(cfg)
        before = srv.stats()
        again = run_firmware(cfg)
        after = srv.stats()
    assert first.code == 0 and again.code == 0, again
    assert not any(line.startswith("To sign in") for line in again.lines), again
    assert "Signed in." in again.lines
    assert after["requests"] == before["requests"]  # nothing asked of the server


def test_a_pending_sign_in_resumes_with_the_same_code_after_a_restart(pki_dir, tmp_path):
    with DevAS(str(pki_dir), port=0, interval=1, quiet=True) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki)
        cmd = runner.firmware_command(cfg, once=True, firmware=compiled_firmware())
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        shown = p.stdout.readline()
        assert shown.startswith("To sign in"), shown
        time.sleep(1.5)  # it polls at least once
        p.kill()  # the power goes
        p.wait()
        user_code = shown.split("enter code ")[1].strip()
        assert os.path.exists(os.path.join(str(tmp_path), "state", "pending.json"))
        srv.approve(user_code)
        run = run_firmware(cfg)
        stats = srv.stats()
    assert run.code == 0, run
    assert run.lines[0] == shown.strip()  # the same code on screen again
    assert stats["device_authorizations"] == 1  # no new code was requested
    assert not os.path.exists(os.path.join(str(tmp_path), "state", "pending.json"))


def test_endpoints_are_discovered_from_the_issuer_and_cached(pki_dir, tmp_path):
    with DevAS(str(pki_dir), port=0, auto_approve=0.3, interval=1, quiet=True) as srv:
        cfg = write_config(
            tmp_path,
            srv.base_url,
            srv.pki,
            issuer=srv.base_url,
            device_authorization_endpoint=None,
            token_endpoint=None,
        )
        run = run_firmware(cfg)
    assert run.code == 0, run
    cached = json.load(open(os.path.join(str(tmp_path), "state", "metadata.json")))
    assert cached["token_endpoint"] == srv.base_url + "/as/token.oauth2"
    assert run.stats["handshakes"] == 1  # discovery shares the sign-in's connection
