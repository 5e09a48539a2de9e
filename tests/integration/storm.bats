#!/usr/bin/env bats
# storm.bats - boot storms: thousands of clients at once against the
# default settings, and requests the kernel drops when the listening
# socket's buffer is full, counted rather than lost in silence.

load helpers

# status_title: the dispatcher's process title (its STATUS= line).
status_title() { tr '\0' ' ' <"/proc/$SERVER_PID/cmdline"; }

@test "a boot storm of 3000 clients at once, default settings: every copy verified, nothing dropped" {
	make_file boot $((64 * 1024))
	start_server --metrics "$BATS_TEST_TMPDIR/m.prom" --metrics-interval 1
	run -0 "$SNOW_OWL" bench -q -c 3000 -n 3000 -b 1468 -t 2 --verify-file "$ROOT/boot" \
		"tftp://127.0.0.1:$PORT/boot"
	[[ ${lines[-1]} == "sessions=3000 completed=3000 failed=0 bytes=196608000 "* ]]
	wait_for 10 log_count_is 'file="boot" .*outcome=complete' 3000
	# No request waited for a retry in vain, none was dropped.
	wait_for 5 grep -q '^snowowl_requests_dropped_total 0$' "$BATS_TEST_TMPDIR/m.prom"
	grep -q '^snowowl_requests_overflowed_total 0$' "$BATS_TEST_TMPDIR/m.prom"
	[[ $(log_count 'outcome=') -eq 3000 ]]
}

@test "a full listening buffer: the requests the kernel dropped are counted in the metrics and STATUS=" {
	copy_demo
	# A buffer of a few KiB, and the dispatcher stopped while 400
	# requests arrive: most are dropped by the kernel.
	start_server --rcvbuf 4096 --metrics "$BATS_TEST_TMPDIR/m.prom" --metrics-interval 1
	kill -STOP "$SERVER_PID"
	python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
socks = []
for i in range(400):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"\0\1hello.txt\0octet\0", ("127.0.0.1", port))
    socks.append(s)
PY
	kill -CONT "$SERVER_PID"
	# One more: it carries the drop count of the datagrams before it.
	run tftp_raw req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	local served overflowed
	wait_for 10 grep -q '^snowowl_requests_overflowed_total [1-9]' "$BATS_TEST_TMPDIR/m.prom"
	sleep 1.2	# the last transfers' lines and the next metrics write
	served=$(log_count 'file="hello.txt"')
	overflowed=$(awk '$1 == "snowowl_requests_overflowed_total" { print $2 }' "$BATS_TEST_TMPDIR/m.prom")
	echo "served $served, overflowed $overflowed" >&2
	# Every request was either read or counted as dropped.
	[[ $((served + overflowed)) -eq 401 ]]
	[[ $overflowed -gt 100 ]]
	wait_for 3 grep -q "$overflowed lost (buffer full)" <(status_title)
}

@test "a queued request whose client retries while it waits is served once, from one port" {
	copy_demo
	make_file f 100000
	start_server -v --max-transfers 1
	# One transfer held open fills the only slot for 5 s.
	tftp_raw --hold 5 req rrq f octet >"$BATS_TEST_TMPDIR/a" &
	local a=$!
	wait_for 5 has_children
	# The next client asks, and asks again every second while it waits,
	# from the same port, as firmware does; then it takes what comes.
	run python3 - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rrq = b"\0\1hello.txt\0octet\0"
tids, data1 = set(), 0
s.settimeout(1.0)
for attempt in range(8):
    s.sendto(rrq, ("127.0.0.1", port))
    try:
        r, tid = s.recvfrom(600)
        break
    except socket.timeout:
        continue
else:
    print("NO ANSWER"); sys.exit(1)
print("answered after %d retries" % attempt)
end = time.time() + 2.5
while time.time() < end:
    if r[:4] == b"\0\3\0\1":
        data1 += 1
        tids.add(tid)
        s.sendto(b"\0\4\0\1", tid)
    try:
        r, tid = s.recvfrom(600)
    except socket.timeout:
        r = b""
print("tids %d data1 %d" % (len(tids), data1))
PY
	wait "$a"
	assert_contains "$output" "tids 1 data1 1"
	[[ $output == *"answered after "[1-7]" retries"* ]]
	wait_log 'file="hello.txt" .*outcome=complete'
	[[ $(log_count 'file="hello.txt"') -eq 1 ]]
}

@test "clients that all stall at once: one resend probes for each worker, the other timeouts send nothing" {
	make_file big $((2 * 1024 * 1024))
	local m=$BATS_TEST_TMPDIR/m.prom rtx held
	start_server --metrics "$m" --metrics-interval 1
	"$SNOW_OWL" bench -q -c 200 -n 200 -b 1468 -t 2 --verify-file "$ROOT/big" \
		"tftp://127.0.0.1:$PORT/big" >"$BATS_TEST_TMPDIR/out" &
	local bench=$!
	# Mid-transfer, the one process behind all 200 clients stops for
	# 0.4 s: every timer expires, with nothing lost.
	sleep 0.5
	kill -STOP "$bench"
	sleep 0.4
	kill -CONT "$bench"
	wait "$bench"
	cat "$BATS_TEST_TMPDIR/out"
	[[ $(tail -1 "$BATS_TEST_TMPDIR/out") == "sessions=200 completed=200 failed=0 "*" verify_failed=0" ]]
	wait_for 10 log_count_is 'file="big" .*outcome=complete' 200
	sleep 1.2	# the next metrics write
	rtx=$(awk '$1 == "snowowl_retransmits_total{op=\"rrq\"}" { print $2 }' "$m")
	held=$(awk '$1 == "snowowl_timeouts_held_total{op=\"rrq\"}" { print $2 }' "$m")
	echo "retransmits $rtx, timeouts held $held" >&2
	# Without the queue's view, each of the 200 resends at least once.
	[[ $held -ge 100 ]]
	[[ $rtx -le 20 ]]
}
