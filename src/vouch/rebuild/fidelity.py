"""Source fidelity: is the published sdist the release's git tag? Every member is classified.

- ``from-git``: the file of the tag's tree at the same path, same bytes (a symbolic link: same target).
- ``generated``: not the tagged bytes, but explained by a rule of the backend or its version plugin,
  each named in the report:
  - ``PKG-INFO`` at the top: the core metadata every backend writes;
  - anything under a ``*.egg-info/`` folder: setuptools' egg_info metadata;
  - ``setup.cfg`` that setuptools rewrites through configparser to add ``[egg_info]``
    ``tag_build``/``tag_date``: accepted when its options, those two removed, are the tagged ones;
  - the version file the declared scm plugin writes: setuptools-scm ``version_file``/``write_to``,
    hatch-vcs ``[tool.hatch.build.hooks.vcs] version-file``, pdm-backend ``[tool.pdm.version] write_to``;
  - ``setup.py`` not in git from poetry-core (``generate-setup-file``) or flit (``--setup-py``).
- ``modified``: in the tree, other bytes: a bounded unified diff (line endings named when they
  are the whole difference).
- ``not-in-git``: neither in the tree nor explained.

``modified`` and ``not-in-git`` fail the check. The tag's files that the sdist leaves out are
counted (leaving files out is normal: tests, CI configuration).
"""

from __future__ import annotations

import configparser
import difflib
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from vouch.archive.members import Member, MemberType
from vouch.errors import ArchiveError
from vouch.host import Host
from vouch.rebuild.gittree import Tag, TreeEntry, list_tree, read_blobs
from vouch.rebuild.verdict import SourceClass, SourceFidelity, SourceMember

MAX_DIFF_LINES = 40
MAX_DIFF_CHARS = 4000
MAX_OMITTED_EXAMPLES = 10
_EGG_INFO_TAGS = {"tag_build", "tag_date"}


def sdist_top(members: Sequence[Member]) -> str:
    tops = {m.name.split("/", 1)[0] for m in members}
    if len(tops) != 1:
        raise ArchiveError(f"the sdist has {len(tops)} top-level folders; an sdist has one")
    return tops.pop()


def generated_rules(tree_files: Mapping[str, bytes], backend: str) -> dict[str, str]:
    """Paths that the declared version plugin or backend writes, with the rule, from the tag's
    ``pyproject.toml``."""
    rules: dict[str, str] = {}
    try:
        pyproject: dict[str, Any] = tomllib.loads(tree_files.get("pyproject.toml", b"").decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        pyproject = {}
    tool = pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else {}

    def table(*keys: str) -> dict[str, Any]:
        node: Any = tool
        for key in keys:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    for key in ("version_file", "write_to"):
        if isinstance(path := table("setuptools_scm").get(key), str):
            rules[path] = f"written by setuptools-scm ([tool.setuptools_scm] {key})"
    if isinstance(path := table("hatch", "build", "hooks", "vcs").get("version-file"), str):
        rules[path] = "written by hatch-vcs ([tool.hatch.build.hooks.vcs] version-file)"
    if isinstance(path := table("pdm", "version").get("write_to"), str):
        for where in (path, f"src/{path}"):
            rules[where] = "written by pdm-backend ([tool.pdm.version] write_to)"
    if backend.startswith("poetry"):
        rules["setup.py"] = "written by poetry-core (generate-setup-file)"
    if backend.startswith("flit"):
        rules["setup.py"] = "written by flit (flit build --setup-py)"
    return {str(PurePosixPath(p)): rule for p, rule in rules.items()}


def _config(data: bytes) -> dict[str, dict[str, str]] | None:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(data.decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError):
        return None
    sections = {s: {k: v for k, v in parser.items(s) if s != "egg_info" or k not in _EGG_INFO_TAGS}
                for s in parser.sections()}  # fmt: skip
    return {s: options for s, options in sections.items() if options or s != "egg_info"}


def _setup_cfg_rewrite(published: bytes, tagged: bytes | None) -> bool:
    """setuptools' egg_info rewrites setup.cfg with configparser and adds tag_build/tag_date."""
    mine = _config(published)
    if mine is None or "tag_build" not in published.decode("utf-8", "replace"):
        return False
    return mine == (_config(tagged) if tagged is not None else {})


def unified_diff(path: str, tagged: bytes, published: bytes) -> str:
    """A bounded unified diff of the tagged file against the published member."""
    try:
        old, new = tagged.decode("utf-8"), published.decode("utf-8")
    except UnicodeDecodeError:
        return f"binary content differs: {len(tagged)} bytes in git, {len(published)} in the sdist"
    if old.replace("\r\n", "\n") == new.replace("\r\n", "\n"):
        return "line endings only (CRLF on one side): the file was packed on Windows or with autocrlf"
    lines = list(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"git:{path}", tofile=f"sdist:{path}", n=2,
    ))  # fmt: skip
    shown = "".join(lines[:MAX_DIFF_LINES])[:MAX_DIFF_CHARS]
    more = len(lines) - MAX_DIFF_LINES
    return shown + (f"... {more} more diff lines\n" if more > 0 else "")


