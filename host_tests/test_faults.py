"""The fault matrix: each network fault at each step of a sign-in, end to end.

The precompiled firmware runs on the unix port (`--once`, the default 100 KB heap) against
`devauth dev-as` through `faultproxy.FaultProxy`, which injects one fault at one step:

- steps: the device authorization request, the first and second poll (authorization_pending),
  the poll that carries the token (the dev server approves just before it), and the refresh of
  a stored token (a second run, the access token due for refresh);
- faults: a refused connection, a TCP reset in the TLS handshake, a reset after 10 bytes of the
  reply, a stalled link, 1 byte per second, a reply truncated by a FIN, a close between
  keep-alive requests, a corrupted TLS record, a server certificate for another host.

Each cell has an expected outcome: recovered in the same run (a retry within the deadline or a
transparent reconnect), or a clear one-line error with its exit code, after which the next run
signs in without losing anything (it resumes the same code, refreshes, or shows a new code when
the server had already spent the old one). No cell may print a traceback. The matrix is printed
and written to build/fault-matrix.md. The cells run four at a time (each has its own dev server,
proxy and firmware process, mostly asleep between polls): about a minute in all.
"""

import concurrent.futures
import os
import re
import shutil
import ssl
import time

import pytest
from devauth_tools import runner
from devauth_tools.dev_as import DevAS
from devauth_tools.testca import load_or_make_pki
from e2e import ROOT, Run, compiled_firmware, write_config
from faultproxy import FaultProxy, Policy

HEAP = runner.DEFAULT_HEAP  # what `devauth run` gives the firmware: about a stock ESP32-WROOM
TIMEOUT = 2  # the firmware's connect/read timeout (config `timeout`): stalls end quickly
REFUSE_FIRST = 1.5  # s without a listener before the first request (its retry comes at +2 s)
REFUSE_LATER = 2.0  # s without a listener from a reply on (the next poll comes at +1 s)
WORKERS = 4

FAULTS = {
    "refuse": "connection refused",
    "handshake_reset": "TCP reset in the TLS handshake",
    "reset": "TCP reset after 10 bytes of the reply",
    "stall": "stalled link (request lost, silence)",
    "drip": "1 byte per second (first 3 bytes): past the 2 s request deadline",
    "truncate": "reply truncated mid-record (FIN)",
    "close": "close between keep-alive requests",
    "corrupt": "corrupted TLS record (bad MAC)",
    "wrong_host": "certificate for another host",
}
STEPS = {  # column -> (exchange label, poll number)
    "device authorization": ("device_authorization", None),
    "poll 1": ("poll", 1),
    "poll 2": ("poll", 2),
    "token poll": ("token", None),
    "refresh": ("refresh", None),
}
REPLY_FAULTS = {
    "reset": ("reset", 10),
    "truncate": ("truncate",),
    "corrupt": ("corrupt",),
    "drip": ("drip", 3, 1.0),
}
CONNECTION_FAULTS = ("refuse", "close", "handshake_reset", "wrong_host")

# Expected outcomes. "ok": signed in within the same run. Otherwise (exit code, the start of the
# console line, what the next run does): "resumed" the same code, "new code", "refreshed".
TLS_WRONG_HOST = "TLS cert not trusted: server certificate for localhost rejected"
SPENT = "Sign-in failed: token endpoint: invalid_request"  # the server issued the token already


def expected(fault, step):
    if fault == "close" and step in ("device authorization", "refresh"):
        return None  # nothing was sent before: no keep-alive connection to close
    if fault == "wrong_host":
        after = {"device authorization": "new code", "refresh": "refreshed"}.get(step, "resumed")
        return (1, TLS_WRONG_HOST, after)
    if step == "token poll" and fault in ("reset", "truncate", "corrupt", "drip"):
        # the token reply is lost (a drip is abandoned at the request deadline, as a board must
        # before its watchdog fires) and the device code spent
        return (1, SPENT, "new code")
    # A failed refresh is retried within the run. If the request had reached the server, the
    # refresh token was rotated and the reply lost: the retry meets invalid_grant and the device
    # signs in again with a new code, still within the run.
    return "ok"


