#!/usr/bin/env bash
# Real NETCONF/SSH peers on 127.0.0.1 for Ferrule's interop tests (no systemd needed).
#
#   .ci/netconf-peer.sh start PORT STATE_DIR    start one peer (or confirm it runs); writes
#                                               STATE_DIR/peer.env for the tests
#   .ci/netconf-peer.sh stop STATE_DIR [--purge]
#   .ci/netconf-peer.sh status STATE_DIR
#
# One peer = its own sshd on 127.0.0.1:PORT whose "netconf" subsystem reaches its own netconfd
# (yuma123) through a UNIX socket; each peer has its own datastore, keys and HOME under
# STATE_DIR, so several peers form a small network on one machine. Use a distinct PORT and
# STATE_DIR per peer.
#
# Environment (start):
#   NC_USER / NC_PASS      login (default netconf / netconf); the account is machine-wide
#   NC_TARGET              candidate (default) | running
#   NC_NETCONFD_ARGS       extra netconfd flags, e.g. --with-validate=false
#   NC_YANG_FILES          extra .yang files to load (space separated paths)
#   NC_HELLO_RELAY         1 (default) puts the hello relay in front of the subsystem; 0 omits it
#   NC_FRESH               1 empties the datastore before starting
#
# Server behaviour worth knowing (see docs/southbound.md):
#  - netconfd can leave an <rpc> unprocessed when it arrives in the same read() as the client
#    <hello>; the relay forwards the hello alone and holds later input for 50 ms.
#  - netconfd only accepts sessions whose --port equals the SSH port, and each instance needs
#    its own socket, startup file and HOME.
#  - netconfd takes 2-5 s to exit after SIGTERM.
set -euo pipefail

readonly HOST=127.0.0.1
readonly SOCK_DIR=/run/ferrule-netconf-peer          # short: sun_path holds 108 bytes
readonly LIB_DIR=/usr/local/lib/ferrule-netconf-peer
readonly RELAY=$LIB_DIR/hello-relay
readonly LOCK=/var/lock/ferrule-netconf-peer.lock
readonly PACKAGES="netconfd openssh-server openssh-client python3-minimal"

