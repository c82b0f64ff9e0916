"""The host seam: the one real process runner, tools found with a hint, HTTP on the host's
transport; and a guard that no other module of src/ starts a process or an HTTP client itself."""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.recording import Recorder
from vouch.errors import ToolError
from vouch.git import git
from vouch.host import TOOLS, Completed, Host, run_process, which

SRC = Path(__file__).resolve().parent.parent / "src" / "vouch"
# the seam itself: the one runner, and the index's bounded client (vouch.index.http's docstring)
SEAM = {"host.py", "index/http.py"}
# not converted yet: the builder runs git, uv and backends with subprocess itself; its helper moves
# it onto the Runner, then this entry goes and the test covers builder/ too
NOT_YET: tuple[str, ...] = ()  # every module goes through the seam now
DIRECT = re.compile(r"\bsubprocess\.|\bhttpx\.Client\(|\bshutil\.which\(")


def test_no_module_outside_the_seam_starts_a_process_or_an_http_client() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name in SEAM or name.startswith(NOT_YET):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DIRECT.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "go through vouch.host (Host.run, Host.tool, Host.http_client):\n" + "\n".join(
        offenders
    )


def test_the_guard_sees_what_it_guards_against() -> None:
    # the pattern must match the forms it is there for, or the test above could never fail
    assert DIRECT.search("    result = subprocess.run([git])")
    assert DIRECT.search("with httpx.Client(transport=t) as client:")
    assert DIRECT.search('found = shutil.which("gpg")')
    assert not DIRECT.search("host.run(argv)")
    assert (SRC / "host.py").read_text().count("subprocess.run(") == 1


def test_output_is_captured_as_bytes_with_stdin_cwd_and_env(tmp_path: Path) -> None:
    script = (
        "import os, sys\n"
        "data = sys.stdin.buffer.read()\n"
        "sys.stdout.buffer.write(f\"{os.getcwd()} {os.environ['SEAM']}\\n\".encode() + data[::-1])\n"
        "sys.stderr.buffer.write('é'.encode())\n"
    )
    result = run_process(
        [sys.executable, "-c", script], cwd=tmp_path, env={"SEAM": "yes"}, stdin=b"\x00\xffab"
    )
    assert result.ok
    assert result.argv[0] == sys.executable
    first, _, rest = result.stdout.partition(b"\n")
    assert first.decode() == f"{tmp_path} yes"
    assert rest == b"ba\xff\x00"  # bytes, as the process wrote them
    assert result.err == "é"


def test_a_failing_process_is_a_result_not_an_error() -> None:
    result = run_process([sys.executable, "-c", "import sys; sys.exit(7)"])
    assert (result.returncode, result.ok, result.stdout) == (7, False, b"")


def test_capture_false_leaves_the_output_to_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    result = run_process([sys.executable, "-c", "print('to the terminal')"], capture=False)
    assert result.stdout == b""
    assert "to the terminal" in capfd.readouterr().out


def test_a_missing_tool_is_a_tool_error_exit_3(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="no-such-tool is not installed") as caught:
        run_process([str(tmp_path / "no-such-tool"), "--version"])
    assert caught.value.exit_code == 3


def test_a_process_past_its_timeout_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match=r"did not finish in 0.5 s") as caught:
        run_process([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert caught.value.exit_code == 3


def test_a_file_that_cannot_be_executed_is_a_tool_error(tmp_path: Path) -> None:
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(ToolError, match="cannot run not-executable"):
        run_process([str(script)])


def test_a_missing_tool_says_how_to_get_it() -> None:
    host = Host(find=lambda name: None)
    for name, hint in TOOLS.items():
        with pytest.raises(ToolError, match=f"{name} is not installed") as caught:
            host.tool(name)
        assert caught.value.hint == hint
    with pytest.raises(ToolError) as caught:
        host.tool("git", hint="or pass --date")
    assert caught.value.hint == "or pass --date"
    assert Host(find=lambda name: f"/opt/{name}").tool("gpg") == "/opt/gpg"


def test_only_vouchs_own_dependencies_are_found_beside_the_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    beside = Path(sys.executable).parent
    for name in ("zizmor", "twine"):
        assert which(name) == str(beside / name)
    assert which("git") is None  # a system tool: on PATH or not at all


def test_http_clients_use_the_hosts_transport_and_never_follow_redirects() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/"})

    host = Host(transport=httpx.MockTransport(answer))
    with host.http_client(headers={"X-Test": "1"}) as client:
        response = client.get("https://api.example/")
    assert response.status_code == 302
    assert [str(r.url) for r in seen] == ["https://api.example/"]
    assert seen[0].headers["X-Test"] == "1"


def test_the_clock_is_the_hosts() -> None:
    fixed = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)
    assert Host(clock=lambda: fixed).clock() == fixed
    assert Host().clock().tzinfo is datetime.UTC


def test_git_never_follows_the_users_git_dir_and_hermetic_drops_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_DIR", "/somewhere/else/.git")
    runner = Recorder(lambda argv: Completed(argv, 0, b"ok\n"))
    assert git(["status"], cwd=tmp_path, host=runner.host()).out == "ok\n"
    git(["clone", "--", "https://example.org/r.git", "r"], host=runner.host(), hermetic=True)
    plain, hermetic = runner.calls
    assert plain.argv == ("/fake/bin/git", "status")
    assert plain.cwd == tmp_path
    assert plain.env is not None
    assert "GIT_DIR" not in plain.env
    assert "GIT_CONFIG_NOSYSTEM" not in plain.env
    assert hermetic.env is not None
    assert hermetic.env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert hermetic.env["GIT_TERMINAL_PROMPT"] == "0"
