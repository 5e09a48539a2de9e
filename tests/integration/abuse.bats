#!/usr/bin/env bats
# abuse.bats - hostile input: the server keeps serving within its caps.
#
# Every test ends with assert_healthy: the daemon is alive, a normal
# download completes within 3 s, no more transfer children than the cap
# the test configured, and the dispatcher's resident memory is below
# 64 MiB.

load helpers

RSS_MAX_KIB=65536

BG_PIDS=()
WATCH_PID=

teardown() {
	local p
	[[ -n $WATCH_PID ]] && watch_stop >/dev/null 2>&1
	for p in "${BG_PIDS[@]}"; do
		pid_alive "$p" && kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
	common_teardown
}

# The dispatcher's resident set in KiB.
dispatcher_rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"
}

children_count() { transfer_count; }

# assert_healthy CAP: alive, serving promptly, within CAP children and
# the memory bound.
assert_healthy() {
	local cap=$1 t0 ms n rss
	pid_alive "$SERVER_PID" || {
		echo "snow-owld (pid $SERVER_PID) is gone; its log:" >&2
		cat "$SERVER_LOG" >&2
		return 1
	}
	t0=$(date +%s%N)
	assert_serves_hello || return 1
	ms=$((($(date +%s%N) - t0) / 1000000))
	((ms < 3000)) || {
		echo "a plain download took $ms ms" >&2
		return 1
	}
	n=$(children_count)
	((n <= cap)) || {
		echo "$n transfer children, the cap is $cap" >&2
		return 1
	}
	rss=$(dispatcher_rss)
	[[ -n $rss ]] && ((rss < RSS_MAX_KIB)) || {
		echo "dispatcher VmRSS ${rss:-?} KiB (bound $RSS_MAX_KIB KiB)" >&2
		return 1
	}
	pid_alive "$SERVER_PID" || {
		echo "snow-owld died during the final checks" >&2
		return 1
	}
	echo "healthy: download ${ms} ms, $n children, VmRSS $rss KiB"
}

# watch_start / watch_stop: sample the number of transfer children and
# the dispatcher's VmRSS every 50 ms in the background; watch_stop sets
# PEAK_CHILDREN and PEAK_RSS (KiB).
watch_start() {
	WATCH_STOP=$BATS_TEST_TMPDIR/watch.stop
	WATCH_OUT=$BATS_TEST_TMPDIR/watch.out
	rm -f "$WATCH_STOP"
	echo "0 0" >"$WATCH_OUT"
	(
		peak=0 rss_peak=0
		for ((i = 0; i < 1200; i++)); do
			[[ -e $WATCH_STOP ]] && break
			n=$(children_count)
			rss=$(dispatcher_rss 2>/dev/null) || rss=0
			((n > peak)) && peak=$n
			((${rss:-0} > rss_peak)) && rss_peak=$rss
			echo "$peak $rss_peak" >"$WATCH_OUT.new"
			mv "$WATCH_OUT.new" "$WATCH_OUT"
			sleep 0.05
		done
	) 3>&- &
	WATCH_PID=$!
}

watch_stop() {
	touch "$WATCH_STOP"
	wait "$WATCH_PID" || true
	WATCH_PID=
	read -r PEAK_CHILDREN PEAK_RSS <"$WATCH_OUT"
	echo "peak: $PEAK_CHILDREN children, VmRSS $PEAK_RSS KiB"
}

# The python side of "many clients, each from its own port, that never
# answer": every socket sends one RRQ for f, then all of them only listen
# (so the server's packets are taken, never refused) until the file
# $2 exists.  Prints "sent N in S s" and, at the end, "served M" (sockets
# that got a DATA).
_SILENT_CLIENTS_PY=$(
	cat <<'PYEOF'
import os, resource, selectors, socket, sys, time
port, flag, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 100)), hard))
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
for s in socks:
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
req = b"\0\1f\0octet\0"
t0 = time.monotonic()
for s in socks:
    s.sendto(req, ("127.0.0.1", port))
