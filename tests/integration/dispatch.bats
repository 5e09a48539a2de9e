#!/usr/bin/env bats
# dispatch.bats - where sockets come from (systemd, inetd, standalone),
# admission (duplicates, caps, queue, broadcast), signals, sd_notify, units.

load helpers

ACT_PID=

teardown() {
	if [[ -n $ACT_PID ]]; then
		pid_alive "$ACT_PID" && kill "$ACT_PID"
		wait "$ACT_PID" 2>/dev/null || true
		ACT_PID=
	fi
	common_teardown
}

children_are() { [[ $(transfer_count) -eq $1 ]]; }
# snow-owld processes started by PARENT (their titles change, their
# command name does not); a dispatcher's workers are its children.
snow_count_is() { [[ $(pgrep -c -x -P "$1" snow-owld) -eq $2 ]]; }

# waits_then_served: a request gets no answer within 1 s (it waits), and
# the next one is served within 6 s (a transfer that held it up ended).
waits_then_served() {
	run tftp_raw -t 1 req rrq hello.txt octet
	[[ $output == TIMEOUT ]] || return 1
	run tftp_raw -t 6 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
}

# slow_reader NAME [OPTION...]: download f with every ACK 10 ms late
# (some 3 s for make_file f 150000): a transfer that runs slowly.  Its
# timeout is 1 s (the timeout option), so only a pause of over 2 s would
# make it stalled (two timeouts in a row).  Its output goes to
# $BATS_TEST_TMPDIR/NAME.
slow_reader() {
	local name=$1
	shift
	tftp_raw --slow 0.01 "$@" --get "$BATS_TEST_TMPDIR/$name.got" req rrq f octet timeout 1 \
		>"$BATS_TEST_TMPDIR/$name"
}

# slow_read_ok NAME: that download got the whole file.
slow_read_ok() {
	grep -q "^GOT $(stat -c %s "$ROOT/f") bytes" "$BATS_TEST_TMPDIR/$1" &&
		assert_same "$ROOT/f" "$BATS_TEST_TMPDIR/$1.got"
}

# A free port for a server this file starts by other means.
free_port() {
	PORT=$(pick_port)
}

# rrq_ok [-6]: fetch hello.txt with tftp-hpa and compare.
fetch_hello() {
	rm -f "$WORK/h"
	hpa_get hello.txt "$WORK/h"
	assert_same "$ROOT/hello.txt" "$WORK/h"
}


# The daemon started by systemd-socket-activate, exec'd in place.
start_activated() {
	free_port
	activate_env
	systemd-socket-activate --datagram "${ACT_ENV[@]}" -l "127.0.0.1:$PORT" -l "[::1]:$PORT" \
		"$SNOW_OWLD" "$@" "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	ACT_PID=$!
	wait_for 5 grep -q "Listening on \[::1\]:$PORT" "$SERVER_LOG"
}

@test "socket activation: transfers on both sockets (IPv4 and IPv6), then idle exit after -t" {
	need_cmd systemd-socket-activate tftp
	copy_demo
	start_activated -v -t 2
	fetch_hello
	HOST=::1 fetch_hello
	wait_log 'peer=127\.0\.0\.1:[0-9]+ op=RRQ file="hello.txt".*outcome=complete'
	wait_log 'peer=\[::1\]:[0-9]+ op=RRQ file="hello.txt".*outcome=complete'
	# Idle: the daemon exits by itself with status 0.
	wait_for 6 refute pid_alive "$ACT_PID"
	wait "$ACT_PID"
	ACT_PID=
	grep -q "idle for 2 s, exiting" "$SERVER_LOG"
}

@test "socket activation: sd_notify READY=1, STATUS= and STOPPING=1" {
	need_cmd systemd-socket-activate tftp
	copy_demo
	local sock=$BATS_TEST_TMPDIR/notify
	notify_listener "$sock" "$BATS_TEST_TMPDIR/notify.log" 3>&- &
	local listener=$!
	wait_for 5 test -S "$sock"
	free_port
	activate_env
	systemd-socket-activate --datagram "${ACT_ENV[@]}" -l "127.0.0.1:$PORT" -E NOTIFY_SOCKET="$sock" \
		"$SNOW_OWLD" -t 2 "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	ACT_PID=$!
	wait_for 5 grep -q "Listening on 127.0.0.1:$PORT" "$SERVER_LOG"
	fetch_hello
	wait "$listener"
	cat "$BATS_TEST_TMPDIR/notify.log"
	grep -q "READY=1" "$BATS_TEST_TMPDIR/notify.log"
	grep -Eq "STATUS=[0-9]+ active, [0-9]+ queued, 1 served, 0 failed" "$BATS_TEST_TMPDIR/notify.log"
	grep -q "STOPPING=1" "$BATS_TEST_TMPDIR/notify.log"
	wait "$ACT_PID"
	ACT_PID=
}

