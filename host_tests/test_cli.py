"""`devauth`: every subcommand registers itself the same way (`add_parser(sub)` in its module)
and answers `--help`; `devauth dev-as` has every switch of `python -m devauth_tools.dev_as`."""

import argparse

import pytest
from devauth_tools import cli, dev_as

SUBCOMMANDS = ("run", "dev-as", "sim", "bench", "screens", "deploy", "provision", "doctor", "hil")


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
