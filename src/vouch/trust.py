"""Sigstore trust: the one root that every Sigstore signature vouch accepts must chain to.

``vouch check``, ``vouch publish`` and ``vouch provenance``/``vouch attest`` each build one
``Trust`` from their ``--staging``/``--trusted-root FILE`` options and hand it down; nothing holds a
module-level verifier. The root is one of:

```
production   sigstore's own production root (bundled with sigstore-python, or its TUF cache
             when sigstore has refreshed it), used offline
staging      the same for Sigstore staging
pinned       a trusted_root.json named on the command line (--trusted-root FILE)
```

Verification is offline: a bundle carries its Rekor entry with the integrated time and inclusion
proof, so no service is contacted. The root is loaded on first use (sigstore is slow to import,
and most checks never meet a Sigstore bundle). A root that cannot be read or is not a trusted root
(a corrupt cache, an unreadable or malformed pinned file) is a ``CheckError`` (exit 3) that names
the file: vouch could not check, which says nothing about the artifacts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from vouch.errors import CheckError, UsageError

if TYPE_CHECKING:
    from sigstore.verify import Verifier

PRODUCTION_TUF = "https://tuf-repo-cdn.sigstore.dev"
STAGING_TUF = "https://tuf-repo-cdn.sigstage.dev"


class Trust:
    """Sigstore production or staging (offline), or a pinned ``trusted_root.json``."""

    def __init__(self, *, staging: bool = False, pinned: Path | None = None) -> None:
        if staging and pinned is not None:
            raise UsageError("--staging and --trusted-root exclude each other: give the root to use")
        self.staging = staging
        self.pinned = pinned
        self._verifier: Verifier | None = None

    @property
    def name(self) -> str:
        if self.pinned is not None:
            return f"pinned trusted root {self.pinned}"
        return f"Sigstore {'staging' if self.staging else 'production'} (sigstore's root, offline)"

    @property
    def root_file(self) -> Path:
        """The file the root is read from: the pinned one, else sigstore's cached copy of its own."""
        if self.pinned is not None:
            return self.pinned
        import platformdirs  # noqa: PLC0415 - a dependency of sigstore

        url = STAGING_TUF if self.staging else PRODUCTION_TUF
        cache = Path(platformdirs.user_cache_dir("sigstore-python", "sigstore")) / "tuf"
        return cache / quote(url, safe="") / "trusted_root.json"

    def verifier(self) -> Verifier:
        """sigstore's verifier for this root, built once; CheckError (naming the file) if it cannot be."""
        if self._verifier is None:
            self._verifier = self._load()
        return self._verifier

    def _load(self) -> Verifier:
        from sigstore.errors import Error as SigstoreError  # noqa: PLC0415 - slow to import
        from sigstore.models import TrustedRoot  # noqa: PLC0415
        from sigstore.verify import Verifier  # noqa: PLC0415

        path = self.root_file
        try:
            if self.pinned is not None:
                if not self.pinned.is_file():
                    raise CheckError(f"cannot read the trusted root {path}: not a regular file")
                return Verifier(trusted_root=TrustedRoot.from_file(str(path)))
            with _quiet_offline_notice():
                return Verifier.staging(offline=True) if self.staging else Verifier.production(offline=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise CheckError(f"cannot read the trusted root {path}: {reason}") from exc
        except (SigstoreError, ValueError, TypeError, KeyError, RecursionError) as exc:
            raise CheckError(
                f"{path} is not a Sigstore trusted_root.json: {_one_line(exc)}",
                hint="give a trusted_root.json with --trusted-root, or remove a corrupt cached copy "
                "so that sigstore restores its own",
            ) from exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _DropOfflineNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("TUF repository is loaded in offline mode")


@contextmanager
def _quiet_offline_notice() -> Iterator[None]:
    """sigstore logs that it runs offline when it loads the root; vouch says so in its reports."""
    logger = logging.getLogger("sigstore._internal.tuf")
    notice = _DropOfflineNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)
