"""A fixed project builds to fixed bytes, on any machine that runs the suite.

Everything that goes into the build is written here: the files, their modes, the commit time,
and the build environment (flit_core, pinned by version and wheel sha256 in the committed build
lock). Any machine, whatever its zlib, umask or clock, must produce the digests below; a change
of the normalizer that moves them must bump NORMALIZER_VERSION.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.gitrepo import make_repo
from vouch.archive.normalize import NORMALIZER_VERSION
from vouch.cli import main

pytestmark = pytest.mark.network

LOCK = """\
# vouch build lock, format 1: the project's build environment, pinned.
flit-core==4.2.0 \\
    --hash=sha256:2bee22dc8ba89c2e35b4e1ad575e596aac945c85672dd8f3cad21b629036e044
"""

FILES = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["flit_core>=3.9"]\nbuild-backend = "flit_core.buildapi"\n\n'
        '[project]\nname = "golden-demo"\nversion = "1.0.0"\ndescription = "Fixed bytes"\n'
        'readme = "README.md"\nlicense = "MIT"\nrequires-python = ">=3.11"\n'
    ),
    "README.md": "# golden-demo\n\nA project whose build has known digests.\n",
    "LICENSE": "MIT License\n",
    "golden_demo/__init__.py": '"""Fixed bytes."""\n\nVALUES = [' + ", ".join(map(str, range(2000))) + "]\n",
    "golden_demo/data/caf\u00e9.txt": "d\u00e9j\u00e0 vu\n" * 300,
    "golden_demo/run.sh": "#!/bin/sh\necho golden\n",
    "build-requirements.lock": LOCK,
}
EXECUTABLES = ("golden_demo/run.sh",)
COMMIT_DATE = "2025-03-04T05:06:07+00:00"

SDIST = ("golden_demo-1.0.0.tar.gz", "6197422f8d62d9b7d3d9af73ad9c639a55d3941a468e4f46098f4c6cc598913a")
WHEEL = (
    "golden_demo-1.0.0-py3-none-any.whl",
    "096d66eb4175de43a90ff569d0ce065a6ba54a437239af264eefedc8d78b0dcf",
)


def test_a_fixed_project_builds_to_fixed_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert NORMALIZER_VERSION == 3  # the digests below are normalizer v3's
    repo = tmp_path / "golden"
    make_repo(repo, FILES, executables=EXECUTABLES, commit_date=COMMIT_DATE)
    code = main(["build", str(repo), "--out", str(tmp_path / "dist")])
    assert code == 0, capsys.readouterr().err
    built = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (tmp_path / "dist").iterdir()
        if path.name.endswith((".tar.gz", ".whl"))
    }
    assert built == dict([SDIST, WHEEL])