say() { echo "[netconf-peer${PORT:+:$PORT}] $*" >&2; }
fail() { say "error: $*"; exit 1; }
usage() { sed -n '4,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

port_listening() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# pid_of STATE_DIR NAME MARKER: the pid recorded for NAME if that process still runs with
# MARKER (a path inside this state dir) on its command line; never someone else's process.
pid_of() {
    local pf=$1/run/$2.pid pid
    [ -f "$pf" ] || return 1
    pid=$(cat "$pf")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$3" || return 1
    echo "$pid"
}

# --- machine-wide prerequisites -----------------------------------------------------------

have_tools() {
    [ -x /usr/sbin/netconfd ] && [ -x /usr/sbin/netconf-subsystem ] && [ -x /usr/sbin/sshd ] &&
        [ -x /usr/bin/ssh ] && [ -x /usr/bin/ssh-keygen ] && [ -x /usr/bin/python3 ]
}

install_packages() {
    say "installing $PACKAGES"
    export DEBIAN_FRONTEND=noninteractive
    # Package scripts must not start a system sshd on port 22: a policy-rc.d that denies
    # every service start, present only for the duration of the install.
    local guard=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        guard=1
    fi
    # shellcheck disable=SC2086
    local rc=0
    apt-get install -yq --no-install-recommends $PACKAGES >/dev/null 2>&1 || {
        apt-get update -q >/dev/null && apt-get install -yq --no-install-recommends $PACKAGES >/dev/null
    } || rc=$?
    [ $guard = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || fail "apt-get install failed"
}

write_relay() {
    local tmp
    tmp=$(mktemp "$LIB_DIR/.relay.XXXXXX")
    cat >"$tmp" <<'PY'
#!/usr/bin/python3
# Relay between sshd and netconf-subsystem: forwards the client's first message (its
# <hello>, ended by ]]>]]>) alone, waits 50 ms, then passes everything through unchanged.
# netconfd (yuma123) can otherwise leave an <rpc> that shares a read() with the hello
# unanswered until more input arrives.
import os
import subprocess
import sys
import threading
import time

EOM = b"]]>]]>"
HOLD_SECONDS = 0.05
MAX_HELLO = 1 << 20

child = subprocess.Popen(["/usr/sbin/netconf-subsystem", *sys.argv[1:]],
                         stdin=subprocess.PIPE, bufsize=0)
# When the server ends the session the relay must end too, even while blocked on stdin.
threading.Thread(target=lambda: os._exit(child.wait()), daemon=True).start()
sink = child.stdin.fileno()


def send(data):
    view = memoryview(data)
    while view:
        view = view[os.write(sink, view):]


try:
    head = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            send(head)
            break
        head += chunk
        end = head.find(EOM)
        if end >= 0:
            send(head[:end + len(EOM)])
            time.sleep(HOLD_SECONDS)
            send(head[end + len(EOM):])
            break
        if len(head) > MAX_HELLO:
            send(head)
            break
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        send(chunk)
    child.stdin.close()
except OSError:
    pass
os._exit(child.wait())
PY
    chmod 755 "$tmp"
    if cmp -s "$tmp" "$RELAY"; then rm -f "$tmp"; else mv -f "$tmp" "$RELAY"; fi
}

prepare_machine() {
    mkdir -p "$(dirname "$LOCK")"
    exec 9>"$LOCK"
    flock 9                                       # parallel starts share apt, account, relay
    have_tools || install_packages
    have_tools || fail "netconfd/sshd/ssh/python3 still missing after install"
    id -u "$NC_USER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$NC_USER"  # sshd runs the subsystem via the login shell
    echo "$NC_USER:$NC_PASS" | chpasswd
    mkdir -p /run/sshd "$SOCK_DIR" "$LIB_DIR"
    write_relay
    flock -u 9
    exec 9>&-
}

# --- one peer -----------------------------------------------------------------------------

prepare_state() {
    local s=$1 m base
    mkdir -p "$s"/{nc/home,yang,run,log}
    [ "${NC_FRESH:-0}" = 1 ] && rm -f "$s"/nc/*.xml
    [ -s "$s/nc/startup-cfg.xml" ] ||
        echo '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>' >"$s/nc/startup-cfg.xml"
    [ -f "$s/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "netconf-peer-$PORT" -f "$s/ssh_host_ed25519_key"
    [ -f "$s/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C ferrule-client -f "$s/client_key"
    cp "$s/client_key.pub" "$s/authorized_keys"
    chmod 755 "$s"
    chmod 644 "$s/authorized_keys"
    # sshd reads authorized_keys as the login user: every directory above must let it pass.
    su -s /bin/sh "$NC_USER" -c "test -r '$s/authorized_keys'" 2>/dev/null ||
        fail "user $NC_USER cannot read $s/authorized_keys: make every parent directory of $s traversable (chmod o+x), e.g. not under a mktemp -d directory"
    echo "[$HOST]:$PORT $(cut -d' ' -f1,2 "$s/ssh_host_ed25519_key.pub")" >"$s/known_hosts"
    # Modules are loaded by file path so netconfd does not load Debian's SIL plugins for
    # them (those would reconfigure the host's own interfaces).
    rm -f "$s"/yang/*.yang
    MODULE_ARGS=()
    for m in ietf-interfaces ietf-ip iana-if-type; do
        local src
        src=$(ls /usr/share/yuma/modules/ietf/"$m"@*.yang 2>/dev/null | sort | tail -n1)
        [ -n "$src" ] || fail "YANG module $m not found under /usr/share/yuma/modules/ietf"
        cp "$src" "$s/yang/$m.yang"
        MODULE_ARGS+=("--module=$s/yang/$m.yang")
    done
    for m in ${NC_YANG_FILES:-}; do
        base=$(basename "$m"); base=${base%%@*}; base=${base%.yang}
        cp "$m" "$s/yang/$base.yang"
        MODULE_ARGS+=("--module=$s/yang/$base.yang")
    done
    echo 'netconfd {}' >"$s/netconfd.conf"       # an own config keeps /etc/yuma/netconfd.conf out
}

start_netconfd() {
    local s=$1 sock=$SOCK_DIR/$PORT.sock
    rm -f "$sock"
    # shellcheck disable=SC2086
    setsid env -i HOME="$s/nc/home" PATH=/usr/sbin:/usr/bin:/bin /usr/sbin/netconfd \
        --config="$s/netconfd.conf" --port="$PORT" --ncxserver-sockname="$sock" \
        --startup="$s/nc/startup-cfg.xml" --target="$NC_TARGET" --superuser="$NC_USER" \
        --modpath="$s/yang:/usr/share/yuma/modules" "${MODULE_ARGS[@]}" ${NC_NETCONFD_ARGS:-} \
        </dev/null >"$s/log/netconfd.log" 2>&1 &
    echo $! >"$s/run/netconfd.pid"
    for _ in $(seq 100); do
        [ -S "$sock" ] && return 0
        kill -0 "$(cat "$s/run/netconfd.pid")" 2>/dev/null || break
        sleep 0.1
    done
    cat "$s/log/netconfd.log" >&2
    fail "netconfd did not come up"
}

start_sshd() {
    local s=$1 subsystem=/usr/sbin/netconf-subsystem
    [ "${NC_HELLO_RELAY:-1}" = 1 ] && subsystem=$RELAY
    cat >"$s/sshd_config" <<EOF
Port $PORT
ListenAddress $HOST
HostKey $s/ssh_host_ed25519_key
PidFile $s/run/sshd.pid
AuthorizedKeysFile $s/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers $NC_USER
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
UseDNS no
MaxStartups 100:30:200
MaxSessions 20
Subsystem netconf $subsystem --ncxserver-sockname=$PORT@$SOCK_DIR/$PORT.sock
EOF
    setsid /usr/sbin/sshd -D -e -f "$s/sshd_config" </dev/null >"$s/log/sshd.log" 2>&1 &
    echo $! >"$s/run/sshd.pid"
    for _ in $(seq 100); do
        port_listening "$PORT" && return 0
        kill -0 "$(cat "$s/run/sshd.pid")" 2>/dev/null || break
        sleep 0.1
    done
    cat "$s/log/sshd.log" >&2
    fail "sshd did not come up"
}

# A real NETCONF exchange over SSH: hello, then close-session; the server's hello carries a
# session-id.
probe() {
    local s=$1 out
    out=$({
        printf '%s]]>]]>' '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>'
        sleep 0.2
        printf '%s]]>]]>' '<rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><close-session/></rpc>'
        sleep 0.3
    } | timeout 20 ssh -Tq -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
        -o UserKnownHostsFile="$s/known_hosts" -i "$s/client_key" -p "$PORT" \
        "$NC_USER@$HOST" -s netconf 2>&1) || true
    [[ $out == *"<session-id>"* ]] && return 0
    echo "$out" >&2
    return 1
}

write_env() {
    local s=$1 fp
    fp=$(ssh-keygen -l -E sha256 -f "$s/ssh_host_ed25519_key.pub" | awk '{print $2}')
    [[ $fp == SHA256:* ]] || fail "could not compute the host key fingerprint"
    {
        echo "NETCONF_HOST=$HOST"
        echo "NETCONF_PORT=$PORT"
        echo "NETCONF_USER=$NC_USER"
        echo "NETCONF_PASSWORD=$NC_PASS"
        echo "NETCONF_KEY=$s/client_key"
        echo "NETCONF_KNOWN_HOSTS=$s/known_hosts"
        echo "NETCONF_HOST_KEY_FINGERPRINT=$fp"
        echo "NETCONF_TARGET=$NC_TARGET"
    } >"$s/peer.env.tmp"
    mv -f "$s/peer.env.tmp" "$s/peer.env"
}

stop_peer() {
    local s=$1 rc=0 name marker pid port
    for name in sshd netconfd; do                 # sshd first: no new sessions meanwhile
        case $name in sshd) marker=$s/sshd_config ;; netconfd) marker=$s/netconfd.conf ;; esac
        if pid=$(pid_of "$s" "$name" "$marker"); then
            kill -TERM "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; sleep 0.2; fi
            kill -0 "$pid" 2>/dev/null && { echo "could not stop $name (pid $pid)" >&2; rc=1; }
        fi
        rm -f "$s/run/$name.pid"
    done
    port=$(sed -n 's/^Port //p' "$s/sshd_config" 2>/dev/null || true)
    [ -n "$port" ] && rm -f "$SOCK_DIR/$port.sock"
    return $rc
}

cmd_start() {
    [ $# -eq 2 ] && [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || usage
    PORT=$1
    local s
    s=$(realpath -m -- "$2")
    NC_USER=${NC_USER:-netconf} NC_PASS=${NC_PASS:-netconf} NC_TARGET=${NC_TARGET:-candidate}

    # Already running from this state dir on this port: confirm and refresh peer.env.
    if pid_of "$s" netconfd "$s/netconfd.conf" >/dev/null || pid_of "$s" sshd "$s/sshd_config" >/dev/null; then
        local running_port
        running_port=$(sed -n 's/^Port //p' "$s/sshd_config" 2>/dev/null || true)
        [ "$running_port" = "$PORT" ] ||
            fail "$s already runs a peer on port ${running_port:-?}; stop it first"
        if pid_of "$s" netconfd "$s/netconfd.conf" >/dev/null &&
            pid_of "$s" sshd "$s/sshd_config" >/dev/null && probe "$s"; then
            write_env "$s"
            say "already running; see $s/peer.env"
            return 0
        fi
        say "restarting a half-working peer in $s"
        stop_peer "$s" || fail "could not stop the previous processes of $s"
    fi
    port_listening "$PORT" && fail "$HOST:$PORT is in use by another program"

    prepare_machine
    prepare_state "$s"
    rm -f "$s/peer.env"
    trap 'rc=$?; [ $rc = 0 ] || stop_peer "'"$s"'" || true' EXIT
    start_netconfd "$s"
    start_sshd "$s"
    local ok=0
    for _ in 1 2 3; do probe "$s" && { ok=1; break; }; sleep 0.5; done
    [ $ok = 1 ] || fail "no NETCONF hello over SSH on $HOST:$PORT"
    write_env "$s"
    trap - EXIT
    say "ready: netconfd pid $(cat "$s/run/netconfd.pid"), sshd pid $(cat "$s/run/sshd.pid"); $s/peer.env"
}

cmd_stop() {
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    local s
    s=$(realpath -m -- "$1")
    stop_peer "$s" || exit 1
    rm -f "$s/peer.env"
    if [ "${2:-}" = --purge ]; then rm -rf -- "$s"; fi
    say "stopped $s"
}

cmd_status() {
    [ $# -eq 1 ] || usage
    local s
    s=$(realpath -m -- "$1")
    local n s_pid
    n=$(pid_of "$s" netconfd "$s/netconfd.conf" || echo -)
    s_pid=$(pid_of "$s" sshd "$s/sshd_config" || echo -)
    echo "netconfd=$n sshd=$s_pid"
    [ "$n" != - ] && [ "$s_pid" != - ]
}

PORT=
case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    *) usage ;;
esac
