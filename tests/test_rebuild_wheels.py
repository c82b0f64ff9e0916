"""`vouch rebuild pypi:` of a release with two pure wheels, each made by another backend version.

Offline: a real pypiserver serves the release (an sdist, a ``py2`` and a ``py3`` wheel) and two
versions of its build backend, a small ``flit_core`` written here (``Generator: flit 98.0`` builds
the ``py2`` wheel, ``flit 99.0`` the ``py3`` one). Each wheel is rebuilt with its own recipe, and
the report says which recipe made which wheel.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.localindex import LocalIndex
from vouch.cli import main

EPOCH = 1700000000

# the backend, and the wheel writer the test uses for the backend's own wheels
BACKEND = r"""
import base64, hashlib, os, zipfile

VERSION = "@VERSION@"
TAG = {"98.0": "py2", "99.0": "py3"}.get(VERSION, "py3")


def write_wheel(path, files):
    record = ""
    for member, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{member},sha256={digest},{len(data)}\n"
    info = [m for m in files if m.endswith(".dist-info/WHEEL")][0].rsplit("/", 1)[0]
    files = dict(files, **{f"{info}/RECORD": (record + f"{info}/RECORD,,\n").encode()})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in files.items():
            entry = zipfile.ZipInfo(member, date_time=(2023, 11, 14, 22, 13, 20))
            entry.external_attr = 0o100644 << 16
            zf.writestr(entry, data)


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"demo-1.0-{TAG}-none-any.whl"
    info = "demo-1.0.dist-info"
    with open("demo/__init__.py", "rb") as source:
        code = source.read()
    write_wheel(os.path.join(wheel_directory, name), {
        "demo/__init__.py": code,
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        f"{info}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: flit {VERSION}\nRoot-Is-Purelib: true\n"
                          f"Tag: {TAG}-none-any\n").encode(),
    })
    return name
"""


def backend(version: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(BACKEND.replace("@VERSION@", version), namespace)  # noqa: S102 - the test's own backend
    return namespace


def flit_core_wheel(version: str, folder: Path) -> None:
    info = f"flit_core-{version}.dist-info"
    backend(version)["write_wheel"](
        folder / f"flit_core-{version}-py3-none-any.whl",
        {
            "flit_core/__init__.py": b"",
            "flit_core/buildapi.py": BACKEND.replace("@VERSION@", version).encode(),
            f"{info}/METADATA": f"Metadata-Version: 2.1\nName: flit_core\nVersion: {version}\n".encode(),
            f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        },
    )


SDIST_FILES = {
    "pyproject.toml": b'[build-system]\nrequires = ["flit_core"]\nbuild-backend = "flit_core.buildapi"\n',
    "PKG-INFO": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    "demo/__init__.py": b'"""A demo."""\n',
}


def sdist(folder: Path) -> Path:
    path = folder / "demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in SDIST_FILES.items():
            info = tarfile.TarInfo(f"demo-1.0/{name}")
            info.size, info.mtime, info.mode = len(data), EPOCH, 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def unpacked(folder: Path) -> Path:
    top = folder / "demo-1.0"
    for name, data in SDIST_FILES.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_bytes(data)
    return top


@pytest.fixture
def index(tmp_path: Path) -> Iterator[LocalIndex]:
    server = LocalIndex(tmp_path / "index")
    server.packages.mkdir(parents=True)
    for version in ("98.0", "99.0"):
        flit_core_wheel(version, server.packages)
    sdist(server.packages)
    tree = unpacked(tmp_path / "published")
    for version in ("98.0", "99.0"):  # the published wheels, each by its own backend version
        monkey = pytest.MonkeyPatch()
        monkey.chdir(tree)
        backend(version)["build_wheel"](str(server.packages))
        monkey.undo()
    server.start()
    yield server
    server.stop()


def test_each_wheel_is_rebuilt_with_its_own_recipe(
    index: LocalIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statement_path = tmp_path / "demo.rebuild.json"
    args = ["rebuild", "pypi:demo==1.0", "--index", index.simple_url, "--json"]
    args += ["--record", str(statement_path)]
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["verdict"] == "bit-identical"
    wheels = {a["filename"]: a for a in report["artifacts"]}
    assert sorted(wheels) == ["demo-1.0-py2-none-any.whl", "demo-1.0-py3-none-any.whl"]
    py2, py3 = wheels["demo-1.0-py2-none-any.whl"]["recipe"], wheels["demo-1.0-py3-none-any.whl"]["recipe"]
    assert (py2["generator"], py2["requirements"], py2["resolved"]) == (
        "flit 98.0", ["flit_core==98.0"], ["flit-core==98.0"],
    )  # fmt: skip
    assert (py3["generator"], py3["requirements"], py3["resolved"]) == (
        "flit 99.0", ["flit_core==99.0"], ["flit-core==99.0"],
    )  # fmt: skip
    # the release's recipe holds only what both wheels share: no one wheel's requirements
    assert report["recipe"]["backend"] == py2["backend"] == py3["backend"] == "flit_core.buildapi"
    assert "requirements" not in report["recipe"]
    assert "generator" not in report["recipe"]
    statement = json.loads(statement_path.read_text())
    definition = statement["predicate"]["buildDefinition"]
    assert {d["uri"] for d in definition["resolvedDependencies"]} == {
        "pkg:pypi/flit-core@98.0", "pkg:pypi/flit-core@99.0",
    }  # fmt: skip
    assert definition["internalParameters"]["recipe"]["wheels"]["demo-1.0-py2-none-any.whl"] == py2
    # and for people: each wheel's own generator under its line
    assert main(["rebuild", "pypi:demo==1.0", "--index", index.simple_url]) == 0
    text = capsys.readouterr().out
    assert (
        text.index("demo-1.0-py2-none-any.whl")
        < text.index("flit 98.0")
        < text.index("demo-1.0-py3-none-any.whl")
        < text.index("flit 99.0")
    )