@test "inetd: a plain fd-0 launch serves, logs nothing to the socket, and exits when idle" {
	need_cmd tftp
	copy_demo
	free_port
	python3 - "$PORT" "$SNOW_OWLD" "$ROOT" 3>&- <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
for fd in (0, 1, 2):          # as inetd does
    os.dup2(s.fileno(), fd)
os.execv(sys.argv[2], ["snow-owld", "-v", "-t", "2", sys.argv[3]])
PY
	ACT_PID=$!
	wait_for 5 port_in_use "$PORT"
	fetch_hello
	fetch_hello
	wait_for 6 refute pid_alive "$ACT_PID"
	wait "$ACT_PID"
	ACT_PID=
}

@test "xinetd (wait = yes): requests served, snow-owld exits when idle, xinetd serves again" {
	need_cmd xinetd tftp
	copy_demo
	free_port
	local conf=$BATS_TEST_TMPDIR/xinetd.conf
	cat >"$conf" <<EOF
defaults
{
}
service snow-owl-test
{
	type		= UNLISTED
	socket_type	= dgram
	protocol	= udp
	wait		= yes
	user		= root
	port		= $PORT
	bind		= 127.0.0.1
	server		= $SNOW_OWLD
	server_args	= -t 1 $ROOT
}
EOF
	xinetd -f "$conf" -pidfile "$BATS_TEST_TMPDIR/xinetd.pid" -dontfork \
		>"$BATS_TEST_TMPDIR/xinetd.log" 2>&1 3>&- </dev/null &
	ACT_PID=$!
	wait_for 5 port_in_use "$PORT"
	fetch_hello
	# One snow-owld serves the socket while it is busy...
	snow_count_is "$ACT_PID" 1
	local disp workers w
	disp=$(pgrep -x -P "$ACT_PID" snow-owld)
	workers=$(pgrep -P "$disp" || true)
	fetch_hello
	# ...and leaves after a second of idleness, its workers with it;
	# xinetd takes over again.
	wait_for 5 snow_count_is "$ACT_PID" 0
	for w in $workers; do
		wait_for 5 refute pid_alive "$w"
	done
	fetch_hello
}

@test "duplicates: the same RRQ sent three times at once starts exactly one transfer" {
	copy_demo
	make_file f 100000
	start_server -v
	run python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
req = b"\0\1f\0octet\0"
for _ in range(3):
    s.sendto(req, ("127.0.0.1", port))
tids = set()
try:
    while True:
        r, peer = s.recvfrom(1000)
        tids.add(peer)
except socket.timeout:
    pass
print("tids", len(tids))
for t in tids:
    s.sendto(b"\0\5\0\0bye\0", t)
PY
	assert_status 0
	[[ $output == "tids 1" ]]
	wait_log 'file="f".*outcome=aborted'
	sleep 0.3
	[[ $(log_count 'op=RRQ file="f"') -eq 1 ]]
	assert_serves_hello
}

@test "global cap: above --max-transfers requests wait in the queue and start when a slot frees" {
	copy_demo
	make_file f 100000
	start_server -v --max-transfers 2
	# Two transfers held open fill the cap (4 s: a loaded machine may
	# take a while to get both going).
	tftp_raw --hold 4 req rrq f octet >"$BATS_TEST_TMPDIR/a" &
	local a=$!
	tftp_raw --hold 4 req rrq f octet >"$BATS_TEST_TMPDIR/b" &
	local b=$!
	wait_for 5 children_are 2
	# A third waits, then is served once one ends.
	waits_then_served
	wait "$a" "$b"
	grep -q "^DATA 1 512" "$BATS_TEST_TMPDIR/a"
	grep -q "^DATA 1 512" "$BATS_TEST_TMPDIR/b"
}

