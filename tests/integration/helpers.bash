# helpers.bash - shared setup for the snow-owld bats integration tests.
#
# Every test gets its own served root ($ROOT, mode 0755) under
# $BATS_TEST_TMPDIR, a free UDP port ($PORT) and, once start_server has
# run, a daemon listening on 127.0.0.1:$PORT and [::1]:$PORT whose
# stdout/stderr go to $SERVER_LOG.  teardown stops it again.
#
# Environment: SNOW_OWLD (the daemon to test, set by `make check`) and
# TOP_SRCDIR (the source tree).  Both default to the tree this file is in.

_helpers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TOP_SRCDIR:=$(cd "$_helpers_dir/../.." && pwd)}"
: "${SNOW_OWLD:=$TOP_SRCDIR/snow-owld}"
export TOP_SRCDIR SNOW_OWLD

SERVER_PID=

# run --separate-stderr and run -N need bats 1.5.
bats_require_minimum_version 1.5.0

# ---- setup / teardown ----------------------------------------------------

common_setup() {
	[[ -x $SNOW_OWLD ]] || {
		echo "SNOW_OWLD=$SNOW_OWLD is not an executable" >&2
		return 1
	}
	ROOT=$BATS_TEST_TMPDIR/root
	mkdir -p "$ROOT"
	chmod 0755 "$ROOT"
	SERVER_LOG=$BATS_TEST_TMPDIR/server.log
	WORK=$BATS_TEST_TMPDIR/work # client side: downloads, files to upload
	mkdir -p "$WORK"
	PORT=
	SERVER_PID=
}

common_teardown() {
	stop_server
	local ns
	for ns in "${TEST_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

# netns_add NAME: a network namespace of the test's own, with lo up,
# deleted at teardown whatever the test's outcome.
TEST_NETNS=()
netns_add() {
	ip netns add "$1"
	TEST_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# Files may define their own setup/teardown; they must call these.
setup() { common_setup; }
teardown() { common_teardown; }

is_root() { [[ $(id -u) -eq 0 ]]; }

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

# ---- files ---------------------------------------------------------------

# make_file NAME SIZE: SIZE random bytes in $ROOT/NAME, mode 0644.
make_file() {
	local path=$ROOT/$1
	mkdir -p "$(dirname "$path")"
	head -c "$2" /dev/urandom >"$path"
	chmod 0644 "$path"
}

# make_local NAME SIZE: the same in the client's directory $WORK.
make_local() {
	local path=$WORK/$1
	mkdir -p "$(dirname "$path")"
	head -c "$2" /dev/urandom >"$path"
	chmod 0644 "$path"
}

# A directory uploads may go to: writable by the transfer user (nobody).
make_upload_dir() {
	local dir=$ROOT/${1:-up}
	mkdir -p "$dir"
	chmod "${2:-0777}" "$dir"
}

# copy_demo: the README's demo file as $ROOT/hello.txt.
copy_demo() {
	cp "$TOP_SRCDIR/demo/hello.txt" "$ROOT/hello.txt"
	chmod 0644 "$ROOT/hello.txt"
}

# ---- ports and the server ----------------------------------------------

port_in_use() {
	[[ -n $(ss -Huan "sport = :$1" 2>/dev/null) ]]
}

# pick_port: print a free high UDP port (never 69), preferably outside the
# kernel's ephemeral range so no client socket can take it meanwhile.
pick_port() {
	local lo=32768 hi=60999 p i
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		if ((i < 150 && p >= lo && p <= hi)); then
			continue
		fi
		port_in_use "$p" || {
			echo "$p"
			return 0
		}
	done
	echo "pick_port: no free UDP port found" >&2
	return 1
}

pid_alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n $st && $st != Z* ]]
}

# Both listening sockets of the server are bound.
server_bound() {
	local out
	out=$(ss -Huln "sport = :$PORT" 2>/dev/null)
	[[ $out == *"127.0.0.1:$PORT "* && $out == *"[::1]:$PORT "* ]]
}

