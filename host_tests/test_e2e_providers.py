"""End to end, per provider: the firmware on the MicroPython unix port, configured with that
provider's preset, against `devauth dev-as --quirks NAME` (Authlib answering in the provider's
shapes: statuses, form replies, strings for numbers, refusals). For each: a sign-in through a
`slow_down` (Google: and a quota reply), a refusal (exit 3), a code that expires (exit 4)."""

import json
import os

import pytest
from devauth_tools.dev_as import DevAS
from e2e import SECRET, run_firmware, write_config

# quirks name: (firmware config over the dev server's endpoints, the refusal's OAuth error)
PROVIDERS = {
    "github": ({"provider": "github"}, "access_denied"),
    "google": (
        {
            "provider": "google",
            "client_id": "post-device",
            "client_secret": SECRET,
            "scope": None,
        },
        "access_denied",
    ),
    "entra": ({"provider": "entra", "tenant": "common", "scope": None}, "authorization_declined"),
    "entra-v1": (
        {
            "provider": "entra-v1",
            "tenant": "contoso.onmicrosoft.com",
            "extra_params": {"resource": "https://graph.microsoft.com"},
        },
        "authorization_declined",
    ),
    "auth0": (
        {
            "provider": "auth0",
            "domain": "dev-x.eu.auth0.com",
            "extra_params": {"audience": "https://api.example.com/\u00e9"},
        },
        "access_denied",
    ),
    "dex": ({"provider": "dex", "base_url": "https://dex.example.com/dex"}, "access_denied"),
}


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("pki")


def _run(pki_dir, tmp_path, quirks, **opts):
    opts.setdefault("interval", 1)
    tmp_path.mkdir()
    with DevAS(str(pki_dir), port=0, quirks=quirks, quiet=True, **opts) as srv:
        # The preset sets the provider's needs (auth method, scope, grant, parameters); the
        # endpoints, set explicitly, win and point at the dev server.
        cfg = write_config(tmp_path, srv.base_url, srv.pki, token_endpoint_auth_method=None)
        with open(cfg) as f:
            data = json.load(f)
        data.update(PROVIDERS[quirks][0])
        with open(cfg, "w") as f:
            json.dump({k: v for k, v in data.items() if v is not None}, f)
        run = run_firmware(cfg)
        stats = srv.stats()
    assert SECRET not in run.out + run.err
    return run, stats


@pytest.mark.parametrize("quirks", sorted(PROVIDERS))
def test_each_provider_signs_in_refuses_and_expires(pki_dir, tmp_path, quirks):
    # Polls at 1 s and 2 s (slow_down; Google: 1 s quota, 3 s slow_down), then 6 s later: the
    # approval at 5 s falls between, with seconds to spare on a busy machine.
    run, stats = _run(pki_dir, tmp_path / "ok", quirks, auto_approve=5, slow_down_every=2)
    assert run.code == 0, run
    assert "Signed in." in run.lines, run
    assert any("server asked to slow down" in line for line in run.lines), run
    assert stats["slow_downs"] == 1 and stats["tokens_issued"] == 1, stats
    saved = json.load(open(os.path.join(str(tmp_path / "ok"), "state", "token.json")))
    assert saved["token_type"] == "Bearer" and saved["scope"] and "," not in saved["scope"]
    if quirks == "google":  # its quota reply was backed off from, not taken for a failure
        assert any(line.startswith("Waiting 2 s: Server busy") for line in run.lines), run

    run, _ = _run(pki_dir, tmp_path / "deny", quirks, auto_approve=0.3, deny=True)
    assert run.code == 3, run
    assert run.lines[-2].startswith("Denied: token endpoint: " + PROVIDERS[quirks][1]), run

    run, _ = _run(pki_dir, tmp_path / "expire", quirks, expires_in=3)
    assert run.code == 4, run
    assert run.lines[-2].startswith("Code expired: "), run
