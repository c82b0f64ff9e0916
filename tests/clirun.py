"""Running one vouch command in-process for a test: its exit code, stdout and stderr."""

from __future__ import annotations

import pytest

from vouch.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
