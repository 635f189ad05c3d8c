"""Staying signed in (devauth.oauth: session, tokens, discovery), driven by fakes:
stored tokens, refresh and rotation, invalid_grant, resume after a reboot, sign-out, discovery.
Runs on CPython and MicroPython."""

import json
import os

from devauth.errors import AccessDenied, ConfigError, ProtocolError
from devauth.oauth import discovery, tokens
from devauth.oauth.session import Session
from fakes import Config, FakeClock, FakeTransport, Recorder
from mptest import raises, scratch

BASE = scratch("devauth-test-session")
WALL = 1800000000
CODE = {
    "device_code": "DC-1",
    "user_code": "ABCD-EFGH",
    "verification_uri": "https://as.example.com/as/user_authz.oauth2",
    "expires_in": 600,
    "interval": 5,
}
TOKEN = {
    "access_token": "AT-1",
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": "RT-1",
}
PENDING = (400, {"error": "authorization_pending"})
_n = [0]


def _state():
    _n[0] += 1
    path = "%s-%d-%d" % (BASE, os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    for name in (tokens.TOKEN, tokens.PENDING, tokens.METADATA, tokens.TOKEN + ".corrupt"):
        tokens.delete(path, name)
    return path


def _session(script, method="none", secret=None, wall=WALL, state=None):
    clock = FakeClock(0, wall)
    cfg = Config(method, secret, state_dir=state or _state())
    t = FakeTransport(script, clock)
    rec = Recorder()
    return Session(cfg, t, clock, rec), t, clock, rec


def test_a_client_assertion_the_config_cannot_sign_is_a_config_error():
    s, t, _, _ = _session([(200, CODE)], "client_secret_jwt", "short:+secret\u00e9")
    e = raises(ConfigError, s.access_token)
    assert str(e) == "client assertion: client_secret: shorter than 32 bytes (RFC 7518 section 3.2)"
    assert e.short == "Config error" and e.exit_code == 2
    assert t.sent == [] and "short:+secret" not in str(e)


def _bodies(t):
    return [body for _, body, _, _ in t.sent]


def test_sign_in_stores_the_token_with_its_expiry():
    s, t, clock, _ = _session([(200, CODE), (200, TOKEN)])
    assert s.access_token() == "AT-1"
    rec = tokens.load_token(s.config.state_dir)
    assert rec["expires_at"] == WALL + 5 + 3600 and rec["refresh_token"] == "RT-1"
    assert tokens.read(s.config.state_dir, tokens.PENDING) is None


def test_a_valid_stored_token_needs_no_request():
    s, t, _, rec = _session([])
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL + 600))
    assert s.access_token() == "AT-1"
    assert t.sent == [] and rec.kinds("show_code") == []


def test_an_expiring_token_is_refreshed_and_a_rotated_refresh_token_kept():
    s, t, _, _ = _session([(200, dict(TOKEN, access_token="AT-2", refresh_token="RT-2"))])
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL + 30))
    assert s.access_token() == "AT-2"
    assert _bodies(t) == [b"client_id=df_client&grant_type=refresh_token&refresh_token=RT-1"]
    assert tokens.load_token(s.config.state_dir)["refresh_token"] == "RT-2"


def test_without_rotation_the_old_refresh_token_stays():
    s, _, _, _ = _session([(200, {"access_token": "AT-2", "token_type": "Bearer"})])
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL - 1))
    s.access_token()
    assert tokens.load_token(s.config.state_dir)["refresh_token"] == "RT-1"


def test_invalid_grant_on_refresh_starts_a_new_device_sign_in():
    s, t, _, rec = _session([(400, {"error": "invalid_grant"}), (200, CODE), (200, TOKEN)])
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL - 1))
    assert s.access_token() == "AT-1"
    assert rec.kinds("show_code") == [("show_code", "ABCD-EFGH")]
    assert "signing in again" in rec.lines[0]


