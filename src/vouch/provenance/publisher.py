"""The expected publisher: a SPEC from the command line or the policy, as a pypi-attestations identity.

```
github:OWNER/REPO/WORKFLOW.yml[@ENVIRONMENT]     a GitHub Actions Trusted Publisher
gitlab:NAMESPACE/PROJECT/PATH.yml[@ENVIRONMENT]  a GitLab CI Trusted Publisher ("//" before the path
                                                 when the CI file is in a folder: a/b//ci/release.yml)
google:EMAIL                                     a Google Cloud service account
circleci:PROJECT_ID/PIPELINE_DEFINITION_ID[,VCS_ORIGIN[,VCS_REF]]
                                                 a CircleCI Trusted Publisher (the IDs are UUIDs; the
                                                 origin is host/owner/repo, the ref refs/...)
email:ADDRESS,ISSUER                             a person's Sigstore identity (not a Trusted Publisher)
```

The environment is not in the Sigstore certificate: it is compared with the publisher that the
index claims for the file, and reported as a claim, never as verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypi_attestations import CircleCIPublisher, GitHubPublisher, GitLabPublisher, GooglePublisher, Publisher
from sigstore.verify.policy import Identity, VerificationPolicy

from vouch.errors import ProjectConfigError, UsageError

SPEC_FORMS = (
    "github:OWNER/REPO/WORKFLOW.yml[@ENVIRONMENT], gitlab:NAMESPACE/PROJECT/PATH.yml[@ENVIRONMENT], "
    "google:EMAIL, circleci:PROJECT_ID/PIPELINE_DEFINITION_ID[,VCS_ORIGIN[,VCS_REF]] or email:ADDRESS,ISSUER"
)
_SEGMENT = r"[A-Za-z0-9_.-]+"
_GITHUB = re.compile(rf"^(?P<repo>{_SEGMENT}/{_SEGMENT})/(?P<workflow>{_SEGMENT}\.ya?ml)(?:@(?P<env>.*))?$")
_GITLAB_PATH = r"(?P<path>[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.ya?ml)"
_GITLAB = re.compile(
    rf"^(?P<repo>{_SEGMENT}(?:/{_SEGMENT})+?)(?://{_GITLAB_PATH}|/(?P<file>{_SEGMENT}\.ya?ml))(?:@(?P<env>.*))?$"
)
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_CIRCLECI = re.compile(rf"^(?P<project>{_UUID})/(?P<pipeline>{_UUID})$")
_VCS_ORIGIN = re.compile(r"^[A-Za-z0-9.-]+(?:/[A-Za-z0-9_.-]+)+$")  # github.com/OWNER/REPO, no scheme
_VCS_REF = re.compile(r"^refs/[^\s\x00-\x1f\x7f]+$")
_EMAIL = re.compile(r"^[^@\s,/]+@[^@\s,/]+\.[^@\s,/]+$")
_ISSUER = re.compile(r"^https://[^\s,]+$")


@dataclass(frozen=True)
class ExpectedPublisher:
    """Who must have signed: ``identity`` is what pypi-attestations verifies certificates against."""

    spec: str
    kind: str
    identity: GitHubPublisher | GitLabPublisher | GooglePublisher | CircleCIPublisher | VerificationPolicy
    environment: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "kind": self.kind, "environment": self.environment}


def parse_publisher(spec: str) -> ExpectedPublisher:
    """Parse a publisher SPEC; anything else is a usage error that lists the accepted forms."""
    kind, _, rest = spec.partition(":")
    expected: ExpectedPublisher | None = None
    if kind == "github" and (match := _GITHUB.match(rest)):
        env = _environment(spec, match.group("env"))
        github = GitHubPublisher(repository=match["repo"], workflow=match["workflow"], environment=env)
        expected = ExpectedPublisher(spec, "GitHub", github, env)
    elif kind == "gitlab" and (match := _GITLAB.match(rest)):
        env = _environment(spec, match.group("env"))
        path = match["path"] or match["file"]
        if any(part in {"", ".", ".."} for part in path.split("/")):
            raise UsageError(f"publisher {spec!r}: the CI file path {path!r} is not a plain relative path")
        gitlab = GitLabPublisher(repository=match["repo"], workflow_filepath=path, environment=env)
        expected = ExpectedPublisher(spec, "GitLab", gitlab, env)
    elif kind == "google" and _EMAIL.match(rest):
        expected = ExpectedPublisher(spec, "Google", GooglePublisher(email=rest))
    elif kind == "circleci":
        expected = _circleci(spec, rest)
    elif kind == "email":
        address, _, issuer = rest.partition(",")
        if _EMAIL.match(address) and _ISSUER.match(issuer):
            expected = ExpectedPublisher(spec, "email", Identity(identity=address, issuer=issuer))
    if expected is None:
        raise UsageError(f"publisher {spec!r} is not one of: {SPEC_FORMS}")
    return expected


def _circleci(spec: str, rest: str) -> ExpectedPublisher | None:
    """``PROJECT_ID/PIPELINE_DEFINITION_ID[,VCS_ORIGIN[,VCS_REF]]``: the certificate's Build Signer URI
    names the two IDs; the origin and ref, when given, must be the certificate's source repository
    and ref (pipelines triggered by a custom webhook have neither)."""
    ids, *optional = rest.split(",", 2)
    match = _CIRCLECI.match(ids)
    if match is None:
        return None
    origin = optional[0] if optional else None
    ref = optional[1] if len(optional) > 1 else None
    if origin is not None and not _VCS_ORIGIN.match(origin):
        raise UsageError(
            f"publisher {spec!r}: the VCS origin {origin!r} is not HOST/OWNER/REPO (no https://)"
        )
    if ref is not None and not _VCS_REF.match(ref):
        raise UsageError(f"publisher {spec!r}: the VCS ref {ref!r} is not a refs/... name")
    circleci = CircleCIPublisher(
        project_id=match["project"].lower(), pipeline_definition_id=match["pipeline"].lower(),
        vcs_origin=origin, vcs_ref=ref,
    )  # fmt: skip
    return ExpectedPublisher(spec, "CircleCI", circleci)


def _environment(spec: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip() or "@" in value:
        raise UsageError(f"publisher {spec!r}: the environment after '@' must be a non-empty name")
    return value


def publisher_from_policy(policy: Path | None) -> ExpectedPublisher:
    """``[provenance] publisher`` from the policy (``--policy FILE``, else vouch.toml/pyproject.toml)."""
    from vouch.policy.model import find_policy, policy_table  # noqa: PLC0415 - loads signer backends

    missing = "no expected publisher: pass --publisher SPEC, or set [provenance] publisher in the policy"
    try:
        path = find_policy(policy)
    except UsageError as exc:
        if policy is not None:
            raise
        raise UsageError(missing, hint=f"SPEC is one of: {SPEC_FORMS}") from exc
    section = policy_table(path)[0].get("provenance", {})
    if not isinstance(section, dict):
        raise ProjectConfigError(f"{path}: [provenance] must be a table")
    unknown = set(section) - {"publisher"}
    if unknown:
        raise ProjectConfigError(f"{path}: unknown keys in [provenance]: {sorted(unknown)}")
    spec = section.get("publisher")
    if spec is None:
        raise UsageError(f"{missing} ({path} has none)", hint=f"SPEC is one of: {SPEC_FORMS}")
    if not isinstance(spec, str):
        raise ProjectConfigError(f"{path}: [provenance] publisher must be a string")
    try:
        return parse_publisher(spec)
    except UsageError as exc:
        raise ProjectConfigError(f"{path}: {exc}") from exc


def resolve_publisher(spec: str | None, policy: Path | None) -> ExpectedPublisher:
    """``--publisher SPEC`` when given, else the policy's."""
    return parse_publisher(spec) if spec is not None else publisher_from_policy(policy)


