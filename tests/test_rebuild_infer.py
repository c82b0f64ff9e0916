"""Recipe inference for releases not built by vouch, over archives made by the test."""

from __future__ import annotations

from vouch.archive.members import Member, MemberType
from vouch.rebuild.infer import infer_recipe
from vouch.rebuild.machine import posix_tz

T = 1_700_000_000.0


def file(name: str, data: bytes, *, mtime: float = T, mode: int = 0o644) -> Member:
    return Member(name, MemberType.FILE, mode, mtime, data)


def wheel_of(
    generator: str, *, crlf: bool = False, mode: int = 0o644, times: float = T, tags: tuple[str, ...] = ()
) -> list[Member]:
    eol = b"\r\n" if crlf else b"\n"
    lines = [b"Wheel-Version: 1.0", f"Generator: {generator}".encode(), *(f"Tag: {t}".encode() for t in tags)]
    wheel_file = eol.join([*lines, b""])
    return [
        file("demo/__init__.py", b"X = 1\n", mtime=times, mode=mode),
        file("demo-1.0.dist-info/WHEEL", wheel_file, mtime=times, mode=mode),
        file("demo-1.0.dist-info/METADATA", eol.join([b"Metadata-Version: 2.1", b"Name: demo", b""]),
             mtime=times, mode=mode),
    ]  # fmt: skip


def sdist_of(pyproject: str, *, times: tuple[float, float] = (T, T), top: str = "demo-1.0") -> list[Member]:
    return [
        file(f"{top}/pyproject.toml", pyproject.encode(), mtime=times[0]),
        file(f"{top}/demo/__init__.py", b"X = 1\n", mtime=times[1]),
    ]


def test_self_hosting_backend_is_not_pinned_and_brings_its_own_dependencies() -> None:
    pyproject = (
        '[build-system]\nrequires = []\nbuild-backend = "hatchling.ouroboros"\nbackend-path = ["src"]\n'
        '[project]\nname = "hatchling"\ndependencies = ["packaging>=24.2", "pluggy>=1.0.0"]\n'
    )
    sdist = sdist_of(pyproject, top="hatchling-1.27.0")
    recipe = infer_recipe(sdist, wheel_of("hatchling 1.27.0"), uploaded=None)
    assert recipe.requirements == ("packaging>=24.2", "pluggy>=1.0.0")
    origins = dict(recipe.origins)
    assert "self-hosting" in origins["backend-path src"]
    assert origins["packaging>=24.2"] == "the self-hosting backend's own [project] dependencies"


def test_self_hosting_backend_built_by_another_package_pins_that_package() -> None:
    # setuptools-scm 8.1.0: an in-tree backend wrapping setuptools, its wheel made by bdist_wheel
    pyproject = (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "_own_version_helper:build_meta"\n'
        'backend-path = [".", "src"]\n[project]\nname = "setuptools-scm"\ndependencies = ["packaging>=20"]\n'
    )
    sdist = sdist_of(pyproject, top="setuptools_scm-8.1.0")
    recipe = infer_recipe(sdist, wheel_of("bdist_wheel (0.43.0)"), uploaded=None)
    assert recipe.requirements == ("setuptools>=61", "packaging>=20", "wheel==0.43.0", "setuptools<70.1")
    assert dict(recipe.origins)["wheel==0.43.0"] == "the wheel's WHEEL Generator: bdist_wheel (0.43.0)"


def test_universal_wheel_asks_setuptools_for_one() -> None:
    sdist = sdist_of('[build-system]\nrequires = ["setuptools", "wheel"]\n')
    universal = infer_recipe(sdist, wheel_of("bdist_wheel (0.42.0)", tags=("py2-none-any", "py3-none-any")),
                             uploaded=None)  # fmt: skip
    assert universal.universal
    assert universal.to_json()["bdist_wheel_universal"] is True
    assert "py2-none-any, py3-none-any" in dict(universal.origins)["bdist_wheel --universal"]
    plain = infer_recipe(sdist, wheel_of("bdist_wheel (0.42.0)", tags=("py3-none-any",)), uploaded=None)
    assert not plain.universal
    assert "bdist_wheel_universal" not in plain.to_json()


def test_bdist_wheel_generator_pins_the_wheel_package_and_an_older_setuptools() -> None:
    recipe = infer_recipe(sdist_of('[build-system]\nrequires = ["setuptools", "wheel"]\n'),
                          wheel_of("bdist_wheel (0.37.1)"), uploaded="2024-10-09T00:00:00Z")  # fmt: skip
    assert recipe.requirements == ("wheel==0.37.1", "setuptools<70.1")
    assert dict(recipe.origins)["wheel==0.37.1"] == "the wheel's WHEEL Generator: bdist_wheel (0.37.1)"


def test_flit_wheel_built_east_of_utc_without_source_date_epoch_gets_its_timezone() -> None:
    sdist = sdist_of('[build-system]\nrequires = ["flit_core"]\nbuild-backend = "flit_core.buildapi"\n',
                     times=(T + 17, T + 3))  # fmt: skip
    # flit stamps local times (UTC+05:30) from the same files, zip keeps even seconds
    # the dist-info files are written at build time, not copied from disk
    wheel = [m if ".dist-info/" in m.name else file(m.name, m.data, mtime=T + 3 + 5.5 * 3600 - 1)
             for m in wheel_of("flit 3.9.0", times=T + 86_400)]  # fmt: skip
    recipe = infer_recipe(sdist, wheel, uploaded=None)
    assert recipe.source_date_epoch is None
    assert recipe.timezone == "<+0530>-05:30"
    assert recipe.environment == {"TZ": "<+0530>-05:30"}
    assert "+330 min" in dict(recipe.origins)["TZ <+0530>-05:30"]


def test_utc_build_needs_no_timezone() -> None:
    sdist = sdist_of('[build-system]\nrequires = ["flit_core"]\n', times=(T + 17, T + 3))
    wheel = [m if ".dist-info/" in m.name else file(m.name, m.data, mtime=T + 2)
             for m in wheel_of("flit 3.9.0", times=T + 86_400)]  # fmt: skip
    recipe = infer_recipe(sdist, wheel, uploaded=None)
    assert recipe.source_date_epoch is None
    assert recipe.timezone is None


def test_posix_tz_counts_west_as_positive() -> None:
    assert posix_tz(3600) == "<+0100>-01:00"
    assert posix_tz(-4 * 3600 - 1800) == "<-0430>+04:30"


def test_wheel_built_on_windows_names_its_evidence() -> None:
    recipe = infer_recipe(sdist_of('[build-system]\nrequires = ["flit_core"]\n'),
                          wheel_of("flit 3.9.0", crlf=True, mode=0o666), uploaded=None)  # fmt: skip
    evidence = " ".join(recipe.built_on_windows)
    assert "CRLF line endings in demo-1.0.dist-info/METADATA" in evidence
    assert "3 member(s) with mode 0666" in evidence
    linux = infer_recipe(sdist_of("[build-system]\n"), wheel_of("flit 3.9.0"), uploaded=None)
    assert linux.built_on_windows == ()