class MatrixPolicy(Policy):
    """Injects `fault` once at `step`, and approves the code as a person would, so that the
    steps line up: the first poll after approval carries the token."""

    def __init__(self, srv, fault, step):
        self.srv = srv
        self.fault = fault
        self.target = STEPS[step]
        self.fired = False
        self.armed = False
        self.new_run("device_authorization", armed=False)

    def new_run(self, first, armed):
        self.first = first
        self.armed = armed
        self.labels = []  # this run's exchanges: predicted, then what the dev server counted
        self.approved = False
        self.stats = self.srv.stats()
        self.pending_connection_fault = None
        if armed and self.target[0] == first and self.fault in ("handshake_reset", "wrong_host"):
            self.pending_connection_fault = self.fault

    # -- where the sign-in is ------------------------------------------------------------

    def predict(self):
        """(label, poll number) of the next exchange."""
        last = self.labels[-1] if self.labels else None
        polls = self.labels.count("poll")
        if last is None:
            label = self.first
        elif last in ("device_authorization", "poll"):
            label = "token" if self.approved else "poll"
        else:
            label = "device_authorization"  # after a refresh that failed: a new sign-in
        return label, (polls + 1 if label == "poll" else None)

    def classify(self, ex):
        """What the dev server counted for the request whose reply just arrived."""
        s = self.srv.stats()
        d = {k: s[k] - self.stats[k] for k in s if isinstance(s[k], int)}
        self.stats = s
        if d["device_authorizations"]:
            label = "device_authorization"
        elif d["refreshes"] or (d["token_requests"] and ex.label == "refresh"):
            label = "refresh"
        elif d["tokens_issued"]:
            label = "token"
        elif d["token_requests"]:
            label = "poll"
        else:
            label = ex.label
        self.labels[-1] = label
        return label

    def _due(self, label, n):
        if not self.armed or self.fired:
            return False
        return label == self.target[0] and (self.target[1] is None or n == self.target[1])

    # -- the proxy's questions -----------------------------------------------------------

    def on_connection(self, proxy, conn):
        kind, self.pending_connection_fault = self.pending_connection_fault, None
        if kind is None:
            return None
        self.fired = True
        return ("wrong_host",) if kind == "wrong_host" else ("handshake_reset", 100)

    def on_request(self, proxy, ex):
        ex.label, ex.n = self.predict()
        self.labels.append(ex.label)
        if self.fault == "stall" and self._due(ex.label, ex.n):
            self.fired = True
            return ("stall",)
        return None

    def on_reply(self, proxy, ex):
        if self.fault in REPLY_FAULTS and self._due(ex.label, ex.n):
            self.fired = True
            return REPLY_FAULTS[self.fault]
        return None

    def after_reply(self, proxy, ex):
        if ex.label == "poll" and ex.fault is None and not self.approved:
            if not self.armed or self.fired or self.target[0] == "token":
                codes = self.srv.pending_user_codes()
                if codes:
                    self.srv.approve(codes[-1])  # the newest: the one on screen
                    self.approved = True
        if self.fault in CONNECTION_FAULTS and self._due(*self.predict()):
            self.fired = True
            if self.fault == "refuse":
                return ("refuse", REFUSE_LATER)
            if self.fault != "close":
                self.pending_connection_fault = self.fault
                self.fired = False  # fired when the next connection comes in
            return ("close",)
        return None


def _run(cfg):
    proc = runner.run_firmware(
        cfg, once=True, heap=HEAP, stats=True, timeout=90, firmware=compiled_firmware()
    )
    return Run(proc)


def _shown_code(run):
    for line in run.lines:
        if line.startswith("To sign in"):
            return line.rsplit(" ", 1)[1]
    return None


def _wrong_host_server(directory):
    """A server TLS context for `wrong-host.example` and the DER of its CA (trusted too)."""
    import trustme

    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("wrong-host.example").configure_cert(ctx)
    der = os.path.join(directory, "wrong-ca.der")
    with open(der, "wb") as f:
        f.write(ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()))
    return ctx, der


def run_cell(fault, step, base, pki_dir):
    """One cell of the matrix -> a dict of what happened."""
    os.makedirs(base)
    as_dir = os.path.join(base, "as")
    shutil.copytree(pki_dir, as_dir)
    cell = {"fault": fault, "step": step, "expected": expected(fault, step)}
    cell["setup"] = cell["next"] = None
    started = time.monotonic()
    wrong_ctx, wrong_ca = _wrong_host_server(base)
    lifetime = 30 if step == "refresh" else 3600  # under a minute: due for refresh at once
    with DevAS(
        as_dir, port=0, interval=1, expires_in=60, access_token_lifetime=lifetime, quiet=True
    ) as srv:
        policy = MatrixPolicy(srv, fault, step)
        with FaultProxy(srv.port, policy, policy.classify, wrong_host=wrong_ctx) as proxy:
            cfg = write_config(
                base,
                proxy.base_url,
                srv.pki,
                timeout=TIMEOUT,
                ca_certificates=[srv.pki["ca_der"], wrong_ca],
            )
            first = "device_authorization"
            if step == "refresh":
                cell["setup"] = _run(cfg)  # sign in; the token is then due for refresh
                first = "refresh"
            policy.new_run(first, armed=True)
            if fault == "refuse" and STEPS[step][0] == first:
                policy.fired = True
                proxy.refuse(REFUSE_FIRST)
            cell["run"] = _run(cfg)
            cell["fired"] = policy.fired
            if cell["run"].code != 0:  # the next start (a board retries the same way)
                assert proxy.wait_listening(), "the proxy did not listen again"
                policy.new_run(first, armed=False)
                before = srv.stats()
                cell["next"] = _run(cfg)
                after = srv.stats()
                cell["next_new_codes"] = (
                    after["device_authorizations"] - before["device_authorizations"]
                )
            cell["impostor_bytes"] = proxy.impostor_bytes
            cell["proxy_events"] = list(proxy.events)
            cell["proxy_errors"] = list(proxy.errors)
    runs = [r for r in (cell["setup"], cell["run"], cell["next"]) if r is not None]
    cell["tracebacks"] = sum(("Traceback" in r.out + r.err) for r in runs)
    cell["seconds"] = round(time.monotonic() - started, 1)
    cell["actual"] = describe(cell)
    return cell


