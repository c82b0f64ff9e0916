"""The backend writes its archive uncompressed where vouch normalises it, and nothing else changes.

The writers are changed in a separate interpreter (as in a hook's), never in the test's own process.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.gitrepo import make_repo
from vouch.archive import safe
from vouch.builder import distributions, transport
from vouch.cli import main

SCRIPT = Path(transport.__file__).resolve()

WRITERS = """
import gzip, io, sys, tarfile, zipfile
sys.path.insert(0, {src!r})
from vouch.builder import transport
inside, outside = sys.argv[1], sys.argv[2]
transport.install(inside)
data = b"some text that compresses well " * 4000
for folder in (inside, outside):
    with gzip.GzipFile(folder + "/named.gz", "wb") as stream:
        stream.write(data)
    with open(folder + "/object.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as stream:
        stream.write(data)
    info = tarfile.TarInfo("pkg/data.txt")
    info.size = len(data)
    with tarfile.open(folder + "/stream.tar.gz", "w|gz") as tar:
        tar.addfile(info, io.BytesIO(data))
    with tarfile.open(folder + "/plain.tar.gz", "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(folder + "/named.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("by-name.txt", data)
        member = zipfile.ZipInfo("by-info.txt")
        member.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(member, data)
        with archive.open("streamed.txt", "w") as stream:
            stream.write(data)
    with open(folder + "/object.zip", "wb") as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("by-name.txt", data, compresslevel=9)
    memory = io.BytesIO()
    with gzip.GzipFile(fileobj=memory, mode="wb") as stream:
        stream.write(data)
    open(folder + "/memory.gz", "wb").write(memory.getvalue())
"""

DATA = b"some text that compresses well " * 4000


def _write_archives(tmp_path: Path) -> tuple[Path, Path]:
    inside, outside = tmp_path / "out", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    src = str(Path(transport.__file__).resolve().parents[2])
    code = WRITERS.format(src=src)
    subprocess.run([sys.executable, "-c", code, str(inside), str(outside)], check=True)
    return inside, outside


def _stored(path: Path) -> bool:
    """Whether a gzip file's deflate stream is stored blocks (as large as what it holds, or more)."""
    return path.stat().st_size >= len(gzip.decompress(path.read_bytes()))


def test_archives_inside_the_output_folder_are_uncompressed_and_hold_the_same(tmp_path: Path) -> None:
    inside, outside = _write_archives(tmp_path)
    for name in ("named.gz", "object.gz", "stream.tar.gz", "plain.tar.gz"):
        assert _stored(inside / name), name
        assert not _stored(outside / name), name
        assert gzip.decompress((inside / name).read_bytes()) == gzip.decompress((outside / name).read_bytes())
    with tarfile.open(inside / "stream.tar.gz") as tar:
        assert tar.extractfile("pkg/data.txt").read() == DATA  # type: ignore[union-attr]
    for name in ("named.zip", "object.zip"):
        with zipfile.ZipFile(inside / name) as here, zipfile.ZipFile(outside / name) as there:
            assert {i.compress_type for i in here.infolist()} == {zipfile.ZIP_STORED}, name
            assert {i.compress_type for i in there.infolist()} == {zipfile.ZIP_DEFLATED}, name
            assert here.namelist() == there.namelist()
            for member in here.namelist():
                assert here.read(member) == there.read(member) == DATA
    # an archive made in memory may become a file of the distribution: it keeps its compression
    assert not _stored(inside / "memory.gz")
    assert (inside / "memory.gz").read_bytes() == (outside / "memory.gz").read_bytes()


def _hook_control(tmp_path: Path, hook: str, kwargs: dict[str, object]) -> Path:
    control = tmp_path / "control"
    control.mkdir()
    (control / "input.json").write_text(json.dumps({"kwargs": kwargs}), encoding="utf-8")
    return control


def test_the_output_folder_is_read_from_the_hooks_input(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    control = _hook_control(tmp_path, "build_wheel", {"wheel_directory": str(out), "config_settings": None})
    assert transport.output_folder("build_wheel", str(control)) == str(out.resolve())
    assert transport.output_folder("get_requires_for_build_wheel", str(control)) is None
    assert transport.output_folder("build_sdist", str(control)) is None  # no sdist_directory in it
    (control / "input.json").write_text("{not json", encoding="utf-8")
    assert transport.output_folder("build_wheel", str(control)) is None
    assert transport.output_folder("build_wheel", str(tmp_path / "missing")) is None
    assert not transport.inside(str(out) + "-sibling/x.whl", str(out.resolve()))
    assert transport.inside(out / "sub" / "x.whl", str(out.resolve()))
    assert not transport.inside(io.BytesIO(), str(out.resolve()))


HOOK = """
import json, os, sys
print(json.dumps({"name": __name__, "argv": sys.argv, "path": sys.path,
                  "gzip": __import__("gzip").GzipFile.__init__.__qualname__}))
"""


def _run_script(
    tmp_path: Path, hook: str, control: Path, *, prelude: str = ""
) -> tuple[dict[str, object], str]:
    script = tmp_path / "_in_process.py"
    script.write_text(HOOK, encoding="utf-8")
    if prelude:  # the same script, with something changed first
        code = f"{prelude}\nimport runpy, sys\nsys.argv[0] = {str(SCRIPT)!r}\n"
        code += f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
        command = [sys.executable, "-c", code, str(script), hook, str(control)]
    else:
        command = [sys.executable, str(SCRIPT), str(script), hook, str(control)]
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path)
    return json.loads(result.stdout), result.stderr


def test_the_hook_runs_as_main_with_pyproject_hooks_argv_and_without_vouchs_folder(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    control = _hook_control(tmp_path, "build_sdist", {"sdist_directory": str(out)})
    seen, err = _run_script(tmp_path, "build_sdist", control)
    assert err == ""
    assert seen["name"] == "__main__"
    assert seen["argv"] == [str(tmp_path / "_in_process.py"), "build_sdist", str(control)]
    assert str(SCRIPT.parent) not in seen["path"]  # type: ignore[operator]
    assert seen["gzip"] == "_gzip.<locals>.gzip_file"
    # another hook: the writers are left alone
    other, _ = _run_script(tmp_path, "get_requires_for_build_sdist", control)
    assert other["gzip"] == "GzipFile.__init__"


def test_writers_that_cannot_be_changed_leave_the_hook_as_it_was_and_say_so(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    control = _hook_control(tmp_path, "build_sdist", {"sdist_directory": str(out)})
    prelude = "import zipfile\ndef changed(self, path, how='r'): pass\nzipfile.ZipFile.__init__ = changed"
    seen, err = _run_script(tmp_path, "build_sdist", control, prelude=prelude)
    assert seen["gzip"] == "GzipFile.__init__"  # nothing half-changed
    assert "the backend's archive keeps its own compression" in err


SETUP_PY = '''
import gzip, os
from setuptools import setup
from setuptools.command.build_py import build_py


class with_data(build_py):
    """Writes a compressed data file into the distribution, as botocore's release does."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "transport_demo", "table.json.gz")
        with gzip.GzipFile(target, "wb", mtime=0) as stream:
            stream.write(b'{"key": "value"}\\n' * 5000)


setup(cmdclass={"build_py": with_data})
'''

FILES = {
    "pyproject.toml": textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=77"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "transport-demo"
        version = "1.0"
        """),
    "setup.py": SETUP_PY,
    "transport_demo/__init__.py": "VALUES = [" + ", ".join(map(str, range(3000))) + "]\n",
    "build-requirements.lock": textwrap.dedent("""\
        # vouch build lock, format 1: the project's build environment, pinned.
        setuptools==84.2.1 \\
            --hash=sha256:ca140b45d5325a9478f880e351484f62fef15f336462e449ca0c03c873d589c2
        """),
}


@pytest.mark.network
def test_vouch_build_reads_stored_archives_and_writes_the_same_bytes_as_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, FILES)
    raw: dict[str, bytes] = {}
    read_tar_gz, read_zip = safe.read_tar_gz, safe.read_zip

    def keep_sdist(data: bytes) -> object:
        raw["sdist"] = data
        return read_tar_gz(data)

    def keep_wheel(data: bytes) -> object:
        raw["wheel"] = data
        return read_zip(data)

    monkeypatch.setattr(distributions, "read_tar_gz", keep_sdist)
    monkeypatch.setattr(distributions, "read_zip", keep_wheel)
    assert main(["build", str(repo), "--out", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    stored = dict(raw)
    monkeypatch.setattr(transport, "OUTPUT_FOLDER", {})  # the hooks run as pyproject_hooks runs them
    assert main(["build", str(repo), "--out", str(tmp_path / "b")]) == 0, capsys.readouterr().err

    # the backend's archives were uncompressed with the script and compressed without it
    assert len(stored["sdist"]) >= len(gzip.decompress(stored["sdist"]))
    assert len(raw["sdist"]) < len(gzip.decompress(raw["sdist"])) / 2
    with zipfile.ZipFile(io.BytesIO(stored["wheel"])) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
    with zipfile.ZipFile(io.BytesIO(raw["wheel"])) as archive:
        assert zipfile.ZIP_DEFLATED in {info.compress_type for info in archive.infolist()}

    # vouch's archives are the same bytes either way
    built = {}
    for side in ("a", "b"):
        files = sorted(p for p in (tmp_path / side).iterdir() if p.name.endswith((".tar.gz", ".whl")))
        built[side] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert built["a"] == built["b"]
    assert set(built["a"]) == {"transport_demo-1.0.tar.gz", "transport_demo-1.0-py3-none-any.whl"}

    # the compressed file the build put into the wheel kept its compression
    with zipfile.ZipFile(tmp_path / "a" / "transport_demo-1.0-py3-none-any.whl") as wheel:
        table = wheel.read("transport_demo/table.json.gz")
    assert gzip.decompress(table) == b'{"key": "value"}\n' * 5000
    assert len(table) < 1000


def test_a_failing_hooks_traceback_starts_at_the_hook_script_as_without_the_script(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    control = _hook_control(tmp_path, "build_wheel", {"wheel_directory": str(out)})
    script = tmp_path / "_in_process.py"
    failing = "def hook():\n    raise RuntimeError('the backend failed')\n\nhook()\n"
    script.write_text(failing, encoding="utf-8")
    command = [sys.executable, str(SCRIPT), str(script), "build_wheel", str(control)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == f'  File "{script}", line 4, in <module>'
    assert lines[-1] == "RuntimeError: the backend failed"
    assert "transport.py" not in result.stderr
    assert "runpy" not in result.stderr
