"""The dev authorization server's modules depend one way (constants <- clients <- store <- grants,
api <- pages, server, quirks <- devas <- cli): a module imports only from those below it, so no
cycle."""

import ast
import os

from devauth_tools import dev_as

PACKAGE = os.path.dirname(dev_as.__file__)
LAYERS = {
    "constants": 0,
    "clients": 1,
    "store": 2,
    "grants": 3,
    "api": 3,
    "pages": 4,
    "server": 4,
    "quirks": 4,
    "devas": 5,
    "cli": 6,
}


def _imports(name):
    with open(os.path.join(PACKAGE, name + ".py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("devauth_tools.dev_as."):
                yield node.module.rsplit(".", 1)[1]
            elif node.module == "devauth_tools.dev_as" or node.level:
                yield "devauth_tools.dev_as (the package itself)"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("devauth_tools.dev_as"):
                    yield alias.name


def test_every_module_has_a_layer():
    modules = {f[:-3] for f in os.listdir(PACKAGE) if f.endswith(".py")}
    assert modules - {"__init__", "__main__"} == set(LAYERS)


def test_modules_import_only_from_lower_layers():
    for name, rank in LAYERS.items():
        for dep in _imports(name):
            assert LAYERS.get(dep, rank) < rank, "%s imports %s" % (name, dep)