def test_a_pending_sign_in_survives_a_reboot():
    state = _state()
    s, _, _, _ = _session([(200, CODE), PENDING, RuntimeError("power cut")], state=state)
    raises(RuntimeError, s.access_token)
    pending = tokens.read(state, tokens.PENDING)
    assert pending["user_code"] == "ABCD-EFGH" and pending["expires_at"] == WALL + 600
    # The board restarts 100 s later: polling resumes with the same code, no new request.
    s2, t2, clock2, rec2 = _session([(200, TOKEN)], wall=WALL + 100, state=state)
    assert s2.access_token() == "AT-1"
    assert rec2.kinds("show_code") == [("show_code", "ABCD-EFGH")]
    assert t2.sent[0][0].endswith("/as/token.oauth2")
    assert b"device_code=DC-1" in t2.sent[0][1]


def test_an_expired_pending_code_is_not_resumed():
    state = _state()
    tokens.write(state, tokens.PENDING, dict(CODE, expires_at=WALL - 1))
    s, t, _, _ = _session([(200, dict(CODE, user_code="NEWC-ODE1")), (200, TOKEN)], state=state)
    s.access_token()
    assert t.sent[0][0].endswith("/as/device_authz.oauth2")


def test_denied_clears_the_pending_code():
    state = _state()
    s, _, _, _ = _session([(200, CODE), (400, {"error": "access_denied"})], state=state)
    raises(AccessDenied, s.access_token)
    assert tokens.read(state, tokens.PENDING) is None


def test_without_a_wall_clock_the_token_is_kept_but_nothing_is_resumed():
    s, _, _, _ = _session([(200, CODE), (200, TOKEN)], wall=None)
    s.access_token()
    rec = tokens.load_token(s.config.state_dir)
    assert rec["expires_at"] is None and s.valid(rec)


def test_sign_out_revokes_both_tokens_then_deletes_them():
    s, t, _, _ = _session([(200, b""), (200, b"")], "client_secret_post", "pw")
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL + 600))
    s.sign_out()
    urls = [u for u, _, _, _ in t.sent]
    assert urls == [s.config.revocation_endpoint] * 2
    assert _bodies(t)[0] == (
        b"client_id=df_client&client_secret=pw&token=RT-1&token_type_hint=refresh_token"
    )
    assert tokens.load_token(s.config.state_dir) is None


def test_sign_out_deletes_tokens_even_when_revocation_fails():
    s, _, _, _ = _session([(503, b"busy"), (503, b"busy")])
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL + 600))
    raises(Exception, s.sign_out)
    assert tokens.load_token(s.config.state_dir) is None


def test_a_corrupt_token_file_is_set_aside():
    state = _state()
    tokens.makedirs(state)
    with open(state + "/" + tokens.TOKEN, "w") as f:
        f.write('{"access_token": "AT')
    assert tokens.load_token(state) is None
    with open(state + "/" + tokens.TOKEN + ".corrupt") as f:  # the broken bytes are kept aside
        assert f.read() == '{"access_token": "AT'
    assert tokens.TOKEN not in os.listdir(state)


def test_writes_are_atomic_renames():
    state = _state()
    tokens.write(state, tokens.TOKEN, {"access_token": "A"})
    tokens.write(state, tokens.TOKEN, {"access_token": "B"})
    assert tokens.load_token(state)["access_token"] == "B"
    names = os.listdir(state)
    assert tokens.TOKEN + ".tmp" not in names


def test_jwt_client_auth_sends_a_fresh_assertion_per_request():
    secret = "a-32-byte-or-longer-shared-secret-for-hs256!!"
    s, t, _, _ = _session([(200, CODE), PENDING, (200, TOKEN)], "client_secret_jwt", secret)
    s.access_token()
    jtis = []
    for body in _bodies(t):
        assert body.startswith(
            b"client_id=df_client&client_assertion_type="
            b"urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
        )
        assert secret.encode() not in body
        assertion = body.split(b"client_assertion=")[1].split(b"&")[0].decode()
        from devauth.jose import b64

        claims = json.loads(b64.decode(assertion.split(".")[1]))
        assert claims["iss"] == claims["sub"] == "df_client"
        assert claims["aud"] == "https://as.example.com/as/token.oauth2"
        jtis.append(claims["jti"])
    assert len(set(jtis)) == 3


