#!/usr/bin/env bash
# Build the C guest test programs tests/guest/*.c to build/wasm/<name>.wasm.
# A program is rebuilt only when its source, check.h or this script is newer
# than its .wasm. sqlite-stubs.c is not a program (build-sqlite.sh uses it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CC="${CC_WASM:-clang}"
CFLAGS=(--target=wasm32-wasi --sysroot=/usr -O1 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unused-function)
OUT_DIR="build/wasm"
SELF="scripts/build-guests.sh"
mkdir -p "$OUT_DIR"

pids=()
built=0
for src in tests/guest/*.c; do
  name="$(basename "$src" .c)"
  [[ "$name" == sqlite-stubs ]] && continue
  out="$OUT_DIR/$name.wasm"
  if [[ -f "$out" && "$out" -nt "$src" && "$out" -nt tests/guest/check.h && "$out" -nt "$SELF" ]]; then
    continue
  fi
  extra=()
  case "$name" in
    # Keep DWARF and the name section so a trap can be reported as `crash_here`.
    # -O0 also matters: with -O1 and up, clang runs binaryen's wasm-opt after
    # linking (when it is installed), and that drops the name section.
    trap) extra=(-O0 -g) ;;
  esac
  (
    "$CC" "${CFLAGS[@]}" "${extra[@]}" "$src" -o "$out.tmp"
    mv "$out.tmp" "$out"
  ) &
  pids+=($!)
  built=$((built + 1))
done

status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
if [[ "$status" != 0 ]]; then
  echo "build-guests: compilation failed" >&2
  exit 1
fi
echo "build-guests: $built rebuilt, outputs in $OUT_DIR/"
