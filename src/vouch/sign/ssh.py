"""SSH signatures (OpenSSH's SSHSIG format) as securesystemslib signers and keys.

Signing goes through ``ssh-keygen -Y sign``, so keys held by ssh-agent and hardware ``sk-`` keys
work as they do for git. Verification of ed25519, ECDSA and RSA signatures happens in-process with
pyca/cryptography (no process per statement); ``sk-`` signatures, whose signed data includes the
authenticator's flags and counter, are verified by ``ssh-keygen -Y verify``. securesystemslib
has no SSH signer, and no maintained library parses SSHSIG, hence this module (see
PROTOCOL.sshsig in OpenSSH for the format).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import tempfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Key, SecretsHandler, Signature, Signer

from vouch.errors import ToolError, UsageError
from vouch.host import Host

NAMESPACE = "in-toto-statement@vouch"
SCHEME = "sshsig"
KEYTYPE = "ssh"
_MAGIC = b"SSHSIG"
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


def _string(data: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(data):
        raise ValueError("truncated SSH string")
    (length,) = struct.unpack(">I", data[offset : offset + 4])
    end = offset + 4 + length
    if end > len(data):
        raise ValueError("truncated SSH string")
    return data[offset + 4 : end], end


def _pack(*items: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(item)) + item for item in items)


def parse_public_key(line: str) -> tuple[str, bytes]:
    """``ssh-ed25519 AAAA... comment`` -> (key type, wire-format blob)."""
    # never quote the text: a private key given by mistake must not reach a log
    parts = line.strip().split()
    if len(parts) < 2 or len(line) > 16384 or not parts[0].isascii():
        raise UsageError("not an SSH public key (expected one line: TYPE BASE64 [COMMENT])")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        key_type, _ = _string(blob, 0)
    except ValueError:
        raise UsageError("not an SSH public key: its base64 part does not decode to a key") from None
    if key_type.decode("ascii", "replace") != parts[0]:
        raise UsageError("not an SSH public key: its type does not match its key data")
    return parts[0], blob


def fingerprint(blob: bytes) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint of a public key blob: the keyid."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def armor(raw: bytes) -> str:
    body = base64.b64encode(raw).decode()
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


def dearmor(text: str) -> bytes:
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines or lines[0] != "-----BEGIN SSH SIGNATURE-----" or lines[-1] != "-----END SSH SIGNATURE-----":
        raise ValueError("not an armored SSH signature")
    return base64.b64decode("".join(lines[1:-1]), validate=True)


class SSHKey(Key):
    """An SSH public key; ``keyval`` holds the ``authorized_keys``-style line."""

    def __init__(
        self,
        keyid: str,
        keytype: str,
        scheme: str,
        keyval: dict[str, Any],
        unrecognized_fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(keyid, keytype, scheme, keyval, unrecognized_fields)
        self.key_type, self.blob = parse_public_key(keyval["public"])
        self._loaded: Any = None
        # runs ssh-keygen for sk- keys (default: this machine); securesystemslib makes keys from dicts
        self.host: Host | None = None

    @classmethod
    def from_line(cls, line: str) -> SSHKey:
        _, blob = parse_public_key(line)
        return cls(fingerprint(blob), KEYTYPE, SCHEME, {"public": " ".join(line.split()[:2])})

    @classmethod
    def from_dict(cls, keyid: str, key_dict: dict[str, Any]) -> SSHKey:
        data = dict(key_dict)
        return cls(keyid, data.pop("keytype"), data.pop("scheme"), data.pop("keyval"), data)

    def to_dict(self) -> dict[str, Any]:
        return {"keytype": self.keytype, "scheme": self.scheme, "keyval": self.keyval}

    def verify_signature(self, signature: Signature, data: bytes) -> None:
        try:
            self._verify(bytes.fromhex(signature.signature), data)
        except (ValueError, InvalidSignature, UnsupportedAlgorithm, struct.error) as exc:
            reason = str(exc) or "the signature does not verify"
            raise UnverifiedSignatureError(f"SSH signature by {self.keyid} is invalid: {reason}") from exc

    def _verify(self, raw: bytes, data: bytes) -> None:
        if not raw.startswith(_MAGIC):
            raise ValueError("not an SSHSIG signature")
        offset = len(_MAGIC)
        (version,) = struct.unpack(">I", raw[offset : offset + 4])
        offset += 4
        if version != 1:
            raise ValueError(f"SSHSIG version {version}")
        public, offset = _string(raw, offset)
        namespace, offset = _string(raw, offset)
        reserved, offset = _string(raw, offset)
        hash_name, offset = _string(raw, offset)
        sig_blob, offset = _string(raw, offset)
        if offset != len(raw):
            raise ValueError("trailing bytes after the signature")
        if public != self.blob:
            raise ValueError("signed by another key")
        if namespace != NAMESPACE.encode():
            raise ValueError(f"namespace {namespace.decode(errors='replace')!r}, not {NAMESPACE!r}")
        hasher = _HASHES.get(hash_name.decode(errors="replace"))
        if hasher is None:
            raise ValueError(f"unsupported hash {hash_name!r}")
        signed = _MAGIC + _pack(namespace, reserved, hash_name, hasher(data).digest())
        algorithm, rest = _string(sig_blob, 0)
        signature, _ = _string(sig_blob, rest)
        if self.key_type.startswith("sk-"):
            self._verify_with_ssh_keygen(raw, data)
            return
        if self._loaded is None:  # loaded once: a check verifies many lines of one key
            self._loaded = serialization.load_ssh_public_key(self.keyval["public"].encode())
        public_key = self._loaded
        if isinstance(public_key, ed25519.Ed25519PublicKey) and algorithm == b"ssh-ed25519":
            public_key.verify(signature, signed)
        elif isinstance(public_key, ec.EllipticCurvePublicKey) and algorithm.startswith(b"ecdsa-sha2-"):
            r, after = _string(signature, 0)
            s, _ = _string(signature, after)
            der = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
            digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[
                public_key.curve.key_size
            ]
            public_key.verify(der, signed, ec.ECDSA(digest))
        elif isinstance(public_key, rsa.RSAPublicKey) and algorithm in (b"rsa-sha2-256", b"rsa-sha2-512"):
            digest_rsa = hashes.SHA256() if algorithm == b"rsa-sha2-256" else hashes.SHA512()
            public_key.verify(signature, signed, padding.PKCS1v15(), digest_rsa)
        else:
            raise ValueError(f"signature algorithm {algorithm!r} does not fit the key {self.key_type}")

    def _verify_with_ssh_keygen(self, raw: bytes, data: bytes) -> None:
        host = self.host or Host()
        keygen = host.find("ssh-keygen")
        if keygen is None:
            raise ValueError("ssh-keygen is needed to verify sk- signatures")
        with tempfile.TemporaryDirectory(prefix="vouch-ssh-") as tmp:
            allowed = Path(tmp) / "allowed_signers"
            allowed.write_text(f'vouch namespaces="{NAMESPACE}" {self.keyval["public"]}\n')
            sig_file = Path(tmp) / "sig"
            sig_file.write_text(armor(raw))
            result = host.run(
                [keygen, "-Y", "verify", "-f", str(allowed), "-I", "vouch", "-n", NAMESPACE,
                 "-s", str(sig_file)],
                stdin=data,
            )  # fmt: skip
        if not result.ok:
            raise ValueError(result.err.strip())


class SSHSigner(Signer):
    """Signs with ``ssh-keygen -Y sign``: a private key file, or a ``.pub`` whose private half
    is in ssh-agent (hardware keys included)."""

    def __init__(self, key_path: Path, *, host: Host | None = None) -> None:
        self.key_path = key_path
        self.host = host or Host()
        pub = key_path if key_path.suffix == ".pub" else key_path.with_name(key_path.name + ".pub")
        if not pub.is_file():
            raise UsageError(f"no public key {pub} next to {key_path}", hint="ssh-keygen -y -f KEY > KEY.pub")
        self._public = SSHKey.from_line(pub.read_text())

    @property
    def public_key(self) -> SSHKey:
        return self._public

    @classmethod
    def from_priv_key_uri(
        cls, priv_key_uri: str, public_key: Key, secrets_handler: SecretsHandler | None = None
    ) -> SSHSigner:
        return cls(Path(priv_key_uri.removeprefix("ssh:")))

    def sign(self, payload: bytes) -> Signature:
        result = self.host.run(
            [self.host.tool("ssh-keygen"), "-Y", "sign", "-q", "-f", str(self.key_path), "-n", NAMESPACE],
            stdin=payload,
        )
        if not result.ok:
            message = result.err.strip().splitlines()
            raise ToolError(f"ssh-keygen could not sign with {self.key_path}: {' '.join(message[-2:])}")
        raw = dearmor(result.stdout.decode("ascii"))
        return Signature(self._public.keyid, raw.hex())
