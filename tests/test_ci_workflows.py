"""`vouch ci github|gitlab`: the generated release workflows are hardened and complete."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from vouch.cli import main
from vouch.errors import ToolError
from vouch.publish.requirements import parse_requirements
from vouch.publish.workflows import WorkflowOptions, write_workflow

REQUIREMENTS = Path(__file__).parent / "fixtures" / "ci" / "vouch-requirements.txt"  # as uv resolves it
OFFLINE = ["--requirements", str(REQUIREMENTS)]


def generate(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / (".github/workflows/release.yml" if kind == "github" else ".gitlab-ci.yml")
    code = main(["ci", kind, "--project", "demo", "--out", str(out), "--requirements", str(REQUIREMENTS)])
    capsys.readouterr()
    assert code == 0
    return out


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_github_workflow_has_no_zizmor_findings(
    persona: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = generate("github", tmp_path, capsys)
    zizmor = shutil.which("zizmor")
    assert zizmor is not None, "zizmor is a test dependency"
    result = subprocess.run(
        [zizmor, "--offline", "--format", "json", "--persona", persona, str(workflow)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_github_workflow_has_the_jobs_and_the_least_privilege(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document: dict[Any, Any] = yaml.safe_load(generate("github", tmp_path, capsys).read_text())
    assert document[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads the key `on` as True
    assert document["permissions"] == {}
    jobs = document["jobs"]
    assert list(jobs) == ["build", "rebuild", "sign", "check", "publish"]
    with_token = {name for name, job in jobs.items() if job.get("permissions", {}).get("id-token") == "write"}
    assert with_token == {"sign", "publish"}
    for name in with_token:  # the jobs holding a token never check out or build the project
        for step in jobs[name]["steps"]:
            if "actions/checkout" in step.get("uses", ""):  # only the requirements file, sparsely
                assert step["with"]["sparse-checkout"].split() == [".github/workflows/vouch-requirements.txt"]
                assert step["with"]["sparse-checkout-cone-mode"] is False
        assert not any("vouch build" in step.get("run", "") for step in jobs[name]["steps"])
    assert jobs["publish"]["environment"]["name"] == "pypi"
    assert jobs["rebuild"]["needs"] == "build"
    steps = [step for job in jobs.values() for step in job["steps"]]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        if "actions/checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "vouch rebuild" in runs
    assert "vouch check" in runs
    assert "--key sigstore --role ci" in runs


def test_gitlab_pipeline_parses_and_has_the_stages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document: dict[str, Any] = yaml.safe_load(generate("gitlab", tmp_path, capsys).read_text())
    assert document["stages"] == ["build", "rebuild", "sign", "check", "publish"]
    assert document["workflow"]["rules"] == [{"if": "$CI_COMMIT_TAG"}]
    assert "id_tokens" in document["sign"]
    assert "id_tokens" in document["publish"]
    assert "id_tokens" not in document["build"]
    assert document["publish"]["environment"]["name"] == "pypi"


def test_existing_workflow_is_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workflow = generate("github", tmp_path, capsys)
    workflow.write_text("mine")
    assert main(["ci", "github", "--project", "demo", "--out", str(workflow), *OFFLINE]) == 2
    assert workflow.read_text() == "mine"
    assert main(["ci", "github", "--project", "demo", "--out", str(workflow), "--force", *OFFLINE]) == 0


def test_values_that_would_inject_into_the_workflow_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "release.yml"
    assert main(["ci", "github", "--project", "demo${{ github.event }}", "--out", str(out)]) == 2
    assert not out.exists()


def test_tag_pattern_for_bare_version_tags_stays_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / ".github" / "workflows" / "release.yml"
    assert (
        main(["ci", "github", "--project", "django", "--tag-pattern", "[0-9]*", "--out", str(out), *OFFLINE])
        == 0
    )
    document: dict[Any, Any] = yaml.safe_load(out.read_text())
    assert document[True] == {"push": {"tags": ["[0-9]*"]}}
    result = subprocess.run(
        ["zizmor", "--offline", "--format", "json", "--persona", "pedantic", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert json.loads(result.stdout) == []
    assert main(["ci", "github", "--project", "django", "--tag-pattern", 'x"; rm -rf', "--out", str(out),
                 "--force", *OFFLINE]) == 2  # fmt: skip


# --- vouch is installed by hash: the requirements file beside the workflow ------------------------

_INSTALL = re.compile(r"\b(pip3?|uv\s+pip|uv\s+tool|pipx)\s+install\b[^\n]*")


def _installs(kind: str, document: dict[Any, Any]) -> list[str]:
    if kind == "github":
        scripts = [step.get("run", "") for job in document["jobs"].values() for step in job["steps"]]
    else:
        scripts = [line for job in document.values() if isinstance(job, dict)
                   for key in ("before_script", "script") for line in job.get(key, [])]  # fmt: skip
    return [m.group(0) for script in scripts for m in _INSTALL.finditer(script)]


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_every_install_uses_the_hash_pinned_requirements_beside_the_workflow(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = generate(kind, tmp_path, capsys)
    document: dict[Any, Any] = yaml.safe_load(out.read_text())
    installs = _installs(kind, document)
    assert installs  # every job that runs vouch installs it
    name = ".github/workflows/vouch-requirements.txt" if kind == "github" else "vouch-requirements.txt"
    assert all(i.endswith("pip install --require-hashes --no-deps -r " + name) for i in installs), installs
    beside = out.parent / "vouch-requirements.txt"
    assert beside.read_text() == REQUIREMENTS.read_text()
    pins = parse_requirements(beside.read_text())
    assert all(pin.hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in pin.hashes) for pin in pins)
    assert "vouch-release" in {pin.name for pin in pins}
    assert "vouch==" not in out.read_text()  # the unrelated PyPI project is never named


def test_gitlab_image_is_pinned_by_digest_and_ships_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document: dict[str, Any] = yaml.safe_load(generate("gitlab", tmp_path, capsys).read_text())
    image = document["default"]["image"]
    assert re.fullmatch(r"python:3\.11-bookworm@sha256:[0-9a-f]{64}", image)  # bookworm (not slim) has git
    assert not any("apt-get" in line for line in document["default"]["before_script"])
    out = tmp_path / "other.yml"
    base = ["ci", "gitlab", "--project", "demo", "--out", str(out), *OFFLINE]
    assert main([*base, "--python", "3.12"]) == 2  # no built-in digest: say which image
    assert "pass --image" in capsys.readouterr().err
    assert main([*base, "--python", "3.12", "--image", "python:3.12-bookworm"]) == 2
    assert "not pinned by digest" in capsys.readouterr().err
    pinned = "registry.example.org/py/python:3.12@sha256:" + "a" * 64
    assert main([*base, "--python", "3.12", "--image", pinned]) == 0
    assert yaml.safe_load(out.read_text())["default"]["image"] == pinned


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vouch-release==0.1.0\n", "with --hash=sha256"),
        ("vouch-release>=0.1 --hash=sha256:" + "a" * 64 + "\n", "not pinned to one version"),
        ("rich==13.7.0 --hash=sha256:" + "a" * 64 + "\n", "does not pin vouch-release"),
        ("--index-url https://evil.example/simple\n", "with --hash=sha256"),
        ("vouch-release @ git+https://github.com/x/vouch --hash=sha256:" + "a" * 64 + "\n", "not pinned"),
    ],
)
def test_a_requirements_file_that_is_not_fully_hash_pinned_is_refused(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = tmp_path / "given.txt"
    requirements.write_text(text)
    out = tmp_path / "release.yml"
    assert (
        main(["ci", "github", "--project", "demo", "--out", str(out), "--requirements", str(requirements)])
        == 2
    )
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "vouch-requirements.txt").exists()


def test_resolution_is_universal_for_the_workflows_python(tmp_path: Path) -> None:
    """The uv command (an injected resolver stands in for PyPI), and the file it makes."""
    seen: list[tuple[list[str], str]] = []
    digest = "b" * 64

    def resolver(command: Sequence[str], stdin: str) -> str:
        seen.append((list(command), stdin))
        marker = "python_full_version >= '3.12'"
        return (f"vouch-release==0.1.0 \\\n    --hash=sha256:{digest}\n"
                f"rich==13.9.4 ; {marker} \\\n    --hash=sha256:{'c' * 64}\n")  # fmt: skip

    out = tmp_path / "release.yml"
    options = WorkflowOptions(kind="github", project="demo", python="3.12")
    written = write_workflow(options, out, resolver=resolver)
    ((command, stdin),) = seen
    assert command[1:4] == ["pip", "compile", "-"]
    for flag in ("--universal", "--generate-hashes", "--no-config"):
        assert flag in command
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[command.index("--index-url") + 1] == "https://pypi.org/simple"
    assert stdin == "vouch-release==0.1.0\n"
    text = written.requirements.read_text()
    assert f"--hash=sha256:{digest}" in text
    assert "--lock-only" in text  # the file says how to regenerate it
    workflow = out.read_text()
    # --lock-only rewrites only the requirements
    out.write_text(workflow + "# mine\n")
    relocked = f"vouch-release==0.1.0 --hash=sha256:{'d' * 64}\n"
    written = write_workflow(options, out, resolver=lambda c, s: relocked, lock_only=True)
    assert written.workflow is None
    assert out.read_text() == workflow + "# mine\n"
    assert "d" * 64 in written.requirements.read_text()


@pytest.mark.network
def test_workflow_from_a_vouch_wheel_installs_into_a_fresh_venv_by_hash(tmp_path: Path) -> None:
    """Resolved by uv on PyPI, with vouch's own wheel pinned by sha256; pip --require-hashes installs it."""
    uv = shutil.which("uv")
    assert uv is not None
    repository = Path(__file__).resolve().parents[1]
    subprocess.run([uv, "build", "--wheel", "--quiet", "--out-dir", str(tmp_path / "dist"), str(repository)],
                   check=True)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("vouch_release-*-py3-none-any.whl")
    project = tmp_path / "project"
    project.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "vouch", "ci", "github", "--project", "demo", "--vouch-wheel", str(wheel)],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder = project / ".github" / "workflows"
    requirements = folder / "vouch-requirements.txt"
    assert (folder / wheel.name).read_bytes() == wheel.read_bytes()
    text = requirements.read_text()
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f"./.github/workflows/{wheel.name} \\\n    --hash=sha256:{digest}" in text
    document = yaml.safe_load((folder / "release.yml").read_text())
    (checkout,) = [s for s in document["jobs"]["sign"]["steps"] if "actions/checkout" in s.get("uses", "")]
    assert checkout["with"]["sparse-checkout"].split() == [
        ".github/workflows/vouch-requirements.txt", f".github/workflows/{wheel.name}"]  # fmt: skip
    for persona in ("regular", "pedantic"):  # the sparse checkout of the wheel keeps zizmor quiet
        zizmor = subprocess.run(
            ["zizmor", "--offline", "--format", "json", "--persona", persona, str(folder / "release.yml")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert json.loads(zizmor.stdout) == [], zizmor.stdout
    audit = subprocess.run(
        [sys.executable, "-m", "vouch", "audit", str(project)], capture_output=True, text=True, check=False
    )
    assert audit.returncode == 0, audit.stdout
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps", "-r",
               ".github/workflows/vouch-requirements.txt"]  # fmt: skip
    # a flipped hash is refused, as the workflow would refuse a substituted file
    (folder / wheel.name).write_bytes(wheel.read_bytes() + b"\0")
    refused = subprocess.run(install, cwd=project, capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in refused.stderr
    (folder / wheel.name).write_bytes(wheel.read_bytes())
    subprocess.run(install, cwd=project, check=True, timeout=900)
    version = subprocess.run(
        [str(venv / "bin" / "vouch"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("vouch ")


@pytest.mark.network
def test_an_unpublished_vouch_release_says_how_to_pin_a_wheel(tmp_path: Path) -> None:
    """uv on PyPI, asked for a vouch-release version that is not there (as 0.1.0 is today)."""
    options = WorkflowOptions(kind="github", project="demo", vouch_version="0.0.0.dev0")
    with pytest.raises(ToolError) as raised:
        write_workflow(options, tmp_path / "release.yml")
    assert "--vouch-wheel" in (raised.value.hint or "")
    assert list(tmp_path.iterdir()) == []  # nothing written


# --- the release managers' statements arrive as git notes, nothing is committed -------------------


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_check_job_fetches_the_notes_ref_and_reads_it(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = generate(kind, tmp_path, capsys)
    document: dict[Any, Any] = yaml.safe_load(out.read_text())
    if kind == "github":
        scripts = [step.get("run", "") for step in document["jobs"]["check"]["steps"]]
        others = [step.get("run", "") for name, job in document["jobs"].items() if name != "check"
                  for step in job["steps"]]  # fmt: skip
    else:
        scripts = document["check"]["script"]
        others = [line for name, job in document.items() if isinstance(job, dict) and name != "check"
                  for line in job.get("script", [])]  # fmt: skip
    check = "\n".join(scripts)
    assert "git fetch --no-tags origin refs/notes/vouch:refs/notes/vouch" in check
    assert check.index("refs/notes/vouch:refs/notes/vouch") < check.index("vouch check")
    (command,) = [line for script in scripts for line in script.replace("\\\n", " ").splitlines()
                  if "vouch check" in line]  # fmt: skip
    assert "--git-notes --rev HEAD" in command
    assert "release-evidence" not in out.read_text()  # the old hand-over, which changed the tagged commit
    assert not any("git commit" in s or "git push" in s or "git tag" in s for s in [*scripts, *others])
    audit = subprocess.run([sys.executable, "-m", "vouch", "audit", str(out)], capture_output=True, text=True,
                           check=False, env=os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                                                  f"{os.environ['PATH']}"})  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_the_evidence_dir_option_is_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "release.yml"
    args = ["ci", "github", "--project", "demo", "--out", str(out), "--evidence-dir", "x", *OFFLINE]
    assert main(args) == 2
    assert not out.exists()