print("sent %d in %.3f s" % (n, time.monotonic() - t0), flush=True)
sel = selectors.DefaultSelector()
for s in socks:
    sel.register(s, selectors.EVENT_READ)
served, other = set(), 0
deadline = time.monotonic() + 40
while not os.path.exists(flag) and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=0.05):
        try:
            r, _ = key.fileobj.recvfrom(2000)
        except BlockingIOError:
            continue
        if r[:2] == b"\0\3":
            served.add(key.fileobj.fileno())
        elif r[:2] != b"\0\5":
            other += 1
for s in socks:  # whatever is still queued
    while True:
        try:
            r, _ = s.recvfrom(2000)
        except BlockingIOError:
            break
        if r[:2] == b"\0\3":
            served.add(s.fileno())
        elif r[:2] != b"\0\5":
            other += 1
print("served %d other %d" % (len(served), other), flush=True)
PYEOF
)

# silent_clients N FLAG OUT: run the above in the background.
silent_clients() {
	python3 -c "$_SILENT_CLIENTS_PY" "$PORT" "$2" "$1" >"$3" 2>&1 3>&- </dev/null &
	SILENT_PID=$!
	BG_PIDS+=("$SILENT_PID")
}

# -------------------------------------------------------------------------

@test "10,000 garbage datagrams (IPv4 and IPv6): malformed requests get ERROR 4 or nothing, no child remains" {
	copy_demo
	start_server -v --max-transfers 64
	watch_start
	run python3 - "$PORT" "$RANDOM" <<'PY'
import random, select, socket, sys, time
port, seed = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)
print("seed", seed)
v4 = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
v6 = [socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) for _ in range(2)]
for s in v4 + v6:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

def name():
    return bytes(rnd.randrange(0x21, 0x7f) for _ in range(rnd.randrange(1, 40)))

def truncated():
    """An RRQ or WRQ cut short: always malformed."""
    op = rnd.choice((b"\0\1", b"\0\2"))
    k = rnd.randrange(6)
    if k == 0:
        return op                                   # opcode only
    if k == 1:
        return op + name()                          # name without NUL
    if k == 2:
        return op + name() + b"\0"                  # no mode
    if k == 3:
        return op + name() + b"\0oct"               # mode cut short
    if k == 4:
        return op + name() + b"\0octet"             # mode without NUL
    return op + rnd.randbytes(rnd.randrange(0, 1400)).replace(b"\0", b"x")

def garbage():
    b = bytearray(rnd.randbytes(rnd.randrange(0, 1501)))
    if len(b) >= 2 and b[0] == 0 and b[1] in (1, 2):
        b[0] = 0xff                                 # never a request
    return bytes(b)

def opcode_junk():
    """DATA, ACK, ERROR or OACK sent to the listener."""
    return rnd.choice((3, 4, 5, 6)).to_bytes(2, "big") + rnd.randbytes(rnd.randrange(0, 1499))

n, nreq, n6 = 10000, 0, 0
t0 = time.monotonic()
for i in range(n):
    x = rnd.random()
    if x < 0.08:
        pkt = truncated()
        nreq += 1
    elif x < 0.25:
        pkt = opcode_junk()
    else:
        pkt = garbage()
    if i % 10 == 9:
        rnd.choice(v6).sendto(pkt, ("::1", port))
        n6 += 1
    else:
        rnd.choice(v4).sendto(pkt, ("127.0.0.1", port))
sent_s = time.monotonic() - t0

# Collect the answers until 1 s of quiet.
replies, bad = 0, []
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    ready, _, _ = select.select(v4 + v6, [], [], 1.0)
    if not ready:
        break
    for s in ready:
        r, peer = s.recvfrom(70000)
        replies += 1
        if r[:4] != b"\0\5\0\4":
            bad.append(r[:40].hex())
