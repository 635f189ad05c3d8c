"""`devauth deploy`: from a clone to a board that signs in, in one command.

    devauth deploy --port /dev/ttyUSB0 --board heltec-wifi-kit-32 --config devauth.json

1. The board profile (boards/NAME.json) and the device config are checked with the firmware's own
   code (devauth.board.profile, devauth.config): a mistake stops here, with the board untouched.
2. firmware/ is precompiled with mpy-cross for the board's architecture (-march=xtensawin for
   ESP32 and ESP32-S3, rv32imc for ESP32-C3, armv6m for the Pico W) into build/deploy/NAME.
3. Certificates and keys the config names become DER files under certs/ (mbedTLS reads DER), and
   the copied config names them there; state_dir becomes `state` and board the profile's name.
4. mpremote: the display driver (and urequests when http_client selects it) with `mip install`,
   the old library removed (a stale .py would shadow its .mpy), the new one, main.py,
   /board.json, /devauth.json and /certs copied; then a soft reset that runs main.py with the
   console streamed (Ctrl-] leaves it; the board keeps running).

`--dry-run` prints every mpremote command and runs none: no board is needed. It stages into a
temporary directory removed before it returns (the commands name build/deploy/NAME, where a
real deploy stages), so the keys it converts outlive it nowhere. A real deploy keeps the stage:
0700 directories, the config and every file under certs/ 0600.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

from devauth_tools import runner
from devauth_tools.files import private_dir, write_file

STAGE = os.path.join(runner.REPO, "build", "deploy")


class DeployError(Exception):
    """One line for the user: what is wrong and what to do."""


def firmware_module(name):
    """A module of the firmware (devauth.NAME), imported from firmware/ on this Python."""
    fw = runner.firmware_dir()
    if fw not in sys.path:
        sys.path.insert(0, fw)
    __import__("devauth." + name)
    return sys.modules["devauth." + name]


def board_path(board):
    """A profile name (boards/NAME.json) or a path to one -> its path."""
    if board.endswith(".json") or os.sep in board:
        return board
    return os.path.join(runner.REPO, "boards", board + ".json")


def load_board(board):
    """-> (path, checked profile dict); DeployError with the firmware's one-line message."""
    path = board_path(board)
    profile = firmware_module("board.profile")
    if not os.path.exists(path):
        boards = os.listdir(os.path.join(runner.REPO, "boards"))
        names = sorted(n[:-5] for n in boards if n.endswith(".json"))
        raise DeployError("no board profile %s (boards: %s)" % (board, ", ".join(names)))
    try:
        return path, profile.load(path)
    except profile.BoardError as e:
        raise DeployError("%s: %s" % (e.short, e)) from None


def mpremote():
    here = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return here if os.path.exists(here) else (shutil.which("mpremote") or "mpremote")


# -- certificates as DER -------------------------------------------------------------------------


