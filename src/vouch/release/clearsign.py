"""OpenPGP clearsigned text: signed by the releaser's gpg, verified against one expected key only.

Signing asks the user's gpg (so gpg-agent, pinentry and smartcards work):
``gpg --clearsign --digest-algo SHA256 --local-user FINGERPRINT``.

Verification never consults the user's keyring or its trust settings. A temporary GNUPGHOME
receives the expected public key and nothing else; gpg verifies there and reports through
``--status-file``. The signature counts only when the message is one clearsigned block, and
every signature in it is good (``GOODSIG`` and ``VALIDSIG``), made by the expected key (the
primary-key field of ``VALIDSIG``), over a SHA-2 digest, as a text signature. What comes back
is the text gpg says was signed, never the bytes around the armor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vouch.errors import ToolError, UsageError, VerificationError
from vouch.gpg import gpg, scratch_home
from vouch.host import Host

_FINGERPRINT = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
# OpenPGP hash algorithm ids (RFC 4880 9.4): the SHA-2 family only
_STRONG_DIGESTS = {"8": "SHA256", "9": "SHA384", "10": "SHA512", "11": "SHA224"}
_WEAK_DIGESTS = {"1": "MD5", "2": "SHA1", "3": "RIPEMD160"}
_REFUSED = {
    "BADSIG": "the signature does not match the text: the file was changed after it was signed",
    "ERRSIG": "a signature could not be checked with the expected key (made by another key?)",
    "NO_PUBKEY": "signed by another key than the expected one",
    "EXPSIG": "the signature has expired",
    "EXPKEYSIG": "the signing key has expired",
    "REVKEYSIG": "the signing key has been revoked",
    "BADARMOR": "the OpenPGP armor is corrupt",
    "NODATA": "gpg found no signed data",
}
BEGIN_MESSAGE = "-----BEGIN PGP SIGNED MESSAGE-----"
BEGIN_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"
END_SIGNATURE = "-----END PGP SIGNATURE-----"


def normalize_fingerprint(text: str) -> str:
    """A full v4 (40 hex digits) or v5 (64) fingerprint, upper case; key IDs are refused."""
    fingerprint = text.replace(" ", "").upper().removeprefix("0X")
    if not _FINGERPRINT.fullmatch(fingerprint):
        raise UsageError(
            f"{text!r} is not a full OpenPGP fingerprint",
            hint="give all 40 hex digits (gpg --fingerprint KEY); short key IDs can collide",
        )
    return fingerprint


def _tail(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return "; ".join(lines[-2:]) or "no message"


def _primary_fingerprints(home: Path, host: Host | None) -> list[str]:
    listing = gpg(["--no-tty", "--with-colons", "--fixed-list-mode", "--list-keys"], home=home, host=host)
    primaries, previous = [], ""
    for line in listing.stdout.decode(errors="replace").splitlines():
        fields = line.split(":")
        if fields[0] == "fpr" and previous == "pub" and len(fields) > 9:
            primaries.append(fields[9].upper())
        previous = fields[0]
    return primaries


def _import(home: Path, material: bytes, host: Host | None) -> list[str]:
    gpg(["--no-tty", "--import"], home=home, stdin=material, host=host)
    return _primary_fingerprints(home, host)


def clearsign(text: str, fingerprint: str, *, home: Path | None = None, host: Host | None = None) -> str:
    """``text`` clearsigned with the secret key ``fingerprint`` of the user's gpg (or ``home``)."""
    fingerprint = normalize_fingerprint(fingerprint)
    result = gpg(
        ["--yes", "--clearsign", "--digest-algo", "SHA256", "--local-user", fingerprint, "--output", "-"],
        home=home,
        stdin=text.encode("utf-8"),
        host=host,
    )
    if result.returncode != 0 or not result.stdout:
        raise ToolError(
            f"gpg could not sign with {fingerprint}: {_tail(result.stderr)}",
            hint=f"is its secret key in your keyring? gpg --list-secret-keys {fingerprint}",
        )
    return result.stdout.decode("utf-8")


@dataclass(frozen=True)
class ExpectedKey:
    """The one key a signature must come from: its primary fingerprint and its public packets."""

    fingerprint: str
    material: bytes
    origin: str


