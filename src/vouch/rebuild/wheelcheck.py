"""A rebuilt wheel against the published one, for releases not built by vouch.

Two wheels whose tags differ are two different files: a compiled ``cp311`` rebuild is never
compared with a published ``py3-none-any`` wheel as if it were the same (the verdict says why
it was not compared). A published wheel built on Windows gets its own note, with the evidence,
so that "different" is not left unexplained.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from vouch.digests import file_sha256
from vouch.rebuild.compare import compare_artifacts
from vouch.rebuild.verdict import ArtifactVerdict, Verdict

if TYPE_CHECKING:
    from vouch.rebuild.infer import Recipe


def _tags(filename: str) -> str:
    try:
        return ".".join(sorted(str(t) for t in parse_wheel_filename(filename)[3]))
    except InvalidWheelFilename:
        return filename


def compare_published(published: Path, rebuilt: Path, recipe: Recipe) -> ArtifactVerdict:
    if rebuilt.name != published.name:
        pure = _tags(published.name).endswith("none-any")
        why = (
            "the backend built a compiled wheel from the sdist; the published pure-Python wheel "
            "was made with a switch of the project's own (an environment variable or option) that "
            "the recipe does not know"
            if pure and not _tags(rebuilt.name).endswith("none-any")
            else _universal_note(recipe)
            if "py2-none-any" in _tags(published.name)
            else "the backend named its wheel otherwise"
        )
        return ArtifactVerdict(
            published.name, file_sha256(published), file_sha256(rebuilt), Verdict.DIFFERENT,
            note=f"not compared: the rebuild is {rebuilt.name} ({_tags(rebuilt.name)}), the published "
            f"wheel is {published.name} ({_tags(published.name)}): {why}",
        )  # fmt: skip
    verdict = compare_artifacts(published, rebuilt)
    if verdict.verdict is not Verdict.BIT_IDENTICAL and recipe.built_on_windows:
        windows = "the published wheel was built on Windows: " + "; ".join(recipe.built_on_windows)
        verdict = replace(verdict, note="; ".join(n for n in (verdict.note, windows) if n))
    return verdict


def _universal_note(recipe: Recipe) -> str:
    if recipe.universal:
        return ("the published wheel is universal (py2.py3); the recipe asked setuptools for one "
                "([bdist_wheel] universal = 1 through DIST_EXTRA_CONFIG) and the resolved setuptools "
                "did not build it")  # fmt: skip
    return ("the published wheel is universal (py2.py3) and the rebuild is not; vouch knows that switch "
            f"for setuptools only (bdist_wheel --universal), not for {recipe.generator or recipe.backend}")
