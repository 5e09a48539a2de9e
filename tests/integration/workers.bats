#!/usr/bin/env bats
# workers.bats - the pre-forked worker model (--workers N): many transfers
# per sandboxed worker, a worker's death, SIGHUP, and the fork model kept
# beside it.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# The server's worker pids, sorted.
worker_pids() { server_children | sort -n; }
workers_are() { [[ $(worker_pids | wc -l) -eq $1 ]]; }
# Live transfer sockets held by process $1.
sockets_of() { ss -Huanp | grep -c "pid=$1," || true; }

@test "--workers 3: three workers at start, none in the fork model, the same bytes either way" {
	copy_demo
	make_file f 300000
	start_server --workers 3
	wait_for 5 workers_are 3
	atftp_get f "$WORK/f3" --option "windowsize 8"
	assert_same "$ROOT/f" "$WORK/f3"
	# Workers stay; no process appears or goes per transfer.
	workers_are 3
	stop_server
	start_server --workers 0
	workers_are 0
	atftp_get f "$WORK/f0" --option "windowsize 8"
	assert_same "$ROOT/f" "$WORK/f0"
}

@test "a worker: uid not 0, no capabilities, no_new_privs, seccomp filter mode, a descriptor limit" {
	copy_demo
	start_server --workers 1 --max-transfers 100
	wait_for 5 workers_are 1
	local w status
	w=$(worker_pids)
	status=$(cat "/proc/$w/status")
	! grep -Eq "^Uid:\s+0\s" <<<"$status"
	grep -Eq "^CapEff:\s+0+$" <<<"$status"
	grep -Eq "^NoNewPrivs:\s+1$" <<<"$status"
	grep -Eq "^Seccomp:\s+2$" <<<"$status"
	# A socket and files per transfer, no more.
	grep -Eq "^Max open files +316 +316 " "/proc/$w/limits"
	assert_serves_hello
}

@test "two held transfers with --workers 2: one on each worker (least loaded first)" {
	copy_demo
	make_file f 100000
	start_server --workers 2
	wait_for 5 workers_are 2
	tftp_raw --hold 3 req rrq f octet >/dev/null &
	local a=$!
	wait_for 5 has_children
	tftp_raw -6 --hold 3 req rrq f octet >/dev/null &
	local b=$!
	wait_for 5 eval '[[ $(transfer_count) -eq 2 ]]'
	local w
	for w in $(worker_pids); do
		[[ $(sockets_of "$w") -eq 1 ]]
		# The process title follows the worker's load.
		wait_for 2.5 eval "[[ \$(tr '\\0' '\\n' </proc/$w/cmdline | head -n1) == 'snow-owld: worker, 1 transfer' ]]"
	done
	wait "$a" "$b"
}

@test "a worker killed mid-transfer: its client gets ERROR 0 from the transfer's port, a new worker serves" {
	copy_demo
	make_file f 100000
	start_server -v --workers 1
	wait_for 5 workers_are 1
	local old
	old=$(worker_pids)
	# A client that takes DATA 1, never ACKs, and reports the first
	# ERROR it gets and whether it came from the port that sent DATA 1.
	python3 - "$PORT" "$WORK/ready" >"$WORK/held" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(6)
s.sendto(b"\x00\x01f\x00octet\x00", ("127.0.0.1", int(sys.argv[1])))
data, tid = s.recvfrom(2048)
assert data[:4] == b"\x00\x03\x00\x01"
open(sys.argv[2], "w").close()
while True:
    data, src = s.recvfrom(2048)
    if data[:2] == b"\x00\x05":
        print("ERROR %d %s %s" % (int.from_bytes(data[2:4], "big"),
              data[4:-1].decode(), "same-port" if src == tid else "other-port"))
        break
PY
	local held=$!
	wait_for 5 test -e "$WORK/ready"
	kill -KILL "$old"
	wait "$held"
	[[ $(cat "$WORK/held") == "ERROR 0 Transfer interrupted same-port" ]]
	wait_log "worker $old killed by signal 9; 1 transfers lost"
	wait_for 5 workers_are 1
	[[ $(worker_pids) != "$old" ]]
	assert_serves_hello
	atftp_get f "$WORK/f" --option "windowsize 16"
	assert_same "$ROOT/f" "$WORK/f"
}

# start_slow_get: a 500 kB file, fetched in the background by the client
# tool delaying each ACK by 2 ms (about 2 s), running once this returns;
# slow_get_done waits for it and checks the copy against the root's.
start_slow_get() {
	make_file big 500000
	"$SNOW_OWL" bench -q --delay 2 -b 512 -c 1 -n 1 --verify-file "$ROOT/big" \
		"tftp://127.0.0.1:$PORT/big" >"$WORK/slow" 2>&1 &
	SLOW_PID=$!
	wait_for 5 has_children
}

slow_get_done() {
	wait "$SLOW_PID"
	grep -q "completed=1 failed=0 .*verify_failed=0" "$WORK/slow"
}

