#!/usr/bin/env bash
# Starts a dedicated Dovecot for big idlebridge-load runs, from
# deploy/testenv/dovecot-load.conf.in (the test config with raised
# process/connection limits), on a free loopback port, in DIR.
#
#   cmd/idlebridge-load/start-load-dovecot.sh /tmp/load-dovecot
#   source /tmp/load-dovecot/env      # IDLEBRIDGE_TEST_IMAP(S)_ADDR, _TLS_CA, _IMAP_PASSWORD
#   go run ./cmd/idlebridge-load --devices 10000 --users 100
#   kill "$(cat /tmp/load-dovecot/pid)"
#
# As root the mail processes run as a dedicated system user
# (idlebridge-load, created if missing) so their inotify instances do not
# count against the uid the shared test Dovecot uses.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATE=$HERE/../../deploy/testenv/dovecot-load.conf.in
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
[ ! -s "$DIR/pid" ] || { echo "$0: $DIR/pid exists; stop that Dovecot first" >&2; exit 1; }

read -r IMAP_PORT IMAPS_PORT <<<"$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')"

mkdir -p "$DIR/tls" "$DIR/dovecot" "$DIR/mail"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-keyout "$DIR/tls/server.key" -out "$DIR/tls/server.pem" -subj "/CN=localhost" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
chmod 600 "$DIR/tls/server.key"

if [ "$(id -u)" = 0 ]; then
	getent passwd idlebridge-load >/dev/null ||
		useradd --system --no-create-home --shell /usr/sbin/nologin idlebridge-load
	MAIL_USER=idlebridge-load
	MAIL_GROUP=$(id -gn "$MAIL_USER")
	INTERNAL_USER=dovecot INTERNAL_GROUP=$(id -gn dovecot)
	LOGIN_USER=dovenull
	EXTRA=""
	chown "$MAIL_USER:$MAIL_GROUP" "$DIR/mail"
	chmod 700 "$DIR/mail"
	chmod go+x "$DIR"
else
	MAIL_USER=$(id -un) MAIL_GROUP=$(id -gn)
	INTERNAL_USER=$MAIL_USER INTERNAL_GROUP=$MAIL_GROUP LOGIN_USER=$MAIL_USER
	EXTRA=$(printf '%s\n' "service imap-login {" "  chroot =" "}" "service anvil {" "  chroot =" "}" \
		"service auth-worker {" "  user = $MAIL_USER" "}")
fi
# One process per IMAP connection: when a process serves several IDLE
# sessions of one user, Dovecot 2.3 sometimes tells only some of them
# about a delivery (the others learn it at mailbox_idle_check_interval,
# 30 s later), which would be charged to the bridge. Each process takes an
# inotify instance, so raise the per-uid limit (default 128) when we can;
# otherwise share processes and say so.
#
# IDLEBRIDGE_LOAD_CLIENT_LIMIT overrides it: at 10 000 users one process
# per connection is more memory than a shared machine has (~1.5 MB
# each), and with one upstream connection per user the bridge never has
# two IDLE sessions of a user in one process (only the baseline client,
# on --deliveries users, may share one with the bridge's watcher).
#
# Shared processes need the raised limit too: 10 000 users at client
# limit 10 are 1 000 processes, and past the limit Dovecot disables
# inotify in the newer ones ("Inotify instance limit ... exceeded"), whose
# IDLE clients (the baseline's, connected last) then learn of a delivery
# only at mailbox_idle_check_interval.
CLIENT_LIMIT=${IDLEBRIDGE_LOAD_CLIENT_LIMIT:-1}
if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 8192 ]; then
	if ! (echo 8192 >/proc/sys/fs/inotify/max_user_instances) 2>/dev/null; then
		if [ "$CLIENT_LIMIT" = 1 ]; then
			CLIENT_LIMIT=50
			echo "$0: cannot raise fs.inotify.max_user_instances; Dovecot shares processes (client_limit $CLIENT_LIMIT), expect some 30 s late IDLE notices" >&2
		else
			echo "$0: cannot raise fs.inotify.max_user_instances ($(cat /proc/sys/fs/inotify/max_user_instances)); past that many Dovecot processes IDLE notices come 30 s late" >&2
		fi
	fi
fi
PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

cp "$TEMPLATE" "$DIR/dovecot/dovecot.conf.tmp"
for kv in "DIR=$DIR" "IMAP_PORT=$IMAP_PORT" "IMAPS_PORT=$IMAPS_PORT" "PASSWORD=$PASSWORD" \
	"MAIL_USER=$MAIL_USER" "MAIL_GROUP=$MAIL_GROUP" "INTERNAL_USER=$INTERNAL_USER" \
	"INTERNAL_GROUP=$INTERNAL_GROUP" "LOGIN_USER=$LOGIN_USER" "EXTRA=$EXTRA" "CLIENT_LIMIT=$CLIENT_LIMIT"; do
	KEY="@${kv%%=*}@" VAL="${kv#*=}" perl -pi -e 's/\Q$ENV{KEY}\E/$ENV{VAL}/g' "$DIR/dovecot/dovecot.conf.tmp"
done
mv "$DIR/dovecot/dovecot.conf.tmp" "$DIR/dovecot/dovecot.conf"
chmod 600 "$DIR/dovecot/dovecot.conf"

setsid /usr/sbin/dovecot -F -c "$DIR/dovecot/dovecot.conf" >>"$DIR/dovecot.log" 2>&1 </dev/null &
echo $! >"$DIR/pid"
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT") 2>/dev/null; then
		break
	fi
	sleep 0.1
done
printf 'export IDLEBRIDGE_TEST_IMAP_ADDR=127.0.0.1:%s\nexport IDLEBRIDGE_TEST_IMAPS_ADDR=127.0.0.1:%s\nexport IDLEBRIDGE_TEST_TLS_CA=%s\nexport IDLEBRIDGE_TEST_IMAP_PASSWORD=%s\n' \
	"$IMAP_PORT" "$IMAPS_PORT" "$DIR/tls/server.pem" "$PASSWORD" >"$DIR/env"
echo "load Dovecot on 127.0.0.1:$IMAP_PORT (pid $(cat "$DIR/pid")); source $DIR/env" >&2
