"""The command line's parser: argparse, with vouch's four rules in one place.

1. **Verbs are real subcommands.** ``vouch checksums verify FILE`` is parsed by the ``verify``
   subparser, so ``--help`` and every error show that subcommand's own usage.
2. **A command may have a default verb** that the user leaves out: ``vouch checksums ARTIFACT...``
   means ``vouch checksums make ARTIFACT...``. The pre-parse step (:meth:`VouchParser.with_verb`)
   finds the first positional argument, skipping options and their values; when it is not one of
   the command's verbs, it inserts the default verb in front; when it is a verb given after some
   options, it moves it in front. No positional and no ``-h``: the default verb (which then says
   what is missing). After ``--`` a word is an argument, never a verb.
3. **Unknown arguments are reported by the parser that received them** (argparse leaves them to
   the top-level parser, whose usage is the wrong one), and an option of a sibling verb is refused
   in one line that says where it applies.
4. **Typed options.** Each (sub)command names a frozen dataclass with a ``from_args(namespace)``
   classmethod, the one place where the namespace is read and flag combinations are checked
   (:class:`vouch.errors.UsageError`, exit 2), and a ``run`` that receives only that object.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NoReturn, Protocol, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

    from vouch.host import Host

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
WIDTH = 92  # of wrapped descriptions and notes
_HELP = ("-h", "--help")


class FromArgs(Protocol[T_co]):
    """A command's typed options: built once from the parsed namespace."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> T_co: ...


@dataclass(frozen=True)
class Handler(Generic[T]):
    """How a parsed (sub)command runs: ``parse`` builds its options, ``run`` acts on them."""

    parse: Callable[[argparse.Namespace], T]
    run: Callable[[T, Console, Console], int]
    json_errors: Callable[[argparse.Namespace], bool] = lambda args: bool(getattr(args, "json", False))

    def __call__(self, args: argparse.Namespace, out: Console, err: Console) -> int:
        return self.run(self.parse(args), out, err)


