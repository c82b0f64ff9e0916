"""The expected publisher: a SPEC from the command line or the policy, as a pypi-attestations identity.

```
github:OWNER/REPO/WORKFLOW.yml[@ENVIRONMENT]     a GitHub Actions Trusted Publisher
gitlab:NAMESPACE/PROJECT/PATH.yml[@ENVIRONMENT]  a GitLab CI Trusted Publisher ("//" before the path
                                                 when the CI file is in a folder: a/b//ci/release.yml)
google:EMAIL                                     a Google Cloud service account
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

from pypi_attestations import GitHubPublisher, GitLabPublisher, GooglePublisher, Publisher
from sigstore.verify.policy import Identity, VerificationPolicy

from vouch.errors import ProjectConfigError, UsageError

SPEC_FORMS = (
    "github:OWNER/REPO/WORKFLOW.yml[@ENVIRONMENT], gitlab:NAMESPACE/PROJECT/PATH.yml[@ENVIRONMENT], "
    "google:EMAIL or email:ADDRESS,ISSUER"
)
_SEGMENT = r"[A-Za-z0-9_.-]+"
_GITHUB = re.compile(rf"^(?P<repo>{_SEGMENT}/{_SEGMENT})/(?P<workflow>{_SEGMENT}\.ya?ml)(?:@(?P<env>.*))?$")
_GITLAB_PATH = r"(?P<path>[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.ya?ml)"
_GITLAB = re.compile(
    rf"^(?P<repo>{_SEGMENT}(?:/{_SEGMENT})+?)(?://{_GITLAB_PATH}|/(?P<file>{_SEGMENT}\.ya?ml))(?:@(?P<env>.*))?$"
)
_EMAIL = re.compile(r"^[^@\s,/]+@[^@\s,/]+\.[^@\s,/]+$")
_ISSUER = re.compile(r"^https://[^\s,]+$")


@dataclass(frozen=True)
class ExpectedPublisher:
    """Who must have signed: ``identity`` is what pypi-attestations verifies certificates against."""

    spec: str
    kind: str
    identity: GitHubPublisher | GitLabPublisher | GooglePublisher | VerificationPolicy
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
    elif kind == "email":
        address, _, issuer = rest.partition(",")
        if _EMAIL.match(address) and _ISSUER.match(issuer):
            expected = ExpectedPublisher(spec, "email", Identity(identity=address, issuer=issuer))
    if expected is None:
        raise UsageError(f"publisher {spec!r} is not one of: {SPEC_FORMS}")
    return expected


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
    """A publisher claimed by an index, written as a SPEC (CircleCI, which has none, by its fields)."""
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
    return f"{claim.kind}: {claim.model_dump_json(exclude={'kind'})}"


def claimed_environment(claim: Publisher) -> str | None:
    """The environment an index claims for a publisher ("" and null both mean none)."""
    value = getattr(claim, "environment", None)
    return value or None
