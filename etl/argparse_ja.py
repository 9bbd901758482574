"""argparse in Japanese for `python -m etl` (and the read side's alerts): usage, section titles, -h, and the errors
argparse raises, without gettext catalogues (none ship for Japanese, and a process-wide translation would change
other programs' messages). The error texts are matched by pattern; an unknown one is shown as argparse wrote it.
Imports nothing of etl's."""
from __future__ import annotations

import argparse
import re
import sys

USAGE = "使い方: "
HELP = "このヘルプを表示して終了します"
POSITIONALS = "引数"
OPTIONALS = "オプション"

# argparse's English messages (Python 3.11–3.13) → Japanese; applied in order, each at most once, to the message
# of ArgumentParser.error
_ERRORS = [
    (re.compile(r"^argument (?P<arg>.+?): (?P<rest>.*)$", re.S), "引数 {arg}: {rest}"),
    (re.compile(r"the following arguments are required: (?P<args>.*)$"), "次の引数を指定してください: {args}"),
    (re.compile(r"unrecognized arguments: (?P<args>.*)$"), "知らない引数があります: {args}"),
    (re.compile(r"invalid choice: (?P<value>.+?) \(choose from (?P<choices>.*)\)$"),
     "{value} は選べません（選べるもの: {choices}）"),
    (re.compile(r"invalid (?P<type>\w+) value: (?P<value>.*)$"), "{value} は{type}として読めません"),
    (re.compile(r"expected one argument$"), "値を1つ指定してください"),
    (re.compile(r"expected at least one argument$"), "値を1つ以上指定してください"),
    (re.compile(r"expected at most one argument$"), "値は1つまでです"),
    (re.compile(r"expected (?P<n>\d+) arguments?$"), "値を{n}つ指定してください"),
    (re.compile(r"not allowed with argument (?P<other>.*)$"), "{other} と一緒には指定できません"),
    (re.compile(r"one of the arguments (?P<args>.*) is required$"), "次のどれか1つを指定してください: {args}"),
    (re.compile(r"ambiguous option: (?P<opt>\S+) could match (?P<matches>.*)$"),
     "{opt} は複数のオプションに当てはまります（{matches}）"),
    (re.compile(r"ignored explicit argument (?P<value>.*)$"), "値 {value} は受け付けません"),
]


TYPE_NAMES = {"int": "整数", "float": "数値", "Path": "パス"}


def translate(message: str) -> str:
    """argparse's error ``message`` in Japanese (parts it does not know stay as they are)."""
    out = message
    for pattern, template in _ERRORS:
        m = pattern.search(out)
        if m:
            parts = {k: TYPE_NAMES.get(v, v) if k == "type" else v for k, v in m.groupdict().items()}
            out = out[:m.start()] + template.format(**parts) + out[m.end():]
    return out


class JapaneseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, USAGE if prefix is None else prefix)


class JapaneseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose own words are Japanese; its subparsers (add_subparsers) are of the same class."""

    def __init__(self, *args, add_help: bool = True, formatter_class=JapaneseHelpFormatter, **kwargs):
        super().__init__(*args, add_help=False, formatter_class=formatter_class, **kwargs)
        self._positionals.title = POSITIONALS
        self._optionals.title = OPTIONALS
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=HELP)

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("title", "コマンド")
        kwargs.setdefault("metavar", "コマンド")
        return super().add_subparsers(**kwargs)

    def error(self, message: str):
        """The usage and the Japanese message on stderr, exit code 2 (argparse's own convention)."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: エラー: {translate(message)}\n")
