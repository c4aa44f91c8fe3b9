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


def _venv(tmp_path: Path, fake_python: Path, uv_exit: int) -> Path:
    """A stand-in venv: bin/python builds fake wheels, bin/uv records what it is asked to install."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(fake_python)
    uv = venv / "bin" / "uv"
    uv.write_text(f'#!/usr/bin/env bash\necho "$@" >> {tmp_path / "uv.log"}\nexit {uv_exit}\n')
    uv.chmod(0o755)
    return venv


def _background(venv: Path, house: Path) -> subprocess.CompletedProcess:
    # the background job keeps the caller's stderr for its last word: run() returns once it is done
    return subprocess.run([str(ROOT / "scripts" / "llama-background.sh"), str(venv), "0.3.36", FLAGS],
                          capture_output=True, text=True, cwd=ROOT, check=True,
                          env={**os.environ, "ASSISTANT_WHEELHOUSE": str(house)})


def test_make_runs_background_build_installs_the_wheel_then_marks_the_venv_complete(tmp_path):
    fake, log = _fake_python(tmp_path)
    venv = _venv(tmp_path, fake, uv_exit=0)
    done = _background(venv, tmp_path / "wheels")
    assert "building in the background" in done.stdout and "llama-build.log" in done.stdout
    assert "built and installed" in done.stderr and "next question uses the local model" in done.stderr
    assert not (venv / "llama-build.pending").exists() and (venv / ".installed").exists()
    installed = (tmp_path / "uv.log").read_text()
    assert "--find-links " + str(tmp_path / "wheels") in installed
    assert "llama-cpp-python[server]==0.3.36" in installed
    assert log.read_text().splitlines() == [FLAGS]


def test_a_failed_background_build_is_said_and_leaves_its_marker_and_log(tmp_path):
    fake, _ = _fake_python(tmp_path)
    venv = _venv(tmp_path, fake, uv_exit=1)  # the wheel builds, its install fails
    done = _background(venv, tmp_path / "wheels")
    assert "FAILED" in done.stderr and str(venv / "llama-build.log") in done.stderr
    assert "make setup" in done.stderr
    assert (venv / "llama-build.failed").exists() and not (venv / "llama-build.pending").exists()
    assert not (venv / ".installed").exists()
    assert (venv / "llama-build.log").exists()


def test_cached_only_asks_without_building(tmp_path):
    fake, log = _fake_python(tmp_path)
    house = tmp_path / "wheels"
    env = {**os.environ, "ASSISTANT_WHEELHOUSE": str(house)}
    asked = subprocess.run([str(SCRIPT), "--cached", str(fake), "0.3.36", FLAGS], env=env,
                           capture_output=True, text=True)
    assert asked.returncode == 1 and not log.exists()
    built = _wheelhouse(fake, house, FLAGS)
    asked = subprocess.run([str(SCRIPT), "--cached", str(fake), "0.3.36", FLAGS], env=env,
                           capture_output=True, text=True, check=True)
    assert asked.stdout.strip() == built