print("sent %d (%d truncated requests, %d over IPv6) in %.2f s" % (n, nreq, n6, sent_s))
print("replies %d" % replies)
print("bad %d %s" % (len(bad), " ".join(bad[:5])))
PY
	echo "$output"
	assert_status 0
	assert_contains "$output" "bad 0 "
	local replies
	replies=$(sed -n 's/^replies \([0-9]*\)$/\1/p' <<<"$output")
	((replies >= 1))
	# No transfer child is left behind.
	wait_for 5 no_children
	watch_stop
	((PEAK_CHILDREN <= 64))
	((PEAK_RSS < RSS_MAX_KIB))
	# Every transfer the garbage started was a refusal of a malformed
	# request, and each answered client got that ERROR 4.
	local started refused
	started=$(log_count ' outcome=')
	refused=$(log_count ' outcome=refused detail="4 Malformed request"')
	echo "transfers started: $started, refused as malformed: $refused"
	((started == refused))
	((replies <= refused))
	assert_healthy 64
}

@test "1,000 RRQs from one source port within a second: exactly one transfer runs for that peer" {
	copy_demo
	make_file f 100000
	start_server -v
	run python3 - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(("127.0.0.1", 0))
req = b"\0\1f\0octet\0"
t0 = time.monotonic()
for _ in range(1000):
    s.sendto(req, ("127.0.0.1", port))
elapsed = time.monotonic() - t0
# The dispatcher reads its socket in order: once a request sent after the
# burst is answered, all 1000 have been seen.
m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
m.settimeout(5)
m.sendto(b"\0\1hello.txt\0octet\0", ("127.0.0.1", port))
r, tid = m.recvfrom(1000)
assert r[:4] == b"\0\3\0\1", r
m.sendto(b"\0\4\0\1", tid)
# Everything sent to the bursting peer, and from where.
s.settimeout(0.5)
tids, pkts = set(), 0
try:
    while True:
        r, peer = s.recvfrom(2000)
        tids.add(peer)
        pkts += 1
except socket.timeout:
    pass
for t in tids:
    s.sendto(b"\0\5\0\0bye\0", t)
print("port %d" % s.getsockname()[1])
print("burst %.3f s" % elapsed)
print("tids %d packets %d" % (len(tids), pkts))
PY
	echo "$output"
	assert_status 0
	local cport secs
	cport=$(sed -n 's/^port //p' <<<"$output")
	secs=$(sed -n 's/^burst \([0-9.]*\) s$/\1/p' <<<"$output")
	awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }'
	assert_contains "$output" "tids 1 "
	wait_log "peer=127\.0\.0\.1:$cport op=RRQ file=\"f\".*outcome=aborted"
	[[ $(log_count "peer=127\.0\.0\.1:$cport ") -eq 1 ]]
	wait_for 5 no_children
	assert_healthy 1024
}

@test "1,000 RRQs from 1,000 ports with --max-transfers 50 --queue 100: never more than 50 children, all drain" {
	make_file f 100000
	copy_demo
	start_server -v --max-transfers 50 --queue 100 -T 200000 --retries 2
	local flag=$BATS_TEST_TMPDIR/stop out=$BATS_TEST_TMPDIR/clients
	watch_start
	silent_clients 1000 "$flag" "$out"
	wait_for 10 grep -q '^sent ' "$out"
	cat "$out"
	# The burst took less than a second.
	awk '/^sent / { exit !($4 < 1.0) }' "$out"
	# Transfers start, hit the retry limit, queued requests follow; in
	# the end no child is left while the clients still listen.
	wait_for 15 eval '[[ $(log_count "file=\"f\".*outcome=timeout") -ge 50 ]] && no_children'
	touch "$flag"
	wait "$SILENT_PID"
	cat "$out"
	watch_stop
	((PEAK_CHILDREN >= 1 && PEAK_CHILDREN <= 50))
	local served started timeouts
	served=$(sed -n 's/^served \([0-9]*\) .*/\1/p' "$out")
	started=$(log_count 'file="f"')
	timeouts=$(log_count 'file="f".*outcome=timeout')
	echo "served $served, transfers logged $started, timed out $timeouts"
	# Each transfer that ran reached its client and ran out of retries;
	# the excess was queued or dropped.
	((served == started && started == timeouts))
	((served >= 50 && served < 1000))
	assert_healthy 50
}

