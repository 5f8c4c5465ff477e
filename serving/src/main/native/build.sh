#!/usr/bin/env bash
# Builds libquiver_ops.so, Quiver's ONNX Runtime custom ops (the .c files here), into OUT_DIR/linux-x86_64/:
# build.sh OUT_DIR [STAMP], STAMP the file recording the settings of the last build (default: beside the library).
# Run by the serving module's Maven build (process-resources); -Dquiver.native.skip=true builds without it, and
# the engine then applies adapters with standard ONNX ops (LoraKernel.ONNX).
#
# It compiles against ONNX Runtime's C API headers. No Maven or npm artifact ships them, so they come from
# Debian's libonnxruntime-dev package (MIT licensed), checked against its SHA-256 and cached under
# ~/.cache/quiver; QUIVER_ORT_INCLUDE=DIR uses a directory holding onnxruntime_c_api.h instead. The library
# asks the runtime for the headers' API version, which every later runtime still serves.
set -euo pipefail

out_dir="$1"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
platform="$(uname -s)-$(uname -m)"
if [[ "$platform" != "Linux-x86_64" ]]; then
    echo "quiver ops: no native build for $platform; the engine will use standard ONNX ops for LoRA" >&2
    exit 0
fi
target="$out_dir/linux-x86_64/libquiver_ops.so"
# the library's sources, one file per kind of op plus the shared helpers (each includes its kernels' headers)
sources=(quiver_ops.c multi_lora.c matmul_q.c attention.c)
flags=(-O3 -std=c11 -D_POSIX_C_SOURCE=200809L -fPIC -shared -Wall -Wextra -Wno-psabi -Werror -fvisibility=hidden)
# what else the library depends on: the headers' directory, the compiler and its flags
config="include=${QUIVER_ORT_INCLUDE:-cache} gcc=$(gcc -dumpfullversion 2>/dev/null || echo none) ${flags[*]}"
stamp="${2:-$target.config}"
if [[ -f "$target" && -z "$(find "$src" -newer "$target" -print -quit)" && -f "$stamp" \
      && "$(cat "$stamp")" == "$config" ]]; then
    exit 0 # no source (.c, .h, this script) and no setting changed since the last build
fi

tmp=""
tmp_so=""
trap 'rm -rf "$tmp"; rm -f "$tmp_so"' EXIT # an interrupted build leaves no download or library half-written

deb_name="libonnxruntime-dev_1.21.0+dfsg-1_amd64.deb"
deb_url="http://deb.debian.org/debian/pool/main/o/onnxruntime/libonnxruntime-dev_1.21.0%2Bdfsg-1_amd64.deb"
deb_sha256="14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08"

include="${QUIVER_ORT_INCLUDE:-}"
if [[ -z "$include" ]]; then
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/quiver/onnxruntime-dev-1.21.0"
    include="$cache/usr/include/onnxruntime"
    if [[ ! -f "$include/onnxruntime_c_api.h" ]]; then
        mkdir -p "$cache"
        tmp="$(mktemp -d "$cache/.download.XXXXXX")"
        if ! curl -fsSL --retry 3 -o "$tmp/$deb_name" "$deb_url"; then
            echo "quiver ops: could not download ONNX Runtime's C API headers from $deb_url;" \
                 "set QUIVER_ORT_INCLUDE to a directory with onnxruntime_c_api.h, or build with" \
                 "-Dquiver.native.skip=true" >&2
            exit 1
        fi
        echo "$deb_sha256  $tmp/$deb_name" | sha256sum -c --quiet - \
            || { echo "quiver ops: $deb_name does not match its SHA-256" >&2; exit 1; }
        (cd "$tmp" && ar x "$deb_name" && mkdir root && tar -xf data.tar.* -C root ./usr/include/onnxruntime)
        cp -r "$tmp/root/usr" "$tmp/usr.new"
        rm -rf "$cache/usr" && mv "$tmp/usr.new" "$cache/usr"
    fi
fi

if ! gcc -dumpfullversion | awk -F. '{ exit !($1 >= 12) }'; then
    echo "quiver ops: needs GCC 12 or later (x86-64-v3/v4 targets); found gcc $(gcc -dumpfullversion); install it," \
         "or build with -Dquiver.native.skip=true" >&2
    exit 1
fi
mkdir -p "$(dirname "$target")"
tmp_so="$(mktemp "$(dirname "$target")/.libquiver_ops.XXXXXX")"
if ! gcc "${flags[@]}" -I"$include" -o "$tmp_so" "${sources[@]/#/$src/}" -lpthread -lm; then
    echo "quiver ops: gcc could not build ${sources[*]} in $src (install gcc, or build with" \
         "-Dquiver.native.skip=true)" >&2
    exit 1
fi
mv "$tmp_so" "$target"
tmp_so=""
mkdir -p "$(dirname "$stamp")"
echo "$config" > "$stamp"