def test_jwt_client_auth_without_a_clock_says_so():
    secret = "a-32-byte-or-longer-shared-secret-for-hs256!!"
    s, _, _, _ = _session([], "client_secret_jwt", secret, wall=None)
    e = raises(Exception, s.access_token)
    assert "clock is not set" in str(e)


META = {
    "issuer": "https://as.example.com",
    "device_authorization_endpoint": "https://as.example.com/as/device_authz.oauth2",
    "token_endpoint": "https://as.example.com/as/token.oauth2",
    "revocation_endpoint": "https://as.example.com/as/revoke_token.oauth2",
    "mtls_endpoint_aliases": {"token_endpoint": "https://as.example.com:9032/as/token.oauth2"},
}


class _Getter(FakeTransport):
    def get(self, url):
        return self.post_form(url, None)


def _discovery_cfg(method="none"):
    cfg = Config(method, state_dir=_state())
    cfg.issuer = "https://as.example.com"
    cfg.device_authorization_endpoint = cfg.token_endpoint = cfg.revocation_endpoint = None
    return cfg


def test_discovery_fills_the_endpoints_and_caches_them():
    cfg = _discovery_cfg()
    t = _Getter([(200, META)])
    discovery.configure(cfg, t)
    assert t.sent[0][0] == "https://as.example.com/.well-known/openid-configuration"
    assert cfg.token_endpoint == META["token_endpoint"]
    assert cfg.revocation_endpoint == META["revocation_endpoint"]
    cfg2 = _discovery_cfg()
    cfg2.state_dir = cfg.state_dir
    discovery.configure(cfg2, _Getter([]))  # from the cache: no request
    assert cfg2.device_authorization_endpoint == META["device_authorization_endpoint"]


def test_discovery_falls_back_to_rfc8414_path_rules():
    urls = discovery.well_known_urls("https://h.example/tenant/a")
    assert urls == (
        "https://h.example/tenant/a/.well-known/openid-configuration",
        "https://h.example/.well-known/oauth-authorization-server/tenant/a",
    )
    cfg = _discovery_cfg()
    t = _Getter([(404, b"no"), (200, META)])
    discovery.configure(cfg, t)
    assert t.sent[1][0] == "https://as.example.com/.well-known/oauth-authorization-server"


def test_tls_client_auth_uses_the_mtls_aliases_and_explicit_keys_win():
    cfg = _discovery_cfg("tls_client_auth")
    cfg.revocation_endpoint = "https://other.example/revoke"
    discovery.configure(cfg, _Getter([(200, META)]))
    assert cfg.token_endpoint == "https://as.example.com:9032/as/token.oauth2"
    assert cfg.device_authorization_endpoint == META["device_authorization_endpoint"]
    assert cfg.revocation_endpoint == "https://other.example/revoke"


def test_discovery_refuses_a_mismatched_issuer():
    cfg = _discovery_cfg()
    e = raises(ProtocolError, discovery.configure, cfg, _Getter([(200, dict(META, issuer="x"))]))
    assert "issuer does not match" in str(e)


def test_a_refresh_that_meets_a_network_failure_is_retried():
    from devauth.errors import NetworkError

    fresh = dict(TOKEN, access_token="AT-2", refresh_token="RT-2")
    s, t, clock, rec = _session([NetworkError("reset"), (503, b"busy"), (200, fresh)])
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL + 30))
    assert s.access_token() == "AT-2"
    assert len(t.sent) == 3 and clock.sleeps == [2000, 4000]
    assert [r[2] for r in rec.kinds("retrying")] == [2, 4]


# -- the mix-up defence: discovered endpoints stay on the issuer's host ----------------------