@test "SIGHUP: new workers take new transfers, an old one finishes its transfer and exits" {
	copy_demo
	start_server -v --workers 1
	wait_for 5 workers_are 1
	local old
	old=$(worker_pids)
	start_slow_get
	kill -HUP "$SERVER_PID"
	wait_for 5 eval '[[ $(worker_pids | grep -vx "$old" | wc -l) -eq 1 ]]'
	assert_serves_hello
	slow_get_done
	# The old worker leaves once its transfer has ended.
	wait_for 5 workers_are 1
	! worker_pids | grep -qx "$old"
	wait_log 'file="big".*outcome=complete'
	! grep -q "transfers lost" "$SERVER_LOG"
}

@test "SIGTERM with workers: the live transfer finishes, then the server and its workers exit 0" {
	copy_demo
	start_server --workers 2
	wait_for 5 workers_are 2
	local workers
	workers=$(worker_pids)
	start_slow_get
	kill -TERM "$SERVER_PID"
	slow_get_done
	wait "$SERVER_PID"
	SERVER_PID=
	local w
	for w in $workers; do
		wait_for 5 refute pid_alive "$w"
	done
}

@test "--max-transfers 1000000: a worker's descriptor limit stays within the hard limit, and it serves" {
	copy_demo
	start_server -v --workers 1 --max-transfers 1000000
	wait_for 5 workers_are 1
	local w hard
	w=$(worker_pids)
	hard=$(ulimit -Hn)
	# The dispatcher raises its own soft limit to the hard one; the
	# worker gets no more than that.
	grep -Eq "^Max open files +$hard +$hard " "/proc/$w/limits"
	assert_serves_hello
	! grep -q "cannot enter the sandbox" "$SERVER_LOG"
}

# slow_link_server SRV_NS CLI_NS NET RATE: two namespaces joined by a veth
# pair whose server end (NET.1) sends through a token bucket of RATE to
# the client end (NET.2), and snow-owld with one worker on NET.1:6969.
slow_link_server() {
	local srv=$1 cli=$2 net=$3 rate=$4
	netns_add "$srv"
	netns_add "$cli"
	ip -n "$srv" link add d0 mtu 9000 type veth peer name d1 mtu 9000 netns "$cli"
	ip -n "$srv" addr add "$net.1/24" dev d0
	ip -n "$cli" addr add "$net.2/24" dev d1
	ip -n "$srv" link set d0 up
	ip -n "$cli" link set d1 up
	tc -n "$srv" qdisc add dev d0 root tbf rate "$rate" burst 64k limit 8m
	ip netns exec "$srv" "$SNOW_OWLD" -L -a "$net.1:6969" -v --workers 1 "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	SERVER_PID=$!	# stopped at teardown
	wait_for 5 grep -q "listening on" "$SERVER_LOG"
}

@test "a worker's send that finds the socket buffer full waits for room: no retransmission behind a slow link" {
	need_cmd ip
	need_cmd tc
	make_file f $((4 * 1024 * 1024))
	# A 100 Mbit/s bucket: a window of 64 blocks of 8 KiB (512 KiB) is
	# more than a socket's send buffer holds, so sends fill it and must
	# wait for the queue to drain.
	local srv=so-sb-$$-s cli=so-sb-$$-c
	slow_link_server "$srv" "$cli" 10.99.1 100mbit
	# A fixed timeout: a window queued behind the bucket takes about
	# 40 ms, and only a send that gave up would cause a resend.
	run ip netns exec "$cli" atftp --option "blksize 8192" --option "windowsize 64" --option "timeout 3" \
		-g -r f -l "$WORK/f" 10.99.1.1 6969 </dev/null
	stop_server
	assert_status 0
	assert_same "$ROOT/f" "$WORK/f"
	grep 'file="f"' "$SERVER_LOG" | grep -q "bytes=4194304 .*retransmits=0 outcome=complete" || {
		cat "$SERVER_LOG" >&2
		false
	}
}

@test "a peer behind a slow link does not hold up the other transfers of its worker: no resend to either" {
	need_cmd ip
	need_cmd tc
	need_cmd tftp
	make_file f $((8 * 1024 * 1024))
	make_file small $((4 * 1024 * 1024))
	# As above, with a 20 Mbit/s bucket: a send buffer drains in about
	# 85 ms, twice the server's shortest timeout on a clean path.
	local srv=so-sl-$$-s cli=so-sl-$$-c slow
	slow_link_server "$srv" "$cli" 10.99.2 20mbit
	ip netns exec "$cli" atftp --option "blksize 8192" --option "windowsize 64" --option "timeout 5" \
		-g -r f -l "$WORK/f" 10.99.2.1 6969 </dev/null 3>&- &
	slow=$!
	sleep 0.3
	# Meanwhile, lockstep over the server's own loopback, no timeout
	# option: the server's adaptive timer is in charge.
	(cd "$WORK" && ip netns exec "$srv" tftp -m binary 10.99.2.1 6969 -c get small) 3>&-
	pid_alive "$slow"	# the two overlapped
	wait "$slow"
	stop_server
	assert_same "$ROOT/f" "$WORK/f"
	assert_same "$ROOT/small" "$WORK/small"
	grep -q 'file="small" .*bytes=4194304 .*retransmits=0 outcome=complete' "$SERVER_LOG" &&
		grep -q 'file="f" .*bytes=8388608 .*retransmits=0 outcome=complete' "$SERVER_LOG" || {
		cat "$SERVER_LOG" >&2
		false
	}
}
