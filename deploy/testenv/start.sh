#!/usr/bin/env bash
# Starts the throwaway test servers in DIR, on loopback, on free ports:
# Redis, Dovecot (IMAP + IMAPS), Radicale (CalDAV/CardDAV) and an SMTP sink.
#
# Writes DIR/env (`export IDLEBRIDGE_TEST_*=...` lines, the contract of
# internal/testenv) and DIR/pids (for stop.sh). Logs go to DIR/*.log.
#
#   deploy/testenv/start.sh DIR && source DIR/env && go test ./...
#   deploy/testenv/stop.sh DIR
#
# A server whose program is not installed is skipped with a warning (its
# tests then skip), unless IDLEBRIDGE_TEST_REQUIRE=1, where it is an error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
READY_TIMEOUT=${TESTENV_READY_TIMEOUT:-30} # seconds per server

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
mkdir -p "$1"
DIR=$(cd "$1" && pwd)

if [ -s "$DIR/pids" ]; then
	echo "start.sh: $DIR/pids exists: servers may be running; run $HERE/stop.sh $DIR first" >&2
	exit 1
fi

# Debian's python3 has radicale and aiosmtpd; the one on PATH may be a
# pyenv/venv interpreter without them.
SYS_PY=/usr/bin/python3
[ -x "$SYS_PY" ] || SYS_PY=$(command -v python3 || true)

log() { echo "start.sh: $*" >&2; }

# On any failure, stop what was already started so nothing leaks.
started_ok=0
cleanup_on_failure() {
	if [ "$started_ok" != 1 ]; then
		"$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
	fi
}
trap cleanup_on_failure EXIT

fail() {
	log "ERROR: $*"
	exit 1
}

# fail_server NAME LOGFILE MESSAGE: error naming the server, with its log tail.
fail_server() {
	log "ERROR: $1 failed: $3"
	if [ -s "$2" ]; then
		echo "---- last lines of $2 ----" >&2
		tail -n 25 "$2" >&2
		echo "----" >&2
	fi
	exit 1
}

# missing NAME PROGRAM: skip a server whose program is absent (error in CI).
missing() {
	if [ "${IDLEBRIDGE_TEST_REQUIRE:-}" = 1 ]; then
		fail "$1 needs $2, which is not installed (IDLEBRIDGE_TEST_REQUIRE=1)"
	fi
	log "WARNING: $2 not installed: not starting $1 (its tests will skip)"
}

# free_ports N: prints N distinct TCP ports free on 127.0.0.1, chosen by the
# kernel (all bound at once, so they differ), or by probing `ss` without it.
free_ports() {
	if [ -n "$SYS_PY" ]; then
		"$SYS_PY" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
		return
	fi
	local picked=() port used
	used=$(ss -Hltn | awk '{print $4}' | sed 's/.*://')
	while [ ${#picked[@]} -lt "$1" ]; do
		port=$((20000 + RANDOM % 12000))
		if ! grep -qx "$port" <<<"$used" && [[ " ${picked[*]} " != *" $port "* ]]; then
			picked+=("$port")
		fi
	done
	echo "${picked[*]}"
}

# fill TEMPLATE OUT NAME=VALUE...: replaces @NAME@ placeholders.
fill() {
	local in=$1 out=$2 kv
	shift 2
	cp "$in" "$out.tmp"
	for kv in "$@"; do
		KEY="@${kv%%=*}@" VAL="${kv#*=}" perl -pi -e 's/\Q$ENV{KEY}\E/$ENV{VAL}/g' "$out.tmp"
	done
	if grep -q '@[A-Z_]*@' "$out.tmp"; then
		fail "unfilled placeholder in $out: $(grep -o '@[A-Z_]*@' "$out.tmp" | sort -u | tr '\n' ' ')"
	fi
	mv "$out.tmp" "$out"
}

# launch NAME LOGFILE CMD...: runs CMD in its own session (so it outlives
# this script and stop.sh can signal its whole process group) and records
# its pid.
launch() {
	local name=$1 logfile=$2
	shift 2
	setsid "$@" >>"$logfile" 2>&1 </dev/null &
	echo "$name $!" >>"$DIR/pids"
}

pid_of() { awk -v n="$1" '$1 == n {print $2}' "$DIR/pids"; }

# probe KIND PORT: one readiness check, via bash's /dev/tcp.
probe() {
	local kind=$1 port=$2 line="" ok=1
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	case $kind in
	redis)
		printf 'PING\r\n' >&3
		IFS= read -r -t 2 line <&3 || true
		[[ $line == +PONG* ]] && ok=0
		;;
	imap)
		IFS= read -r -t 2 line <&3 || true
		[[ $line == '* OK'* ]] && ok=0
		;;
	http)
		printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
		IFS= read -r -t 2 line <&3 || true
		[[ $line == HTTP/1.* ]] && ok=0
		;;
	smtp)
		IFS= read -r -t 2 line <&3 || true
		[[ $line == 220* ]] && ok=0
		;;
	esac
	exec 3<&- 3>&-
	return $ok
}

