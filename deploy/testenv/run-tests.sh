#!/usr/bin/env bash
# The test command behind `make test`: starts throwaway Redis, Dovecot,
# Radicale and SMTP-sink servers on loopback (start.sh), runs every Go test
# against them, then gives each fuzz target a short run, and prints a
# summary. Exits non-zero when anything failed.
#
# Knobs (environment):
#   GOTESTFLAGS   extra flags for `go test` (also: arguments to this script)
#   TEST_PKGS     packages to test and fuzz (default ./...)
#   FUZZTIME      time per fuzz target (default 10s; 0 skips fuzzing)
#   FUZZMINIMIZE  bound on minimizing one new input while fuzzing (default 1s:
#                 in a big package each execution carries the whole binary's
#                 coverage bookkeeping, and unbounded minimizing of one input
#                 could eat the whole FUZZTIME; a crasher is still written)
#   IDLEBRIDGE_TEST_REQUIRE=1   missing servers fail tests instead of skipping
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

# Go's usual home, then its GOPATH/bin (staticcheck and friends).
case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) PATH=$PATH:/usr/local/go/bin ;; esac
gobin=$(go env GOPATH 2>/dev/null)/bin
case ":$PATH:" in *":$gobin:"*) ;; *) PATH=$PATH:$gobin ;; esac
export PATH

FUZZTIME=${FUZZTIME:-10s}
FUZZMINIMIZE=${FUZZMINIMIZE:-1s}
read -r -a PKGS <<<"${TEST_PKGS:-./...}"
# shellcheck disable=SC2206 # word splitting of the flag list is intended
TESTFLAGS=(${GOTESTFLAGS:-} "$@")

say() { printf '\n==> %s\n' "$*"; }

