"""A project with an in-tree PEP 517 backend (``backend-path``) and no build requirements, so
vouch's whole pipeline runs without the network. The backend is deliberately sloppy: wall-clock
mtimes, its own uid, whatever file modes it finds, and modes chosen by ``MODE``."""

from __future__ import annotations

BACKEND = r"""
import base64, hashlib, io, os, sys, tarfile, time, zipfile

NAME, VERSION = "demo_intree", "1.0"
MODE = os.environ.get("DEMO_BACKEND_MODE", "ok")
SDIST_MODE = open("mode.txt").read().strip() if os.path.exists("mode.txt") else "ok"


def _metadata():
    return f"Metadata-Version: 2.1\nName: demo-intree\nVersion: {VERSION}\n".encode()


def get_requires_for_build_sdist(config_settings=None):
    if SDIST_MODE == "warn":  # as setuptools-scm does ("version of None already set")
        import warnings
        warnings.warn("the backend warns about something")
    return []


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_sdist(sdist_directory, config_settings=None):
    if SDIST_MODE == "fail":
        print("checking compilers...")
        print("fatal: the compiler exploded", file=sys.stderr)
        raise RuntimeError("backend failure for the test")
    name = f"{NAME}-{VERSION}.tar.gz"
    path = os.path.join(sdist_directory, name)
    if SDIST_MODE == "garbage":
        with open(path, "wb") as f:
            f.write(b"\x1f\x8b\x08\x00 this is not really gzip")
        return name
    with tarfile.open(path, "w:gz") as tar:
        for rel in sorted(os.listdir("."), reverse=True):
            if rel.startswith(".") or rel == "__pycache__":
                continue
            tar.add(rel, arcname=f"{NAME}-{VERSION}/{rel}")
        info = tarfile.TarInfo(f"{NAME}-{VERSION}/PKG-INFO")
        data = _metadata()
        info.size, info.mtime, info.uid, info.uname = len(data), time.time(), 501, "alice"
        tar.addfile(info, io.BytesIO(data))
        if SDIST_MODE == "escape":
            info = tarfile.TarInfo("../escaped.txt")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    files = {
        f"{NAME}/__init__.py": open(f"{NAME}/__init__.py", "rb").read(),
        f"{NAME}-{VERSION}.dist-info/METADATA": _metadata(),
        f"{NAME}-{VERSION}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: intree\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for member, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{member},sha256={digest},{len(data)}\n"
    files[f"{NAME}-{VERSION}.dist-info/RECORD"] = (record + f"{NAME}-{VERSION}.dist-info/RECORD,,\n").encode()
    now = time.localtime()[:6]
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for member in sorted(files, reverse=True):
            info = zipfile.ZipInfo(member, date_time=now)
            info.external_attr = 0o100664 << 16
            zf.writestr(info, files[member])
    return name
"""

PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["_backend"]
"""


def files(sdist_mode: str = "ok") -> dict[str, str]:
    result = {
        "pyproject.toml": PYPROJECT,
        "_backend/backend.py": BACKEND,
        "demo_intree/__init__.py": "X = 1\n",
    }
    if sdist_mode != "ok":
        result["mode.txt"] = sdist_mode + "\n"
    return result