# wait_ready NAME LOGFILE KIND PORT: polls until the server answers.
wait_ready() {
	local name=$1 logfile=$2 kind=$3 port=$4 pid deadline
	pid=$(pid_of "$name")
	deadline=$((SECONDS + READY_TIMEOUT))
	until probe "$kind" "$port" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			fail_server "$name" "$logfile" "process exited before answering on 127.0.0.1:$port"
		fi
		if [ $SECONDS -ge $deadline ]; then
			fail_server "$name" "$logfile" "no $kind answer on 127.0.0.1:$port after ${READY_TIMEOUT}s"
		fi
		sleep 0.1
	done
	log "$name ready on 127.0.0.1:$port"
}

: >"$DIR/pids"
: >"$DIR/env.tmp"
setenv() { printf 'export %s=%q\n' "$1" "$2" >>"$DIR/env.tmp"; }

read -r REDIS_PORT IMAP_PORT IMAPS_PORT DAV_PORT SMTP_PORT <<<"$(free_ports 5)"

# ---------------------------------------------------------------- Redis
if REDIS_SERVER=$(command -v redis-server); then
	mkdir -p "$DIR/redis"
	: >"$DIR/redis.log"
	launch redis "$DIR/redis.log" "$REDIS_SERVER" \
		--bind 127.0.0.1 --port "$REDIS_PORT" --unixsocket "" \
		--save "" --appendonly no --dir "$DIR/redis" \
		--logfile "$DIR/redis.log" --daemonize no
	wait_ready redis "$DIR/redis.log" redis "$REDIS_PORT"
	setenv IDLEBRIDGE_TEST_REDIS_URL "redis://127.0.0.1:$REDIS_PORT/0"
	setenv IDLEBRIDGE_TEST_REDIS_SERVER "$REDIS_SERVER"
else
	missing Redis redis-server
fi