def expected_key(
    *, keyring: Path | None, fingerprint: str | None, home: Path | None = None, host: Host | None = None
) -> ExpectedKey:
    """The expected key from a public key file (``keyring``), or by fingerprint from the user's
    gpg (``home``, default ``$GNUPGHOME``); with both, that key from the file."""
    wanted = normalize_fingerprint(fingerprint) if fingerprint is not None else None
    if keyring is None:
        if wanted is None:
            raise UsageError("give the expected key: --keyring FILE or --key-fingerprint FINGERPRINT")
        exported = gpg(["--no-tty", "--export", wanted], home=home, host=host)
        if exported.returncode != 0 or not exported.stdout:
            raise UsageError(f"your gpg keyring has no public key {wanted}", hint="or pass --keyring FILE")
        return ExpectedKey(wanted, exported.stdout, "your gpg keyring")
    try:
        data = keyring.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the keyring {keyring}: {exc.strerror}") from exc
    with scratch_home(host) as scratch:
        primaries = _import(scratch, data, host)
        if not primaries:
            raise UsageError(f"{keyring} holds no OpenPGP public key")
        if wanted is None:
            if len(primaries) != 1:
                raise UsageError(
                    f"{keyring} holds {len(primaries)} keys: pass --key-fingerprint to say which one signs",
                    hint=", ".join(primaries),
                )
            wanted = primaries[0]
        elif wanted not in primaries:
            raise UsageError(
                f"{keyring} has no primary key {wanted}", hint=f"it holds {', '.join(primaries)}"
            )
        exported = gpg(["--no-tty", "--export", wanted], home=scratch, host=host)
    return ExpectedKey(wanted, exported.stdout, str(keyring))


@dataclass(frozen=True)
class SignedText:
    """The text a good signature of the expected key covers."""

    text: str
    fingerprint: str
    signing_key: str
    created: int
    digest: str


def _check_armor(data: bytes) -> None:
    lines = [line.rstrip() for line in data.decode("utf-8", errors="replace").splitlines()]
    if BEGIN_MESSAGE not in lines:
        raise VerificationError(
            "the file is not signed: it has no OpenPGP clearsignature",
            hint="sign it with vouch checksums ... --sign gpg:FINGERPRINT (or gpg --clearsign)",
        )
    counts = [lines.count(marker) for marker in (BEGIN_MESSAGE, BEGIN_SIGNATURE, END_SIGNATURE)]
    if counts != [1, 1, 1] or lines[0] != BEGIN_MESSAGE:
        raise VerificationError("the file must be exactly one clearsigned message, with nothing before it")
    last = max(i for i, line in enumerate(lines) if line == END_SIGNATURE)
    if any(line.strip() for line in lines[last + 1 :]):
        raise VerificationError("text follows the signature: it is not signed")


def _judge(status: str, fingerprint: str) -> tuple[str, int, str]:
    """(signing key, creation time, digest) when every signature is good and the expected key's."""
    records = [line.split(" ")[1:] for line in status.splitlines() if line.startswith("[GNUPG:] ")]
    for record in records:
        if record and record[0] in _REFUSED:
            raise VerificationError(f"bad signature: {_REFUSED[record[0]]} ({' '.join(record)})")
    signatures = sum(1 for record in records if record[:1] == ["NEWSIG"])
    good = sum(1 for record in records if record[:1] == ["GOODSIG"])
    valid = [record for record in records if record[:1] == ["VALIDSIG"]]
    if signatures == 0 or not valid:
        raise VerificationError("no valid signature by the expected key")
    if not signatures == good == len(valid):
        raise VerificationError(f"{signatures} signatures, of which {len(valid)} verified: all must")
    for record in valid:
        if len(record) < 11:
            raise VerificationError(f"gpg reported an incomplete VALIDSIG: {' '.join(record)}")
        digest, sig_class, primary = record[8], record[9], record[10]
        if primary.upper() != fingerprint:
            raise VerificationError(f"signed by {primary}, not by the expected key {fingerprint}")
        if digest not in _STRONG_DIGESTS:
            name = _WEAK_DIGESTS.get(digest, f"algorithm {digest}")
            raise VerificationError(f"signed over a {name} digest: vouch accepts SHA-2 only")
        if sig_class != "01":
            raise VerificationError(f"not a text signature (class {sig_class}): not clearsigned text")
    first = valid[0]
    return first[1].upper(), int(first[3]), _STRONG_DIGESTS[first[8]]


def verify_clearsigned(data: bytes, key: ExpectedKey, *, host: Host | None = None) -> SignedText:
    """The signed text of a clearsigned message, if and only if ``key`` signed it (see module)."""
    _check_armor(data)
    with scratch_home(host) as home:
        imported = _import(home, key.material, host)
        if imported != [key.fingerprint]:
            found = ", ".join(imported) or "no key"
            raise UsageError(
                f"{key.fingerprint} is not the primary key of the key material from {key.origin} ({found})",
                hint="pass the primary key's fingerprint",
            )
        message, status, plain = home / "message.asc", home / "status", home / "plain"
        message.write_bytes(data)
        result = gpg(
            ["--no-tty", "--trust-model", "always", "--status-file", str(status),
             "--output", str(plain), "--decrypt", str(message)],
            home=home, host=host,
        )  # fmt: skip
        report = status.read_text(errors="replace") if status.is_file() else ""
        signing_key, created, digest = _judge(report, key.fingerprint)
        if result.returncode != 0 or not plain.is_file():
            raise VerificationError(f"gpg rejected the signature: {_tail(result.stderr)}")
        try:
            text = plain.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VerificationError(f"the signed text is not UTF-8: {exc}") from exc
    return SignedText(text, key.fingerprint, signing_key, created, digest)
