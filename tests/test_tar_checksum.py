"""The tar header checksum's byte sum, computed without adding bytes in Python, against ``sum()``."""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_diff import gz, t, tar_bytes
from vouch.archive.tar import byte_sum_is, read_tar_gz
from vouch.errors import ArchiveError

blocks = st.binary(min_size=512, max_size=512)


@given(blocks, st.integers(min_value=-70_000, max_value=70_000))
def test_byte_sum_agrees_with_sum(block: bytes, offset: int) -> None:
    total = sum(block)
    assert byte_sum_is(block, total)
    for other in (total + offset, total + 65521, total - 65521, total + 1):
        assert byte_sum_is(block, other) is (other == total)


@pytest.mark.parametrize("block", [bytes(512), b"\xff" * 512, bytes(range(256)) * 2])
def test_byte_sum_at_the_extremes(block: bytes) -> None:
    total = sum(block)
    assert byte_sum_is(block, total)
    assert not byte_sum_is(block, total + 65521)
    assert not byte_sum_is(block, total - 65521)


def test_a_checksum_off_by_the_adler_modulus_is_refused() -> None:
    data = bytearray(tar_bytes([t("demo-1.0/a.py", b"x")], tarfile.USTAR_FORMAT))
    stored = int(data[148:154], 8)
    data[148:156] = b"%06o\0 " % (stored + 65521)
    with pytest.raises(ArchiveError, match="checksum does not match"):
        read_tar_gz(io.BytesIO(gz(bytes(data))))
