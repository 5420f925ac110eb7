#!/usr/bin/env bash
# Build the SQLite shell (shell.c + sqlite3.c) to WASI: build/wasm/sqlite3.wasm.
#
# The sources come from the amalgamation that npm's sqlite3@6.0.1 bundles
# (deps/sqlite-autoconf-*.tar.gz). We only `npm pack` it (never install it:
# its install script would try to download a native binary).
# Nothing is rebuilt when the outputs are newer than their inputs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PKG="sqlite3@6.0.1"
CACHE="build/cache"
SRC_DIR="build/sqlite-src"
OBJ_DIR="build/obj/sqlite"
OUT="build/wasm/sqlite3.wasm"
STUBS="tests/guest/sqlite-stubs.c"
TARBALL="$CACHE/sqlite3-6.0.1.tgz"

CC="${CC_WASM:-clang}"
CFLAGS=(
  --target=wasm32-wasi --sysroot=/usr -O2
  -DSQLITE_OMIT_LOAD_EXTENSION
  -DSQLITE_THREADSAFE=0
  -DSQLITE_NOHAVE_SYSTEM
  -D_WASI_EMULATED_SIGNAL
  -D_WASI_EMULATED_PROCESS_CLOCKS
  -D_WASI_EMULATED_GETPID
)
LIBS=(-lwasi-emulated-signal -lwasi-emulated-process-clocks -lwasi-emulated-getpid)

mkdir -p "$CACHE" "$OBJ_DIR" build/wasm

# 1. The npm tarball (kept in build/cache; npm's own cache makes a re-pack cheap).
if [[ ! -s "$TARBALL" ]]; then
  echo "build-sqlite: fetching $PKG with npm pack"
  (cd "$CACHE" && npm pack "$PKG" --silent >/dev/null)
fi

# 2. The amalgamation inside it.
if [[ ! -f "$SRC_DIR/sqlite3.c" || "$TARBALL" -nt "$SRC_DIR/sqlite3.c" ]]; then
  rm -rf "$SRC_DIR" "$SRC_DIR.tmp"
  mkdir -p "$SRC_DIR.tmp"
  inner="$(tar tzf "$TARBALL" | grep -E '^package/deps/sqlite-autoconf-[0-9]+\.tar\.gz$' | head -n1)"
  if [[ -z "$inner" ]]; then
    echo "build-sqlite: no deps/sqlite-autoconf-*.tar.gz in $TARBALL" >&2
    exit 1
  fi
  tar xzf "$TARBALL" -O "$inner" | tar xz -C "$SRC_DIR.tmp" --strip-components=1
  touch "$SRC_DIR.tmp/sqlite3.c" "$SRC_DIR.tmp/shell.c"
  mv "$SRC_DIR.tmp" "$SRC_DIR"
fi

# 3. Compile each unit when its source (or this script) changed, then link.
SELF="scripts/build-sqlite.sh"
compile() { # src obj
  if [[ ! -f "$2" || "$1" -nt "$2" || "$SELF" -nt "$2" ]]; then
    echo "build-sqlite: compiling $1"
    "$CC" "${CFLAGS[@]}" -w -c "$1" -o "$2.tmp"
    mv "$2.tmp" "$2"
  fi
}
# The two big units build in parallel (about 25 s each on this machine).
compile "$SRC_DIR/sqlite3.c" "$OBJ_DIR/sqlite3.o" &
pid_lib=$!
compile "$SRC_DIR/shell.c" "$OBJ_DIR/shell.o" &
pid_shell=$!
compile "$STUBS" "$OBJ_DIR/stubs.o"
wait "$pid_lib"
wait "$pid_shell"

objs=("$OBJ_DIR/sqlite3.o" "$OBJ_DIR/shell.o" "$OBJ_DIR/stubs.o")
need_link=0
[[ -f "$OUT" ]] || need_link=1
for o in "${objs[@]}"; do
  [[ "$o" -nt "$OUT" ]] && need_link=1
done
if [[ "$need_link" == 1 ]]; then
  echo "build-sqlite: linking $OUT"
  "$CC" "${CFLAGS[@]}" -fuse-ld=lld "${objs[@]}" "${LIBS[@]}" -o "$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
else
  echo "build-sqlite: $OUT is up to date"
fi
