#!/usr/bin/env bash
# All benchmarks (`npm run bench`). Builds what they need, then runs them in turn.
# Arguments go to every benchmark, e.g. `npm run bench -- --runs 3`.
# Results are printed and written to docs/benchmarks.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "==> build (tsc)"
npx --no-install tsc -p tsconfig.json
# The guest programs and the SQLite shell: each script skips what is up to date.
if [[ -f scripts/build-guests.sh ]]; then bash scripts/build-guests.sh; fi
if [[ -f scripts/build-sqlite.sh && ! -f build/wasm/sqlite3.wasm ]]; then bash scripts/build-sqlite.sh; fi
if [[ -f scripts/extract-yosys-share.mjs ]]; then node scripts/extract-yosys-share.mjs; fi

echo "==> runtime: capsule run vs node:wasi"
node dist/bench/runtime.js "$@"

echo "==> packing: throughput and dedup (docs/benchmarks.md, Packing)"
node dist/bench/pack.js "$@"

echo "==> packages: run from a package vs a directory; dedup across versions (docs/benchmarks.md)"
node dist/bench/package.js "$@"

echo "==> cloud sessions: keystroke-to-echo latency, memory per idle session (docs/benchmarks.md, Cloud sessions)"
node dist/bench/cloud.js
echo "==> browser: cold start in a chromium tab (docs/benchmarks.md, Browser)"
node dist/bench/browser.js "$@"

echo "==> streamed delivery: cold start vs pull-then-run through the throttling proxy; push of a second version"
node dist/bench/stream.js "$@"

echo "==> chunk serving: capsule serve vs nginx"
node dist/bench/serve.js