# limited_daemon N: $SNOW_OWLD under the hard descriptor limit N, without
# CAP_SYS_RESOURCE to raise it, on CPU 0 only; prints the wrapper's path.
limited_daemon() {
	cat >"$BATS_TEST_TMPDIR/limited" <<-EOF
		#!/bin/sh
		exec setpriv --bounding-set=-sys_resource --inh-caps=-sys_resource \\
			prlimit --nofile=$1:$1 taskset -c 0 "$SNOW_OWLD" "\$@"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/limited"
	echo "$BATS_TEST_TMPDIR/limited"
}

@test "max-transfers auto: two descriptors a download, 16 a worker's own; one worker per CPU, more only when it is full" {
	need_cmd setpriv
	need_cmd prlimit
	need_cmd taskset
	copy_demo
	# (1000 - 16) / 2 = 492 a worker: three more than the one for CPU 0
	# may start in a storm, up to four per CPU.
	SNOW_OWLD=$(limited_daemon 1000) start_server -v
	wait_log "max-transfers auto: 1968"
	wait_for 5 snow_count_is "$SERVER_PID" 1
	assert_serves_hello
	snow_count_is "$SERVER_PID" 1
}

@test "max-transfers auto: a worker that is full has another one started for the next request, which is served" {
	need_cmd setpriv
	need_cmd prlimit
	need_cmd taskset
	copy_demo
	make_file f 100000
	# (50 - 16) / 2 = 17 downloads a worker; up to three more may start.
	SNOW_OWLD=$(limited_daemon 50) start_server -v
	wait_log "max-transfers auto: 68"
	wait_for 5 snow_count_is "$SERVER_PID" 1
	local i pids=()
	for i in $(seq 17); do
		tftp_raw --hold 4 req rrq f octet >"$BATS_TEST_TMPDIR/d$i" &
		pids+=($!)
	done
	wait_for 5 children_are 17
	snow_count_is "$SERVER_PID" 1
	# The 18th finds the first worker full: a second one serves it.
	run tftp_raw -t 2 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	wait_log "worker [0-9]+ started: the others are full"
	local extra
	extra=$(sed -n 's/.*worker \([0-9]*\) started: the others are full.*/\1/p' "$SERVER_LOG")
	wait_log "snow-owld\[$extra\]: .*file=\"hello.txt\""
	wait "${pids[@]}"
	for i in $(seq 17); do
		grep -q "^DATA 1 512" "$BATS_TEST_TMPDIR/d$i"
	done
	# Its last transfer ended: the extra worker leaves, the first stays.
	wait_log "worker [0-9]+ retires: the others have room again"
	wait_for 10 snow_count_is "$SERVER_PID" 1
	assert_serves_hello
}

@test "descriptor limit: in 34 descriptors a worker holds nine downloads or six uploads, and the rest wait" {
	need_cmd setpriv
	need_cmd prlimit
	need_cmd taskset
	copy_demo
	make_upload_dir up
	make_file f 100000
	# 16 are the worker's own, a download takes 2 (socket, file), an
	# upload 3 (and its directory); --max-transfers alone would allow 20.
	SNOW_OWLD=$(limited_daemon 34) start_server -v -c --workers 1 --max-transfers 20
	# The holders hold for 5 s: on a busy machine the last may start a
	# second or two after the first, which must still run while the
	# next request waits its second.
	local i pids=()
	for i in 1 2 3 4 5 6 7 8 9; do
		tftp_raw --hold 5 req rrq f octet >"$BATS_TEST_TMPDIR/d$i" &
		pids+=($!)
	done
	wait_for 5 children_are 9
	run tftp_raw -t 1 req rrq hello.txt octet
	[[ $output == TIMEOUT ]]
	wait "${pids[@]}"
	for i in 1 2 3 4 5 6 7 8 9; do
		grep -q "^DATA 1 512" "$BATS_TEST_TMPDIR/d$i"
	done
	wait_for 20 no_children
	# Six uploads fill the same 18 descriptors; a download then waits,
	# and none of them fails for want of one.
	pids=()
	for i in 1 2 3 4 5 6; do
		tftp_raw --hold 5 req wrq "up/u$i" octet >"$BATS_TEST_TMPDIR/u$i" &
		pids+=($!)
	done
	wait_for 5 children_are 6
	run tftp_raw -t 1 req rrq hello.txt octet
	[[ $output == TIMEOUT ]]
	run tftp_raw -t 20 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	wait "${pids[@]}"
	for i in 1 2 3 4 5 6; do
		grep -qx "ACK 0" "$BATS_TEST_TMPDIR/u$i"
	done
	refute grep -q "Too many open files" "$SERVER_LOG"
}

