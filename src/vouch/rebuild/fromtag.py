"""A published release traced from its git tag: source fidelity, then the sdist rebuilt from the tag.

Step one (:func:`check_source`) classifies every member of the published sdist against the tag's
tree (:mod:`vouch.rebuild.fidelity`). Step two (:func:`rebuild_sdist`) exports the tag as the
builder does (a fresh clone of the commit, file times set to SOURCE_DATE_EPOCH), installs the
inferred recipe's build environment, lets the backend build the sdist, and compares its raw output
with the published sdist (no normalisation before comparing: "bit-identical" means it).

SOURCE_DATE_EPOCH is what the published sdist shows: its members' uniform mtime, else its gzip
header's time, else the tag's commit time; :func:`sdist_epoch` says which.

The branch: setuptools-scm (through vcs-versioning) writes ``*.egg-info/scm_version.json`` with the
branch the releaser's checkout was on (``main``); the builder's export is a detached checkout, whose
branch reads ``HEAD``. :func:`sdist_branch` reads the published one, and the tag is checked out on a
branch of that name for the rebuild (recorded in the recipe, with where the name came from).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vouch.archive.members import Member, MemberType
from vouch.builder.env import Interpreter, find_uv, install_locked
from vouch.builder.hooks import BackendRunner
from vouch.builder.lock import resolve_lock
from vouch.builder.source import export_tree, open_source
from vouch.errors import OutputError, ToolError
from vouch.git import git
from vouch.host import Host, Progress
from vouch.index.simple import SimpleIndex
from vouch.rebuild.compare import compare_artifacts
from vouch.rebuild.fidelity import source_fidelity
from vouch.rebuild.gittree import Tag, find_tag
from vouch.rebuild.remote import Remote, RemotePolicy, check_url, fetch_release, repository_from_metadata
from vouch.rebuild.verdict import ArtifactVerdict, SourceFidelity, Verdict
from vouch.untrusted import DocumentError, load_json

if TYPE_CHECKING:
    from vouch.builder.builder import Environment
    from vouch.rebuild.infer import Recipe
    from vouch.rebuild.published import PublishedOptions


AUTO = "auto"


@dataclass(frozen=True)
class SourceOptions:
    """``--source PATH | URL | auto [--rev TAG]``: a local clone of the project, an https:// URL of its
    repository, or ``auto`` (the repository the release's Project-URL names); optionally the revision."""

    location: str
    rev: str | None = None
    policy: RemotePolicy = field(default_factory=RemotePolicy)

    @property
    def remote(self) -> bool:
        """A URL or ``auto``: fetched into a temporary clone, never a path given to git as a URL."""
        return self.location == AUTO or "://" in self.location or "::" in self.location


@dataclass(frozen=True)
class ResolvedSource:
    """The repository to trace against (a local folder) and where it came from, for the report."""

    path: Path
    repository: str  # the path or URL as given or found
    via: str  # how it was named and reached
    rev: str | None

    @property
    def origin(self) -> str:
        return f"{self.repository} ({self.via})"


def resolve_source(
    options: SourceOptions,
    release: tuple[str, str],
    sdist: Sequence[Member],
    work: Path,
    *,
    host: Host,
    progress: Progress,
) -> ResolvedSource:
    """A local clone as given; a URL (``--source URL`` or the Project-URL) checked, then the release's
    tag fetched from it into ``work`` (a folder vouch names, never one built from the URL)."""
    if not options.remote:
        return ResolvedSource(Path(options.location), options.location, "local clone", options.rev)
    if options.location == AUTO:
        remote = repository_from_metadata(sdist, options.policy)
    else:
        remote = Remote(check_url(options.location, options.policy), "--source")
    clone = fetch_release(remote, release, options.rev, work, host=host, policy=options.policy,
                          progress=progress)  # fmt: skip
    via = f"{remote.label}, fetched one commit deep"
    return ResolvedSource(clone, remote.url, via, options.rev)


@dataclass(frozen=True)
class EnvironmentSpec:
    """What the build environment is resolved from, and where it is installed from."""

    requirements: tuple[str, ...]
    exclude_newer: str | None
    index_url: str
    interpreter: Interpreter
    uv: str
    cache_dir: Path
    prepared: Environment | None = None  # an installed environment of these requirements, to use again


def check_source(
    source: ResolvedSource, release: tuple[str, str], sdist: Sequence[Member], *, backend: str, host: Host
) -> tuple[Tag, SourceFidelity]:
    name, version = release
    tag = find_tag(source.path, name, version, source.rev, host)
    fidelity = source_fidelity(sdist, source.path, tag, backend, host)
    return tag, replace(fidelity, repository=source.repository, via=source.via)


def sdist_epoch(sdist: Sequence[Member], gzip_mtime: int, tag: Tag) -> tuple[int, str]:
    """SOURCE_DATE_EPOCH for rebuilding the sdist, and where it comes from."""
    times = {m.mtime for m in sdist if m.type is not MemberType.DIR} - {0.0}
    if len(times) == 1 and (only := next(iter(times))).is_integer():
        return int(only), "the published sdist's uniform member mtimes"
    if gzip_mtime:
        return gzip_mtime, "the published sdist's gzip header time (its member times vary)"
    return tag.commit_time, f"the commit time of tag {tag.name} (the sdist shows none)"


_BRANCH = re.compile(r"^(?![-/.])(?!.*(\.\.|//|@\{|\.lock$|/$|\.$))[A-Za-z0-9._/+-]{1,100}$")


def sdist_branch(sdist: Sequence[Member]) -> tuple[str, str] | None:
    """The branch the published sdist's ``scm_version.json`` records, and the member it is in; None
    when there is none, it says ``HEAD`` (a detached checkout, as vouch's own) or it is no plain name."""
    found = [m for m in sdist if m.type is MemberType.FILE and m.name.endswith(".egg-info/scm_version.json")]
    if len(found) != 1:
        return None
    try:
        document = load_json(found[0].data, found[0].name, max_bytes=64 * 1024)
    except DocumentError:
        return None
    branch = document.get("branch") if isinstance(document, dict) else None
    if not isinstance(branch, str) or branch == "HEAD" or not _BRANCH.match(branch):
        return None
    return branch, found[0].name.split("/", 1)[-1]


def rebuild_sdist(
    repo: Path,
    tag: Tag,
    published: Path,
    *,
    env: EnvironmentSpec,
    index: SimpleIndex,
    work: Path,
    sde: int,
    progress: Progress,
    branch: str | None = None,
    host: Host | None = None,
) -> tuple[Path, ArtifactVerdict]:
    """The sdist the backend builds from the tag (checked out on ``branch`` when given, else detached),
    and its verdict against the published one."""
    source = open_source(repo, tag.commit)
    for folder in ("home", "tmp", "out"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    progress(f"exporting {tag.name} ({tag.commit[:12]})")
    project = export_tree(source, work / "src", sde)
    if branch is not None:  # the same commit: no file is rewritten, their times stay
        switched = git(["checkout", "--quiet", "-B", branch], cwd=project, host=host, hermetic=True)
        if not switched.ok:
            raise ToolError(f"git cannot check {tag.name} out on branch {branch!r}: {switched.err.strip()}")
    if env.prepared is not None:  # the wheel's environment, of the same lock: its venv again
        installed, venv = env.prepared.installed, env.prepared.backend.python.parent.parent
    else:
        progress(f"resolving {', '.join(env.requirements) or 'no build requirements'} for the sdist")
        packages = resolve_lock(
            env.requirements, uv=env.uv, python=env.interpreter.executable, index_url=env.index_url,
            cache_dir=env.cache_dir / "uv", exclude_newer=env.exclude_newer,
        )  # fmt: skip
        venv = work / "venv"
        installed = install_locked(packages, index, env.interpreter, venv, uv=env.uv, cache_dir=env.cache_dir)
    runner = BackendRunner(venv=venv, home=work / "home", tmp=work / "tmp", source_date_epoch=sde)
    progress(f"building the sdist from {tag.name}")
    rebuilt = runner.build(project, "sdist", work / "out", installed.versions)
    if rebuilt.name != published.name:
        return rebuilt, ArtifactVerdict(
            published.name, None, None, Verdict.DIFFERENT,
            note=f"not compared: the backend named the sdist {rebuilt.name}, the index {published.name}",
        )  # fmt: skip
    return rebuilt, compare_artifacts(published, rebuilt)


@dataclass(frozen=True)
class Traced:
    fidelity: SourceFidelity
    sdist: ArtifactVerdict
    rebuilt_sdist: Path
    recipe: dict[str, object]


def trace_release(
    source: ResolvedSource,
    release: tuple[str, str],
    published: Path,
    sdist: Sequence[Member],
    *,
    backend: str,
    env: EnvironmentSpec,
    index: SimpleIndex,
    work: Path,
    host: Host,
    progress: Progress,
) -> Traced:
    """Source fidelity of the published sdist against the release's tag, and the sdist rebuilt from
    the tag with the upstream recipe."""
    name, version = release
    progress(f"finding the tag of {name} {version} in {source.origin}")
    tag, fidelity = check_source(source, release, sdist, backend=backend, host=host)
    gzip_mtime = int.from_bytes(published.read_bytes()[4:8], "little")
    sde, origin = sdist_epoch(sdist, gzip_mtime, tag)
    branch = sdist_branch(sdist)
    rebuilt, verdict = rebuild_sdist(
        source.path, tag, published, env=env, index=index, work=work, sde=sde, progress=progress,
        branch=branch[0] if branch else None, host=host,
    )  # fmt: skip
    recipe: dict[str, object] = {
        "source": source.origin,
        "tag": f"{tag.name} ({tag.commit})",
        "sdist_source_date_epoch": sde,
        "sdist_source_date_epoch_origin": origin,
    }
    if branch is not None:
        recipe |= {"sdist_branch": branch[0],
                   "sdist_branch_origin": f"the published sdist's {branch[1]} (setuptools-scm records the "
                   "branch of the releaser's checkout)"}  # fmt: skip
    return Traced(fidelity, verdict, rebuilt, recipe)


def trace(
    options: PublishedOptions,
    source: ResolvedSource,
    release: tuple[str, str],
    published: tuple[Path, Sequence[Member]],
    *,
    recipe: Recipe,
    index: SimpleIndex,
    tmp: Path,
    progress: Progress,
    prepared: Environment | None = None,
) -> Traced:
    """:func:`trace_release` for ``vouch rebuild pypi:... --source``, with the wheel's recipe."""
    env = EnvironmentSpec(
        recipe.requirements, recipe.exclude_newer, options.index_url, options.interpreter,
        find_uv(), options.cache_dir, prepared,
    )  # fmt: skip
    return trace_release(
        source, release, *published, backend=recipe.backend, env=env, index=index,
        work=tmp / "from-tag", host=Host(cache_dir=options.cache_dir), progress=progress,
    )  # fmt: skip


def keep_artifacts(out: Path | None, artifacts: Iterable[Path]) -> None:
    """Copy the rebuilt artifacts into ``out`` (``--out``), each through a temporary name."""
    if out is None:
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for artifact in artifacts:
            partial = out / f".{artifact.name}.partial"
            shutil.copyfile(artifact, partial)
            partial.replace(out / artifact.name)
    except OSError as exc:
        raise OutputError(f"cannot keep the rebuilt artifacts in {out}: {exc.strerror}") from exc
