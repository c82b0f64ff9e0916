"""``vouch provenance``: a published release's PEP 740 provenance, or local attestations, verified."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.index import PYPI_SIMPLE

if TYPE_CHECKING:
    from vouch.provenance.report import FileReport, ProvenanceReport

USAGE = """%(prog)s NAME==VERSION [--index URL] [--publisher SPEC] [--policy FILE]
                        [--staging | --trusted-root FILE] [--json]
       %(prog)s verify (DIST | --filename NAME --sha256 HEX)
                        (--attestation FILE... | --provenance FILE) [--publisher SPEC]
                        [--policy FILE] [--staging | --trusted-root FILE]
                        [--unsafe-ignore-environment] [--json]"""
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


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "provenance",
        usage=USAGE,
        help="verify a release's PEP 740 provenance against the expected publisher",
        description="NAME==VERSION: for every file of the release on the index, fetch its PEP 740 "
        "provenance and verify every attestation (offline, with Sigstore's root) against the "
        "expected publisher. `verify`: the same for a local file, or a file name and sha256. Exit 0 "
        "only when every file verified.",
        epilog="SPEC: github:OWNER/REPO/WORKFLOW.yml[@ENVIRONMENT], gitlab:NAMESPACE/PROJECT/PATH.yml"
        "[@ENVIRONMENT], google:EMAIL, email:ADDRESS,ISSUER. The environment is not in the Sigstore "
        "certificate: it is compared with the index's publisher claim, and reported as a claim.",
    )
    parser.add_argument("target", nargs="+", metavar="NAME==VERSION | verify [DIST]")
    parser.add_argument("--index", metavar="URL", help="the PEP 691 simple API (default: PyPI)")
    parser.add_argument(
        "--publisher",
        metavar="SPEC",
        help="the expected publisher (default: [provenance] publisher in the policy)",
    )
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument(
        "--trusted-root",
        type=Path,
        metavar="FILE",
        help="verify with this Sigstore trusted_root.json instead of sigstore's own",
    )
    parser.add_argument("--staging", action="store_true", help="attestations made with Sigstore staging")
    parser.add_argument(
        "--attestation",
        type=Path,
        action="append",
        metavar="FILE",
        help="verify: a PEP 740 attestation or Sigstore bundle for DIST (repeatable)",
    )
    parser.add_argument(
        "--provenance",
        type=Path,
        metavar="FILE",
        help="verify: a PEP 740 provenance object (as the Integrity API serves it)",
    )
    parser.add_argument("--filename", metavar="NAME", help="verify: the file's name, without the file")
    parser.add_argument("--sha256", metavar="HEX", help="verify: the file's sha256, without the file")
    parser.add_argument(
        "--unsafe-ignore-environment",
        action="store_true",
        help="verify: let attestation files (which carry no publisher claim) pass a publisher SPEC that "
        "names an environment, without checking the environment",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    words: list[str] = args.target
    report = _verify(args, err) if words[0] == "verify" else _release(args, err)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(report, out)
    return report.exit_code


def _verify(args: argparse.Namespace, err: Console) -> ProvenanceReport:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.provenance.publisher import resolve_publisher  # noqa: PLC0415
    from vouch.provenance.verify import local_distribution, named_distribution, verify_local  # noqa: PLC0415
    from vouch.trust import Trust  # noqa: PLC0415

    words: list[str] = args.target
    if args.index is not None:
        raise UsageError("--index applies to NAME==VERSION, not to `vouch provenance verify`")
    if (args.filename is None) != (args.sha256 is None):
        raise UsageError("--filename and --sha256 go together")
    if args.filename is not None and len(words) == 1:
        dist = named_distribution(args.filename, args.sha256)
    elif args.filename is None and len(words) == 2:
        dist = local_distribution(Path(words[1]))
    else:
        raise UsageError("`vouch provenance verify` takes one DIST, or --filename NAME --sha256 HEX")
    publisher = resolve_publisher(args.publisher, args.policy)
    trust = Trust(staging=args.staging, pinned=args.trusted_root)
    if args.unsafe_ignore_environment and publisher.environment is not None:
        err.print(f"warning: --unsafe-ignore-environment: the environment {publisher.environment!r} of "
                  "the expected publisher is not checked", style="bold yellow", markup=False)  # fmt: skip
    return verify_local(dist, publisher, trust, attestation_files=args.attestation or (),
                        provenance_file=args.provenance,
                        unsafe_ignore_environment=args.unsafe_ignore_environment)  # fmt: skip


def _release(args: argparse.Namespace, err: Console) -> ProvenanceReport:
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.provenance.published import ReleaseOptions, parse_release, verify_release  # noqa: PLC0415
    from vouch.provenance.publisher import resolve_publisher  # noqa: PLC0415
    from vouch.trust import Trust  # noqa: PLC0415

    words: list[str] = args.target
    for flag in ("attestation", "provenance", "filename", "sha256"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag} applies to `vouch provenance verify`, not to NAME==VERSION")
    if args.unsafe_ignore_environment:
        raise UsageError("--unsafe-ignore-environment applies to `vouch provenance verify --attestation`")
    if len(words) != 1:
        raise UsageError(f"give one NAME==VERSION (or `verify ...`), not {' '.join(words)!r}")
    parse_release(words[0])
    publisher = resolve_publisher(args.publisher, args.policy)
    trust = Trust(staging=args.staging, pinned=args.trusted_root)
    options = ReleaseOptions(words[0], publisher, trust, index_url=args.index or PYPI_SIMPLE)
    with err.status("checking provenance", spinner="dots") as status:
        return verify_release(options, status.update)


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
