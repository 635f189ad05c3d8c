"""`devauth init` against `devauth dev-as` and a server that sends its whole chain: the trust
anchor from this computer's trust store ($SSL_CERT_FILE), from the chain, or from --ca, saved as
DER; discovery; the config it writes loads on the firmware and passes `devauth check`. CPython
only."""

import json
import os
import stat

import pytest
from devauth_tools import check, cli, init
from devauth_tools.devconfig import SECRET
from e2e import HostileServer, http_reply


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from devauth_tools.dev_as import DevAS

    with DevAS(str(tmp_path_factory.mktemp("as")), port=0, interval=1, quiet=True) as s:
        yield s


def run(capsys, tmp_path, *argv):
    out = os.path.join(str(tmp_path), "devauth.json")
    code = cli.main(["init", "--no-input", "--out", out, *argv])
    stdout, err = capsys.readouterr()
    assert "Traceback" not in stdout + err
    return code, stdout, err, out


def read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def der(path):
    with open(path, "rb") as f:
        return f.read()


def test_trust_store_root_discovery_and_a_config_that_passes_check(
    srv, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", srv.pki["ca_pem"])  # the dev CA as this host's store
    issuer = srv.metadata()["issuer"]
    code, out, err, path = run(capsys, tmp_path, "--issuer", issuer, "--client-id", "public-device")
    assert code == 0, err
    assert "presents:\n  [0] CN=localhost,OU=dev-as server,O=devauth (issued by " in out
    assert "trust anchor OU=dev-as server CA,O=devauth, from this computer's trust store" in out
    assert "device_authorization_endpoint  %s/as/device_authz.oauth2" % issuer in out
    assert out.splitlines()[-1] == "Next: devauth check --config %s" % os.path.relpath(path)
    cfg = read(path)
    assert cfg == {
        "board": "unix",
        "client_id": "public-device",
        "issuer": issuer,
        "token_endpoint_auth_method": "none",
        "ca_certificates": "ca.der",
    }
    assert der(os.path.join(str(tmp_path), "ca.der")) == der(srv.pki["ca_der"])
    monkeypatch.delenv("SSL_CERT_FILE")
    lines = []
    assert check.run(path, out=lines.append) == 0, lines  # the device config works as written


def test_the_last_certificate_of_the_chain_when_the_store_does_not_know_it(
    srv, tmp_path, capsys, monkeypatch
):
    pki = srv.pki
    chain_file = tmp_path / "chain.pem"  # key, leaf and root, as a server sending its chain
    chain_file.write_bytes(der(pki["server_key"]) + der(pki["server_pem"]) + der(pki["ca_pem"]))
    monkeypatch.setenv("SSL_CERT_FILE", pki["untrusted_ca_pem"])
    with HostileServer({"server_chain": str(chain_file)}, lambda p, i: http_reply()) as hs:
        code, out, err, path = run(
            capsys,
            tmp_path,
            "--device-authorization-endpoint",
            hs.base_url + "/as/device_authz.oauth2",
            "--token-endpoint",
            hs.base_url + "/as/token.oauth2",
            "--client-id",
            "dev:ice+1",
        )
    assert code == 0, err
    assert "  [1] OU=dev-as server CA,O=devauth (issued by OU=dev-as server CA,O=devauth" in out
    assert "from the last certificate the server sent (not in this computer's trust store" in out
    assert der(os.path.join(str(tmp_path), "ca.der")) == der(pki["ca_der"])
    cfg = read(path)
    assert cfg["client_id"] == "dev:ice+1" and "issuer" not in cfg
    assert cfg["token_endpoint"] == hs.base_url + "/as/token.oauth2"


def test_no_root_anywhere_asks_for_ca_and_writes_nothing(srv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", srv.pki["untrusted_ca_pem"])
    code, out, err, path = run(
        capsys, tmp_path, "--issuer", srv.metadata()["issuer"], "--client-id", "public-device"
    )
    assert code == 1 and "give it with --ca FILE" in err and len(err.splitlines()) == 1
    assert "[0] CN=localhost" in out  # the chain is shown all the same
    assert os.listdir(str(tmp_path)) == []


def test_a_ca_file_given_is_checked_and_saved_as_der(srv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", srv.pki["untrusted_ca_pem"])
    issuer = srv.metadata()["issuer"]
    args = ["--issuer", issuer, "--client-id", "public-device", "--ca"]
    code, _, err, _ = run(capsys, tmp_path, *args, srv.pki["untrusted_ca_pem"])
    assert code == 1 and "does not validate localhost's certificate" in err
    code, out, err, _ = run(capsys, tmp_path, *args, srv.pki["ca_pem"])
    assert code == 0, err
    assert "from --ca %s" % srv.pki["ca_pem"] in out
    assert der(os.path.join(str(tmp_path), "ca.der")) == der(srv.pki["ca_der"])


def test_a_secret_goes_to_the_file_only_and_the_file_is_private(srv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", srv.pki["ca_pem"])
    code, out, err, path = run(
        capsys,
        tmp_path,
        "--issuer",
        srv.metadata()["issuer"],
        "--client-id",
        "basic-device",
        "--auth-method",
        "client_secret_basic",
        "--client-secret",
        SECRET,
        "--scope",
        "openid profile",
    )
    assert code == 0, err
    assert SECRET not in out + err
    assert read(path)["client_secret"] == SECRET
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    monkeypatch.delenv("SSL_CERT_FILE")
    lines = []
    assert check.run(path, out=lines.append) == 0, lines


def test_tls_client_auth_offers_provision(srv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", srv.pki["ca_pem"])
    subject = "CN=device-1,O=Ex\u00e4mple"
    code, out, err, path = run(
        capsys,
        tmp_path,
        "--issuer",
        srv.metadata()["issuer"],
        "--client-id",
        "mtls-device",
        "--auth-method",
        "tls_client_auth",
        "--provision",
        subject,
        "--board",
        "heltec-wifi-kit-32",
    )
    assert code == 0, err
    cfg = read(path)
    assert cfg["tls_client_key"] == os.path.join("device", "device-key.pem")
    assert cfg["tls_client_certificate"] == os.path.join("device", "device.pem")
    assert (tmp_path / "device" / "device-key.pem").exists()
    assert (tmp_path / "device" / "device.csr").exists()
    assert "register the subject DN %s for the client" % subject in out
    assert 'add "wifi"' in out and cfg["board"] == "heltec-wifi-kit-32"


def test_missing_and_wrong_answers_are_one_line(srv, tmp_path, capsys):
    issuer = srv.metadata()["issuer"]
    cases = [
        ([], "Issuer URL (or give both endpoints as flags) is needed (--no-input: give --issuer)"),
        (["--issuer", issuer], "Client ID is needed (--no-input: give --client-id)"),
        (["--token-endpoint", issuer + "/t", "--client-id", "x"], "give both endpoints"),
        (["--issuer", "http://a.example", "--client-id", "x"], "--issuer must be https://"),
        (["--issuer", issuer, "--client-id", "x", "--board", "nope"], "--board nope: no such"),
        (
            ["--issuer", issuer, "--client-id", "x", "--auth-method", "client_secret_post"],
            "Client secret is needed",
        ),
    ]
    for argv, message in cases:
        code, _, err, _ = run(capsys, tmp_path, *argv)
        assert code == 2 and message in err and len(err.splitlines()) == 1, (argv, err)
    (tmp_path / "devauth.json").write_text("{}")
    code, _, err, _ = run(capsys, tmp_path, "--issuer", issuer, "--client-id", "x")
    assert code == 2 and "exists (--force replaces it)" in err
    assert (tmp_path / "devauth.json").read_text() == "{}"


def test_a_ca_file_of_someone_elses_is_not_replaced(srv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", srv.pki["ca_pem"])
    (tmp_path / "ca.der").write_bytes(b"my own CA")
    argv = ["--issuer", srv.metadata()["issuer"], "--client-id", "public-device"]
    code, _, err, path = run(capsys, tmp_path, *argv)
    assert code == 2 and "holds another certificate (--force replaces it)" in err
    assert (tmp_path / "ca.der").read_bytes() == b"my own CA" and not os.path.exists(path)
    code, _, err, path = run(capsys, tmp_path, *argv, "--force")
    assert code == 0, err
    assert der(str(tmp_path / "ca.der")) == der(srv.pki["ca_der"])


def test_interactive_answers_fill_what_flags_leave_out(srv, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", srv.pki["ca_pem"])
    answers = iter([srv.metadata()["issuer"], "public-device", "", ""])  # defaults: none, unix
    asked = []

    def fake_input(prompt):
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", fake_input)
    args = cli.build_parser().parse_args(["init", "--out", str(tmp_path / "devauth.json")])
    said = []
    init.build(args, init.Asker(True, said.append), said.append)
    assert asked[2] == "Client authentication method [none]: "
    assert read(str(tmp_path / "devauth.json"))["token_endpoint_auth_method"] == "none"
