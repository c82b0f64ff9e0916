"""``vouch provenance``: a published release's PEP 740 provenance, or local attestations, verified."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.parser import add_command, add_verbs, handle, host_of, verb
from vouch.index import PYPI_SIMPLE

if TYPE_CHECKING:
    from pypi_attestations import Distribution

    from vouch.provenance.published import ReleaseOptions
    from vouch.provenance.publisher import ExpectedPublisher
    from vouch.provenance.report import FileReport, ProvenanceReport
    from vouch.trust import Trust

_STYLES = {
    "verified": "bold green",
    "failed": "bold red",
    "no provenance": "bold red",
    "not checked": "bold yellow",
}
_PREDICATES = {
    "https://docs.pypi.org/attestations/publish/v1": "PyPI publish",
    "https://slsa.dev/provenance/v1": "SLSA provenance",
}


_SPEC = (
    "SPEC: github:OWNER/REPO/WORKFLOW.yml[@ENVIRONMENT], gitlab:NAMESPACE/PROJECT/PATH.yml[@ENVIRONMENT], "
    "google:EMAIL, email:ADDRESS,ISSUER. The environment is not in the Sigstore certificate: it is "
    "compared with the index's publisher claim, and reported as a claim."
)
_GITHUB = "--publisher github:demo/demo/release.yml@pypi"


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "provenance",
        summary="verify a release's PEP 740 provenance against the expected publisher",
        description="Verify the PEP 740 provenance of a published release (`published`, the default "
        "verb: `vouch provenance NAME==VERSION`), or of a local file (`verify`), against the expected "
        "publisher, offline with Sigstore's root. Exit 0 only when every file verified.",
        examples=[f"vouch provenance demo==1.0 {_GITHUB}",
                  f"vouch provenance verify dist/demo-1.0.tar.gz --attestation "
                  f"dist/demo-1.0.tar.gz.publish.attestation {_GITHUB}"],
        notes=_SPEC,
    )  # fmt: skip
    verbs = add_verbs(parser, default="published")
    published = verb(
        parser, verbs, "published", scope="NAME==VERSION",
        summary="verify every file of a release on the index",
        description="For every file of the release on the index, fetch its PEP 740 provenance and "
        "verify every attestation (offline, with Sigstore's root) against the expected publisher. "
        "The verb `published` may be left out.",
        examples=[f"vouch provenance demo==1.0 {_GITHUB}",
                  "vouch provenance demo==1.0 --index https://test.pypi.org/simple/ --policy vouch.toml"],
        notes=_SPEC,
    )  # fmt: skip
    published.add_argument("release", metavar="NAME==VERSION", help="the release, e.g. django==5.2.3")
    published.add_argument("--index", default=PYPI_SIMPLE, metavar="URL",
                           help="the PEP 691 simple API (default: PyPI)")  # fmt: skip
    _add_common(published)
    handle(published, PublishedArgs, run_published)

    local = verb(
        parser, verbs, "verify", scope="`vouch provenance verify`",
        summary="verify local attestations (or a provenance object) for one file",
        description="Verify PEP 740 attestations or a provenance object for one distribution: a local "
        "file, or its name and sha256 without the file, against the expected publisher.",
        examples=[f"vouch provenance verify dist/demo-1.0.tar.gz --attestation "
                  f"dist/demo-1.0.tar.gz.publish.attestation {_GITHUB}",
                  f"vouch provenance verify --filename demo-1.0.tar.gz --sha256 HEX --provenance "
                  f"demo-1.0.tar.gz.provenance {_GITHUB}"],
        notes=_SPEC,
    )  # fmt: skip
    local.add_argument("dist", nargs="?", type=Path, metavar="DIST", help="the sdist or wheel")
    local.add_argument("--attestation", type=Path, action="append", metavar="FILE",
                       help="a PEP 740 attestation or Sigstore bundle for DIST (repeatable)")  # fmt: skip
    local.add_argument("--provenance", type=Path, metavar="FILE",
                       help="a PEP 740 provenance object (as the Integrity API serves it)")  # fmt: skip
    local.add_argument("--filename", metavar="NAME", help="the file's name, without the file")
    local.add_argument("--sha256", metavar="HEX", help="the file's sha256, without the file")
    local.add_argument(
        "--unsafe-ignore-environment", action="store_true",
        help="let attestation files (which carry no publisher claim) pass a publisher SPEC that names "
        "an environment, without checking the environment",
    )  # fmt: skip
    _add_common(local)
    handle(local, VerifyArgs, run_verify)


def _add_common(parser: argparse.ArgumentParser) -> None:
    """The options of both verbs."""
    parser.add_argument("--publisher", metavar="SPEC",
                        help="the expected publisher (default: the policy's [provenance])")  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--trusted-root", type=Path, metavar="FILE",
                        help="verify with this Sigstore trusted_root.json, not sigstore's own")  # fmt: skip
    parser.add_argument("--staging", action="store_true", help="attestations made with Sigstore staging")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


@dataclass(frozen=True)
class PublishedArgs:
    """`vouch provenance [published] NAME==VERSION`."""

    options: ReleaseOptions
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PublishedArgs:
        from vouch.provenance.published import ReleaseOptions, parse_release  # noqa: PLC0415
        from vouch.provenance.publisher import resolve_publisher  # noqa: PLC0415
        from vouch.trust import Trust  # noqa: PLC0415

        parse_release(args.release)
        publisher = resolve_publisher(args.publisher, args.policy)
        trust = Trust(staging=args.staging, pinned=args.trusted_root)
        options = ReleaseOptions(args.release, publisher, trust, index_url=args.index, host=host_of(args))
        return cls(options, args.json)


@dataclass(frozen=True)
class VerifyArgs:
    """`vouch provenance verify (DIST | --filename NAME --sha256 HEX) ...`."""

    dist: Distribution
    publisher: ExpectedPublisher
    trust: Trust
    attestations: tuple[Path, ...]
    provenance: Path | None
    unsafe_ignore_environment: bool
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> VerifyArgs:
        from vouch.errors import UsageError  # noqa: PLC0415
        from vouch.provenance.publisher import resolve_publisher  # noqa: PLC0415
        from vouch.provenance.verify import local_distribution, named_distribution  # noqa: PLC0415
        from vouch.trust import Trust  # noqa: PLC0415

        if (args.filename is None) != (args.sha256 is None):
            raise UsageError("--filename and --sha256 go together")
        if args.filename is not None and args.dist is None:
            dist = named_distribution(args.filename, args.sha256)
        elif args.filename is None and args.dist is not None:
            dist = local_distribution(args.dist)
        else:
            raise UsageError("`vouch provenance verify` takes one DIST, or --filename NAME --sha256 HEX")
        return cls(
            dist=dist, publisher=resolve_publisher(args.publisher, args.policy),
            trust=Trust(staging=args.staging, pinned=args.trusted_root),
            attestations=tuple(args.attestation or ()), provenance=args.provenance,
            unsafe_ignore_environment=args.unsafe_ignore_environment, json=args.json,
        )  # fmt: skip


def run_published(command: PublishedArgs, out: Console, err: Console) -> int:
    from vouch.provenance.published import verify_release  # noqa: PLC0415

    with err.status("checking provenance", spinner="dots") as status:
        report = verify_release(command.options, status.update)
    return _show(report, out, as_json=command.json)


def run_verify(command: VerifyArgs, out: Console, err: Console) -> int:
    from vouch.provenance.verify import verify_local  # noqa: PLC0415

    publisher = command.publisher
    if command.unsafe_ignore_environment and publisher.environment is not None:
        err.print(f"warning: --unsafe-ignore-environment: the environment {publisher.environment!r} of "
                  "the expected publisher is not checked", style="bold yellow", markup=False)  # fmt: skip
    report = verify_local(command.dist, publisher, command.trust, attestation_files=command.attestations,
                          provenance_file=command.provenance,
                          unsafe_ignore_environment=command.unsafe_ignore_environment)  # fmt: skip
    return _show(report, out, as_json=command.json)


def _show(report: ProvenanceReport, out: Console, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(report, out)
    return report.exit_code


def render(report: ProvenanceReport, out: Console) -> None:
    where = f" on {report.index}" if report.index else ""
    out.print(f"{report.subject}{where}: expected publisher {report.publisher['spec']}, "
              f"trust root {report.trust_root}", markup=False)  # fmt: skip
    for file in report.files:
        _render_file(file, out)
    for note in report.notes:
        out.print(f"note: {note}", style="dim", markup=False)
    counts = ", ".join(
        f"{n} {status}" for status in _STYLES if (n := sum(f.status == status for f in report.files))
    )
    verdict = "VERIFIED" if report.ok else "NOT VERIFIED"
    out.print(Text.assemble(("provenance: ", "bold"), (verdict, "bold green" if report.ok else "bold red"),
                            f" ({counts})"))  # fmt: skip


def _render_file(file: FileReport, out: Console) -> None:
    status = str(file.status)
    label = status.upper() if status != "verified" else status
    yanked = " (yanked)" if file.yanked else ""
    out.print(Text.assemble((f"{label:<13}", _STYLES[status]), f" {file.filename}{yanked}  {file.sha256}"))
    for check in file.attestations:
        kind = _PREDICATES.get(check.predicate_type or "", check.predicate_type or "")
        if check.verified:
            out.print(f"    ok {check.source}: {kind} attestation signed by {check.signer}", markup=False)
        else:
            out.print(Text.assemble("    ", ("FAILED ", "red"), f"{check.source}: {check.reason}"))
    for claim in file.claims:
        out.print(f"    index's publisher claim: {claim}", markup=False)
    for note in file.notes:
        out.print(f"    note: {note}", style="dim", markup=False)
    for problem in file.problems:
        out.print(Text.assemble("    ", (f"{status}: ", _STYLES[status]), problem))
