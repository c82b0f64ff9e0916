"""What a release's archives say about the machine that built them: its timezone, its operating system.

- **Timezone.** flit (and any backend that lets ``zipfile`` stamp members from the files on disk)
  writes a wheel member's date_time as *local* time when SOURCE_DATE_EPOCH is not set, while the
  sdist's tar members keep the files' real (UTC) mtimes. For the same file in both, the zip time
  read as UTC minus the tar mtime is the build machine's UTC offset (zip keeps even seconds only,
  so up to 2 s of slack). An offset that is one whole quarter-hour for every file shared by both
  archives is that timezone; a rebuild under a fixed ``TZ`` of that offset stamps the same times.
- **Windows.** CRLF line endings in the wheel's ``.dist-info`` text files, and files with mode
  0666/0777 or with no Unix mode at all (zips written on Windows), are the evidence, each reported.
"""

from __future__ import annotations

from collections.abc import Sequence

from vouch.archive.members import Member, MemberType

QUARTER_HOUR = 900
ZIP_SLACK = 2  # seconds: zip date_time has a resolution of two seconds
MAX_OFFSET = 14 * 3600


def _files(members: Sequence[Member]) -> list[Member]:
    return [m for m in members if m.type is MemberType.FILE]


def timezone_offset(sdist: Sequence[Member], wheel: Sequence[Member]) -> tuple[int, int] | None:
    """The build machine's UTC offset in seconds and the number of files that show it, when every
    wheel file found in the sdist (same bytes, path ending alike) shows one non-zero quarter-hour."""
    by_data: dict[bytes, list[Member]] = {}
    for member in _files(sdist):
        by_data.setdefault(member.data, []).append(member)
    offsets: set[int] = set()
    matched = 0
    for member in _files(wheel):
        if ".dist-info/" in member.name or not member.data:
            continue
        for candidate in by_data.get(member.data, []):
            if candidate.name.endswith(f"/{member.name}"):
                delta = member.mtime - candidate.mtime
                quarter = round(delta / QUARTER_HOUR) * QUARTER_HOUR
                if abs(delta - quarter) > ZIP_SLACK or abs(quarter) > MAX_OFFSET:
                    return None
                offsets.add(quarter)
                matched += 1
                break
    if len(offsets) != 1 or matched == 0:
        return None
    offset = offsets.pop()
    return (offset, matched) if offset else None


def posix_tz(offset: int) -> str:
    """The POSIX ``TZ`` value of a fixed UTC offset (POSIX counts west of Greenwich as positive):
    3600 -> ``<+0100>-01:00``."""
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    posix_sign = "-" if offset >= 0 else "+"
    return f"<{sign}{hours:02d}{minutes:02d}>{posix_sign}{hours:02d}:{minutes:02d}"


def windows_evidence(wheel: Sequence[Member]) -> tuple[str, ...]:
    """Why the wheel looks built on Windows, one line per kind of evidence (empty: no sign of it)."""
    evidence: list[str] = []
    crlf = [m.name for m in _files(wheel) if ".dist-info/" in m.name and b"\r\n" in m.data]
    if crlf:
        evidence.append(f"CRLF line endings in {', '.join(sorted(crlf)[:3])}")
    open_modes = [m.name for m in _files(wheel) if m.mode & 0o777 in {0o666, 0o777}]
    if open_modes:
        evidence.append(f"{len(open_modes)} member(s) with mode 0666/0777 (no umask), e.g. {open_modes[0]}")
    no_mode = [m.name for m in _files(wheel) if m.mode == 0]
    if no_mode and len(no_mode) == len(_files(wheel)):
        evidence.append("no member carries a Unix mode (a zip written on Windows)")
    return tuple(evidence)
