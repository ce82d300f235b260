#!/usr/bin/env bash
# Runs moodfood with many replicas on one PostgreSQL, locally, in one command:
# a throwaway PostgreSQL cluster (Debian's postgresql package) in a temp dir,
# the demo loaded and trained into it by cronjob, and three servers on it
# (ports 8081-8083). Ctrl-C stops everything and removes the cluster.
#
#   examples/replicas/run.sh
#   curl -s localhost:8081/classify -d '{"text": "rainy day, feeling low"}'
#   MOODFOOD_DATABASE_URL=... go run ./examples/cmd/cronjob run --force   # printed below; every replica reloads
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n $bin ]] || { echo "needs PostgreSQL's server binaries (apt-get install postgresql)"; exit 1; }
tmp=$(mktemp -d); pids=()
as=(); if [[ $(id -u) == 0 ]]; then chown postgres "$tmp"; as=(runuser -u postgres --); fi
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
trap "exit 130" INT TERM
"${as[@]}" "$bin/initdb" -D "$tmp/data" -U postgres -A trust >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -o "-k $tmp -p 5433 -c listen_addresses=''" -l "$tmp/log" -w start >/dev/null
export MOODFOOD_DATABASE_URL="host=$tmp port=5433 user=postgres dbname=postgres sslmode=disable"
go build -o "$tmp/cronjob" ./examples/cmd/cronjob
go build -o "$tmp/server" ./examples/server
"$tmp/cronjob" run --force --init examples/demo
for port in 8081 8082 8083; do
  "$tmp/server" -addr "127.0.0.1:$port" -cache-dir "$tmp/cache$port" \
    -llm-labels examples/demo/data/intent_dataset.jsonl 2>>"$tmp/server$port.log" & pids+=($!)
done
echo "3 replicas on http://127.0.0.1:8081 .. 8083; logs in $tmp"
echo "retrain from all their traffic: MOODFOOD_DATABASE_URL='$MOODFOOD_DATABASE_URL' $tmp/cronjob run --force"
wait