@test "500 half-open transfers (RRQ, never an ACK): every child gives up, memory stays bounded" {
	make_file f 100000
	copy_demo
	start_server -v --max-transfers 600 -T 20000 --retries 2
	local flag=$BATS_TEST_TMPDIR/stop out=$BATS_TEST_TMPDIR/clients
	watch_start
	silent_clients 500 "$flag" "$out"
	wait_for 10 grep -q '^sent ' "$out"
	wait_for 12 log_count_is 'file="f".*outcome=timeout' 500
	wait_for 5 no_children
	touch "$flag"
	wait "$SILENT_PID"
	cat "$out"
	watch_stop
	assert_contains "$(cat "$out")" "served 500 "
	[[ $(log_count 'file="f"') -eq 500 ]]
	((PEAK_CHILDREN <= 600))
	((PEAK_RSS < RSS_MAX_KIB))
	assert_healthy 600
}

# request_table: send the requests read from stdin, one a line, each from
# a new socket and one after another, and check every reply:
#
#   EXPECT | KIND ARG
#
# EXPECT is a Python regular expression for the start of the reply as
# tftp_raw prints it ("ERROR [12]", "DATA 1 55", "OACK blksize=1024",
# "TIMEOUT"); it must be followed by a space or the end.  KIND is rrq or
# wrq (ARG is the name, taken literally, mode octet), raw (ARG in Python
# escapes), padded (an RRQ for hello.txt padded to ARG bytes); with a 6
# appended (rrq6, raw6, ...) it goes to [::1].  A transfer a reply started
# is ended with ERROR 0.  Prints one line per request; fails when a reply
# does not match, or when a DATA carries "TOP SECRET".
request_table() {
	python3 -c "$_TFTP_DESCRIBE_PY"$'\n'"$_REQUEST_TABLE_PY" "$PORT"
}

_REQUEST_TABLE_PY=$(
	cat <<'PYEOF'
import codecs, re, select, socket, sys
port = int(sys.argv[1])

fails, quiet = 0, []
for line in sys.stdin.read().split("\n"):
    if not line.strip():
        continue
    expect, _, rest = line.partition(" | ")
    kind, _, arg = rest.partition(" ")
    label = kind
    family, host = socket.AF_INET, "127.0.0.1"
    if kind.endswith("6"):
        family, host, kind = socket.AF_INET6, "::1", kind[:-1]
    if kind in ("rrq", "wrq"):
        pkt = (1 if kind == "rrq" else 2).to_bytes(2, "big") + arg.encode("latin-1") + b"\0octet\0"
    elif kind == "raw":
        pkt = codecs.escape_decode(arg.encode("latin-1"))[0]
    elif kind == "padded":
        head = b"\0\1hello.txt\0octet\0pad\0"
        pkt = head + b"x" * (int(arg) - len(head) - 1) + b"\0"
    else:
        sys.exit("request_table: unknown kind " + kind)
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(0.5 if expect == "TIMEOUT" else 3.0)
    s.sendto(pkt, (host, port))
    try:
        r, peer = s.recvfrom(70000)
        got = describe(r)
        if r[:2] in (b"\0\3", b"\0\4", b"\0\6"):
            s.sendto(b"\0\5\0\0test done\0", peer)
        if r[:2] == b"\0\3" and b"TOP SECRET" in r:
            got += " CONTENTS OUTSIDE THE ROOT"
    except socket.timeout:
        got = "TIMEOUT"
        quiet.append((s, label, arg))
    else:
        s.close()
    ok = re.match("(?:%s)(?: |$)" % expect, got) is not None and "OUTSIDE" not in got
    fails += not ok
    shown = arg if len(arg) <= 60 else "%s...(%d bytes)" % (arg[:40], len(arg))
    print("%-4s %-6s %-44s -> %s" % ("ok" if ok else "FAIL", label, shown, got), flush=True)
# Nothing arrived late where nothing was expected.
if quiet:
    ready, _, _ = select.select([q[0] for q in quiet], [], [], 0.3)
    for s, label, arg in quiet:
        if s in ready:
            r, _ = s.recvfrom(70000)
            print("FAIL %-6s %-44s -> late: %s" % (label, arg[:44], describe(r)), flush=True)
            fails += 1
sys.exit(1 if fails else 0)
PYEOF
)