# ------------------------------------------------------ Debian packages
NEEDED=(redis-server dovecot-imapd radicale python3-tz libwbxml2-utils python3-aiosmtpd openssl)
missing=()
for p in "${NEEDED[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "installing ${missing[*]}"
		apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
			{ echo "run-tests.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
		# The packages' own services are not wanted: our servers run on
		# private ports. Stop them if the package scripts started them.
		for svc in redis-server dovecot radicale; do
			if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
				systemctl stop "$svc" || true
			fi
		done
	else
		echo "run-tests.sh: WARNING: not installed: ${missing[*]}" >&2
		echo "run-tests.sh: tests needing them will skip (or fail with IDLEBRIDGE_TEST_REQUIRE=1);" >&2
		echo "run-tests.sh: install with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
	fi
fi

# ------------------------------------------------------ modules
say "go mod download"
go mod download || { echo "run-tests.sh: go mod download failed" >&2; exit 1; }

# ------------------------------------------------------ test servers
TMP=$(mktemp -d "${TMPDIR:-/tmp}/idlebridge-test.XXXXXX")
# As root, Dovecot's unprivileged mail user must reach $TMP/servers/mail.
chmod 711 "$TMP"
cleanup() {
	"$HERE/stop.sh" "$TMP/servers" || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# Bash runs a trap only after the foreground command ends, and `go test`
# may run for minutes: run long commands in the background, in their own
# process group, and wait, so INT/TERM (Ctrl-C, a CI timeout) stop them
# and clean up at once.
child=""
on_signal() {
	if [ -n "$child" ]; then kill -TERM -- "-$child" 2>/dev/null || true; fi
	exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
run() {
	setsid "$@" &
	child=$!
	wait "$child"
	local rc=$?
	child=""
	return $rc
}

say "starting test servers in $TMP/servers"
if ! "$HERE/start.sh" "$TMP/servers"; then
	echo "run-tests.sh: FAILED to start the test servers (see above)" >&2
	exit 1
fi
# shellcheck source=/dev/null
. "$TMP/servers/env"

# ------------------------------------------------------ tests
results=()
failed=0
record() { # record STATUS WHAT
	results+=("$(printf '%-4s %s' "$1" "$2")")
	[ "$1" = ok ] || failed=1
}

say "go test -count=1 ${TESTFLAGS[*]} ${PKGS[*]}"
start=$SECONDS
if run go test -count=1 "${TESTFLAGS[@]}" "${PKGS[@]}"; then
	record ok "go test ${PKGS[*]} ($((SECONDS - start))s)"
else
	record FAIL "go test ${PKGS[*]} ($((SECONDS - start))s)"
fi

# ------------------------------------------------------ fuzzing
# `go test -list` prints each package's matching names, then a line
# "ok <pkg> <time>" (or "? <pkg> [no test files]"). Pair them up.
if [ "$FUZZTIME" != 0 ] && [ "$FUZZTIME" != 0s ]; then
	say "listing fuzz targets"
	listing=$(go test -list '^Fuzz' "${PKGS[@]}" 2>&1)
	list_rc=$?
	targets=$(awk '
		/^Fuzz[A-Za-z0-9_]*$/ { names[++n] = $1; next }
		/^ok[ \t]/ { for (i = 1; i <= n; i++) print $2, names[i]; n = 0; next }
		{ n = 0 }
	' <<<"$listing")
	if [ $list_rc != 0 ]; then
		echo "$listing"
		record FAIL "go test -list '^Fuzz' (some packages do not build; their fuzz targets did not run)"
	fi
	[ -n "$targets" ] || echo "no fuzz targets found"

	# fuzz_target PKG NAME sets outcome to ok, race or fail (no subshell:
	# the signal trap must see the running child). Go 1.26's fuzz
	# coordinator can end a run at the -fuzztime boundary with a bare
	# "context deadline exceeded" and no failing input (golang/go#75804,
	# fixed in Go 1.27), more often on a loaded machine. Such a run is
	# tried once more; it counts as a failure whenever a failing input was
	# written or the output says anything else.
	fuzz_target() {
		local pkg=$1 name=$2 dir log before after try
		dir=$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name
		log=$(mktemp "$TMP/fuzz.XXXXXX")
		for try in 1 2; do
			before=$(ls "$dir" 2>/dev/null | wc -l)
			if run go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZE" "$pkg" >"$log" 2>&1; then
				cat "$log"
				outcome=ok
				return
			fi
			after=$(ls "$dir" 2>/dev/null | wc -l)
			if [ "$after" != "$before" ] || ! grep -q '^    context deadline exceeded$' "$log" ||
				grep -qE '^(panic:|    [a-z_]+\.go:[0-9]+:)|Failing input written' "$log"; then
				cat "$log"
				outcome=fail
				return
			fi
			# Shown, but not in go test's FAIL words, so that nothing reading
			# the log counts a retried race as a failed test.
			sed -E 's/^( *)(--- )?FAIL/\1\2RACE (retried)/' "$log"
			echo "run-tests.sh: $name stopped by the fuzztime race (golang/go#75804), no failing input; trying once more" >&2
		done
		outcome=race
	}
	while read -r pkg name; do
		[ -n "${name:-}" ] || continue
		say "fuzz $pkg $name for $FUZZTIME"
		start=$SECONDS
		fuzz_target "$pkg" "$name"
		case $outcome in
		ok) record ok "fuzz $pkg $name ($((SECONDS - start))s)" ;;
		race) record ok "fuzz $pkg $name ($((SECONDS - start))s; twice stopped by Go's fuzztime race, golang/go#75804, no failing input)" ;;
		*) record FAIL "fuzz $pkg $name ($((SECONDS - start))s; a failing input is saved under the package's testdata/fuzz/$name)" ;;
		esac
	done <<<"$targets"
fi

# ------------------------------------------------------ summary
say "summary"
printf '%s\n' "${results[@]}"
if [ $failed = 0 ]; then
	echo "ALL PASSED"
else
	echo "SOME FAILED"
fi
exit $failed
