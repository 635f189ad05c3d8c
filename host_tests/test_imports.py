"""The firmware's import graph: no cycle, and every dependency points down the layers.

Every `import` and `from ... import` in firmware/ is read with `ast`, those inside functions
too (the firmware imports most of its modules late, to keep them off the heap until needed).
The layers, from the bottom (devauth/__init__.py's docstring tells the same story):

    devauth, errors, clock, observer   what everything shares
    net/, jose/, providers             HTTPS and URLs; JWT and the crypto under it; presets
    oauth/, config, oled/              RFC 8628 and tokens; the config; console and screen
    app                                config -> transport -> session
    board/                             the board glue and its start-up
    entry, then main.py                the entry point

A module may import its own concern (folder) and anything in a lower layer; never a concern of
its own layer or above. A new top-level module has to be placed in LAYERS first.
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")

LAYERS = (
    ("devauth", "devauth.errors", "devauth.clock", "devauth.observer"),
    ("devauth.net", "devauth.jose", "devauth.providers"),
    ("devauth.oauth", "devauth.config", "devauth.oled"),
    ("devauth.app",),
    ("devauth.aio",),  # the asyncio API: beside app.run, over the same core
    ("devauth.board",),
    ("devauth.entry",),
    ("main",),
)
# (importer, imported): rules the layers imply, spelled out because they matter most.
FORBIDDEN = (
    ("devauth.oauth", "devauth.oled"),  # the flow talks to an Observer, never to the screen
    ("devauth.oauth", "devauth.board"),
    ("devauth.net", "devauth.oauth"),
    ("devauth.config", "devauth.net.http"),  # splitting a URL must not load the HTTPS client
)


def modules():
    """{dotted name: path} of every firmware module (a package is its __init__.py)."""
    found = {}
    for folder, _dirs, files in os.walk(FIRMWARE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            if path == os.path.join(FIRMWARE, "manifest.py"):  # the freeze manifest (make mp32)
                continue
            rel = os.path.relpath(path, FIRMWARE)[:-3].replace(os.sep, ".")
            if rel.endswith(".__init__"):
                rel = rel[: -len(".__init__")]
            found[rel] = path
    return found


def imports_of(path, known):
    """The firmware modules the file at `path` imports, anywhere in it."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "%s: relative import" % path
            base = node.module or ""
            # `from devauth.oled import font` imports the module devauth.oled.font;
            # `from devauth import unload` imports devauth (its __init__).
            names = [
                base + "." + a.name if base + "." + a.name in known else base for a in node.names
            ]
        else:
            continue
        out.update(n for n in names if n in known)
    return out


def graph():
    known = modules()
    return {name: imports_of(path, known) for name, path in known.items()}


def find_cycle(g):
    """One import cycle as a list of modules (first == last), or None."""
    state = {}  # name -> 1 while on the DFS path, 2 when done
    path = []

    def visit(n):
        state[n] = 1
        path.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m) :] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def concern(name):
    """(layer index, the LAYERS entry `name` belongs to): the longest entry it starts with."""
    best = None
    for i, layer in enumerate(LAYERS):
        for c in layer:
            if (name == c or name.startswith(c + ".")) and (best is None or len(c) > len(best[1])):
                best = (i, c)
    assert best is not None, "%s is in no layer: add it to LAYERS" % name
    return best


def under(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def wrong_way(g):
    """Every import that points up or sideways, or that FORBIDDEN names, as one line each."""
    bad = []
    for a in sorted(g):
        la, ca = concern(a)
        for b in sorted(g[a]):
            lb, cb = concern(b)
            if ca != cb and lb >= la:
                bad.append("%s imports %s (layer %d -> %d)" % (a, b, la, lb))
            for x, y in FORBIDDEN:
                if under(a, x) and under(b, y):
                    bad.append("%s imports %s (%s never imports %s)" % (a, b, x, y))
    return bad


def test_the_firmware_has_no_import_cycle():
    g = graph()
    assert len(g) >= 30 and "devauth.oled.layout" in g["devauth.oled.screen"]  # late imports seen
    cycle = find_cycle(g)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_dependencies_point_down_the_layers():
    assert wrong_way(graph()) == []


def test_the_checks_catch_a_cycle_and_an_upward_import():
    g = graph()
    g["devauth.oled.layout"] = g["devauth.oled.layout"] | {"devauth.oled.screen"}
    cycle = find_cycle(g)
    assert cycle and cycle[0] == cycle[-1]
    assert set(cycle) == {"devauth.oled.layout", "devauth.oled.screen"}
    g["devauth.oauth.flow"] = g["devauth.oauth.flow"] | {"devauth.oled.ui"}
    g["devauth.config"] = g["devauth.config"] | {"devauth.net.http"}
    assert wrong_way(g) == [
        "devauth.config imports devauth.net.http (devauth.config never imports devauth.net.http)",
        "devauth.oauth.flow imports devauth.oled.ui (layer 2 -> 2)",
        "devauth.oauth.flow imports devauth.oled.ui (devauth.oauth never imports devauth.oled)",
    ]
