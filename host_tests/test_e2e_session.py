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

# private_key_jwt adds the JWT/RSA/EC code and the signature's big-int work: on this 64-bit
# port it needs about 108 KB (`make bench` reports it); 128 KB leaves room for timing variance.
JWT_HEAP = "128K"


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
    # interval 4: the kill below comes well before a second poll could be on its way. With 1 s, a
    # machine under load once let a second poll of the killed process reach the server after
    # the approval: the token went to the dead process, and the restart rightly got invalid_grant.
    with DevAS(str(pki_dir), port=0, interval=4, quiet=True) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki)
        cmd = runner.firmware_command(cfg, once=True, firmware=compiled_firmware())
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        shown = p.stdout.readline()
        assert shown.startswith("To sign in"), shown
        # it polls at least once: waited for on the server's counter, not a guessed sleep
        deadline = time.monotonic() + 60
        while srv.stats()["token_requests"] < 1:
            assert time.monotonic() < deadline, "the firmware never polled"
            time.sleep(0.05)
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


@pytest.mark.parametrize(
    "method, client_id, key, kid",
    [
        ("client_secret_jwt", "jwt-secret-device", None, None),
        ("private_key_jwt", "jwt-rsa-device", "jwt_rsa_key", "rsa-1"),
        ("private_key_jwt", "jwt-rsa-device", "jwt_rsa_pk8_der", "rsa-1"),
        ("private_key_jwt", "jwt-ec-device", "jwt_ec_key", "ec-1"),
        ("private_key_jwt", "jwt-ec-device", "jwt_ec_pk8_pem", "ec-1"),
    ],
)
def test_jwt_client_authentication_signs_in(pki_dir, tmp_path, method, client_id, key, kid):
    with DevAS(str(pki_dir), port=0, auto_approve=1.2, interval=1, quiet=True) as srv:
        over = {"client_id": client_id}
        if key:
            over.update(private_key=srv.pki[key], private_key_id=kid)
        cfg = write_config(tmp_path, srv.base_url, srv.pki, method, **over)
        run = run_firmware(cfg, heap=JWT_HEAP if key else runner.DEFAULT_HEAP)
        stats = srv.stats()
    assert run.code == 0, run
    # Every request authenticated with a fresh assertion (the server rejects a replayed jti).
    assert stats["auth_methods"] == {method: run.stats["requests"]}, stats
    assert stats["replays_rejected"] == 0
    assert "a-32-byte" not in run.out


def test_an_expired_access_token_is_refreshed_with_rotation(pki_dir, tmp_path):
    with DevAS(
        str(pki_dir), port=0, auto_approve=0.3, interval=1, quiet=True, access_token_lifetime=30
    ) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki, "client_secret_post")
        first = run_firmware(cfg)
        token_file = os.path.join(str(tmp_path), "state", "token.json")
        old = json.load(open(token_file))
        again = run_firmware(cfg)  # 30 s left is inside the 60 s refresh margin
        new = json.load(open(token_file))
        stats = srv.stats()
        dead = srv.token_info(old["refresh_token"])
    assert first.code == 0 and again.code == 0, again
    assert not any(line.startswith("To sign in") for line in again.lines), again
    assert stats["refreshes"] == 1
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] != old["refresh_token"]  # rotated
    assert dead is None or not dead["active"]


def test_a_dead_refresh_token_starts_a_new_sign_in(pki_dir, tmp_path):
    with DevAS(
        str(pki_dir), port=0, auto_approve=0.3, interval=1, quiet=True, access_token_lifetime=10
    ) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki)
        assert run_firmware(cfg).code == 0
        token_file = os.path.join(str(tmp_path), "state", "token.json")
        rec = json.load(open(token_file))
        rec["refresh_token"] = "not-a-refresh-token"
        json.dump(rec, open(token_file, "w"))
        run = run_firmware(cfg)
    assert run.code == 0, run
    assert run.lines[0].startswith("Sign-in expired (invalid_grant): signing in again."), run
    assert run.lines[1].startswith("To sign in, visit"), run


def test_sign_out_revokes_at_the_server_and_deletes_the_tokens(pki_dir, tmp_path):
    with DevAS(str(pki_dir), port=0, auto_approve=0.3, interval=1, quiet=True) as srv:
        cfg = write_config(
            tmp_path,
            srv.base_url,
            srv.pki,
            "client_secret_basic",
            revocation_endpoint=srv.base_url + "/as/revoke_token.oauth2",
        )
        assert run_firmware(cfg).code == 0
        token_file = os.path.join(str(tmp_path), "state", "token.json")
        rec = json.load(open(token_file))
        # Application code signing out through the documented API, on the unix port.
        script = tmp_path / "signout.py"
        script.write_text(SIGN_OUT % (compiled_firmware(), cfg))
        proc = subprocess.run(
            [runner.micropython(), str(script)], capture_output=True, text=True, timeout=60
        )
        info = srv.token_info(rec["refresh_token"])
        stats = srv.stats()
    assert proc.returncode == 0 and proc.stdout.strip() == "signed out", proc.stdout + proc.stderr
    assert not os.path.exists(token_file)
    assert info is None or not info["active"]
    assert stats["revocations"] >= 1


SIGN_OUT = """
import sys
sys.path.insert(0, %r)
from devauth import app, clock
from devauth.oauth.session import Session
from devauth.oled.ui import UI
cfg = app.load_config(%r)
ui = UI()
session = Session(cfg, app.make_transport(cfg, ui), clock, ui)
session.sign_out()
print("signed out")
"""


def test_tls_client_auth_uses_the_discovered_mtls_alias(pki_dir, tmp_path):
    with DevAS(str(pki_dir), port=0, auto_approve=0.3, interval=1, quiet=True, mtls_port=0) as srv:
        cfg = write_config(
            tmp_path,
            srv.base_url,
            srv.pki,
            "tls_client_auth",
            issuer=srv.base_url,
            device_authorization_endpoint=None,
            token_endpoint=None,
        )
        run = run_firmware(cfg)
        stats = srv.stats()
    assert run.code == 0, run  # the main port refuses mtls-device: the alias was used
    assert stats["auth_methods"].get("tls_client_auth", 0) >= 2, stats