@test "global cap with --queue 0: requests above the cap are dropped silently, the server keeps serving" {
	copy_demo
	make_file f 100000
	start_server -v --max-transfers 1 --queue 0
	tftp_raw --hold 3 req rrq f octet >/dev/null &
	local a=$!
	wait_for 5 children_are 1
	run tftp_raw -t 0.5 req rrq hello.txt octet
	[[ $output == TIMEOUT ]]
	wait "$a"
	wait_for 5 no_children
	assert_serves_hello
}

@test "per-client cap: a client at --max-per-client waits, other clients do not" {
	copy_demo
	make_file f 100000
	start_server -v --max-per-client 1
	tftp_raw --hold 3 req rrq f octet >/dev/null &
	local a=$!
	wait_for 5 children_are 1
	# Same address (127.0.0.1), another port: queued.
	run tftp_raw -t 0.5 req rrq hello.txt octet
	[[ $output == TIMEOUT ]]
	# Another client address (::1) is served at once.
	run tftp_raw -6 -t 1 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	wait "$a"
}

@test "--pace: over it a request waits its turn and starts as soon as a transfer ends" {
	copy_demo
	make_file f 150000
	start_server -v --workers 1 --pace 1 --pace-wait 10000
	# One transfer that runs slowly for some 3 s fills the pace.
	slow_reader a &
	local a=$!
	wait_for 5 children_are 1
	# A second request waits its turn, and a third starts when the first
	# has ended (and the second, whose client is gone, with it), long
	# before --pace-wait.
	waits_then_served
	wait "$a"
	slow_read_ok a
	assert_serves_hello
}

@test "--pace-wait: a request waits its turn no longer, even while the pace stays full" {
	copy_demo
	make_file f 150000
	start_server -v --workers 1 --pace 1 --pace-wait 1000
	slow_reader a &
	local a=$!
	wait_for 5 children_are 1
	local t0 t1
	t0=$(date +%s%N)
	run tftp_raw -t 5 req rrq hello.txt octet
	t1=$(date +%s%N)
	[[ $output == "DATA 1 "* ]]
	# It waited its turn (--pace-wait), and started while the first
	# transfer was still running.
	((t1 - t0 >= 900000000))
	pid_alive "$a"
	wait "$a"
	slow_read_ok a
}

@test "--pace: a transfer whose client has stopped answering does not fill it until it answers again" {
	copy_demo
	make_file f 300000
	local m=$BATS_TEST_TMPDIR/m/snowowl.prom
	mkdir -p "${m%/*}"
	start_server -v --workers 1 --pace 1 --pace-wait 10000 --metrics "$m" --metrics-interval 1
	# A client that takes the first block, says nothing for 4.5 s, then
	# reads the rest slowly (some 6 s).  Its transfer times out after 1 s,
	# and again 1 s later: stalled.
	slow_reader a --pause-at 1 4.5 &
	local a=$!
	wait_for 5 children_are 1
	sleep 2.5
	# Stalled, it does not count: a new request starts at once.
	run tftp_raw -t 1 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	wait_for 2 grep -qx "snowowl_transfers_stalled 1" "$m"
	# Once its client answers again, it counts: a request waits its turn
	# until it ends.
	sleep 2
	wait_for 2 grep -qx "snowowl_transfers_stalled 0" "$m"
	waits_then_served
	wait "$a"
	slow_read_ok a
}

@test "--pace never drops a request: one that finds the queue full starts at once" {
	copy_demo
	make_file f 150000
	start_server -v --workers 1 --pace 1 --pace-wait 10000 --queue 1
	slow_reader a &
	local a=$!
	wait_for 5 children_are 1
	# The queue's one slot fills...
	run tftp_raw -t 1 req rrq hello.txt octet
	[[ $output == TIMEOUT ]]
	# ... and the next request is served at once instead of dropped.
	run tftp_raw -t 2 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	[[ $(tr '\0' ' ' <"/proc/$SERVER_PID/cmdline") == *" 0 dropped (busy),"* ]]
	wait "$a"
	slow_read_ok a
}

