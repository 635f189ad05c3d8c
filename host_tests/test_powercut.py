"""A power cut while tokens are being saved never leaves a broken token file: the firmware's
token store is killed (SIGKILL) at random moments on the MicroPython unix port, hundreds of
times, and every time the next start finds valid tokens, the old or the new."""

import os
import random
import signal
import subprocess
import time

from devauth_tools import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRITER = """
import sys
sys.path.insert(0, %r)
from devauth.oauth import tokens
state = sys.argv[1]
n = int(sys.argv[2])
first = n + 1
while True:
    n += 1
    rec = {"access_token": "AT-%%d" %% n, "token_type": "Bearer", "refresh_token": "R" * 900,
           "expires_at": n, "scope": "openid profile"}
    tokens.write(state, tokens.TOKEN, rec)
    if n == first:
        print("ready")  # one write done: the kill falls on a later one, however busy the host
"""
READER = """
import sys
sys.path.insert(0, %r)
from devauth.oauth import tokens
rec = tokens.load_token(sys.argv[1])
print(rec["access_token"] if rec else "NONE")
"""


def test_killed_at_random_moments_the_store_always_holds_old_or_new_tokens(tmp_path):
    fw = os.path.join(ROOT, "firmware")
    writer, reader = tmp_path / "w.py", tmp_path / "r.py"
    writer.write_text(WRITER % fw)
    reader.write_text(READER % fw)
    state = str(tmp_path / "state")
    mp = runner.micropython()
    rng = random.Random(8628)
    # The first tokens, saved whole: from here on there is always an old or a new file.
    seed = "import sys; sys.path.insert(0, %r)\nfrom devauth.oauth import tokens\n" % fw
    seed += "tokens.write(%r, tokens.TOKEN, {'access_token': 'AT-0'})\n" % state
    subprocess.run([mp, "-c", seed], check=True)
    last = 0
    kills = 0
    for _ in range(300):
        p = subprocess.Popen([mp, str(writer), state, str(last)], stdout=subprocess.PIPE)
        p.stdout.readline()  # the writer has saved once and is writing again
        time.sleep(rng.uniform(0, 0.004))
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
        out = subprocess.run([mp, str(reader), state], capture_output=True, text=True).stdout
        assert out.startswith("AT-"), "after kill %d the store held %r" % (kills, out)
        n = int(out.strip()[3:])
        assert n >= last, "tokens went backwards: %d after %d" % (n, last)
        last = n
        assert not any(name.endswith(".corrupt") for name in os.listdir(state))
    # Every run saved at least once before its kill, so the store moved on in every run: the
    # kills fell while the writer was overwriting the file (its loop does nothing else).
    assert last >= 300