def _mode_note(entry: TreeEntry, member: Member) -> str:
    tagged = entry.mode == "100755"
    if tagged == member.executable:
        return ""
    return f"executable bit differs: git {entry.mode}, sdist {member.mode:04o}"


def classify(
    sdist: Sequence[Member], tree: Mapping[str, TreeEntry], blobs: Mapping[str, bytes], backend: str
) -> tuple[tuple[SourceMember, ...], list[str]]:
    """Each sdist member's class, and the tree's files that the sdist leaves out."""
    top = sdist_top(sdist)
    rules = generated_rules(blobs, backend)
    result: list[SourceMember] = []
    seen: set[str] = set()
    for member in sdist:
        if member.type is MemberType.DIR or member.name == top:
            continue
        path = member.name.removeprefix(f"{top}/")
        seen.add(path)
        entry = tree.get(path)
        if entry is not None and entry.mode == "120000":
            target = blobs.get(path, b"").decode("utf-8", "surrogateescape")
            same = member.type is MemberType.SYMLINK and member.linkname == target
            result.append(SourceMember(path, SourceClass.FROM_GIT if same else SourceClass.MODIFIED,
                                       diff="" if same else f"a link to {target} in git"))  # fmt: skip
            continue
        data = member.data if member.type is not MemberType.SYMLINK else member.linkname.encode()
        tagged = blobs.get(path) if entry is not None and entry.mode != "160000" else None
        if entry is not None and tagged == data and member.type is not MemberType.SYMLINK:
            result.append(SourceMember(path, SourceClass.FROM_GIT, _mode_note(entry, member)))
        elif rule := _generated(path, data, tagged, rules):
            result.append(SourceMember(path, SourceClass.GENERATED, rule))
        elif tagged is not None:
            result.append(SourceMember(path, SourceClass.MODIFIED, diff=unified_diff(path, tagged, data)))
        else:
            result.append(SourceMember(path, SourceClass.NOT_IN_GIT, diff=f"{len(data)} bytes"))
    omitted = sorted(p for p, e in tree.items() if p not in seen and e.mode != "160000")
    return tuple(result), omitted


def _generated(path: str, data: bytes, tagged: bytes | None, rules: Mapping[str, str]) -> str:
    parts = PurePosixPath(path).parts
    if path == "PKG-INFO":
        return "PKG-INFO: the core metadata every backend writes into an sdist"
    if any(part.endswith(".egg-info") for part in parts[:-1]):
        return "setuptools egg_info metadata (*.egg-info/)"
    if path == "setup.cfg" and _setup_cfg_rewrite(data, tagged):
        return "setuptools rewrites setup.cfg with [egg_info] tag_build/tag_date"
    return rules.get(path, "")


def source_fidelity(
    sdist: Sequence[Member], repo: Path, tag: Tag, backend: str, host: Host
) -> SourceFidelity:
    """Classify every member of ``sdist`` against the tree of ``tag``."""
    tree = list_tree(repo, tag.commit, host)
    top = sdist_top(sdist)
    wanted = {m.name.removeprefix(f"{top}/") for m in sdist} | {"pyproject.toml"}
    blobs = read_blobs(repo, [tree[p] for p in sorted(wanted) if p in tree], host)
    members, omitted = classify(sdist, tree, blobs, backend)
    return SourceFidelity(
        repository=str(repo),
        tag=tag.name,
        commit=tag.commit,
        members=members,
        omitted=len(omitted),
        omitted_examples=tuple(omitted[:MAX_OMITTED_EXAMPLES]),
    )
