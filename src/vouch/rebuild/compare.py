"""Comparing a rebuilt artifact with the expected one: a verdict, its normalisations, its
differences. Equivalence is never inferred from the diff alone: both archives are normalised
and must then be byte-identical. Archives that differ by their deflate streams alone (another
zlib, another compressor version) are "equivalent: compression differs", naming the compressors
when the caller knows them (a rebuild of a build record does), never a bare "different". Wheel
members that are the rebuild's files gzip-compressed after the build are named as such
(:mod:`vouch.rebuild.gzipped`): different, with a note that says why."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from vouch.archive.diff import DiffReport, diff_paths
from vouch.archive.normalize import normalize_archive
from vouch.digests import file_sha256
from vouch.errors import ArchiveError
from vouch.rebuild.gzipped import gzipped_copies
from vouch.rebuild.gzipped import note as gzipped_note
from vouch.rebuild.verdict import NORMALISABLE_ASPECTS, ArtifactVerdict, Normalisation, Verdict, after_build

# clamping every timestamp to 1980 makes two archives' times agree whatever they were
_EQUIVALENCE_EPOCH = 315532800


def compare_artifacts(
    expected: Path, rebuilt: Path, *, max_lines: int = 40, compressors: tuple[str, str] | None = None
) -> ArtifactVerdict:
    """The verdict for ``rebuilt`` against ``expected`` (both present on disk); ``compressors``
    names what made each side's deflate streams, when known."""
    expected_sha, rebuilt_sha = file_sha256(expected), file_sha256(rebuilt)
    if expected_sha == rebuilt_sha:
        return ArtifactVerdict(expected.name, expected_sha, rebuilt_sha, Verdict.BIT_IDENTICAL)
    report = diff_paths(expected, rebuilt, max_lines=max_lines)
    normalisations, real = split_differences(report)
    if report.kind == "zip":
        real = gzipped_copies(expected, rebuilt, real)
    copies = [d["member"] for d in real if after_build(d)]
    if copies:  # a step after the build: a real difference, never "equivalent"
        return ArtifactVerdict(
            expected.name, expected_sha, rebuilt_sha, Verdict.DIFFERENT, normalisations, tuple(real),
            note=gzipped_note(len(copies), str(copies[0])),
        )  # fmt: skip
    if not real:
        try:
            same = normalize_archive(expected, _EQUIVALENCE_EPOCH) == normalize_archive(
                rebuilt, _EQUIVALENCE_EPOCH
            )
        except ArchiveError as exc:
            return ArtifactVerdict(
                expected.name, expected_sha, rebuilt_sha, Verdict.DIFFERENT,
                normalisations, note=f"cannot normalise for comparison: {exc}",
            )  # fmt: skip
        if same and normalisations:
            normalisations, note = _name_compression(normalisations, compressors)
            return ArtifactVerdict(
                expected.name, expected_sha, rebuilt_sha, Verdict.EQUIVALENT, normalisations, note=note
            )
        note = "the bytes differ in a way the structural diff does not explain"
        return ArtifactVerdict(
            expected.name, expected_sha, rebuilt_sha, Verdict.DIFFERENT, normalisations, note=note
        )
    return ArtifactVerdict(
        expected.name, expected_sha, rebuilt_sha, Verdict.DIFFERENT, normalisations, tuple(real)
    )


def _name_compression(
    normalisations: tuple[Normalisation, ...], compressors: tuple[str, str] | None
) -> tuple[tuple[Normalisation, ...], str]:
    """Normalisations with the compressors named on ``compression``, and the verdict's note."""
    if not any(n.aspect == "compression" for n in normalisations):
        return normalisations, ""
    if compressors is None:
        detail = "made by another compressor or level"
    else:
        detail = f"expected made by {compressors[0]}, rebuilt by {compressors[1]}"
    named = tuple(replace(n, detail=detail) if n.aspect == "compression" else n for n in normalisations)
    return named, f"compression differs: {detail}"


def split_differences(report: DiffReport) -> tuple[tuple[Normalisation, ...], list[dict[str, object]]]:
    """Normalisable aspects grouped by aspect (with their members), and the real differences."""
    touched: dict[str, list[str | None]] = defaultdict(list)
    real: list[dict[str, object]] = []
    for difference in report.differences:
        for aspect in difference.aspects:
            if aspect in NORMALISABLE_ASPECTS:
                touched[aspect].append(difference.member)
        kept = [a for a in difference.aspects if a not in NORMALISABLE_ASPECTS]
        if kept:
            real.append({"member": difference.member, "aspects": kept, **difference.details})
    normalisations = tuple(Normalisation(a, tuple(m)) for a, m in sorted(touched.items()))
    return normalisations, real
