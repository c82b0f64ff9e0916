"""The sdist, then the wheel from the sdist's tree: each normalised and validated.

As ``python -m build`` does, the wheel is built from the sdist, never from the checkout: what a
user installs from the sdist is what the wheel holds. The sdist's tree is the checkout turned into
it in place (:func:`vouch.archive.adopt.adopt_tree`: extra entries removed, every kept file's bytes
compared with its member, the others written from the sdist), which is much cheaper than writing
the sdist's thousands of files again and gives the same tree.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from vouch.archive.adopt import adopt_tree
from vouch.archive.compress import Compressor
from vouch.archive.normalize import canonical_members, pack_sdist, pack_wheel, zip_order_key
from vouch.archive.safe import read_tar_gz, read_zip
from vouch.builder.validate import check_sdist, check_wheel
from vouch.errors import ArchiveError
from vouch.host import Progress

if TYPE_CHECKING:
    from vouch.builder.builder import Environment


def _noop(_: str) -> None:
    return None


def remove_tree(path: Path) -> None:
    """Remove a temporary tree of the build (what cannot be removed goes with the workspace)."""
    shutil.rmtree(path, ignore_errors=True)


def build_distributions(
    environment: Environment,
    project: Path,
    work: Path,
    *,
    source_date_epoch: int,
    compressor: Compressor,
    progress: Progress = _noop,
) -> dict[str, bytes]:
    """The normalised sdist, then the normalised wheel built from it: {file name: bytes}. The
    backend's raw files go to ``work/raw``, the sdist's tree to ``work/sdist``: ``project`` is
    consumed, turned into that tree; the rest of its checkout at ``work/src`` (with ``--subdir``)
    is removed meanwhile."""
    sde = source_date_epoch
    # the backend uses one core: meanwhile compile the environment's modules once for all four
    # hooks, then compress the sdist and drop the rest of the checkout
    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(environment.precompile)  # its failure or timeout is ignored: a speed-up only
        # vouch writes every byte of both archives: the backend's compression would be thrown away
        sdist_raw = environment.build(project, "sdist", work / "raw", uncompressed_archives=True)
        sdist_members = canonical_members(read_tar_gz(sdist_raw.read_bytes()), sde)
        sdist_info = check_sdist(sdist_raw.name, sdist_members)
        progress("building the wheel from the sdist")
        packed_sdist = pool.submit(pack_sdist, sdist_members, compressor)
        unpacked = adopt_tree(sdist_members, project, work / "sdist")
        pool.submit(remove_tree, work / "src")
        wheel_raw = environment.build(unpacked, "wheel", work / "raw", uncompressed_archives=True)
        wheel_members = canonical_members(read_zip(wheel_raw.read_bytes()), sde, zip_order_key)
        wheel_info = check_wheel(wheel_raw.name, wheel_members)
        pool.submit(remove_tree, work / "sdist")
        wheel_bytes = pack_wheel(wheel_members, compressor)
        sdist_bytes = packed_sdist.result()
    if wheel_info != sdist_info:
        raise ArchiveError(
            f"the wheel is {wheel_info.name} {wheel_info.version} "
            f"but the sdist is {sdist_info.name} {sdist_info.version}"
        )
    return {sdist_raw.name: sdist_bytes, wheel_raw.name: wheel_bytes}
