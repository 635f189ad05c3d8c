"""`devauth deploy --dry-run`: every mpremote step printed, the tree compiled for the board's
architecture, the config's certificates and keys converted to DER and its keys rewritten."""

import json
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from devauth_tools import cli, deploy
from devauth_tools.devconfig import write_config
from devauth_tools.testca import make_pki

WIFI = {"ssid": "HomeNet", "password": "hunter2-wifi-secret"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")))


def dry_run(capsys, board, config, *extra):
    code = cli.main(
        ["deploy", "--port", "/dev/ttyUSB0", "--board", board, "--config", config, "--dry-run"]
        + list(extra)
    )
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def stage_for(tmp_path, board, cfg):
    """What a real deploy stages for `board` (no mpremote run), in tmp_path -> the stage."""
    stage = os.path.join(str(tmp_path), "stage-" + board)
    deploy.plan("/dev/ttyUSB0", board, cfg, stage)
    return stage


def steps(lines):
    mp = deploy.mpremote() + " connect /dev/ttyUSB0 "
    return [line[len("would run: " + mp) :] for line in lines if line.startswith("would run: ")]


def test_dry_run_prints_every_mpremote_step(capsys, tmp_path, pki, monkeypatch):
    monkeypatch.setattr(deploy, "STAGE", str(tmp_path / "build-deploy"))
    cfg = write_config(tmp_path, "https://as.example.com", pki, "tls_client_auth", wifi=WIFI)
    code, lines, err = dry_run(capsys, "heltec-wifi-lora-32-v3", cfg)
    assert code == 0, err
    assert lines[0] == (
        "devauth deploy: heltec-wifi-lora-32-v3 (esp32s3, mpy-cross -march=xtensawin) on "
        "/dev/ttyUSB0"
    )
    stage = os.path.join(deploy.STAGE, "heltec-wifi-lora-32-v3")
    assert steps(lines) == [
        "mip install ssd1306",
        "rm -r :devauth",
        "cp -r %s/devauth :" % stage,
        "cp %s/main.py :main.py" % stage,
        "cp %s/board.json :board.json" % stage,
        "cp %s/devauth.json :devauth.json" % stage,
        "cp -r %s/certs :" % stage,
        "exec 'import main; main.main([])'",
    ]
    assert WIFI["password"] not in "\n".join(lines)


def test_the_tree_is_compiled_for_the_boards_architecture(capsys, tmp_path, pki, monkeypatch):
    cfg = write_config(tmp_path, "https://as.example.com", pki, wifi=WIFI)
    compiled = []
    real = deploy.runner.compile_firmware

    def compile_firmware(out, march=None, source=None):
        compiled.append(march)
        return real(out, march=march, source=source)

    monkeypatch.setattr(deploy.runner, "compile_firmware", compile_firmware)
    boards = ("esp32-devkitc", "heltec-wifi-kit-32-v3", "esp32c3-oled-042", "pico-w-ssd1306")
    for board in boards:
        stage = stage_for(tmp_path, board, cfg)
        assert os.path.exists(os.path.join(stage, "main.py"))  # main.py stays source
        lib = os.path.join(stage, "devauth")
        names = sorted(
            os.path.relpath(os.path.join(d, n), lib) for d, _, fs in os.walk(lib) for n in fs
        )
        assert "board/glue.mpy" in names and all(n.endswith(".mpy") for n in names)
        with open(os.path.join(lib, "board", "glue.mpy"), "rb") as f:
            assert f.read(2) == b"M\x06"  # mpy v6: what MicroPython >= 1.23 loads
        assert json.load(open(os.path.join(stage, "board.json")))["name"] == board
    assert compiled == ["xtensawin", "xtensawin", "rv32imc", "armv6m"]


def test_config_files_become_der_and_keys_are_rewritten(capsys, tmp_path, pki):
    cfg = write_config(
        tmp_path,
        "https://as.example.com",
        pki,
        "tls_client_auth",
        wifi=WIFI,
        ca_certificates=[pki["ca_pem"], pki["client_ca_pem"]],
    )
    stage = stage_for(tmp_path, "esp32-devkitc", cfg)
    written = os.path.join(stage, "devauth.json")
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600  # it holds secrets
    data = json.load(open(written))
    assert data["ca_certificates"] == ["/certs/ca-0.der", "/certs/ca-1.der"]
    assert data["tls_client_certificate"] == "/certs/client.der"
    assert data["tls_client_key"] == "/certs/client-key.der"
    assert data["board"] == "esp32-devkitc" and data["state_dir"] == "state"
    assert data["wifi"] == WIFI

    def der(name):
        return open(os.path.join(stage, "certs", name), "rb").read()

    ca = x509.load_pem_x509_certificate(open(pki["ca_pem"], "rb").read())
    assert x509.load_der_x509_certificate(der("ca-0.der")) == ca
    client = x509.load_pem_x509_certificate(open(pki["client_pem"], "rb").read())
    assert x509.load_der_x509_certificate(der("client.der")) == client
    key = serialization.load_der_private_key(der("client-key.der"), password=None)
    assert key.public_key().public_numbers() == client.public_key().public_numbers()


def test_the_staged_config_loads_on_the_firmware(capsys, tmp_path, pki):
    cfg = write_config(tmp_path, "https://as.example.com", pki, "tls_client_auth", wifi=WIFI)
    stage = stage_for(tmp_path, "esp32-devkitc", cfg)
    data = json.load(open(os.path.join(stage, "devauth.json")))
    for key in ("tls_client_certificate", "tls_client_key"):
        data[key] = data[key].lstrip("/")  # the board's / is the stage here
    data["ca_certificates"] = [n.lstrip("/") for n in data["ca_certificates"]]
    c = deploy.firmware_module("config").from_dict(data, stage + "/")
    assert c.token_endpoint_auth_method == "tls_client_auth" and len(c.ca_certificates) == 1


def test_api_ca_certificates_are_staged_per_host_and_load_on_the_firmware(capsys, tmp_path, pki):
    api = {"api.example.com": pki["ca_pem"], "localhost:8443": [pki["client_ca_pem"]]}
    cfg = write_config(tmp_path, "https://as.example.com", pki, wifi=WIFI, api_ca_certificates=api)
    stage = stage_for(tmp_path, "esp32-devkitc", cfg)
    data = json.load(open(os.path.join(stage, "devauth.json")))
    assert data["api_ca_certificates"] == {
        "api.example.com": ["/certs/api-ca-0-0.der"],
        "localhost:8443": ["/certs/api-ca-1-0.der"],
    }
    data["ca_certificates"] = [n.lstrip("/") for n in data["ca_certificates"]]
    data["api_ca_certificates"] = {
        h: [n.lstrip("/") for n in names] for h, names in data["api_ca_certificates"].items()
    }
    c = deploy.firmware_module("config").from_dict(data, stage + "/")
    ca = x509.load_pem_x509_certificate(open(pki["ca_pem"], "rb").read())
    der = c.api_ca_certificates["api.example.com"][0]
    assert x509.load_der_x509_certificate(der) == ca


def test_urequests_transport_installs_urequests(capsys, tmp_path, pki):
    cfg = write_config(
        tmp_path,
        "https://as.example.com",
        pki,
        "client_secret_post",
        wifi=WIFI,
        http_client="urequests",
        urequests_send_secrets_unverified=True,
    )
    code, lines, err = dry_run(capsys, "ttgo-lora32-v1", cfg)
    assert code == 0, err
    assert steps(lines)[:2] == ["mip install ssd1306", "mip install urequests"]


def test_mistakes_stop_before_the_board_is_touched(capsys, tmp_path, pki):
    cfg = write_config(tmp_path, "https://as.example.com", pki, wifi=WIFI)
    code, lines, err = dry_run(capsys, "esp8266-nodemcu", cfg)  # no such board
    assert code == 2 and lines == [] and err.startswith("devauth deploy: no board profile esp8266")
    bad = json.load(open(os.path.join(deploy.runner.REPO, "boards", "lolin32-oled.json")))
    bad["display"]["scl"] = 7
    path = os.path.join(str(tmp_path), "bad.json")
    json.dump(bad, open(path, "w"))
    code, lines, err = dry_run(capsys, path, cfg)
    assert code == 2 and err.strip() == (
        "devauth deploy: Board error: bad.json: display.scl GPIO 7 cannot be used on esp32 "
        "(missing, flash or console)"
    )
    broken = write_config(tmp_path, "https://as.example.com", pki, client_id=None)
    code, lines, err = dry_run(capsys, "lolin32-oled", broken)
    assert code == 2 and err.strip() == "devauth deploy: Config error: client_id is missing"


def test_a_config_without_wifi_gets_a_note(capsys, tmp_path, pki):
    cfg = write_config(tmp_path, "https://as.example.com", pki)
    code, lines, _ = dry_run(capsys, "lolin32-oled", cfg)
    assert code == 0
    assert any('note: the config has no "wifi"' in line for line in lines)


def test_package_json_lists_the_library_for_mip():
    """`mpremote mip install github:OWNER/REPO` reads package.json; its URLs are relative."""
    root = deploy.runner.REPO
    pkg = json.load(open(os.path.join(root, "package.json")))
    fw = os.path.join(root, "firmware")
    library = sorted(
        os.path.relpath(os.path.join(d, n), fw)
        for d, _, files in os.walk(os.path.join(fw, "devauth"))
        for n in files
        # the unix port's terminal mirror stays off boards
        if n.endswith(".py") and n != "termdisplay.py"
    )
    assert [dest for dest, _ in pkg["urls"]] == library
    for dest, url in pkg["urls"]:
        assert url == "firmware/" + dest and os.path.exists(os.path.join(root, url))
    assert pkg["deps"] == [["ssd1306", "latest"]]
    init = open(os.path.join(root, "firmware", "devauth", "__init__.py")).read()
    assert 'VERSION = "%s"' % pkg["version"] in init


def test_a_dry_run_leaves_no_file_behind(capsys, tmp_path, pki, monkeypatch):
    """The private keys it converts to DER exist only while it runs."""
    monkeypatch.setattr(deploy, "STAGE", str(tmp_path / "build-deploy"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(deploy.tempfile, "tempdir", str(scratch))
    cfg = write_config(
        tmp_path, "https://as.example.com", pki, "private_key_jwt", wifi=WIFI, client_id="a:b+c"
    )
    code, lines, err = dry_run(capsys, "esp32-devkitc", cfg)
    assert code == 0, err
    assert "cp -r %s/certs :" % os.path.join(deploy.STAGE, "esp32-devkitc") in steps(lines)
    assert not os.path.exists(deploy.STAGE) and os.listdir(str(scratch)) == []


def test_a_real_stage_keeps_keys_and_secrets_for_its_owner_only(tmp_path, pki):
    cfg = write_config(tmp_path, "https://as.example.com", pki, "tls_client_auth", wifi=WIFI)
    old = os.umask(0o022)
    try:
        stage = stage_for(tmp_path, "esp32-devkitc", cfg)
        # staged again over a planted link: the link goes, its target is untouched
        victim = tmp_path / "victim"
        victim.write_text("untouched")
        os.remove(os.path.join(stage, "certs", "client-key.der"))
        os.symlink(str(victim), os.path.join(stage, "certs", "client-key.der"))
        deploy.device_config(cfg, {"name": "esp32-devkitc", "chip": "esp32"}, stage)
    finally:
        os.umask(old)
    assert victim.read_text() == "untouched"

    def mode(*parts):
        return stat.S_IMODE(os.lstat(os.path.join(stage, *parts)).st_mode)

    assert mode() == 0o700 and mode("certs") == 0o700 and mode("devauth.json") == 0o600
    for name in os.listdir(os.path.join(stage, "certs")):
        assert mode("certs", name) == 0o600, name
    assert sorted(os.listdir(os.path.join(stage, "certs"))) == [
        "ca-0.der",
        "client-key.der",
        "client.der",
    ]
