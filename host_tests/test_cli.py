"""`devauth`: every subcommand registers itself the same way (`add_parser(sub)` in its module)
and answers `--help`; `devauth dev-as` has every switch of `python -m devauth_tools.dev_as`."""

import argparse
import os
import subprocess
import sys

import pytest
from devauth_tools import cli, dev_as

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SUBCOMMANDS = (
    "run",
    "dev-as",
    "sim",
    "init",
    "check",
    "bench",
    "screens",
    "flash",
    "deploy",
    "provision",
    "doctor",
    "hil",
)


def _help(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--help"])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _subparsers(parser):
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def test_devauth_help_lists_every_subcommand(capsys):
    code, out, _ = _help(capsys)
    assert code == 0
    listed = out.split("{", 1)[1].split("}", 1)[0].split(",")
    assert listed == list(SUBCOMMANDS)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_exits_0(capsys, name):
    code, out, err = _help(capsys, name)
    assert code == 0, err
    assert out.startswith("usage: devauth %s " % name)


def test_every_subcommand_sets_the_function_it_runs():
    for name, parser in _subparsers(cli.build_parser()).items():
        assert callable(parser.get_default("fn")), name


def test_dev_as_subcommand_help_is_the_dev_as_command_line_help(capsys):
    # `devauth dev-as --help` and `python -m devauth_tools.dev_as --help` show the same switches
    _, out, _ = _help(capsys, "dev-as")
    assert out == dev_as.build_parser().format_help()
    for switch in ("--mtls-port", "--access-token-lifetime", "--close-after-response", "--quiet"):
        assert switch in out


def test_dev_as_subcommand_reports_a_bad_combination_as_itself(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["dev-as", "--deny"])
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert err.splitlines()[-1] == "devauth dev-as: error: --deny needs --auto-approve SECONDS"


def test_the_command_line_loads_no_server_library_until_a_server_runs():
    # `devauth run`, `check`, `--help` start fast: Flask, Authlib, trustme and cryptography load
    # only in the subcommands that serve or make certificates (dev_as's names load on first use).
    code = (
        "import sys; import devauth_tools.cli; from devauth_tools import dev_as;"
        "print(sorted(m for m in ('flask', 'authlib', 'trustme') if m in sys.modules));"
        "dev_as.USER_AUTHZ_PATH; print('flask' in sys.modules);"
        "dev_as.DevAS; print('flask' in sys.modules)"
    )
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tools"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split("\n")[:3] == ["[]", "False", "True"], out.stderr
