#!/usr/bin/env bash
# Stops the test servers that start.sh started in DIR (listed in DIR/pids).
# Safe to call twice, and on a half-started DIR.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
DIR=$1
PIDS=$DIR/pids
[ -f "$PIDS" ] || exit 0

# Each server was started by setsid, so it leads its own process group
# (pgid == pid). Only signal pids that still do: a recycled pid belongs to
# someone else.
ours() { [ "$(ps -o pgid= -p "$1" 2>/dev/null | tr -d ' ')" = "$1" ]; }

pids=()
while read -r name pid; do
	[ -n "${pid:-}" ] || continue
	if ours "$pid"; then
		kill -TERM -- "-$pid" 2>/dev/null || true
		pids+=("$pid")
	fi
done <"$PIDS"

# Give them 10 s to exit cleanly, then kill what is left.
for _ in $(seq 100); do
	alive=0
	for pid in "${pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then alive=1; fi
	done
	[ $alive = 1 ] || break
	sleep 0.1
done
for pid in "${pids[@]}"; do
	if ours "$pid"; then
		echo "stop.sh: pid $pid did not stop in 10s; killing it" >&2
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
done
rm -f "$PIDS"