# start_server [extra args]: run the daemon on 127.0.0.1:$PORT and
# [::1]:$PORT serving $ROOT, and wait until both sockets are bound.
start_server() {
	local attempt lock i status
	[[ -z $SERVER_PID ]] || {
		echo "start_server: a server (pid $SERVER_PID) is already running" >&2
		return 1
	}
	for attempt in 1 2 3; do
		# Port choice and bind happen under a lock, so test files run
		# in parallel (make -j check) never pick the same port.
		{ exec {lock}>>"${TMPDIR:-/tmp}/snow-owl-bats-ports.$(id -u).lock"; } 2>/dev/null ||
			exec {lock}</dev/null # no lock then: pick_port's check remains
		flock -x "$lock" 2>/dev/null || true
		PORT=$(pick_port) || {
			exec {lock}>&-
			return 1
		}
		# 3>&-: bats waits for everything holding its fd 3.
		"$SNOW_OWLD" -L -a "127.0.0.1:$PORT" -a "[::1]:$PORT" "$@" "$ROOT" \
			>"$SERVER_LOG" 2>&1 3>&- {lock}>&- </dev/null &
		SERVER_PID=$!
		for ((i = 0; i < 200; i++)); do
			server_bound && break
			pid_alive "$SERVER_PID" || break
			sleep 0.025
		done
		exec {lock}>&-
		if pid_alive "$SERVER_PID" && server_bound; then
			return 0
		fi
		if pid_alive "$SERVER_PID"; then
			echo "start_server: port $PORT not bound after 5 s" >&2
			kill "$SERVER_PID"
			wait "$SERVER_PID" || true
			SERVER_PID=
			cat "$SERVER_LOG" >&2
			return 1
		fi
		status=0
		wait "$SERVER_PID" || status=$?
		SERVER_PID=
		# Lost a race for the port: try another one.
		if grep -q "cannot listen" "$SERVER_LOG"; then
			continue
		fi
		echo "start_server: snow-owld exited with status $status:" >&2
		cat "$SERVER_LOG" >&2
		return 1
	done
	echo "start_server: no port could be bound" >&2
	return 1
}

# Pids of the running transfer children of the server.
server_children() {
	[[ -n $SERVER_PID ]] || return 0
	ps -o pid= --ppid "$SERVER_PID" 2>/dev/null | tr -d ' '
}

# stop_server: SIGTERM the server (by its pid only), wait for it and fail
# if it had died on its own or did not exit with 0.  Transfer children it
# leaves behind get a moment to finish, then are ended by pid.
stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	local pid=$SERVER_PID status=0 children
	SERVER_PID=
	mapfile -t children < <(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ')
	if ! pid_alive "$pid"; then
		wait "$pid" || status=$?
		echo "stop_server: snow-owld (pid $pid) had already exited with status $status; its log:" >&2
		cat "$SERVER_LOG" >&2
		reap_children "${children[@]}"
		return 1
	fi
	kill -TERM "$pid"
	wait "$pid" || status=$?
	reap_children "${children[@]}"
	if ((status != 0)); then
		echo "stop_server: snow-owld exited with status $status on SIGTERM; its log:" >&2
		cat "$SERVER_LOG" >&2
		return 1
	fi
}

# stop_daemon: a daemon started with -l is not our child; end the one
# whose pid is in $DAEMON_PID, by that pid.
DAEMON_PID=
stop_daemon() {
	[[ -n $DAEMON_PID ]] || return 0
	kill "$DAEMON_PID" 2>/dev/null || true
	wait_for 5 refute pid_alive "$DAEMON_PID" || true
	DAEMON_PID=
}

# Wait up to 3 s for former transfer children to end, then end them.
reap_children() {
	local c i left
	for ((i = 0; i < 60; i++)); do
		left=
		for c in "$@"; do
			pid_alive "$c" && left+=" $c"
		done
		[[ -z $left ]] && return 0
		sleep 0.05
	done
	for c in $left; do
		[[ $(cat "/proc/$c/comm" 2>/dev/null) == snow-owld ]] && kill -KILL "$c" 2>/dev/null
	done
	return 0
}

