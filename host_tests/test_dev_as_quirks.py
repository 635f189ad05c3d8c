"""`devauth dev-as --quirks NAME`: the replies have each provider's documented shape (statuses,
form bodies, strings for numbers, refusal names), driven by CPython's http.client."""

import http.client
import json
import urllib.parse

import pytest
from devauth_tools.dev_as import CLIENT_SECRET
from e2e import dev_as_process, dev_as_servers, tls_context

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def start(tmp_path):
    with dev_as_servers(lambda n: str(tmp_path / f"as{n}")) as start:
        yield start


def _post(conn, path, form):
    conn.request(
        "POST",
        path,
        urllib.parse.urlencode(form),
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    resp = conn.getresponse()
    data = resp.read().decode()
    if resp.getheader("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return resp.status, dict(urllib.parse.parse_qsl(data)), "form"
    return resp.status, json.loads(data), "json"


def _walk(srv, client="public-device", poll=None):
    """Device authorization, two polls (pending, slow_down), a refusal, and the replies."""
    conn = http.client.HTTPSConnection("localhost", srv.port, context=tls_context(srv))
    who = {"client_id": client}
    if client == "post-device":
        who["client_secret"] = CLIENT_SECRET
    status, code, kind = _post(conn, "/as/device_authz.oauth2", dict(who, scope="openid"))
    assert status == 200
    polls = []
    for _ in range(3):
        if len(polls) == 2:
            srv.deny(srv.pending_user_codes()[-1])
        form = poll(code) if poll else {"grant_type": GRANT, "device_code": code["device_code"]}
        polls.append(_post(conn, "/as/token.oauth2", dict(who, **form)))
    conn.close()
    return code, kind, polls


def test_github_errors_come_with_200_in_forms(start):
    code, kind, polls = _walk(start(quirks="github", slow_down_every=2))
    assert kind == "form" and code["expires_in"] == "600" and code["interval"] == "1"
    assert [(s, b["error"], k) for s, b, k in polls] == [
        (200, "authorization_pending", "form"),
        (200, "slow_down", "form"),
        (200, "access_denied", "form"),
    ]
    assert polls[1][1]["interval"] == "6"


def test_google_428_403_quota_and_verification_url(start):
    code, _, polls = _walk(start(quirks="google", slow_down_every=3), "post-device")
    assert "verification_url" in code and "verification_uri" not in code
    assert "verification_uri_complete" not in code
    assert [(s, b.get("error"), b.get("error_code")) for s, b, _ in polls] == [
        (403, None, "rate_limit_exceeded"),
        (428, "authorization_pending", None),
        (403, "access_denied", None),
    ]


def test_entra_declines_with_error_codes_and_v1_strings_and_code(start):
    code, _, polls = _walk(start(quirks="entra"))
    assert code["message"].startswith("To sign in") and "verification_uri_complete" not in code
    assert polls[2][0] == 400 and polls[2][1]["error"] == "authorization_declined"
    assert polls[0][1]["error_codes"] == [70016]
    v1 = start(quirks="entra-v1")
    code, _, polls = _walk(
        v1, poll=lambda c: {"grant_type": "device_code", "code": c["device_code"]}
    )
    assert code["expires_in"] == "600" and code["interval"] == "1" and "verification_url" in code
    assert [b["error"] for _, b, _ in polls] == [
        "authorization_pending",
        "authorization_pending",
        "authorization_declined",
    ]


@pytest.mark.parametrize(
    "quirks, statuses",
    [("auth0", [403, 429, 403]), ("dex", [401, 400, 400])],
)
def test_auth0_and_old_dex_statuses(start, quirks, statuses):
    _, _, polls = _walk(start(quirks=quirks, slow_down_every=2))
    assert [s for s, _, _ in polls] == statuses
    assert [b["error"] for _, b, _ in polls] == [
        "authorization_pending",
        "slow_down",
        "access_denied",
    ]


def test_the_command_line_takes_quirks(tmp_path):
    with dev_as_process(str(tmp_path), "--quirks", "github", "--quiet") as (line, info):
        assert line.startswith("devauth dev-as listening on https://")
        assert info["base_url"]
