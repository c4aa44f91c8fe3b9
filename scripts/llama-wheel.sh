#!/usr/bin/env bash
# Build llama-cpp-python's wheel once into a wheelhouse outside the venv, keyed by its version and
# the CMake flags, so a new venv (a fresh clone, `make clean`, CI with a cached ~/.cache) installs
# it in seconds instead of compiling llama.cpp for 7-10 minutes. Keyed by the CPU too (see below).
# Usage: scripts/llama-wheel.sh PYTHON VERSION "CMAKE_ARGS"   -> prints the wheelhouse directory
#        scripts/llama-wheel.sh --cached PYTHON VERSION "CMAKE_ARGS": the same, or exit 1 if not built
set -euo pipefail
cached_only=false
if [ "$1" = --cached ]; then cached_only=true; shift; fi
python=$1 version=$2 cmake_args=$3
root=${ASSISTANT_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/assistant-wheels}
# The CPU's feature flags are part of the key: the build is for this machine's CPU (-march=native),
# so a wheelhouse carried to another CPU builds anew instead of crashing on an illegal instruction.
cpu=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
key=$(printf '%s|%s|%s|%s' "$version" "$cmake_args" "$(uname -m)" "$cpu" | sha256sum | cut -c1-12)
dir="$root/llama-cpp-python-$version-$key"
built() { compgen -G "$dir/llama_cpp_python-$version-*.whl" >/dev/null && echo "$dir"; }
built && exit 0
$cached_only && exit 1
mkdir -p "$root"
# One build at a time per wheelhouse: `make setup` while `make run`'s background build is under way
# waits for it and uses its wheel.
exec 9>"$root/.lock"
if ! flock -n 9; then
    echo "   waiting for the llama-cpp-python build already under way (make run: .venv/llama-build.log)" >&2
    flock 9
fi
built && exit 0
tmp=$(mktemp -d "$root/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "   building llama-cpp-python $version from source (once, 7-10 min on 2 cores; flags: $cmake_args)" >&2
echo "   into $dir" >&2
CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    "$python" -m pip wheel --quiet --no-deps --no-cache-dir --wheel-dir "$tmp" \
    "llama-cpp-python==$version" >&2
printf 'version=%s\ncmake_args=%s\nbuilt=%s\n' "$version" "$cmake_args" "$(date -u +%FT%TZ)" >"$tmp/BUILD-INFO"
chmod 755 "$tmp"
# Publish atomically: a build killed half-way leaves no wheel behind to be trusted.
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
