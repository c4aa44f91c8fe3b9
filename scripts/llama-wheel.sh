#!/usr/bin/env bash
# Build llama-cpp-python's wheel once into a wheelhouse outside the venv, keyed by its version and
# the CMake flags, so a new venv (a fresh clone, `make clean`, CI with a cached ~/.cache) installs
# it in seconds instead of compiling llama.cpp for 4-7 minutes.
# Usage: scripts/llama-wheel.sh PYTHON VERSION "CMAKE_ARGS"   -> prints the wheelhouse directory
set -euo pipefail
python=$1 version=$2 cmake_args=$3
root=${ASSISTANT_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/assistant-wheels}
key=$(printf '%s|%s|%s' "$version" "$cmake_args" "$(uname -m)" | sha256sum | cut -c1-12)
dir="$root/llama-cpp-python-$version-$key"
if compgen -G "$dir/llama_cpp_python-$version-*.whl" >/dev/null; then
    echo "$dir"
    exit 0
fi
mkdir -p "$root"
tmp=$(mktemp -d "$root/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "   building llama-cpp-python $version from source (once, 4-7 min on 2 cores; flags: $cmake_args)" >&2
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
