#!/usr/bin/env bash
# The whole test run (what `npm test` and CI run):
#   setup (install, tsc build, guest builds), lint, format check, node's test runner.
# Ends with a plain totals line "tests: N passed, N failed, N skipped" read from the TAP output.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh # includes `tsc -p tsconfig.json`, so type errors stop here

echo "==> eslint"
npx --no-install eslint .
echo "==> prettier --check"
npx --no-install prettier --check .

echo "==> node --test dist/"
mkdir -p build
TAP="build/test.tap"
rm -f "$TAP"
status=0
node --test \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$TAP" \
  dist/ || status=$?

count() { # the value of "# NAME N" in the TAP summary, 0 if absent
  local v
  v="$(grep -E "^# $1 [0-9]+$" "$TAP" 2>/dev/null | tail -n1 | awk '{print $3}')"
  echo "${v:-0}"
}
pass="$(count pass)"
fail="$(count fail)"
cancelled="$(count cancelled)"
skipped="$(count skipped)"
todo="$(count todo)"
if [[ ! -s "$TAP" && "$status" == 0 ]]; then
  status=1
  echo "test.sh: the test runner wrote no TAP summary" >&2
fi
echo
echo "tests: ${pass} passed, $((fail + cancelled)) failed, $((skipped + todo)) skipped"
exit "$status"