# notify_listener SOCKET LOG: a stand-in for systemd's NOTIFY_SOCKET that
# writes each notification to LOG as one line (" | " between its
# assignments) until STOPPING=1, or 15 s of silence.  Run it in the
# background and wait until SOCKET exists.
notify_listener() {
	python3 - "$1" >"$2" 3>&- <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(15)
try:
    while True:
        msg = s.recv(4096).decode()
        print(msg.replace("\n", " | "), flush=True)
        if "STOPPING=1" in msg:
            break
except socket.timeout:
    pass
PY
}

# ---- waiting and asserting ----------------------------------------------

# wait_for TIMEOUT_SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local timeout=$1 i n
	shift
	n=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 20 }')
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# wait_log ERE [TIMEOUT]: wait until a line of the server log matches ERE
# (log lines are written when a transfer ends, maybe after the client).
wait_log() {
	local re=$1 timeout=${2:-5}
	if ! wait_for "$timeout" grep -Eq -- "$re" "$SERVER_LOG"; then
		echo "no server log line matches: $re" >&2
		echo "--- server log:" >&2
		cat "$SERVER_LOG" >&2
		return 1
	fi
}

# log_count ERE: how many server log lines match.
log_count() {
	grep -Ec -- "$1" "$SERVER_LOG" || true
}

# log_count_is ERE N: exactly N lines match (for wait_for).
log_count_is() {
	[[ $(log_count "$1") -eq $2 ]]
}

# The server has at least one / no transfer child.
# systemd-socket-activate passes on only the variables named with -E: a
# sanitizer build needs its runtime options (no leak check at exit) too.
activate_env() {
	ACT_ENV=()
	[[ -z ${ASAN_OPTIONS-} ]] || ACT_ENV+=(-E "ASAN_OPTIONS=$ASAN_OPTIONS")
	[[ -z ${UBSAN_OPTIONS-} ]] || ACT_ENV+=(-E "UBSAN_OPTIONS=$UBSAN_OPTIONS")
}