def certificates(path, key):
    """The certificates in `path` (PEM, one or several, or DER) -> [DER]; DeployError naming
    `key` when it holds none."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    data = open(path, "rb").read()
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise DeployError("%s: %s is not a PEM or DER certificate" % (key, path)) from None
    return [c.public_bytes(Encoding.DER) for c in certs]


def _private_key(path, key):
    from cryptography.hazmat.primitives import serialization as s

    data = open(path, "rb").read()
    try:
        load = s.load_pem_private_key if b"-----BEGIN" in data else s.load_der_private_key
        k = load(data, password=None)
    except TypeError:
        raise DeployError(
            "%s: %s is encrypted; the board needs it unencrypted" % (key, path)
        ) from None
    except ValueError:
        raise DeployError("%s: %s is not a PEM or DER private key" % (key, path)) from None
    return k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption())


def device_config(config_path, profile, stage):
    """Write stage/devauth.json and stage/certs/*.der for the board -> [notes for the user]."""
    try:
        data = json.load(open(config_path))
    except (OSError, ValueError) as e:
        raise DeployError("cannot read %s (%s)" % (config_path, e)) from None
    if not isinstance(data, dict):
        raise DeployError("%s must hold a JSON object" % config_path)
    config = firmware_module("config")
    try:  # everything the board would check at start, checked here first
        cfg = config.load(config_path)
    except config.ConfigError as e:
        raise DeployError("%s: %s" % (e.short, e)) from None
    base = os.path.dirname(os.path.abspath(config_path))
    certs = private_dir(os.path.join(stage, "certs"))
    notes = []

    def place(name, der):  # keys among them: every file here is 0600
        write_file(os.path.join(certs, name), der)
        return "/certs/" + name

    def local(name):
        return name if os.path.isabs(name) else os.path.join(base, name)

    cas = data.get("ca_certificates")
    if cas is not None:
        out = []
        for name in [cas] if isinstance(cas, str) else cas:
            for der in certificates(local(name), "ca_certificates"):
                out.append(place("ca-%d.der" % len(out), der))
        data["ca_certificates"] = out
    if data.get("api_ca_certificates") is not None:
        data["api_ca_certificates"] = _api_cas(data["api_ca_certificates"], local, place)
    if data.get("tls_client_certificate"):
        leaf = certificates(local(data["tls_client_certificate"]), "tls_client_certificate")[0]
        data["tls_client_certificate"] = place("client.der", leaf)
        key = _private_key(local(data["tls_client_key"]), "tls_client_key")
        data["tls_client_key"] = place("client-key.der", key)
    if data.get("private_key"):
        data["private_key"] = place(
            "jwt-key.der", _private_key(local(data["private_key"]), "private_key")
        )
    state = data.get("state_dir", "state")
    if os.path.isabs(state):
        notes.append("state_dir %s is a path on this computer: the board uses /state" % state)
        data["state_dir"] = "state"
    data["board"] = profile["name"]
    if profile["chip"] != "unix" and not data.get("wifi"):
        notes.append('the config has no "wifi": {"ssid": ..., "password": ...}; the board needs it')
    path = os.path.join(stage, "devauth.json")  # secrets inside: readable by its owner only
    write_file(path, json.dumps(data, indent=2))
    return notes, cfg


def _api_cas(api, local, place):
    """api_ca_certificates (a file or list for every API host, or {host: file or list}) with
    each file's certificates staged as DER -> the same shape, naming the staged files."""
    hosts = api if isinstance(api, dict) else {"*": api}
    out = {}
    for n, (host, names) in enumerate(sorted(hosts.items())):
        ders = []
        for name in [names] if isinstance(names, str) else names:
            for der in certificates(local(name), "api_ca_certificates"):
                ders.append(place("api-ca-%d-%d.der" % (n, len(ders)), der))
        out[host] = ders
    return out if isinstance(api, dict) else out["*"]


# -- the steps -------------------------------------------------------------------------------------


def plan(port, board, config_path, stage=None):
    """Stage everything for the board -> (steps, notes). Each step is an mpremote argv."""
    path, profile = load_board(board)
    march = profile["march"]
    stage = stage or os.path.join(STAGE, profile["name"])
    if os.path.isdir(stage) and not os.path.islink(stage):
        shutil.rmtree(stage)
    private_dir(stage)
    runner.compile_firmware(stage, march=march)
    shutil.copy(path, os.path.join(stage, "board.json"))
    notes, cfg = device_config(config_path, profile, stage)
    mp = [mpremote(), "connect", port]
    steps = []
    driver = profile["display"]["driver"]
    if driver == "ssd1306":
        steps.append(mp + ["mip", "install", "ssd1306"])
    elif driver == "adafruit_ssd1306":
        notes.append("display driver adafruit_ssd1306: copy Adafruit's library to /lib yourself")
    if cfg.http_client == "urequests":
        steps.append(mp + ["mip", "install", "urequests"])
    steps.append(mp + ["rm", "-r", ":devauth"])  # may be absent: its failure is ignored
    steps.append(mp + ["cp", "-r", os.path.join(stage, "devauth"), ":"])
    steps.append(mp + ["cp", os.path.join(stage, "main.py"), ":main.py"])
    steps.append(mp + ["cp", os.path.join(stage, "board.json"), ":board.json"])
    steps.append(mp + ["cp", os.path.join(stage, "devauth.json"), ":devauth.json"])
    if os.listdir(os.path.join(stage, "certs")):
        steps.append(mp + ["cp", "-r", os.path.join(stage, "certs"), ":"])
    # mpremote soft-resets before its first command; main.main([]) is what main.py runs at boot.
    steps.append(mp + ["exec", "import main; main.main([])"])
    return steps, notes, profile


def main(args):
    if not args.dry_run:
        return _deploy(args, None)
    scratch = tempfile.mkdtemp(prefix="devauth-deploy-")  # 0700; gone when this returns
    try:
        return _deploy(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _deploy(args, scratch):
    """Stage (in `scratch` for a dry run), then run or print each step -> exit code."""
    try:
        path, profile = load_board(args.board)
        real = os.path.join(STAGE, profile["name"])
        stage = os.path.join(scratch, profile["name"]) if scratch else real
        steps, notes, profile = plan(args.port, path, args.config, stage)
    except DeployError as e:
        print("devauth deploy: %s" % e, file=sys.stderr)
        return 2
    if scratch:  # print what a real deploy runs: its files are staged in build/deploy/NAME
        steps = [[real + a[len(stage) :] if a.startswith(stage) else a for a in s] for s in steps]
    print(
        "devauth deploy: %s (%s, mpy-cross -march=%s) on %s"
        % (profile["name"], profile["chip"], profile["march"], args.port)
    )
    for note in notes:
        print("devauth deploy: note: %s" % note)
    if args.no_console:
        steps = steps[:-1]
    for i, step in enumerate(steps):
        line = " ".join(shlex.quote(a) for a in step)
        print(("would run: " if args.dry_run else "$ ") + line, flush=True)
        if args.dry_run:
            continue
        last = i == len(steps) - 1 and not args.no_console
        if last:
            print("devauth deploy: the board's console follows (Ctrl-] to leave)", flush=True)
            try:
                return subprocess.call(step)
            except KeyboardInterrupt:
                return 0
        proc = subprocess.run(step)
        if proc.returncode != 0 and step[3:5] != ["rm", "-r"]:
            print("devauth deploy: step failed (exit %d): %s" % (proc.returncode, line))
            return 1
    return 0


def add_parser(sub):
    d = sub.add_parser("deploy", help="precompile, copy and start the firmware on a board")
    d.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB0")
    d.add_argument("--board", required=True, help="a profile in boards/ (or a path to one)")
    d.add_argument("--config", required=True, help="the device config JSON (devauth.json)")
    d.add_argument("--dry-run", action="store_true", help="print the mpremote steps only")
    d.add_argument("--no-console", action="store_true", help="do not start it and stream")
    d.set_defaults(fn=main)