# ---------------------------------------------------------------- Dovecot
DOVECOT=$(command -v dovecot || true)
[ -n "$DOVECOT" ] || [ ! -x /usr/sbin/dovecot ] || DOVECOT=/usr/sbin/dovecot
if [ -n "$DOVECOT" ] && [ -x /usr/lib/dovecot/imap ] && command -v openssl >/dev/null; then
	# A CA and a server certificate for 127.0.0.1/localhost; clients trust
	# the CA via IDLEBRIDGE_TEST_TLS_CA. EC keys: generated in milliseconds.
	tls=$DIR/tls
	mkdir -p "$tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$tls/ca.key" -out "$tls/ca.pem" -days 30 -subj "/CN=idlebridge test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$tls/openssl.log" ||
		fail_server "openssl (test CA)" "$tls/openssl.log" "could not create the CA"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" 2>>"$tls/openssl.log" ||
		fail_server "openssl (server key)" "$tls/openssl.log" "could not create the server key"
	printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
	openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
		-CAcreateserial -days 30 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>>"$tls/openssl.log" ||
		fail_server "openssl (server cert)" "$tls/openssl.log" "could not sign the server certificate"
	chmod 600 "$tls"/*.key

	# Users. Dovecot refuses mail access as uid 0, so as root the mailboxes
	# belong to an unprivileged user; otherwise everything runs as us.
	if [ "$(id -u)" = 0 ]; then
		if getent passwd nobody >/dev/null; then
			MAIL_USER=nobody
		else
			getent passwd idlebridge-test >/dev/null ||
				useradd --system --no-create-home --shell /usr/sbin/nologin idlebridge-test
			MAIL_USER=idlebridge-test
		fi
		MAIL_GROUP=$(id -gn "$MAIL_USER")
		# Dovecot's own service users exist when the Debian package is
		# installed; the mail user works as a fallback.
		if getent passwd dovecot >/dev/null; then
			INTERNAL_USER=dovecot INTERNAL_GROUP=$(id -gn dovecot)
		else
			INTERNAL_USER=$MAIL_USER INTERNAL_GROUP=$MAIL_GROUP
		fi
		if getent passwd dovenull >/dev/null; then LOGIN_USER=dovenull; else LOGIN_USER=$MAIL_USER; fi
		# Login chroots need root; keep Dovecot's defaults.
		EXTRA=""
	else
		MAIL_USER=$(id -un) MAIL_GROUP=$(id -gn)
		INTERNAL_USER=$MAIL_USER INTERNAL_GROUP=$MAIL_GROUP LOGIN_USER=$MAIL_USER
		# chroot() needs root: run the login and auth processes unchrooted.
		EXTRA=$(printf '%s\n' "service imap-login {" "  chroot =" "}" \
			"service anvil {" "  chroot =" "}" "service auth-worker {" "  user = $MAIL_USER" "}")
	fi

	mkdir -p "$DIR/dovecot" "$DIR/mail"
	if [ "$(id -u)" = 0 ]; then
		chown "$MAIL_USER:$MAIL_GROUP" "$DIR/mail"
		chmod 700 "$DIR/mail"
		# The mail user must be able to reach DIR/mail (mktemp -d makes 0700).
		chmod go+x "$DIR"
		if ! setpriv --reuid="$MAIL_USER" --regid="$MAIL_GROUP" --clear-groups test -w "$DIR/mail" 2>/dev/null; then
			fail "Dovecot: user $MAIL_USER cannot write $DIR/mail (a parent directory is not searchable by that user: chmod o+x it, or use a DIR under /tmp)"
		fi
	fi

	IMAP_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	fill "$HERE/dovecot.conf.in" "$DIR/dovecot/dovecot.conf" \
		"DIR=$DIR" "IMAP_PORT=$IMAP_PORT" "IMAPS_PORT=$IMAPS_PORT" "PASSWORD=$IMAP_PASSWORD" \
		"MAIL_USER=$MAIL_USER" "MAIL_GROUP=$MAIL_GROUP" "INTERNAL_USER=$INTERNAL_USER" \
		"INTERNAL_GROUP=$INTERNAL_GROUP" "LOGIN_USER=$LOGIN_USER" "EXTRA=$EXTRA"
	chmod 600 "$DIR/dovecot/dovecot.conf" # holds the password
	: >"$DIR/dovecot.log"
	launch dovecot "$DIR/dovecot.log" "$DOVECOT" -F -c "$DIR/dovecot/dovecot.conf"
	wait_ready dovecot "$DIR/dovecot.log" imap "$IMAP_PORT"
	# Both listeners are bound before the plain one answers. The
	# implicit-TLS port must complete a verified handshake with our CA.
	if ! printf 'a LOGOUT\r\n' | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$IMAPS_PORT" \
		-CAfile "$tls/ca.pem" -verify_return_error -verify_ip 127.0.0.1 2>"$tls/s_client.log" |
		grep -q '^\* OK'; then
		cat "$tls/s_client.log" >>"$DIR/dovecot.log"
		fail_server dovecot "$DIR/dovecot.log" "no verified TLS IMAP greeting on 127.0.0.1:$IMAPS_PORT"
	fi
	log "dovecot TLS ready on 127.0.0.1:$IMAPS_PORT"
	setenv IDLEBRIDGE_TEST_IMAP_ADDR "127.0.0.1:$IMAP_PORT"
	setenv IDLEBRIDGE_TEST_IMAPS_ADDR "127.0.0.1:$IMAPS_PORT"
	setenv IDLEBRIDGE_TEST_IMAP_PASSWORD "$IMAP_PASSWORD"
	setenv IDLEBRIDGE_TEST_TLS_CA "$tls/ca.pem"
else
	missing Dovecot "dovecot-imapd (and openssl)"
fi

# ---------------------------------------------------------------- Radicale
if [ -n "$SYS_PY" ] && "$SYS_PY" -c 'import radicale' 2>/dev/null; then
	mkdir -p "$DIR/radicale/collections"
	fill "$HERE/radicale.conf.in" "$DIR/radicale/radicale.conf" "DIR=$DIR" "DAV_PORT=$DAV_PORT"
	: >"$DIR/radicale.log"
	launch radicale "$DIR/radicale.log" "$SYS_PY" -m radicale --config "$DIR/radicale/radicale.conf"
	wait_ready radicale "$DIR/radicale.log" http "$DAV_PORT"
	setenv IDLEBRIDGE_TEST_DAV_URL "http://127.0.0.1:$DAV_PORT/"
else
	missing Radicale "radicale (python3 module)"
fi

# ---------------------------------------------------------------- SMTP sink
if [ -n "$SYS_PY" ] && "$SYS_PY" -c 'import aiosmtpd' 2>/dev/null; then
	mkdir -p "$DIR/smtp-maildir"/{cur,new,tmp}
	: >"$DIR/smtp.log"
	launch smtp "$DIR/smtp.log" "$SYS_PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
		-c aiosmtpd.handlers.Mailbox "$DIR/smtp-maildir"
	wait_ready smtp "$DIR/smtp.log" smtp "$SMTP_PORT"
	setenv IDLEBRIDGE_TEST_SMTP_ADDR "127.0.0.1:$SMTP_PORT"
	setenv IDLEBRIDGE_TEST_SMTP_MAILDIR "$DIR/smtp-maildir"
else
	missing "SMTP sink" "python3-aiosmtpd"
fi

mv "$DIR/env.tmp" "$DIR/env"
started_ok=1
log "test servers running; use: source $DIR/env   (stop: $HERE/stop.sh $DIR)"