# Live transfers: each holds one UDP socket in a process under the
# server, a forked child (--workers 0) or a worker.  Only UDP sockets
# count: a worker's control socket is a UNIX one, and a worker that is
# still starting holds nothing else.
transfer_count() {
	local p n=0 inode inodes udp
	for p in $(server_children); do
		inodes=$(ls -l "/proc/$p/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')
		[[ -n $inodes ]] || continue
		udp=" $(awk 'FNR > 1 { printf "%s ", $10 }' "/proc/$p/net/udp" "/proc/$p/net/udp6" 2>/dev/null)"
		for inode in $inodes; do
			[[ $udp == *" $inode "* ]] && n=$((n + 1))
		done
	done
	echo "$n"
}
has_children() { [[ $(transfer_count) -gt 0 ]]; }
no_children() { [[ $(transfer_count) -eq 0 ]]; }

# assert_same EXPECTED ACTUAL: byte for byte.
assert_same() {
	[[ -f $2 ]] || {
		echo "missing file: $2" >&2
		return 1
	}
	cmp -- "$1" "$2" || {
		echo "$2 differs from $1 ($(stat -c %s "$1") vs $(stat -c %s "$2") bytes)" >&2
		return 1
	}
}

assert_contains() { # HAYSTACK NEEDLE
	[[ $1 == *"$2"* ]] || {
		printf 'expected to find: %s\nin: %s\n' "$2" "$1" >&2
		return 1
	}
}

assert_not_contains() { # HAYSTACK NEEDLE
	[[ $1 != *"$2"* ]] || {
		printf 'did not expect: %s\nin: %s\n' "$2" "$1" >&2
		return 1
	}
}

# refute COMMAND...: COMMAND must fail (a bare `! cmd` never fails a test).
refute() {
	if "$@"; then
		echo "unexpectedly succeeded: $*" >&2
		return 1
	fi
}

assert_status() { # EXPECTED (after run)
	[[ $status -eq $1 ]] || {
		printf 'exit status %s, expected %s; output:\n%s\n' "$status" "$1" "$output" >&2
		return 1
	}
}

mode_of() { stat -c %a "$1"; }

# The words of a line in C sort order, space separated: option order in an
# OACK is not significant.
sorted_words() { tr ' ' '\n' <<<"$1" | LC_ALL=C sort | paste -sd ' ' -; }

# ---- clients -------------------------------------------------------------
# Each takes REMOTE LOCAL [extra client args] and fails when the transfer
# failed.  HOST is 127.0.0.1 unless set to ::1.

# tftp-hpa exits 0 even on an ERROR from the server; it only prints.
hpa() { # get|put REMOTE/LOCAL... [mode]
	local out rc=0 fam=()
	[[ ${HOST:-127.0.0.1} == *:* ]] && fam=(-6)
	out=$(tftp "${fam[@]}" "${HOST:-127.0.0.1}" "$PORT" -m "${TFTP_MODE:-binary}" -c "$@" 2>&1 </dev/null) || rc=$?
	if ((rc != 0)) || [[ -n $out ]]; then
		printf 'tftp-hpa %s failed (rc=%s): %s\n' "$*" "$rc" "$out" >&2
		return 1
	fi
}
hpa_get() { hpa get "$1" "$2"; }
hpa_put() { hpa put "$2" "$1"; } # REMOTE LOCAL, like the others

atftp_get() {
	local remote=$1 local=$2
	shift 2
	atftp "$@" -g -r "$remote" -l "$local" "${HOST:-127.0.0.1}" "$PORT" </dev/null
}
atftp_put() {
	local remote=$1 local=$2
	shift 2
	atftp "$@" -p -l "$local" -r "$remote" "${HOST:-127.0.0.1}" "$PORT" </dev/null
}

curl_url() {
	local h=${HOST:-127.0.0.1}
	[[ $h == *:* ]] && h="[$h]"
	echo "tftp://$h:$PORT/$1"
}
curl_get() {
	local remote=$1 local=$2
	shift 2
	curl -sS "$@" -o "$local" "$(curl_url "$remote")" </dev/null
}
curl_put() {
	local remote=$1 local=$2
	shift 2
	curl -sS "$@" -T "$local" "$(curl_url "$remote")" </dev/null
}

busybox_get() {
	local remote=$1 local=$2
	shift 2
	busybox tftp "$@" -g -r "$remote" -l "$local" "${HOST:-127.0.0.1}" "$PORT" </dev/null 2>&1
}
busybox_put() {
	local remote=$1 local=$2
	shift 2
	busybox tftp "$@" -p -l "$local" -r "$remote" "${HOST:-127.0.0.1}" "$PORT" </dev/null 2>&1
}

# The demo file still downloads with a real client: the server is fine.
assert_serves_hello() {
	rm -f "$WORK/hello.check"
	hpa_get hello.txt "$WORK/hello.check"
	assert_same "$ROOT/hello.txt" "$WORK/hello.check"
}

# ---- raw datagrams ---------------------------------------------------------

# tftp_raw [options] PACKET: send one datagram to the server, print the
# reply on one line and end the transfer the reply started.
#
# PACKET is one of
#   req rrq|wrq FILE MODE [NAME VALUE]...   a request built from fields
#   raw 'BYTES'       bytes with Python escapes, e.g. '\x00\x01a\x00octet\x00'
#   file PATH         the bytes of a file
# Options:
#   -6               send to [::1] (default 127.0.0.1)
#   -p PORT          (default $PORT)
#   -t SECONDS       how long to wait for the reply (default 2)
#   --hold SECONDS   keep the transfer open that long before ending it
#   --data N         after a WRQ is acknowledged, send N full 512-byte
#                    blocks (each after the previous one is acknowledged)
#   --last           after --data (and --hold), send a final short block
#                    ("end\n") and print LAST ACKED or the ERROR it got
#   --vanish         end by closing the socket instead of sending ERROR 0
#   --get PATH       RRQ: receive the whole file into PATH like a windowed
#                    client, checking the block numbers (rollover 0 or 1);
#                    prints GOT <bytes> bytes in <blocks> blocks, <n> acks,
#                    <n> wraps, <n> dropped, <n> dups (blocks received
#                    again right after they were taken)
#   --put PATH       WRQ: send the whole file PATH like a windowed client;
#                    prints PUT <bytes> bytes in <blocks> blocks, ...
#   --skip N         with --put: do not send block N the first time
#                    (repeatable)
#   --rcvbuf BYTES   socket receive buffer (capped by net.core.rmem_max
#                    unless root)
#   --dup-ack        with --get: send every ACK twice
#   --drop N         with --get: ignore the first arrival of block N, as if
#                    it was lost (repeatable)
#   --pause-at N SECONDS  with --get: wait that long before acknowledging
#                    block N (once), as a slow client would
#   --slow SECONDS   with --get: wait that long before every ACK: a
#                    transfer that runs slowly, never stalled (keep it
#                    well under the server's 40 ms floor of its timeout)
# Output:  ERROR <code> <message> | OACK name=value ... | DATA <block> <len>
#          | ACK <block> | TIMEOUT | OTHER <hex>
tftp_raw() {
	python3 -c "$_TFTP_DESCRIBE_PY"$'\n'"$_TFTP_RAW_PY" -p "${PORT:-0}" "$@"
}

# describe(packet): a reply as tftp_raw prints it (Output above).  Python
# for scripts that print replies the same way: prepend it to the script.
_TFTP_DESCRIBE_PY=$(
	cat <<'PYEOF'
def describe(r):
    op = int.from_bytes(r[:2], "big") if len(r) >= 2 else -1
    if op == 5 and len(r) >= 4:
        msg = r[4:].split(b"\0")[0].decode("latin-1")
        return "ERROR %d %s" % (int.from_bytes(r[2:4], "big"), msg)
    if op == 6:
        f = r[2:].split(b"\0")
        if f and f[-1] == b"":
            f = f[:-1]
        pairs = ["%s=%s" % (f[i].decode("latin-1"), f[i + 1].decode("latin-1"))
                 for i in range(0, len(f) - 1, 2)]
        return " ".join(["OACK"] + pairs)
    if op == 3 and len(r) >= 4:
        return "DATA %d %d" % (int.from_bytes(r[2:4], "big"), len(r) - 4)
    if op == 4 and len(r) >= 4:
        return "ACK %d" % int.from_bytes(r[2:4], "big")
    return "OTHER " + r.hex()
PYEOF
)

_TFTP_RAW_PY=$(
	cat <<'PYEOF'
import codecs, os, socket, sys, time

args = sys.argv[1:]
family, host = socket.AF_INET, "127.0.0.1"
port = 0
timeout, hold, data_blocks, vanish, last = 2.0, 0.0, 0, False, False
get_path, drops, rcvbuf = None, set(), 0
put_path, skips = None, set()
dup_ack = False
pause_at, pause = 0, 0.0
slow = 0.0
while args and args[0].startswith("-"):
    a = args.pop(0)
    if a == "-6":
        family, host = socket.AF_INET6, "::1"
    elif a == "-p":
        port = int(args.pop(0))
    elif a == "-t":
        timeout = float(args.pop(0))
    elif a == "--hold":
        hold = float(args.pop(0))
    elif a == "--data":
        data_blocks = int(args.pop(0))
    elif a == "--vanish":
        vanish = True
    elif a == "--last":
        last = True
    elif a == "--get":
        get_path = args.pop(0)
    elif a == "--drop":
        drops.add(int(args.pop(0)))
    elif a == "--put":
        put_path = args.pop(0)
    elif a == "--skip":
        skips.add(int(args.pop(0)))
    elif a == "--dup-ack":
        dup_ack = True
    elif a == "--pause-at":
        pause_at, pause = int(args.pop(0)), float(args.pop(0))
    elif a == "--slow":
        slow = float(args.pop(0))
    elif a == "--rcvbuf":
        rcvbuf = int(args.pop(0))
    else:
        sys.exit("tftp_raw: unknown option " + a)
if not args or not port:
    sys.exit("tftp_raw: no packet or no port")

kind = args.pop(0)
if kind == "req":
    op = {"rrq": 1, "wrq": 2}[args.pop(0).lower()]
    pkt = op.to_bytes(2, "big") + b"".join(
        s.encode("latin-1") + b"\0" for s in args)
elif kind == "raw":
    pkt = codecs.escape_decode(args[0].encode("latin-1"))[0]
elif kind == "file":
    with open(args[0], "rb") as f:
        pkt = f.read()
else:
    sys.exit("tftp_raw: unknown packet kind " + kind)

s = socket.socket(family, socket.SOCK_DGRAM)
if rcvbuf:
    try:  # as root, beyond net.core.rmem_max
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), rcvbuf)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
s.settimeout(timeout)
s.sendto(pkt, (host, port))


