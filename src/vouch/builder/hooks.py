"""Running the PEP 517 backend (through pypa/build) in the locked venv with a hermetic environment."""

from __future__ import annotations

import functools
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from subprocess import CalledProcessError
from typing import Literal

import build as pypa_build
import pyproject_hooks
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from vouch.builder import transport
from vouch.builder.env import UMASK, hermetic_environment
from vouch.builder.lock import applies
from vouch.errors import BuildFailedError, LockMismatchError, ProjectConfigError
from vouch.host import Runner, run_process

TAIL_LINES = 15
PRECOMPILE_SECONDS = 60.0  # the build waits for the compilation at its end: bounded, whatever the lock holds
Distribution = Literal["sdist", "wheel"]


class BackendRunner:
    """Calls backend hooks in ``venv`` with the hermetic environment and umask 022, keeping the
    backend's output so that a failure can show its last lines."""

    def __init__(
        self, *, venv: Path, home: Path, tmp: Path, source_date_epoch: int | None, run: Runner = run_process
    ) -> None:
        self.run = run
        self.venv = venv
        self.python = venv / "bin" / "python"
        self.env = hermetic_environment(venv=venv, home=home, tmp=tmp, source_date_epoch=source_date_epoch)
        self.output: list[str] = []

    def _run(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
        *,
        uncompressed_archives: bool = False,
    ) -> None:
        env = self.env | dict(extra_environ or {})
        if uncompressed_archives and len(cmd) == 4 and cmd[2] in transport.OUTPUT_FOLDER:
            # pyproject_hooks' [python, _in_process.py, hook, control_dir], through the script
            cmd = [cmd[0], str(Path(transport.__file__).resolve()), *cmd[1:]]
        result = self.run(cmd, cwd=None if cwd is None else Path(cwd), env=env, umask=UMASK)
        self.output.extend((result.out + result.err).splitlines())
        if result.returncode != 0:  # pyproject_hooks turns this into the backend's failure
            # pyproject_hooks expects this exception from its runner; no process is started here
            raise CalledProcessError(result.returncode, list(cmd))

    def precompile(self) -> None:
        """Compile the build environment's modules to bytecode once, so that each hook's new
        interpreter reads them instead of compiling them again (the backend itself runs with
        PYTHONDONTWRITEBYTECODE: nothing is written into the project). Only a speed-up: a failure
        or a timeout (:data:`PRECOMPILE_SECONDS`) changes nothing but the time the hooks take."""
        folders = sorted(str(path) for path in self.venv.glob("lib/python*/site-packages"))
        if folders:
            command = [str(self.python), "-m", "compileall", "-qq", "--invalidation-mode", "timestamp"]
            self.run([*command, *folders], env=self.env, umask=UMASK, timeout=PRECOMPILE_SECONDS)

    def write_log(self) -> Path | None:
        """The backend's whole output, kept in a file that outlives the build's temporary folder."""
        try:
            fd, name = tempfile.mkstemp(prefix="vouch-backend-", suffix=".log")
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as stream:
                stream.write("\n".join(self.output) + "\n")
        except OSError:
            return None
        return Path(name)

    def tail(self) -> str:
        return "\n".join(self.output[-TAIL_LINES:])

    def build(
        self, srcdir: Path, distribution: Distribution, outdir: Path, installed: Mapping[str, str], *,
        uncompressed_archives: bool = False,
    ) -> Path:  # fmt: skip
        """Build ``distribution`` (sdist or wheel) from ``srcdir``; return the backend's file. With
        ``uncompressed_archives`` (for a caller that reads only the members and writes the archive
        itself), the build hook runs through :mod:`vouch.builder.transport`, which has the backend
        write its archive without compression; never where the backend's bytes are compared."""
        runner = functools.partial(self._run, uncompressed_archives=uncompressed_archives)
        try:
            with warnings.catch_warnings(record=True) as caught:
                # pyproject_hooks re-issues the backend's warnings here, in vouch's process: they are
                # the backend's output (kept with it), neither vouch's to print nor an error of it
                warnings.simplefilter("always", pyproject_hooks.BuildBackendWarning)
                try:
                    builder = pypa_build.ProjectBuilder(srcdir, str(self.python), runner=runner)
                    requires = builder.get_requires_for_build(distribution)
                    self._check_requires(requires, distribution, installed)
                    return Path(builder.build(distribution, outdir))
                finally:
                    self.output.extend(f"warning from the backend: {w.message}" for w in caught)
        except pypa_build.BuildBackendException as exc:
            log = self.write_log()
            raise BuildFailedError(
                f"the build backend failed to build the {distribution}: {exc}"
                + (f"; its full output is in {log}" if log else ""),
                output_tail=self.tail(),
                hint=f"read {log}, fix the project, and build again" if log else None,
            ) from exc
        except pypa_build.BuildException as exc:
            raise ProjectConfigError(f"cannot build the {distribution}: {exc}") from exc

    @staticmethod
    def _check_requires(requires: set[str], distribution: Distribution, installed: Mapping[str, str]) -> None:
        for text in sorted(requires):
            try:
                requirement = Requirement(text)
            except InvalidRequirement as exc:
                raise ProjectConfigError(f"the backend asked for an invalid requirement: {exc}") from exc
            if not applies(requirement):
                continue
            version = installed.get(canonicalize_name(requirement.name))
            if version is None or not requirement.specifier.contains(version, prereleases=True):
                raise LockMismatchError(
                    f"the backend needs {requirement} to build the {distribution}, "
                    "which the build lock does not provide",
                    hint="relock with that requirement added",
                )