def describe_claim(claim: Publisher) -> str:
    """A publisher claimed by an index, written as a SPEC (an unknown kind by its fields)."""
    if isinstance(claim, GitHubPublisher):
        return f"github:{claim.repository}/{claim.workflow}" + (
            f"@{claim.environment}" if claim.environment else ""
        )
    if isinstance(claim, GitLabPublisher):
        separator = "//" if "/" in claim.workflow_filepath else "/"
        env = f"@{claim.environment}" if claim.environment else ""
        return f"gitlab:{claim.repository}{separator}{claim.workflow_filepath}{env}"
    if isinstance(claim, GooglePublisher):
        return f"google:{claim.email}"
    if isinstance(claim, CircleCIPublisher):  # the last kind pypi-attestations 0.0.30 knows
        parts = [f"circleci:{claim.project_id}/{claim.pipeline_definition_id}"]
        if claim.vcs_origin or claim.vcs_ref:
            parts.append(claim.vcs_origin or "(no origin)")
        if claim.vcs_ref:
            parts.append(claim.vcs_ref)
        return ",".join(parts)
    return f"{claim.kind}: {claim.model_dump_json(exclude={'kind'})}"  # type: ignore[unreachable]  # a newer kind


def claimed_environment(claim: Publisher) -> str | None:
    """The environment an index claims for a publisher ("" and null both mean none)."""
    value = getattr(claim, "environment", None)
    return value or None