try:
    reply, peer = s.recvfrom(70000)
except socket.timeout:
    print("TIMEOUT")
    sys.exit(0)
print(describe(reply), flush=True)
op = int.from_bytes(reply[:2], "big")
if op == 5:
    sys.exit(0)


def get(reply):
    """Receive the whole file like a windowed client (RFC 7440), checking
    that block numbers follow the negotiated rollover."""
    global pause_at
    opts = {}
    if reply[:2] == b"\0\6":
        f = reply[2:].split(b"\0")[:-1]
        opts = {f[i].decode().lower(): f[i + 1].decode() for i in range(0, len(f) - 1, 2)}
    bs = int(opts.get("blksize", 512))
    ws = int(opts.get("windowsize", 1))
    rollover = int(opts.get("rollover", 0))

    def wire(b):
        return (b - 1) % 65535 + 1 if rollover == 1 and b > 0 else b & 0xFFFF

    def ack(b):
        time.sleep(slow)
        for _ in range(2 if dup_ack else 1):
            s.sendto(b"\0\4" + wire(b).to_bytes(2, "big"), peer)

    out = open(get_path, "wb")
    expected, in_window, gap_acked, acks, nbytes, wraps = 1, 0, False, 0, 0, 0
    dups = 0
    dropped = set()
    last_ack, tries = 0, 0
    pkt = reply
    if reply[:2] == b"\0\6":
        ack(0)
        acks += 1
        pkt = None
    while True:
        if pkt is None:
            try:
                pkt, _ = s.recvfrom(70000)
                tries = 0
            except socket.timeout:
                tries += 1
                if tries > 5:
                    print("GET TIMEOUT at block %d" % expected)
                    sys.exit(0)
                ack(last_ack)  # like a real client: say where we are
                continue
        if pkt[:2] == b"\0\5":
            print("GET " + describe(pkt))
            sys.exit(0)
        if pkt[:2] != b"\0\3" or len(pkt) < 4:
            print("GET unexpected " + describe(pkt))
            sys.exit(0)
        w = int.from_bytes(pkt[2:4], "big")
        data = pkt[4:]
        pkt = None
        if len(data) > bs:
            print("GET block %d larger than blksize" % expected)
            sys.exit(0)
        if w == wire(expected) and expected in drops and expected not in dropped:
            dropped.add(expected)  # pretend it was lost
            continue
        if expected > 1 and w == wire(expected - 1):
            # The block before: sent again.  Only the timer may do that.
            dups += 1
            continue
        if w != wire(expected):
            # A gap: one ACK of the last good block.
            if not gap_acked:
                ack(expected - 1)
                last_ack = expected - 1
                acks += 1
                gap_acked, in_window = True, 0
            continue
        if expected == pause_at:
            time.sleep(pause)
            pause_at = 0
        out.write(data)
        nbytes += len(data)
        if expected > 65535 and wire(expected) in (0, 1) and wire(expected - 1) == 65535:
            wraps += 1
        gap_acked = False
        in_window += 1
        if len(data) < bs or in_window == ws:
            ack(expected)
            last_ack = expected
            acks += 1
            in_window = 0
        if len(data) < bs:
            break
        expected += 1
    out.close()
    print("GOT %d bytes in %d blocks, %d acks, %d wraps, %d dropped, %d dups"
          % (nbytes, expected, acks, wraps, len(dropped), dups), flush=True)
    sys.exit(0)


