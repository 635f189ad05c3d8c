"""A short soak: 20 consecutive sign-ins in one firmware process on the unix port, with the heap
at the smallest a sign-in needs plus 25% (`devauth_tools.soak`; `make bench` runs 200). Every
sign-in succeeds and `gc.mem_alloc()` after each returns to the same level: nothing leaks."""

from devauth_tools import soak
from e2e import compiled_firmware

COUNT = 20


def test_twenty_sign_ins_in_one_process_leak_nothing(capsys):
    r = soak.measure(count=COUNT, fw=compiled_firmware())
    with capsys.disabled():
        print("\nsoak: " + soak.summary(r) + " in %.0f s" % r["seconds"])
    assert not r["traceback"], r.get("output")
    assert r["rounds"] == COUNT and r["succeeded"] == COUNT, r
    assert r["tokens_issued"] == COUNT and r["tls_handshakes"] == COUNT, r
    assert not r["leak"], r  # the level after each sign-in stays within 256 bytes
    assert r["growth"] <= soak.LEAK_TOLERANCE, r
    assert r["process_exit"] == 0, r