def test_discovered_endpoints_on_another_host_are_refused():
    for key in ("token_endpoint", "device_authorization_endpoint", "revocation_endpoint"):
        cfg = _discovery_cfg()
        meta = dict(META)
        meta[key] = "https://attacker.example/as/token.oauth2"
        e = raises(ProtocolError, discovery.configure, cfg, _Getter([(200, meta)]))
        assert str(e) == (
            "discovery: %s is on host attacker.example, not the issuer's "
            "(add it to discovery_allowed_hosts if that is intended)" % key
        )
        assert tokens.read(cfg.state_dir, tokens.METADATA) is None  # nothing cached
        assert cfg.token_endpoint is None or "attacker" not in cfg.token_endpoint


def test_an_mtls_alias_on_another_host_is_refused_and_another_port_is_fine():
    meta = dict(META, mtls_endpoint_aliases={"token_endpoint": "https://mtls.evil.example/t"})
    cfg = _discovery_cfg("tls_client_auth")
    e = raises(ProtocolError, discovery.configure, cfg, _Getter([(200, meta)]))
    assert "mtls_endpoint_aliases.token_endpoint is on host mtls.evil.example" in str(e)
    cfg = _discovery_cfg("tls_client_auth")
    discovery.configure(cfg, _Getter([(200, META)]))  # AS.EXAMPLE.COM:9032 in META: same host
    assert cfg.token_endpoint == "https://as.example.com:9032/as/token.oauth2"


def test_hosts_in_discovery_allowed_hosts_are_accepted():
    cfg = _discovery_cfg()
    cfg.discovery_allowed_hosts = ["sso.example.net"]
    meta = dict(META, token_endpoint="https://SSO.example.net:8443/as/token.oauth2")
    discovery.configure(cfg, _Getter([(200, meta)]))
    assert cfg.token_endpoint == "https://SSO.example.net:8443/as/token.oauth2"


def test_discovered_urls_that_would_inject_header_lines_are_refused():
    bad = (
        ("https://as.example.com/t\r\nX-Evil: 1", "must not contain spaces, control"),
        ("https://as.example.com/t oken", "must not contain spaces, control"),
        ("https://user@as.example.com/t", "must not contain credentials"),
        ("https:///t", "has no host"),
        ("https://", "has no host"),
        ("https://as.example.com\u00e9/t", "must not contain spaces, control or non-ASCII"),
        ("ftp://as.example.com/t", "must start with https://"),
        (5, "is not a string"),
    )
    for url, message in bad:
        cfg = _discovery_cfg()
        t = _Getter([(200, dict(META, token_endpoint=url))])
        e = raises(ProtocolError, discovery.configure, cfg, t)
        assert str(e).startswith("discovery: token_endpoint ") and message in str(e), str(e)


def test_the_cache_belongs_to_the_config_that_made_it():
    cfg = _discovery_cfg()
    discovery.configure(cfg, _Getter([(200, META)]))
    other = _discovery_cfg()
    other.state_dir = cfg.state_dir
    other.client_id = "another:client+id"
    moved = dict(META, token_endpoint="https://as.example.com/v2/token")
    t = _Getter([(200, moved)])
    discovery.configure(other, t)  # another client: the cache is not its own, fetched again
    assert len(t.sent) == 1 and other.token_endpoint == "https://as.example.com/v2/token"
    again = _discovery_cfg()
    again.state_dir = cfg.state_dir
    again.client_id = "another:client+id"
    discovery.configure(again, _Getter([]))  # its own cache now: no request
    assert again.token_endpoint == "https://as.example.com/v2/token"


def test_a_cached_endpoint_is_checked_again_when_loaded():
    cfg = _discovery_cfg()
    discovery.configure(cfg, _Getter([(200, META)]))
    planted = tokens.read(cfg.state_dir, tokens.METADATA)
    planted["token_endpoint"] = "https://attacker.example/t"
    tokens.write(cfg.state_dir, tokens.METADATA, planted)
    again = _discovery_cfg()
    again.state_dir = cfg.state_dir
    e = raises(ProtocolError, discovery.configure, again, _Getter([]))
    assert "on host attacker.example" in str(e)