if get_path:
    get(reply)


def put(reply):
    """Send a whole file like a windowed client (RFC 7440): a window at a
    time, sliding to the block after whatever the server ACKs."""
    opts = {}
    if reply[:2] == b"\0\6":
        f = reply[2:].split(b"\0")[:-1]
        opts = {f[i].decode().lower(): f[i + 1].decode() for i in range(0, len(f) - 1, 2)}
    elif reply[:4] != b"\0\4\0\0":
        print("PUT unexpected " + describe(reply))
        sys.exit(0)
    bs = int(opts.get("blksize", 512))
    ws = int(opts.get("windowsize", 1))
    rollover = int(opts.get("rollover", 0))

    def wire(b):
        return (b - 1) % 65535 + 1 if rollover == 1 and b > 0 else b & 0xFFFF

    with open(put_path, "rb") as f:
        content = f.read()
    last = len(content) // bs + 1  # the last block is short, maybe empty
    acked, skipped, sent, tries = 0, set(), 0, 0
    while acked < last:
        for b in range(acked + 1, min(acked + ws, last) + 1):
            if b in skips and b not in skipped:
                skipped.add(b)  # "lost" on the way
                continue
            s.sendto(b"\0\3" + wire(b).to_bytes(2, "big") + content[(b - 1) * bs:b * bs], peer)
            sent += 1
        while True:
            try:
                r, _ = s.recvfrom(70000)
            except socket.timeout:
                tries += 1
                if tries > 5:
                    print("PUT TIMEOUT at block %d" % (acked + 1))
                    sys.exit(0)
                break  # resend the window
            if r[:2] == b"\0\5":
                print("PUT " + describe(r))
                sys.exit(0)
            if r[:2] != b"\0\4":
                continue
            w = int.from_bytes(r[2:4], "big")
            # The block in [acked, acked + ws] with this wire number.
            k = next((b for b in range(acked, min(acked + ws, last) + 1) if wire(b) == w), None)
            if k is None:
                continue  # stale
            if k == acked:
                break  # the server repeats its ACK: resend the window
            acked, tries = k, 0
            break
    print("PUT %d bytes in %d blocks, %d sent, %d skipped"
          % (len(content), last, sent, len(skipped)), flush=True)
    sys.exit(0)


