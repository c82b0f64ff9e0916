"""Small projects, one per build backend vouch must build reproducibly."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Project:
    id: str
    dist: str
    version: str
    files: dict[str, str]
    executables: tuple[str, ...] = ()
    tag: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _module(package: str) -> dict[str, str]:
    return {
        f"{package}/__init__.py": '"""A demo package."""\n\n__version__ = "0"\n',
        f"{package}/data.txt": "some package data\n",
        f"{package}/tool.sh": "#!/bin/sh\necho tool\n",
        "README.md": "# demo\n",
        ".gitignore": "dist/\n",
    }


def _pyproject(build_system: str, project: str, tool: str = "") -> str:
    readme = "" if "readme" in project else '\nreadme = "README.md"'
    return f"[build-system]\n{build_system}\n\n[project]\n{project}{readme}\n{tool}"


SETUPTOOLS = Project(
    id="setuptools",
    dist="demo_setuptools",
    version="1.2.0",
    files={
        **_module("demo_setuptools"),
        "pyproject.toml": _pyproject(
            'requires = ["setuptools>=70"]\nbuild-backend = "setuptools.build_meta"',
            'name = "demo-setuptools"\nversion = "1.2.0"\nreadme = "README.md"',
            '[tool.setuptools.package-data]\ndemo_setuptools = ["*.txt", "*.sh"]\n',
        ),
    },
    executables=("demo_setuptools/tool.sh",),
)

SETUPTOOLS_SCM = Project(
    id="setuptools-scm",
    dist="demo_scm",
    version="2.0.1",
    files={
        **_module("demo_scm"),
        "pyproject.toml": _pyproject(
            'requires = ["setuptools>=70", "setuptools-scm>=8"]\nbuild-backend = "setuptools.build_meta"',
            'name = "demo-scm"\ndynamic = ["version"]',
            "[tool.setuptools_scm]\n",
        ),
    },
    executables=("demo_scm/tool.sh",),
    tag="v2.0.1",
)

HATCHLING = Project(
    id="hatchling",
    dist="demo_hatch",
    version="0.3.0",
    files={
        **_module("demo_hatch"),
        "pyproject.toml": _pyproject(
            'requires = ["hatchling>=1.26"]\nbuild-backend = "hatchling.build"',
            'name = "demo-hatch"\nversion = "0.3.0"\nreadme = "README.md"',
        ),
    },
    executables=("demo_hatch/tool.sh",),
)

HATCH_VCS = Project(
    id="hatch-vcs",
    dist="demo_hatch_vcs",
    version="4.5.6",
    files={
        **_module("demo_hatch_vcs"),
        "pyproject.toml": _pyproject(
            'requires = ["hatchling>=1.26", "hatch-vcs>=0.4"]\nbuild-backend = "hatchling.build"',
            'name = "demo-hatch-vcs"\ndynamic = ["version"]',
            '[tool.hatch.version]\nsource = "vcs"\n',
        ),
    },
    executables=("demo_hatch_vcs/tool.sh",),
    tag="4.5.6",
)

FLIT = Project(
    id="flit_core",
    dist="demo_flit",
    version="0.9.0",
    files={
        **_module("demo_flit"),
        "pyproject.toml": _pyproject(
            'requires = ["flit_core>=3.9,<5"]\nbuild-backend = "flit_core.buildapi"',
            'name = "demo_flit"\nversion = "0.9.0"\ndescription = "demo"',
        ),
    },
    executables=("demo_flit/tool.sh",),
)

PDM = Project(
    id="pdm-backend",
    dist="demo_pdm",
    version="3.1.0",
    files={
        **_module("demo_pdm"),
        "pyproject.toml": _pyproject(
            'requires = ["pdm-backend>=2.3"]\nbuild-backend = "pdm.backend"',
            'name = "demo-pdm"\nversion = "3.1.0"',
        ),
    },
    executables=("demo_pdm/tool.sh",),
)

POETRY = Project(
    id="poetry-core",
    dist="demo_poetry",
    version="1.0.0",
    files={
        **_module("demo_poetry"),
        "pyproject.toml": _pyproject(
            'requires = ["poetry-core>=2"]\nbuild-backend = "poetry.core.masonry.api"',
            'name = "demo-poetry"\nversion = "1.0.0"\ndescription = "demo"',
        ),
    },
    executables=("demo_poetry/tool.sh",),
)

ALL = (SETUPTOOLS, SETUPTOOLS_SCM, HATCHLING, HATCH_VCS, FLIT, PDM, POETRY)
