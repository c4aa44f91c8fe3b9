"""`make setup` builds llama-cpp-python once per machine: scripts/llama-wheel.sh keeps the wheel in a
wheelhouse keyed by version and CMake flags. A stand-in for `python -m pip wheel` counts builds."""

import os
import subprocess
from pathlib import Path

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "llama-wheel.sh"
FLAGS = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON"


def _fake_python(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that, called as `python -m pip wheel ... --wheel-dir D ...`, writes a wheel
    into D and appends a line to a log."""
    log = tmp_path / "builds.log"
    fake = tmp_path / "python"
    fake.write_text(f"""#!/usr/bin/env bash
while [ $# -gt 0 ]; do
  if [ "$1" = --wheel-dir ]; then dir=$2; fi
  shift
done
echo "$CMAKE_ARGS" >> {log}
touch "$dir/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"
""")
    fake.chmod(0o755)
    return fake, log


def _wheelhouse(fake: Path, house: Path, flags: str) -> str:
    done = subprocess.run([str(SCRIPT), str(fake), "0.3.36", flags], capture_output=True, text=True,
                          env={**os.environ, "ASSISTANT_WHEELHOUSE": str(house)}, check=True)
    return done.stdout.strip()


def test_llama_wheel_is_built_once_and_reused_from_the_wheelhouse(tmp_path):
    fake, log = _fake_python(tmp_path)
    house = tmp_path / "wheels"
    first = _wheelhouse(fake, house, FLAGS)
    second = _wheelhouse(fake, house, FLAGS)
    assert first == second and Path(first).parent == house
    assert list(Path(first).glob("llama_cpp_python-0.3.36-*.whl"))
    assert log.read_text().splitlines() == [FLAGS]  # built once, with the flags
    assert "cmake_args=" + FLAGS in (Path(first) / "BUILD-INFO").read_text()


def test_other_cmake_flags_get_their_own_wheel(tmp_path):
    fake, log = _fake_python(tmp_path)
    house = tmp_path / "wheels"
    a = _wheelhouse(fake, house, FLAGS)
    b = _wheelhouse(fake, house, FLAGS + " -DGGML_AVX512=ON")
    assert a != b and len(log.read_text().splitlines()) == 2