if put_path:
    put(reply)


def send_block(block, payload):
    """DATA block to the transfer; wait for its ACK (True) or an ERROR."""
    s.sendto((3).to_bytes(2, "big") + block.to_bytes(2, "big") + payload, peer)
    while True:
        try:
            r, _ = s.recvfrom(70000)
        except socket.timeout:
            print("DATA %d: TIMEOUT" % block)
            sys.exit(0)
        if int.from_bytes(r[:2], "big") == 5:
            print("DATA %d: %s" % (block, describe(r)))
            sys.exit(0)
        if r[:4] == (4).to_bytes(2, "big") + block.to_bytes(2, "big"):
            return


# WRQ accepted (ACK 0, or an OACK): feed it some blocks if asked to.
block = int.from_bytes(reply[2:4], "big") if op == 4 else 0
if op in (4, 6) and data_blocks:
    for n in range(data_blocks):
        block = (block + 1) & 0xFFFF
        send_block(block, os.urandom(512))
    print("SENT %d blocks" % data_blocks, flush=True)

if hold:
    time.sleep(hold)
if last and op in (4, 6):
    # The final, short block: the server publishes the file, then ACKs.
    block = (block + 1) & 0xFFFF
    send_block(block, b"end\n")
    print("LAST ACKED", flush=True)
    sys.exit(0)
if not vanish:
    s.sendto(b"\0\5\0\0test done\0", peer)
s.close()
PYEOF
)