@test "--pace: a storm of more than nine times the pace is not paced: every request starts at once" {
	copy_demo
	make_file f 150000
	start_server -v --workers 1 --pace 1 --pace-wait 10000
	# Twelve clients ask, 20 ms apart, and read slowly (each ACK 10 ms
	# late, with a timeout of 1 s, so that no transfer stalls) for 3 s:
	# one starts and eight wait their turn; the tenth is one too many,
	# and then all start.
	python3 - "$PORT" >"$BATS_TEST_TMPDIR/got" <<'PY' &
import select, socket, sys, time
port = int(sys.argv[1])
t0 = time.monotonic()
socks, got, acks = [], set(), []
while time.monotonic() < t0 + 3:
    now = time.monotonic()
    if len(socks) < 12 and now >= t0 + 0.02 * len(socks):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"\0\1f\0octet\0timeout\0001\0", ("127.0.0.1", port))
        socks.append(s)
    for a in [a for a in acks if a[0] <= now]:
        acks.remove(a)
        a[1].sendto(b"\0\4" + a[3], a[2])
    for s in select.select(socks, [], [], 0.002)[0]:
        d, peer = s.recvfrom(2048)
        if d[:2] == b"\0\6":
            acks.append((now + 0.01, s, peer, b"\0\0"))
        if d[:2] == b"\0\3":
            if d[2:4] == b"\0\1":
                got.add(s)
            acks.append((now + 0.01, s, peer, d[2:4]))
print(len(got))
PY
	local c=$!
	wait_for 5 children_are 12
	wait "$c"
	[[ $(cat "$BATS_TEST_TMPDIR/got") == 12 ]]
}

@test "a request waiting past --pace-wait for a cap leaves the dispatcher asleep" {
	copy_demo
	make_file f 100000
	start_server -v --max-transfers 1 --pace-wait 200
	tftp_raw --hold 4 req rrq f octet >/dev/null &
	local a=$!
	wait_for 5 children_are 1
	tftp_raw -t 4 req rrq hello.txt octet >/dev/null &
	local b=$!
	sleep 0.5
	# Its turn under the pace is long over; only the cap holds it.
	local t0 t1
	t0=$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")
	sleep 2
	t1=$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")
	((t1 - t0 < 20))
	wait "$a" "$b"
}

@test "--pace 0, or --pace-wait 0: every request of a burst starts at once" {
	copy_demo
	make_file f 150000
	local opts i pids
	for opts in "--pace 0 --pace-wait 10000" "--pace 2 --pace-wait 0"; do
		# shellcheck disable=SC2086 # the options are words
		start_server -v --workers 1 $opts
		pids=()
		for i in 1 2 3 4 5 6; do
			slow_reader "h$i" &
			pids+=($!)
		done
		# All six run together (paced, two would run at a time).
		wait_for 5 children_are 6
		wait "${pids[@]}"
		for i in 1 2 3 4 5 6; do
			slow_read_ok "h$i"
		done
		stop_server
	done
}

@test "a burst of 2000 requests from 2000 ports: every one is served" {
	copy_demo
	start_server --max-per-client 0
	run python3 - "$PORT" <<'PY'
import resource, selectors, socket, sys, time
port = int(sys.argv[1])
n = 2000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 100)), hard))
sel = selectors.DefaultSelector()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.sendto(b"\0\1hello.txt\0octet\0", ("127.0.0.1", port))
    sel.register(s, selectors.EVENT_READ)
done = 0
deadline = time.monotonic() + 20
while done < n and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        r, peer = s.recvfrom(1000)
        if r[:4] == b"\0\3\0\1":
            s.sendto(b"\0\4\0\1", peer)
            done += 1
        sel.unregister(s)
        s.close()
print("served", done)
PY
	[[ $output == "served 2000" ]]
	wait_for 15 log_count_is 'file="hello.txt" .*outcome=complete' 2000
}

