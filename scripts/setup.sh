#!/usr/bin/env bash
# Prepare a machine (developer or CI) to build and test Capsule.
#   bash scripts/setup.sh          install what is missing, build everything
#   bash scripts/setup.sh --demo   ... then run the SQLite shell through capsule, and start a demo
#                                  server seeded with SQLite, Flite and Yosys (scripts/demo-server.sh)
# Idempotent: when everything is already there it only checks and returns quickly.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEMO=0
for arg in "$@"; do
  case "$arg" in
    --demo) DEMO=1 ;;
    -h | --help)
      sed -n '2,5p' "$0"
      exit 0
      ;;
    *)
      echo "setup: unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

step() { printf '==> %s\n' "$*"; }

# 1. Debian packages: the WASI C toolchain and tools used by tests and benchmarks
#    (chromium: the browser runtime's tests and benchmark, driven by playwright-core;
#    nginx: the yardstick of the chunk-serving benchmark, which starts its own on a free port;
#    openssl: the TLS test makes its certificates with it).
PACKAGES=(clang lld wasi-libc libclang-rt-dev-wasm32 binaryen wabt tmux hyperfine chromium nginx openssl)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ "$(id -u)" != 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or install them first: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  step "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No package may start a system service (nginx would take port 80): without a
  # policy-rc.d that says so already, one is put in place for the install only.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. npm dependencies (npm ci only when node_modules is missing or stale).
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

# 3. TypeScript build (tsc is incremental enough at this size; always run it).
step "npm run build"
rm -rf dist
npm run --silent build

# 4. WASI guests: our test programs and the SQLite shell.
step "building guest programs"
bash scripts/build-guests.sh
step "building the SQLite shell"
bash scripts/build-sqlite.sh
# Yosys's share/ tree, written out of the npm package (skips itself when present).
if [[ -f scripts/extract-yosys-share.mjs ]]; then
  step "extracting Yosys share/"
  node scripts/extract-yosys-share.mjs
fi

if [[ "$DEMO" == 1 ]]; then
  step "demo: SQLite shell through capsule on build/demo/demo.db"
  mkdir -p build/demo
  node dist/src/cli/main.js run --dir build/demo::/data build/wasm/sqlite3.wasm -- /data/demo.db \
    "create table if not exists t(x); insert into t values (42); select count(*), sum(x) from t;"

  # The same app as a package, in a demo CAPSULE_HOME: packed, run on its own
  # state layer (the table persists there), then carried in one signed file.
  step "demo: the SQLite shell as a package (CAPSULE_HOME=build/demo/home)"
  export CAPSULE_HOME="$ROOT/build/demo/home"
  rm -rf build/demo/home build/demo/app build/demo/sqlite.capsule
  mkdir -p build/demo/app/bin
  cp build/wasm/sqlite3.wasm build/demo/app/bin/
  node dist/src/cli/main.js keygen demo >/dev/null
  node dist/src/cli/main.js pack build/demo/app --name sqlite --version 3.52.0 --entry /bin/sqlite3.wasm --env HOME=/ --sign demo
  node dist/src/cli/main.js run sqlite -- /notes.db "create table n(t); insert into n values ('kept in your state layer');"
  node dist/src/cli/main.js run sqlite -- /notes.db "select t from n;"
  node dist/src/cli/main.js export sqlite@3.52.0 -o build/demo/sqlite.capsule
  node dist/src/cli/main.js run build/demo/sqlite.capsule -- :memory: "select 'run from a single signed file';"
  node dist/src/cli/main.js ls
  unset CAPSULE_HOME

  # A server seeded with the real apps, left running, and one app streamed from it.
  bash scripts/demo-server.sh start
fi
step "setup done"