@test "malformed and oversized requests: 4096 bytes served, 4097 and 5000 dropped, long names, 200 options, missing NULs" {
	copy_demo
	start_server -v
	# The dispatcher reads 4096 bytes: a request of that size is served,
	# a larger one is dropped, not parsed cut short.
	run request_table <<'EOF'
DATA 1 55 | padded 4096
TIMEOUT | padded 4097
TIMEOUT | padded 5000
TIMEOUT | padded6 5000
EOF
	echo "$output"
	assert_status 0
	# No transfer was started for the dropped ones: one log line.
	wait_log 'file="hello.txt".*outcome=aborted'
	wait_for 5 no_children
	[[ $(log_count 'file="hello.txt"') -eq 1 ]]

	local long i opts=
	long=$(printf 'a%.0s' {1..1025})
	# 200 options: the first blksize counts, the rest is ignored.
	for ((i = 1; i < 200; i++)); do
		if ((i % 2)); then
			opts+="blksize\\x00$((8 + i))\\x00"
		else
			opts+="x$i\\x00$i\\x00"
		fi
	done
	run request_table <<EOF
ERROR 2 | rrq $long
ERROR 2 | wrq $long
ERROR 2 | rrq6 $long
ERROR [12] | rrq ${long:1}
ERROR 2 | raw \\x00\\x01\\x00octet\\x00
ERROR 2 | raw \\x00\\x01hello\\x01.txt\\x00octet\\x00
ERROR 2 | raw \\x00\\x01hello\\n.txt\\x00octet\\x00
OACK blksize=1024 | raw \\x00\\x01hello.txt\\x00octet\\x00blksize\\x001024\\x00$opts
ERROR 4 | raw \\x00\\x01hello.txt\\x00octet
ERROR 4 | raw6 \\x00\\x01hello.txt\\x00octet
ERROR 4 | raw \\x00\\x01hello.txt
ERROR 4 | raw \\x00\\x02hello.txt
ERROR 4 | raw \\x00\\x01
ERROR 4 | raw \\x00\\x01hello.txt\\x00
ERROR 4 | raw \\x00\\x01hello.txt\\x00foo\\x00
ERROR 4 | raw \\x00\\x01hello.txt\\x00mail\\x00
TIMEOUT | raw \\x00
TIMEOUT | raw 
TIMEOUT | raw \\x00\\x07hello.txt\\x00octet\\x00
TIMEOUT | raw \\x00\\x03\\x00\\x01
EOF
	echo "$output"
	assert_status 0
	[[ ${#lines[@]} -eq 20 ]]
	wait_for 5 no_children
	assert_healthy 1024
}

@test "traversal: names that leave the root get ERROR 1 or 2 and never the contents outside it" {
	copy_demo
	local secret=$BATS_TEST_TMPDIR/secret
	echo "TOP SECRET $RANDOM" >"$secret"
	chmod 0644 "$secret"
	cp "$secret" "$BATS_TEST_TMPDIR/secret.orig"
	mkdir -p "$ROOT/sub"
	make_upload_dir up
	ln -s ../secret "$ROOT/link"
	ln -s "$secret" "$ROOT/abslink"
	ln -s .. "$ROOT/outdir"
	ln -s "$BATS_TEST_TMPDIR" "$ROOT/up/outdir"
	start_server -v -c
	# Names are taken literally: backslashes and %2e are name bytes.
	# Absolute names are relative to the root, which has no etc/.
	run request_table <<'EOF'
ERROR 2 | rrq ../secret
ERROR 2 | rrq /../secret
ERROR 2 | rrq //../secret
ERROR 2 | rrq ./../secret
ERROR 2 | rrq sub/../../secret
ERROR 2 | rrq a/../../secret
ERROR 2 | rrq sub/../..
ERROR 2 | rrq ..
ERROR 2 | rrq ../
ERROR 2 | rrq ../root/hello.txt
ERROR 2 | rrq6 ../secret
ERROR 1 | rrq ..\secret
ERROR 1 | rrq ..\..\secret
ERROR 1 | rrq ..\\..\\secret
ERROR 1 | rrq %2e%2e/secret
ERROR 1 | rrq %2e%2e%2fsecret
ERROR 1 | rrq ....//secret
ERROR 1 | rrq /etc/passwd
ERROR 1 | rrq6 /etc/passwd
ERROR 2 | rrq .
ERROR 2 | rrq ./
ERROR 2 | rrq /
ERROR 2 | rrq sub
ERROR 2 | rrq sub/
ERROR 2 | rrq link
ERROR 2 | rrq abslink
ERROR 2 | rrq outdir/secret
ERROR 2 | rrq outdir/root/hello.txt
ERROR 4 | raw \x00\x01sub\x00../secret\x00octet\x00
ERROR 2 | raw \x00\x01sub\x00octet\x00../secret\x00octet\x00
ERROR 2 | raw \x00\x01../secret\x00octet\x00\x00
ERROR 2 | wrq ../secret
ERROR 2 | wrq ../new
ERROR 2 | wrq /../new
ERROR 2 | wrq up/../../new
ERROR 2 | wrq up/outdir/new
ERROR 2 | wrq up/outdir/secret
ERROR 2 | wrq link
ERROR 2 | wrq abslink
EOF
	echo "$output"
	assert_status 0
	[[ ${#lines[@]} -eq 39 ]]
	# The sentinel's own absolute path, and names of thousands of bytes.
	run request_table <<EOF
ERROR 1 | rrq $secret
ERROR 2 | rrq $(printf '../%.0s' {1..1000})secret
ERROR 2 | rrq $(printf 'a/%.0s' {1..1500})secret
ERROR 2 | wrq $(printf '../%.0s' {1..1000})secret
EOF
	echo "$output"
	assert_status 0
	[[ ${#lines[@]} -eq 4 ]]
	# Nothing changed or appeared outside the root; the links are links.
	cmp "$secret" "$BATS_TEST_TMPDIR/secret.orig"
	[[ ! -e $BATS_TEST_TMPDIR/new ]]
	[[ -L $ROOT/link && -L $ROOT/abslink ]]
	run ls -A "$ROOT/up"
	[[ $output == outdir ]]
	wait_for 5 no_children
	assert_healthy 1024
}

@test "upload with a DATA block larger than the negotiated blksize: ERROR 4, nothing left behind" {
	copy_demo
	make_upload_dir up
	head -c 3000 /dev/urandom >"$ROOT/up/old"
	chmod 0666 "$ROOT/up/old"
	cp "$ROOT/up/old" "$WORK/old.orig"
	start_server -v -c -T 20000 --retries 3
	run python3 - "$PORT" <<'PY'
import os, socket, sys
port = int(sys.argv[1])

def describe(r):
    op = int.from_bytes(r[:2], "big")
    if op == 5:
        return "ERROR %d" % int.from_bytes(r[2:4], "big")
    if op == 4:
        return "ACK %d" % int.from_bytes(r[2:4], "big")
    if op == 6:
        return "OACK " + r[2:].replace(b"\0", b" ").decode().strip()
    return "OTHER " + r[:8].hex()

def case(label, name, opts, blocks):
    """WRQ, then DATA blocks of the given sizes, one after another."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(b"\0\2" + name + b"\0octet\0" + opts, ("127.0.0.1", port))
    r, tid = s.recvfrom(70000)
    out = [describe(r)]
    for i, size in enumerate(blocks, 1):
        s.sendto(b"\0\3" + i.to_bytes(2, "big") + os.urandom(size), tid)
        try:
            r, _ = s.recvfrom(70000)
        except socket.timeout:
            out.append("TIMEOUT")
            break
        out.append(describe(r))
        if r[:2] == b"\0\5":
            break
    print(label, "|", " / ".join(out), flush=True)

case("a", b"up/a", b"", [600])
case("b", b"up/b", b"blksize\x001024\0", [1100])
case("c", b"up/c", b"", [512, 513])
case("d", b"up/d", b"", [65000])
case("e", b"up/old", b"", [512, 600])
case("f", b"up/f", b"blksize\x008\0", [8, 9])
PY
	echo "$output"
	assert_status 0
	[[ ${lines[0]} == "a | ACK 0 / ERROR 4" ]]
	[[ ${lines[1]} == "b | OACK blksize 1024 / ERROR 4" ]]
	[[ ${lines[2]} == "c | ACK 0 / ACK 1 / ERROR 4" ]]
	[[ ${lines[3]} == "d | ACK 0 / ERROR 4" ]]
	[[ ${lines[4]} == "e | ACK 0 / ACK 1 / ERROR 4" ]]
	[[ ${lines[5]} == "f | OACK blksize 8 / ACK 1 / ERROR 4" ]]
	wait_for 5 no_children
	wait_for 5 log_count_is 'op=WRQ .*outcome=failed detail="Block larger than negotiated blksize"' 6
	# Only the old file, unchanged.
	run ls -A "$ROOT/up"
	[[ $output == old ]]
	cmp "$WORK/old.orig" "$ROOT/up/old"
	[[ $(mode_of "$ROOT/up/old") == 666 ]]
	assert_healthy 1024
}

@test "packets from a wrong port during a download and an upload: ignored, both transfers byte-exact" {
	copy_demo
	make_file f 50000
	make_upload_dir up
	make_local w 50000
	start_server -v -c
	run python3 - "$PORT" "$ROOT/f" "$WORK/got" "$WORK/w" <<'PY'
import os, socket, sys
port, src, dst, upl = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
server = ("127.0.0.1", port)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # the real client
s.settimeout(2)
x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # the intruder
x.setblocking(False)

def intrude(tid, block, last):
    for pkt in (b"\0\4" + block.to_bytes(2, "big"),       # the next ACK
                b"\0\4" + last.to_bytes(2, "big"),        # ACK of the end
                b"\0\4\xff\xff",
                b"\0\3" + block.to_bytes(2, "big") + os.urandom(512),
                b"\0\3" + (block + 1).to_bytes(2, "big") + b"short",
                b"\0\5\0\0go away\0",                     # an abort
                b"\0\1f\0octet\0",
                os.urandom(100), b""):
        try:
            x.sendto(pkt, tid)
        except ConnectionRefusedError:
            pass  # the ICMP port unreachable of an earlier one

def recv_from(tid):
    while True:
        r, peer = s.recvfrom(70000)
        if peer == tid:
            return r

# Download: learn the TID from DATA 1, then let the intruder talk to it
# before every tenth ACK.
s.sendto(b"\0\1f\0octet\0", server)
r, tid = s.recvfrom(70000)
last = os.path.getsize(src) // 512 + 1
data, block, tries = bytearray(), 1, 0
intrude(tid, 1, last)
while True:
    assert r[:2] == b"\0\3", r[:40]
    n = int.from_bytes(r[2:4], "big")
    if n == block:
        data += r[4:]
        if block % 10 == 1:
            intrude(tid, block + 1, last)
        s.sendto(b"\0\4" + n.to_bytes(2, "big"), tid)
        if len(r) - 4 < 512:
            break
        block += 1
    while True:
        try:
            r = recv_from(tid)
            tries = 0
            break
        except socket.timeout:
            tries += 1
            assert tries < 5, "download stalled at block %d" % block
            s.sendto(b"\0\4" + (block - 1).to_bytes(2, "big"), tid)
open(dst, "wb").write(data)
print("download %d bytes" % len(data), flush=True)

# Upload, from a new port (the dispatcher would take a request from the
# old one for a repeat while the download's child is being reaped): the
# intruder sends DATA with the right block numbers first.
content = open(upl, "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"\0\2up/w\0octet\0", server)
r, tid = s.recvfrom(70000)
assert r[:4] == b"\0\4\0\0", r[:40]
last = len(content) // 512 + 1
for b in range(1, last + 1):
    if b % 10 == 1:
        intrude(tid, b, last)
    pkt = b"\0\3" + b.to_bytes(2, "big") + content[(b - 1) * 512:b * 512]
    for attempt in range(5):
        s.sendto(pkt, tid)
        try:
            r = recv_from(tid)
        except socket.timeout:
            continue
        assert r[:2] == b"\0\4", r[:40]
        if int.from_bytes(r[2:4], "big") == b:
            break
    else:
        raise SystemExit("upload stalled at block %d" % b)
print("upload %d blocks" % last, flush=True)

# What the intruder got back: nothing, or ERROR 5 (unknown TID).
got = []
while True:
    try:
        r, _ = x.recvfrom(70000)
    except ConnectionRefusedError:
        continue  # a pending ICMP error; the queue may hold more
    except BlockingIOError:
        break
    got.append(r)
print("intruder got %d, all ERROR 5: %s" % (len(got), all(g[:4] == b"\0\5\0\5" for g in got)))
PY
	echo "$output"
	assert_status 0
	assert_contains "$output" "download 50000 bytes"
	assert_contains "$output" "all ERROR 5: True"
	assert_same "$ROOT/f" "$WORK/got"
	wait_log 'op=WRQ file="up/w".*outcome=complete'
	assert_same "$WORK/w" "$ROOT/up/w"
	wait_log 'op=RRQ file="f".* bytes=50000 .*outcome=complete'
	assert_healthy 1024
}

@test "an upload killed midway: the old file stays intact and no temporary file is left" {
	need_cmd atftp
	copy_demo
	make_upload_dir up
	head -c 100000 /dev/urandom >"$ROOT/up/old"
	chmod 0666 "$ROOT/up/old"
	cp "$ROOT/up/old" "$WORK/old.orig"
	head -c $((64 * 1024 * 1024)) /dev/zero >"$WORK/big"
	start_server -v -c -T 20000 --retries 3
	# atftp itself in the background (not a function's subshell), so
	# its pid is the one killed.
	atftp -p -l "$WORK/big" -r up/old 127.0.0.1 "$PORT" >/dev/null 2>&1 3>&- </dev/null &
	local client=$!
	BG_PIDS+=("$client")
	# Wait until the transfer child has written some data: the size of
	# the file it writes to (the last regular file among its fds).
	written() {
		local c f size max=0
		for c in $(server_children); do
			for f in /proc/"$c"/fd/*; do
				[[ $(readlink "$f" 2>/dev/null) == "$ROOT/up/"* ]] || continue
				size=$(stat -L -c %s "$f" 2>/dev/null) || continue
				((size > max)) && max=$size
			done
		done
		echo "$max"
	}
	wait_for 10 eval '(( $(written) >= 200000 ))'
	echo "written: $(written) bytes"
	kill -KILL "$client"
	wait "$client" 2>/dev/null || true
	BG_PIDS=()
	wait_log 'op=WRQ file="up/old".*outcome=(aborted|timeout)' 5
	wait_for 5 no_children
	run ls -A "$ROOT/up"
	[[ $output == old ]]
	cmp "$WORK/old.orig" "$ROOT/up/old"
	[[ $(mode_of "$ROOT/up/old") == 666 ]]
	assert_healthy 1024
}