# -- state files with valid JSON and wrong types are set aside --------------------------------


def _plant(state, name, obj):
    tokens.makedirs(state)
    with open(state + "/" + name, "w") as f:
        f.write(json.dumps(obj))


def test_a_token_file_with_a_wrong_type_is_set_aside_and_a_new_sign_in_follows():
    stored = dict(TOKEN, expires_at=WALL + 600)
    for field, value in (
        ("expires_at", "soon"),
        ("refresh_token", 12345),
        ("access_token", ""),
        ("token_type", ["Bearer"]),
        ("obtained_at", True),
        ("scope", {"a": 1}),
    ):
        bad = dict(stored)
        bad[field] = value
        fresh = dict(TOKEN, access_token="AT-new")
        s, t, _, rec = _session([(200, CODE), (200, fresh)])
        _plant(s.config.state_dir, tokens.TOKEN, bad)
        assert s.access_token() == "AT-new", field  # no TypeError, no retry loop
        kind = "a whole number" if field in ("expires_at", "obtained_at") else "a non-empty string"
        if field == "scope":
            kind = "a non-empty string"
        assert rec.lines[0] == "%s/token.json %s is not %s: set aside as token.json.corrupt" % (
            s.config.state_dir,
            field,
            kind,
        )
        assert "12345" not in rec.lines[0] and "soon" not in rec.lines[0]
        assert os.stat(s.config.state_dir + "/token.json.corrupt")


def test_a_pending_file_with_a_string_interval_is_set_aside():
    for field, value in (("interval", "5"), ("expires_at", "soon"), ("device_code", 7)):
        s, t, _, rec = _session([(200, CODE), (200, TOKEN)])
        bad = dict(CODE, expires_at=WALL + 300)
        bad.pop("expires_in")
        bad[field] = value
        _plant(s.config.state_dir, tokens.PENDING, bad)
        assert s.access_token() == "AT-1", field
        assert "client_id=df_client" in t.sent[0][1].decode()  # a new code was requested
        assert rec.lines[0].startswith("%s/pending.json %s is not" % (s.config.state_dir, field))


def test_a_metadata_cache_with_a_wrong_type_is_set_aside_and_fetched_again():
    cfg = _discovery_cfg()
    _plant(cfg.state_dir, tokens.METADATA, dict(META, token_endpoint=5))
    said = []
    t = _Getter([(200, META)])
    discovery.configure(cfg, t, said.append)
    assert len(t.sent) == 1 and cfg.token_endpoint == META["token_endpoint"]
    assert said == [
        "%s/metadata.json token_endpoint is not a non-empty string: "
        "set aside as metadata.json.corrupt" % cfg.state_dir
    ]


def test_refresh_sends_the_token_params_and_reads_github_replies():
    form = {"content-type": "application/x-www-form-urlencoded"}
    github = b"access_token=ghu_2&expires_in=28800&refresh_token=ghr_2&token_type=bearer"
    s, t, _, _ = _session([(200, github, form)])
    s.config.token_params = [("resource", "urn:api")]
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL + 30))
    assert s.access_token() == "ghu_2"
    rec = tokens.load_token(s.config.state_dir)
    assert rec["refresh_token"] == "ghr_2" and rec["expires_at"] == WALL + 28800
    assert rec["token_type"] == "Bearer"
    assert _bodies(t) == [
        b"client_id=df_client&grant_type=refresh_token&refresh_token=RT-1&resource=urn%3Aapi"
    ]


def test_an_error_with_http_200_on_refresh_starts_a_new_sign_in():
    # GitHub answers a spent (single-use) refresh token with HTTP 200 and an error.
    s, _, _, rec = _session([(200, {"error": "invalid_grant"}), (200, CODE), (200, TOKEN)])
    tokens.write(s.config.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL - 1))
    assert s.access_token() == "AT-1"
    assert rec.kinds("show_code") == [("show_code", "ABCD-EFGH")]