@test "requests sent to a broadcast address are ignored (network namespace)" {
	is_root || skip "needs root for a network namespace"
	need_cmd ip
	copy_demo
	local ns=so-bc-$$-$BATS_TEST_NUMBER
	netns_add "$ns"
	ip -n "$ns" link add d0 type veth peer name d1
	ip -n "$ns" addr add 10.99.0.1/24 brd + dev d0
	ip -n "$ns" link set d0 up
	ip -n "$ns" link set d1 up
	ip -n "$ns" route add default dev d0
	PORT=6969	# inside the test's own namespace
	ip netns exec "$ns" "$SNOW_OWLD" -L -a "0.0.0.0:$PORT" "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	SERVER_PID=$!	# stopped at teardown if the test ends early
	wait_for 5 grep -q "listening on" "$SERVER_LOG"
	run ip netns exec "$ns" python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
for dst in ("10.99.0.255", "255.255.255.255", "10.99.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.settimeout(0.7)
    s.sendto(b"\0\1hello.txt\0octet\0", (dst, port))
    try:
        r, peer = s.recvfrom(1000)
        print(dst, "DATA" if r[:2] == b"\0\3" else "OTHER")
        s.sendto(b"\0\4\0\1", peer)
    except socket.timeout:
        print(dst, "none")
PY
	stop_server
	echo "$output"
	[[ ${lines[0]} == "10.99.0.255 none" ]]
	[[ ${lines[1]} == "255.255.255.255 none" ]]
	[[ ${lines[2]} == "10.99.0.1 DATA" ]]
}

@test "a port in use: a second server, or any socket with SO_REUSEADDR, cannot bind it" {
	copy_demo
	start_server
	run timeout 10 "$SNOW_OWLD" -L -a "127.0.0.1:$PORT" "$ROOT"
	assert_status 1
	[[ $output == *"cannot listen on 127.0.0.1:$PORT: Address already in use"* ]]
	# Not even a local user's socket that asks for address reuse.
	run python3 - "$PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    print("bound")
except OSError as e:
    print("refused", e.errno)
PY
	[[ $output == "refused 98" ]]
	assert_serves_hello
}

@test "-R LOW:HIGH: transfer sockets use ports in the range" {
	copy_demo
	start_server -R 41000:41009
	run python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
for i in range(5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(b"\0\1hello.txt\0octet\0", ("127.0.0.1", port))
    r, peer = s.recvfrom(1000)
    s.sendto(b"\0\4\0\1", peer)
    print(peer[1])
PY
	assert_status 0
	local p
	for p in "${lines[@]}"; do
		((p >= 41000 && p <= 41009))
	done
}

@test "SIGTERM: no new transfers, the live one finishes, then the server exits 0" {
	copy_demo
	make_file f 100000
	start_server -v
	# A client that holds its transfer open for 3 s: long enough that on
	# a busy machine (the sanitizer build) it still runs at the checks.
	tftp_raw --hold 3 req rrq f octet >"$BATS_TEST_TMPDIR/held" &
	local held=$!
	wait_for 5 has_children
	local pid=$SERVER_PID
	kill -TERM "$pid"
	wait_log "stopping: [0-9]+ transfers may finish"
	# Still alive while the transfer runs; the listener is closed.
	pid_alive "$pid"
	run tftp_raw -t 0.3 req rrq hello.txt octet
	[[ $output == TIMEOUT ]]
	wait "$held"
	wait_for 5 refute pid_alive "$pid"
	SERVER_PID=
	wait "$pid"
}

@test "SIGHUP reloads (the root is reopened) and the server keeps serving, with and without -s" {
	copy_demo
	start_server
	kill -HUP "$SERVER_PID"
	wait_log "reloaded: root .* reopened"
	assert_serves_hello
	stop_server
	is_root || return 0
	start_server -s
	kill -HUP "$SERVER_PID"
	wait_log "reloaded: root .* reopened"
	assert_serves_hello
}

@test "unprivileged dispatcher with CAP_SETUID/SETGID/SYS_CHROOT (as the unit runs it): chroot and drop work" {
	is_root || skip "needs root to hand out capabilities"
	need_cmd setpriv systemd-socket-activate
	# A root the unprivileged dispatcher can reach (the test directory
	# itself is private to root).
	ROOT=$(mktemp -d /tmp/snow-owl-unpriv.XXXXXX)
	chmod 0755 "$ROOT"
	copy_demo
	free_port
	activate_env
	systemd-socket-activate --datagram "${ACT_ENV[@]}" -l "127.0.0.1:$PORT" \
		setpriv --reuid=65533 --regid=65533 --clear-groups \
		--inh-caps=+sys_chroot,+setuid,+setgid --ambient-caps=+sys_chroot,+setuid,+setgid \
		"$SNOW_OWLD" -s -t 3 "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	ACT_PID=$!
	wait_for 5 grep -q "Listening on 127.0.0.1:$PORT" "$SERVER_LOG"
	tftp_raw --hold 1 req rrq hello.txt octet >/dev/null &
	local held=$!
	local child
	wait_for 5 pgrep -u 65534 -x -P "$ACT_PID" snow-owld
	child=$(pgrep -u 65534 -x -P "$ACT_PID" snow-owld | head -n1)
	local status
	status=$(cat "/proc/$child/status")
	echo "$status" | grep -E "^(Uid|Gid|Cap|NoNewPrivs)"
	grep -Eq "^Uid:\s+65534\s+65534\s+65534\s+65534" <<<"$status"
	grep -Eq "^CapEff:\s+0+$" <<<"$status"
	grep -Eq "^CapPrm:\s+0+$" <<<"$status"
	grep -Eq "^CapAmb:\s+0+$" <<<"$status"
	grep -Eq "^NoNewPrivs:\s+1" <<<"$status"
	[[ $(readlink "/proc/$child/root") == "$ROOT" ]]
	wait "$held"
	fetch_hello
	rm -rf "$ROOT"
}

@test "units: systemd-analyze verify is clean and the service's exposure is at most 2.0" {
	need_cmd systemd-analyze
	local dir=$BATS_TEST_TMPDIR/units
	mkdir -p "$dir"
	cp "$TOP_SRCDIR/systemd/snow-owl.socket" "$dir/"
	# The generated unit, pointed at the built binary so verify can check it.
	sed -e "s|@sbindir@/snow-owld|$SNOW_OWLD|" "$TOP_SRCDIR/systemd/snow-owl.service.in" >"$dir/snow-owl.service"
	run systemd-analyze verify --man=no "$dir/snow-owl.socket" "$dir/snow-owl.service"
	echo "$output"
	assert_status 0
	[[ -z $output ]]
	run systemd-analyze security --offline=true "$dir/snow-owl.service"
	local level
	level=$(sed -n 's/.*Overall exposure level for snow-owl.service: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "exposure $level"
	[[ -n $level ]]
	awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'
}

# syscall_set NAME: a system call, or the members of a set (@name),
# nested sets expanded.
syscall_set() {
	local e
	if [[ $1 != @* ]]; then
		echo "$1"
		return
	fi
	for e in $(systemd-analyze syscall-filter --no-pager "$1" | awk 'NR > 1 && !/^ *#/ && NF { print $1 }'); do
		syscall_set "$e"
	done
}

# The system calls the shipped service's SystemCallFilter= lines allow, in
# systemd's order: the first allow-list sets them, "~" lines remove, later
# lines add.
unit_allowed_syscalls() {
	local unit=$1 line list item
	declare -A allowed=()
	while IFS= read -r line; do
		list=${line#SystemCallFilter=}
		local deny=0
		if [[ $list == "~"* ]]; then
			deny=1 list=${list#\~}
		fi
		for item in $list; do
			local names
			names=$(syscall_set "$item")
			local n
			for n in $names; do
				if ((deny)); then unset "allowed[$n]"; else allowed[$n]=1; fi
			done
		done
	done < <(grep '^SystemCallFilter=' "$unit")
	printf '%s\n' "${!allowed[@]}"
}

@test "units: the service's system call filter lets the sandbox and the workers do their work" {
	need_cmd systemd-analyze
	local allowed missing=() s
	allowed=$(unit_allowed_syscalls "$TOP_SRCDIR/systemd/snow-owl.service.in")
	# Entering the sandbox (sandbox.c), starting workers and handing them
	# transfers (pool.c, worker.c), the dispatcher's own loop.
	for s in chroot setgroups setresgid setresuid capset prctl prlimit64 \
		landlock_create_ruleset landlock_add_rule landlock_restrict_self seccomp \
		socketpair sendmsg recvmsg recvmmsg sendmmsg epoll_create1 epoll_ctl epoll_wait \
		timerfd_create timerfd_settime \
		clone wait4 signalfd4 poll openat2 sched_getaffinity; do
		grep -qx "$s" <<<"$allowed" || missing+=("$s")
	done
	echo "not allowed: ${missing[*]}"
	((${#missing[@]} == 0))
}
