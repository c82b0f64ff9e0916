"""vouch uses two private APIs of its dependencies, each marked where it is used and bounded in
pyproject.toml. These tests exercise exactly what vouch relies on, so that a release of the dependency
that moves them fails here first, before the bound is raised."""

from __future__ import annotations

import importlib.metadata

from packaging.requirements import Requirement
from packaging.version import Version


def _declared(name: str) -> Requirement:
    for line in importlib.metadata.requires("vouch-release") or []:
        requirement = Requirement(line)
        if requirement.name == name and requirement.marker is None:
            return requirement
    raise AssertionError(f"{name} is not a declared dependency of vouch-release")


def test_the_installed_versions_are_inside_the_bounds_the_private_uses_were_checked_against() -> None:
    for name in ("securesystemslib", "pypi-attestations"):
        requirement = _declared(name)
        assert any(spec.operator == "<" for spec in requirement.specifier), f"{name} has no upper bound"
        assert Version(importlib.metadata.version(name)) in requirement.specifier


def test_securesystemslib_private_gpg_api_has_what_vouch_calls() -> None:
    from securesystemslib._gpg import common, exceptions, functions  # noqa: PLC0415

    assert callable(common.get_pubkey_bundle)
    assert callable(functions.verify_signature)
    assert callable(functions.create_signature)
    assert issubclass(exceptions.KeyNotFoundError, Exception)
    assert issubclass(exceptions.PacketParsingError, Exception)
    assert issubclass(exceptions.KeyExpirationError, Exception)


def test_pypi_attestations_publishers_still_turn_into_sigstore_policies() -> None:
    from pypi_attestations import GitHubPublisher, GitLabPublisher, GooglePublisher  # noqa: PLC0415
    publishers = [
        GitHubPublisher(repository="o/r", workflow="release.yml"),
        GitLabPublisher(repository="g/p", workflow_filepath=".gitlab-ci.yml"),
        GooglePublisher(email="ci@project.iam.gserviceaccount.com"),
    ]
    for publisher in publishers:
        policy = publisher._as_policy()  # the private method vouch.provenance.attestation uses
        assert callable(policy.verify)  # sigstore's VerificationPolicy protocol: verify(certificate)
