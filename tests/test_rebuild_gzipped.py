"""A published wheel whose data files were gzip-compressed after the build (as botocore's are):
"recipe not reproduced" with the reason, never "code differs" and never "equivalent"; and every
pair that is not proven stays what the diff found."""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Iterator
from pathlib import Path

from vouch.rebuild.compare import compare_artifacts
from vouch.rebuild.gzipped import _inflated
from vouch.rebuild.verdict import RebuildReport, Verdict
from vouch.verify.rebuilds import note_of

NAME = "demo-1.0-py3-none-any.whl"
TABLES = {f"demo/data/table{i}.json": (b'{"row": %d}\n' % i) * 400 for i in range(3)}
CODE = {"demo/__init__.py": b"VALUE = 1\n"}


def _wheel(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(files)
    record = "".join(f"{name},,\n" for name in names) + "demo-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), files[name])
        archive.writestr(zipfile.ZipInfo("demo-1.0.dist-info/RECORD", (2020, 1, 1, 0, 0, 0)), record)
    return path


def _pair(tmp_path: Path, published_tables: dict[str, bytes]) -> tuple[Path, Path]:
    published = _wheel(tmp_path / "published" / NAME, CODE | published_tables)
    rebuilt = _wheel(tmp_path / "rebuilt" / NAME, CODE | TABLES)
    return published, rebuilt


def _compressed(tables: dict[str, bytes]) -> dict[str, bytes]:
    return {f"{name}.gz": gzip.compress(data, mtime=0) for name, data in tables.items()}


def test_files_compressed_after_the_build_are_named_and_not_code(tmp_path: Path) -> None:
    published, rebuilt = _pair(tmp_path, _compressed(TABLES))
    verdict = compare_artifacts(published, rebuilt)
    assert verdict.verdict is Verdict.DIFFERENT  # the published wheel is not what the sdist builds
    copies = [d for d in verdict.differences if d["aspects"] == ["gzipped-after-build"]]
    assert [(d["member"], d["gzipped-after-build"]["rebuilt"]) for d in copies] == [
        (f"{name}.gz", name) for name in sorted(TABLES)
    ]
    assert copies[0]["gzipped-after-build"]["size"] == len(TABLES["demo/data/table0.json"])
    assert [d["member"] for d in verdict.differences if d not in copies] == ["demo-1.0.dist-info/RECORD"]
    assert "3 files of the published wheel (demo/data/table0.json.gz and others)" in verdict.note
    assert "each decompresses to the rebuilt file's bytes" in verdict.note

    report = RebuildReport(recipe={}, artifacts=(verdict,))
    headline = report.headline()
    expected = "recipe not reproduced: the environment differs (demo-1.0.dist-info/RECORD; 3 files"
    assert headline.startswith(expected)
    assert report.exit_code(accept_equivalent=True) == 1
    assert note_of(verdict).startswith("recipe not reproduced")
    assert "differs in demo-1.0.dist-info/RECORD" in note_of(verdict)
    assert "table0.json.gz," not in note_of(verdict)  # named by the note, not listed as differing


def test_a_compressed_file_with_other_bytes_is_still_code(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["demo/data/table1.json"] = tables["demo/data/table1.json"].replace(b"1", b"7", 1)
    published, rebuilt = _pair(tmp_path, _compressed(tables))
    verdict = compare_artifacts(published, rebuilt)
    copies = {d["member"] for d in verdict.differences if d["aspects"] == ["gzipped-after-build"]}
    assert copies == {"demo/data/table0.json.gz", "demo/data/table2.json.gz"}
    aspects = {d["member"]: d["aspects"] for d in verdict.differences}
    assert aspects["demo/data/table1.json.gz"] == ["only-in-a"]
    assert aspects["demo/data/table1.json"] == ["only-in-b"]
    headline = RebuildReport(recipe={}, artifacts=(verdict,)).headline()
    assert headline.startswith("code differs: demo/data/table1.json, demo/data/table1.json.gz")
    assert note_of(verdict).startswith("code differs")


def test_gzip_that_is_not_exactly_the_file_is_not_a_copy(tmp_path: Path) -> None:
    data = TABLES["demo/data/table0.json"]
    cases = {
        "trailing data": gzip.compress(data, mtime=0) + b"more",
        "a second gzip member": gzip.compress(data, mtime=0) + gzip.compress(b"x", mtime=0),
        "truncated": gzip.compress(data, mtime=0)[:-5],
        "not gzip": data,
        "raw deflate": gzip.compress(data, mtime=0)[10:-8],
        "shorter": gzip.compress(data[:-1], mtime=0),
        "longer": gzip.compress(data + b"\n", mtime=0),
    }
    for case, blob in cases.items():
        folder = tmp_path / case.replace(" ", "-")
        published, rebuilt = _pair(folder, {"demo/data/table0.json.gz": blob} | _compressed(
            {k: v for k, v in TABLES.items() if k != "demo/data/table0.json"}))  # fmt: skip
        verdict = compare_artifacts(published, rebuilt)
        members = {d["member"]: d["aspects"] for d in verdict.differences}
        assert members["demo/data/table0.json.gz"] == ["only-in-a"], case
        assert members["demo/data/table0.json"] == ["only-in-b"], case
        assert members["demo/data/table1.json.gz"] == ["gzipped-after-build"], case
        assert RebuildReport(recipe={}, artifacts=(verdict,)).headline().startswith("code differs"), case


def test_a_gzip_bomb_stops_at_the_rebuilt_files_size(tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9, mtime=0)  # 64 MiB in about 64 KiB
    published = _wheel(tmp_path / "published" / NAME, CODE | {"demo/data/zeros.gz": bomb})
    rebuilt = _wheel(tmp_path / "rebuilt" / NAME, CODE | {"demo/data/zeros": b"\0" * 1024})
    verdict = compare_artifacts(published, rebuilt)
    members = {d["member"]: d["aspects"] for d in verdict.differences}
    assert members["demo/data/zeros.gz"] == ["only-in-a"]
    assert members["demo/data/zeros"] == ["only-in-b"]
    # and the inflation stops right past the cap: the first KiB of input already holds more
    pulled = []

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(bomb), 1024):
            pulled.append(start)
            yield bomb[start : start + 1024]

    assert _inflated(chunks(), 1024) is None
    assert len(pulled) == 1
    assert _inflated(iter([gzip.compress(b"\0" * 1024, mtime=0)]), 1024) is not None
