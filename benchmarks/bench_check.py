"""`vouch check` (the whole process) over 3 artifacts and 5,000 evidence lines.

25 signers (20 SSH ed25519, 5 OpenPGP ed25519), threshold 25: 4,900 SSH lines (each SSH key
signs once through ``ssh-keygen``, its line is repeated 245 times; every copy is parsed and
verified again, nothing is cached) and 100 OpenPGP lines (20 signatures by each key, through gpg).
Goal (issue 11): under 2 s end to end, with no process spawned per evidence line. Run on demand:

    python benchmarks/bench_check.py [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vouch.policy.check import check
from vouch.policy.model import load_policy
from vouch.sign.envelope import envelope_line
from vouch.sign.evidence import sign, signer_from_keyspec, statement_from_artifacts

SSH_KEYS, SSH_COPIES, GPG_KEYS, GPG_SIGNATURES = 20, 245, 5, 20
LINES = SSH_KEYS * SSH_COPIES + GPG_KEYS * GPG_SIGNATURES


def make_keys(root: Path) -> tuple[list[str], list[str], str]:
    """SSH keys and gpg keys (in one GNUPGHOME); returns keyspecs, policy entries, home."""
    keyspecs, entries = [], []
    home = tempfile.mkdtemp(prefix="vb")
    env = os.environ | {"GNUPGHOME": home}
    for index in range(SSH_KEYS):
        key = root / f"ssh{index}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        pub = " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])
        keyspecs.append(f"ssh:{key}")
        entries.append(f'[[signers]]\nname = "ssh{index}"\nssh-key = "{pub}"\n')
    for index in range(GPG_KEYS):
        uid = f"gpg{index} <gpg{index}@example.org>"
        subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", uid, "ed25519",
                        "sign", "never"], env=env, check=True, capture_output=True)  # fmt: skip
        listing = subprocess.run(["gpg", "--batch", "--with-colons", "--list-keys", uid], env=env,
                                 check=True, capture_output=True, text=True).stdout  # fmt: skip
        fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
        armored = subprocess.run(
            ["gpg", "--armor", "--export", fpr], env=env, check=True, capture_output=True
        )
        (root / f"gpg{index}.asc").write_bytes(armored.stdout)
        keyspecs.append(f"gpg:{fpr}")
        entries.append(
            f'[[signers]]\nname = "gpg{index}"\nopenpgp-fingerprint = "{fpr}"\n'
            f'openpgp-key-file = "gpg{index}.asc"\n'
        )
    return keyspecs, entries, home


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        root = Path(tmp_name)
        artifacts = []
        for index in range(3):
            path = root / ("demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl", "demo-1.0-py2-none-any.whl")[index]
            path.write_bytes(os.urandom(1 << 20))
            artifacts.append(path)
        keyspecs, entries, home = make_keys(root)
        os.environ["GNUPGHOME"] = home
        policy_path = root / "vouch.toml"
        policy_path.write_text(f"threshold = {len(keyspecs)}\n" + "\n".join(entries))
        evidence = root / "demo-1.0.intoto.jsonl"
        statement = statement_from_artifacts(artifacts, "c" * 40, None)
        lines = []
        for keyspec in keyspecs:
            signer = signer_from_keyspec(keyspec)
            copies = SSH_COPIES if keyspec.startswith("ssh:") else 1
            for _ in range(1 if copies > 1 else GPG_SIGNATURES):
                line = envelope_line(sign(statement, signer, root / "scratch.jsonl").envelope)
                lines.extend([line] * copies)
        evidence.write_text("\n".join(lines) + "\n")
        assert len(lines) == LINES
        in_process = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            report = check(artifacts, [evidence], load_policy(policy_path))
            in_process.append(time.perf_counter() - started)
            assert report.passed, report.to_json()
        cli, cpu = [], []
        for _ in range(max(3, args.rounds)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vouch", "check", *map(str, artifacts), "--policy",
                            str(policy_path), "--json"], check=True, capture_output=True)  # fmt: skip
            cli.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the check and the gpg it runs
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False, env=os.environ)
    figures = {
        "artifacts": 3,
        "evidence_lines": LINES,
        "signers": len(keyspecs),
        "library_median_ms": round(statistics.median(in_process) * 1000, 1),
        "cli_median_ms": round(statistics.median(cli) * 1000, 1),
        "cli_max_ms": round(max(cli) * 1000, 1),
        "cli_cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "goal_ms": 2000,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
