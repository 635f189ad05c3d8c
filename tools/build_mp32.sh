#!/bin/sh
# Build MicroPython v1.28.0's unix port as a 32-bit (i386) binary: the ESP32's object layout and
# 16-byte GC blocks on the host. Called by `make mp32`; the Makefile caches the results.
#
#   tools/build_mp32.sh plain OUT             -> OUT (the standard variant; firmware from .mpy)
#   tools/build_mp32.sh frozen OUT MANIFEST   -> OUT (the same port with MANIFEST frozen in)
#   tools/build_mp32.sh picow OUT             -> OUT (plain, mbedTLS on the GC heap as on rp2)
#
# Source: ../shared/micropython/micropython-1.28.0.tar.gz (checked against SHA256SUMS) when it is
# there, else a shallow clone of the v1.28.0 tag and the two submodules the unix port needs.
# Where no 32-bit build can be made (not x86-64 Linux, no compiler, a failed build) it prints one
# line saying so and exits 0 without OUT: the tools then run on the PyPI 64-bit VM.
set -u
MODE=$1
OUT=$2
MANIFEST=${3:-}
VERSION=1.28.0
# ../shared beside the checkout (CI); from a git worktree, beside the main checkout.
SHARED=${MP_SHARED:-../shared/micropython}
if [ ! -d "$SHARED" ]; then
    common=$(git rev-parse --git-common-dir 2>/dev/null) &&
        [ -d "$common/../../shared/micropython" ] && SHARED=$common/../../shared/micropython
fi
SRC=build/micropython-$VERSION
LOG=build/mp32.log
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

fallback() {
    echo "mp32: no 32-bit MicroPython ($1); devauth runs on the PyPI 64-bit VM"
    exit 0
}

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || fallback "needs x86-64 Linux"
command -v gcc >/dev/null 2>&1 || fallback "no gcc"
mkdir -p build

# Debian packages for a 32-bit build: the multilib compiler and libffi for i386.
if ! dpkg -s gcc-multilib libffi-dev:i386 pkg-config >/dev/null 2>&1; then
    echo "mp32: installing gcc-multilib libffi-dev:i386 pkg-config"
    { $SUDO dpkg --add-architecture i386 &&
      $SUDO apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
          gcc-multilib libffi-dev:i386 pkg-config; } >>"$LOG" 2>&1 ||
        fallback "apt-get could not install gcc-multilib libffi-dev:i386, see $LOG"
fi

if [ ! -f "$SRC/.unpacked" ]; then
    rm -rf "$SRC"
    if [ -f "$SHARED/micropython-$VERSION.tar.gz" ]; then
        (cd "$SHARED" && sha256sum -c --quiet SHA256SUMS) >>"$LOG" 2>&1 ||
            fallback "$SHARED/micropython-$VERSION.tar.gz does not match SHA256SUMS"
        tar xzf "$SHARED/micropython-$VERSION.tar.gz" -C build ||
            fallback "cannot unpack the tarball"
    else
        # As a user on the internet gets it (not exercised on our machines: no git host).
        { git clone --depth 1 --branch "v$VERSION" https://github.com/micropython/micropython \
              "$SRC" &&
          git -C "$SRC" submodule update --init --depth 1 lib/mbedtls lib/micropython-lib; } \
            >>"$LOG" 2>&1 || fallback "git clone of micropython v$VERSION failed, see $LOG"
    fi
    touch "$SRC/.unpacked"
fi

JOBS=$(nproc 2>/dev/null || echo 2)
# mpy-cross runs on the build machine: native.
make -C "$SRC/mpy-cross" -j"$JOBS" >>"$LOG" 2>&1 || fallback "mpy-cross did not build, see $LOG"

ARGS="VARIANT=standard MICROPY_PY_BTREE=0 BUILD=build-$MODE-32"
if [ "$MODE" = frozen ]; then
    ARGS="$ARGS FROZEN_MANIFEST=$(realpath "$MANIFEST")"
elif [ "$MODE" = picow ]; then
    ARGS="$ARGS MBEDTLS_CONFIG_FILE=\\\"$(realpath tools/mbedtls_gc_heap.h)\\\""
fi
echo "mp32: building the 32-bit unix port ($MODE), about a minute on 2 cores"
# shellcheck disable=SC2086
PKG_CONFIG_LIBDIR=/usr/lib/i386-linux-gnu/pkgconfig make -C "$SRC/ports/unix" -j"$JOBS" \
    CC="gcc -m32" $ARGS >>"$LOG" 2>&1 || fallback "the $MODE build failed, see $LOG"
mkdir -p "$(dirname "$OUT")"
cp "$SRC/ports/unix/build-$MODE-32/micropython" "$OUT"
echo "mp32: $OUT ready"
