"""Every fuzz target builds and survives a short run (the CI smoke of ``make fuzz``).

Each target runs for ``SMOKE_SECONDS`` from its seeds and its kept crashes
(``regressions/<target>``, each the input of a bug found and fixed), so a harness that stops
building, a seed that crashes, or a fixed bug that comes back fails here. The C harnesses are
built into a temporary directory; every file a run writes stays under ``tmp_path``. Longer
runs: ``make fuzz FUZZ_SECONDS=600`` (tests/fuzz/README.md).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.fuzz.run import TARGETS, Target, build_c, run_target
from unixd.proto.messages import decode_request

SMOKE_SECONDS = 3


@pytest.fixture(scope="module")
def fuzz_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("fuzz-build")
    build_c(build)
    return build


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_fuzz_target__survives_a_short_run(target: Target, fuzz_build: Path,
                                           tmp_path: Path) -> None:
    result = run_target(target, SMOKE_SECONDS, fuzz_build, tmp_path)
    assert result.ok, result.describe()
    assert result.executions > 0


def test_fuzz_corpus__every_target_has_seeds() -> None:
    for target in TARGETS:
        assert any(target.seeds.iterdir()), target.name


def test_fuzz_corpus__request_seeds_are_requests_unixd_accepts() -> None:
    # Seeds that no longer parse (after a protocol change) would leave the fuzzer at the
    # door: rerun tests/fuzz/gen_seeds.py.
    (requests,) = (t for t in TARGETS if t.name == "unixd_requests")
    seeds = list(requests.seeds.glob("seed-*"))
    assert seeds
    for seed in seeds:
        decode_request(seed.read_bytes())


def test_run_target__reports_a_crash_and_keeps_its_input(tmp_path: Path) -> None:
    (tmp_path / "crashes_fuzz.py").write_text(textwrap.dedent("""
        import sys
        import atheris

        def test_one_input(data):
            if data[:1] == b"x":
                raise ValueError("found it")

        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
    """))
    (tmp_path / "corpus" / "crashes").mkdir(parents=True)
    (tmp_path / "corpus" / "crashes" / "seed").write_bytes(b"x")
    target = Target("crashes", "python", "a harness that fails on its seed", use_dict=False,
                    home=tmp_path)
    result = run_target(target, SMOKE_SECONDS, tmp_path, tmp_path / "work")
    assert not result.ok
    assert result.returncode != 0
    assert "Uncaught Python exception" in result.reports
    assert [a.read_bytes() for a in result.artifacts] == [b"x"]