def describe(cell):
    """The outcome in the table's words."""
    run, nxt = cell["run"], cell["next"]
    if run.code == 0:
        if any(line.startswith("Waiting") for line in run.lines):
            return "recovered (retry)"
        return "recovered (%s)" % ("reconnect" if run.stats.get("handshakes", 1) > 1 else "as is")
    if nxt.code != 0:
        return "exit %d, then exit %d" % (run.code, nxt.code)
    shown = _shown_code(nxt)
    if shown is None:
        then = "refreshed"
    elif shown == _shown_code(run) and cell["next_new_codes"] == 0:
        then = "resumed"
    else:
        then = "new code"
    return "exit %d, then %s" % (run.code, then)


def check(cell):
    """What is wrong with a cell (empty when it is as expected)."""
    problems = []
    if cell["tracebacks"]:
        problems.append("a traceback was printed")
    if not cell["fired"]:
        problems.append("the fault was never injected")
    if cell["proxy_errors"]:
        problems.append("proxy: %s" % cell["proxy_errors"])
    if cell["impostor_bytes"]:
        problems.append("the wrong-host server received %d bytes" % cell["impostor_bytes"])
    if cell["setup"] is not None and cell["setup"].code != 0:
        problems.append("the first sign-in failed")
    exp, run = cell["expected"], cell["run"]
    if exp == "ok":
        if run.code != 0:
            problems.append("expected a recovery, got %s" % cell["actual"])
        elif cell["fault"] == "close" and "retry" in cell["actual"]:
            problems.append("expected no retry (transparent), got one")
        return problems
    code, line, then = exp
    if run.code != code:
        problems.append("expected exit %d, got %s" % (code, cell["actual"]))
    elif not run.lines[-2].startswith(line):
        problems.append("expected a line starting %r, got %r" % (line, run.lines[-2]))
    if not cell["actual"].endswith("then " + then):
        problems.append("expected the next run to have %s, got %s" % (then, cell["actual"]))
    return problems


CELLS = [(f, s) for f in FAULTS for s in STEPS if expected(f, s) is not None]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    pki_dir = os.path.join(str(base), "pki")
    load_or_make_pki(pki_dir)
    compiled_firmware()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {
            (f, s): pool.submit(run_cell, f, s, os.path.join(str(base), "%s-%s" % (f, s)), pki_dir)
            for f, s in CELLS
        }
        cells = {key: fut.result() for key, fut in futures.items()}
    return cells


def table(cells):
    """The matrix as a Markdown table, and the summary line."""
    lines = [
        "| fault | " + " | ".join(STEPS) + " |",
        "| --- |" + " --- |" * len(STEPS),
    ]
    for f, desc in FAULTS.items():
        row = []
        for s in STEPS:
            cell = cells.get((f, s))
            if cell is None:
                row.append("n/a")
            else:
                text = cell["actual"]
                row.append(text if not check(cell) else "**%s (unexpected)**" % text)
        lines.append("| %s | %s |" % (desc, " | ".join(row)))
    tried = len(cells)
    recovered = sum(c["actual"].startswith("recovered") for c in cells.values())
    clean = sum(c["actual"].startswith("exit") and not check(c) for c in cells.values())
    tracebacks = sum(c["tracebacks"] for c in cells.values())
    unexpected = sum(bool(check(c)) for c in cells.values())
    summary = (
        "faults tried: %d; recovered: %d; failed cleanly: %d; tracebacks: %d; unexpected: %d"
        % (tried, recovered, clean, tracebacks, unexpected)
    )
    return "\n".join(lines), summary


@pytest.mark.parametrize("fault, step", CELLS, ids=["%s-%s" % c for c in CELLS])
def test_fault_at_step(matrix, fault, step):
    cell = matrix[(fault, step)]
    problems = check(cell)
    assert not problems, "%s at %s: %s\n%s\nproxy: %s" % (
        fault,
        step,
        "; ".join(problems),
        "\n---\n".join(repr(r) for r in (cell["setup"], cell["run"], cell["next"]) if r),
        cell["proxy_events"],
    )


def test_matrix_is_printed_and_written(matrix, capsys):
    text, summary = table(matrix)
    path = os.path.join(ROOT, "build", "fault-matrix.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    heading = (
        "# Fault matrix\n\nThe precompiled firmware on the MicroPython unix port (--once, %s heap, "
        "timeout %d s) against `devauth dev-as` through host_tests/faultproxy.py; "
        "`pytest host_tests/test_faults.py` writes this file.\n\n" % (HEAP, TIMEOUT)
    )
    with open(path, "w") as f:
        f.write(heading + text + "\n\n" + summary + "\n")
    with capsys.disabled():
        print("\n\nFault matrix (build/fault-matrix.md)\n" + text + "\n" + summary)
    assert re.search(r"tracebacks: 0;", summary), summary
    assert len(matrix) == len(CELLS)