class VouchParser(argparse.ArgumentParser):
    """argparse.ArgumentParser with default verbs and errors reported where they belong."""

    def __init__(self, *args: Any, scope: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope or f"`{self.prog}`"  # what the options of this parser apply to
        self.verbs: dict[str, VouchParser] = {}
        self.default_verb: str | None = None
        self.parent: VouchParser | None = None  # the command, for a verb
        self.strict = False  # a (sub)command's parser reports unknown arguments itself

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if args is not None and self.verbs:
            args = self.with_verb(list(args))
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self.strict:  # the top-level parser reports its own
            self.refuse(extras)
        return parsed, extras

    def with_verb(self, args: list[str]) -> list[str]:
        """Rule 2: ``args`` with the verb first (inserted when it is the default one left out)."""
        takes_value = {
            option: action.nargs
            for verb in self.verbs.values()
            for option, action in verb._option_string_actions.items()
        }
        index = _first_positional(args, takes_value)
        if index is not None and args[index] in self.verbs and "--" not in args[:index]:
            return [args[index], *args[:index], *args[index + 1 :]]
        if self.default_verb is None or (index is None and any(a in _HELP for a in args)):
            return args
        return [self.default_verb, *args]

    def refuse(self, extras: list[str]) -> NoReturn:
        """Rule 3: an option of a sibling verb is named with where it applies; anything else is
        argparse's "unrecognized arguments" under this parser's own usage."""
        from vouch.errors import UsageError  # noqa: PLC0415 - keep `vouch --help` fast

        siblings = self.parent.verbs.values() if self.parent is not None else ()
        for extra in extras:
            option = extra.split("=", 1)[0]
            if not option.startswith("-"):
                continue
            for sibling in siblings:
                if sibling is not self and option in sibling._option_string_actions:
                    raise UsageError(f"{option} applies to {sibling.scope}, not to {self.scope}")
        self.error(f"unrecognized arguments: {' '.join(extras)}")


def _first_positional(args: list[str], takes_value: dict[str, Any]) -> int | None:
    """The index of the first positional argument, skipping options and the values they take
    (an option none of the verbs defines is taken to take none: argparse will refuse it)."""
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return index + 1 if index + 1 < len(args) else None
        if not word.startswith("-") or word == "-":
            return index
        nargs = 0 if "=" in word else takes_value.get(word, 0)
        if nargs in ("?", "*", "+", argparse.REMAINDER):
            return None  # the option may take every following word: no positional to find
        index += 1 + (1 if nargs is None else int(nargs))
    return None


def add_command(
    subparsers: Any, name: str, *, summary: str, description: str, examples: Sequence[str],
    notes: str = "", scope: str | None = None, prog: str | None = None,
) -> VouchParser:  # fmt: skip
    """A (sub)command's parser: ``summary`` for its parent's list, a wrapped ``description``, and
    an epilog of notes and examples (``$ vouch ...`` lines, shown as written)."""
    epilog = "\n\n".join(
        [_wrap(notes)] * bool(notes) + ["examples:\n" + "\n".join(f"  $ {example}" for example in examples)]
    )
    extra = {"prog": prog} if prog is not None else {}
    parser: VouchParser = subparsers.add_parser(
        name, help=summary, description=_wrap(description), epilog=epilog, scope=scope,
        formatter_class=argparse.RawDescriptionHelpFormatter, **extra,
    )  # fmt: skip
    parser.strict = True
    return parser


def add_verbs(parser: VouchParser, *, default: str | None = None) -> Any:
    """The verbs of ``parser`` (rule 1), ``default`` the one a user may leave out (rule 2).
    Add each verb with :func:`verb`."""
    parser.default_verb = default
    return parser.add_subparsers(dest="verb", required=True, metavar="VERB", title="verbs")


def verb(
    parent: VouchParser, verbs: Any, name: str, *, summary: str, description: str,
    examples: Sequence[str], notes: str = "", scope: str | None = None,
) -> VouchParser:  # fmt: skip
    """A verb of ``parent``; the default verb's usage reads ``vouch COMMAND [VERB] ...``."""
    is_default = parent.default_verb == name
    prog = f"{parent.prog} [{name}]" if is_default else None
    summary = f"{summary} (the default: `{name}` may be left out)" if is_default else summary
    parser = add_command(verbs, name, summary=summary, description=description, examples=examples,
                     notes=notes, scope=scope, prog=prog)  # fmt: skip
    parser.parent = parent
    parent.verbs[name] = parser
    return parser


def handle(
    parser: argparse.ArgumentParser, options: type[FromArgs[T]], run: Callable[[T, Console, Console], int],
    *, json_errors: Callable[[argparse.Namespace], bool] | None = None,
) -> None:  # fmt: skip
    """Run ``run`` with ``options.from_args(namespace)`` when ``parser`` is the one chosen."""
    handler = Handler(options.from_args, run)
    if json_errors is not None:
        handler = Handler(options.from_args, run, json_errors)
    parser.set_defaults(handler=handler)


def _wrap(text: str) -> str:
    return "\n\n".join(textwrap.fill(" ".join(p.split()), WIDTH) for p in text.split("\n\n"))


def host_of(args: argparse.Namespace) -> Host:
    """The one :class:`~vouch.host.Host` that ``main`` made for this run (a new one for a namespace
    built elsewhere, as in tests): every library call of the command runs on it."""
    from vouch.host import Host  # noqa: PLC0415

    host = getattr(args, "host", None)
    return host if isinstance(host, Host) else Host()


def existing(path: Path, what: str) -> Path:
    """``path`` if something is there; else a usage error (exit 2): an input file that is missing
    is a mistake in the command line, the same for every command."""
    from vouch.errors import UsageError  # noqa: PLC0415

    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{what} {path} does not exist",
                         hint="check the path (relative to the current directory)")  # fmt: skip
    return path


def refuse_unless(condition: bool, option: str, scope: str) -> None:
    """A usage error (exit 2) when ``option`` was given but does not apply: never ignored."""
    from vouch.errors import UsageError  # noqa: PLC0415

    if not condition:
        raise UsageError(f"{option} applies to {scope}")
