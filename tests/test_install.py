"""The wheel works away from the checkout: built, installed into a fresh venv, run from elsewhere.

The fresh venv gets only our wheel (--no-deps, bytecode compiled at install); its dependencies come
from the project's venv through a .pth path line, so nothing is downloaded or compiled again. A path
in a .pth does not run that venv's own .pth files, so the checkout's editable install stays out of
sight: every `assistant` module imported below is the installed wheel's.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SEED_DIR

UV = Path(sys.executable).with_name("uv")
pytestmark = pytest.mark.skipif(not UV.exists(), reason="uv is installed by `make setup`")


def _run(args, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A venv outside the checkout with the project's wheel in it; returns its paths and env."""
    base = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(UV_LINK_MODE="copy", UV_OFFLINE="1", UV_NO_CONFIG="1")
    # build from a copy of what git would ship, so nothing lying around the checkout gets in
    source = base / "source"
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "assistant", source / "assistant",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([UV, "build", "--wheel", "--no-build-isolation", "--python", sys.executable,
          "--out-dir", base / "dist", source], base, env)
    wheel = next((base / "dist").glob("news_assistant-*.whl"))
    venv = base / "venv"
    _run([UV, "venv", "--python", sys._base_executable, venv], base, env)
    python = venv / "bin" / "python"
    _run([UV, "pip", "install", "--python", python, "--no-deps", "--compile-bytecode", wheel], base,
         env)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     base, env).stdout.strip())
    (site / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = base / "elsewhere"  # no articles/, prompts/ or assistant/ here
    work.mkdir()
    env.update(ASSISTANT_INDEX_DIR=str(base / "index"), ASSISTANT_LLM="none",
               # reuse the GGUF the project's venv assembled instead of copying it again
               ASSISTANT_MODELS_DIR=str(Path(sys.prefix) / "share" / "news-assistant" / "models"))
    _run([venv / "bin" / "assistant", "ingest", SEED_DIR], work, env)
    return {"wheel": wheel, "venv": venv, "site": site, "python": python, "work": work, "env": env}


def test_installed_package_is_the_wheel_with_its_data_and_compiled_bytecode(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert {"assistant/prompts/answer.txt", "assistant/prompts/condense.txt",
            "assistant/data/scorer.json", "assistant/data/minilm/tokenizer.json"} <= names
    probe = ("import assistant, assistant.generate as g; print(assistant.__file__); "
             "print(len(g.load_prompt('answer')), len(g.load_prompt('condense')))")
    lines = _run([installed["python"], "-c", probe], installed["work"], installed["env"]).stdout.split()
    assert Path(lines[0]).is_relative_to(installed["site"]), "imported the checkout, not the wheel"
    assert int(lines[1]) > 0 and int(lines[2]) > 0
    assert list((installed["site"] / "assistant" / "__pycache__").glob("generate.*.pyc"))


def test_installed_wheel_answers_without_an_llm(installed):
    done = _run([installed["venv"] / "bin" / "assistant", "ask", "What did Campbell warn?",
                 "--llm", "none", "--json"], installed["work"], installed["env"])
    answer = json.loads(done.stdout)
    assert not answer["refused"] and answer["citations"]


def test_installed_wheel_generates_an_answer_with_its_packaged_prompt(installed):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is installed by `make setup`")
    env = {**installed["env"], "ASSISTANT_LLM_MODEL": "smollm2-135m-instruct"}
    done = _run([installed["venv"] / "bin" / "assistant", "ask", "What did Lammy urge Wang Yi to do?",
                 "--llm", "local", "--json"], installed["work"], env)
    answer = json.loads(done.stdout)
    # the model streamed an answer to the packaged prompt (a missing prompt file raises before)
    assert "first_token_ms" in answer["timings"], answer.get("notice")
