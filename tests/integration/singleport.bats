#!/usr/bin/env bats
# singleport.bats - --single-port: every transfer answers from the address
# and port its request came to.  Real clients in both process models and
# both families, the same client's repeated, changed and next requests,
# many clients on one address, and the listeners it refuses.

load helpers

: "${SNOW_OWL:=$TOP_SRCDIR/snow-owl}"

ACT_PID=

teardown() {
	if [[ -n $ACT_PID ]]; then
		pid_alive "$ACT_PID" && kill "$ACT_PID"
		wait "$ACT_PID" 2>/dev/null || true
		ACT_PID=
	fi
	common_teardown
}

# sp_client [-6] STEP...: one client socket (one source port) runs the
# steps in order, lockstep, blksize 512, and fails if any reply comes from
# another address or port than the server's listening one.  It never
# retransmits a request: a request left unanswered for 2 s fails.
#   get NAME OUT      fetch NAME into OUT
#   put NAME IN       upload IN as NAME
#   dup NAME OUT      request NAME (timeout 5), take DATA 1, send the same
#                     request again, expect nothing for 0.6 s, then fetch
#                     the rest into OUT
#   switch A B OUT    request A (timeout 5), take DATA 1, then request B
#                     and fetch B into OUT
# Prints one line per step: "get NAME BYTES MS" (MS: until the first reply).
sp_client() {
	python3 - "$PORT" "$@" <<'PY'
import os, socket, sys, time

args = sys.argv[1:]
port = int(args.pop(0))
fam, host = socket.AF_INET, "127.0.0.1"
if args and args[0] == "-6":
    args.pop(0)
    fam, host = socket.AF_INET6, "::1"
server = (host, port)
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
# SP_WAIT: seconds the first request may wait (a daemon still starting).
first_wait = float(os.environ.get("SP_WAIT", "2"))

def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)

def recv():
    try:
        pkt, src = s.recvfrom(70000)
    except socket.timeout:
        fail("no reply in time")
    if src[0] != host or src[1] != port:
        fail("reply from %s port %d, not the listening port %d" % (src[0], src[1], port))
    if pkt[:2] == b"\0\5":
        fail("ERROR %d %s" % (int.from_bytes(pkt[2:4], "big"), pkt[4:-1].decode("latin-1")))
    return pkt

def rrq(name, *opts):
    return b"\0\1" + name.encode() + b"\0octet\0" + b"".join(o.encode() + b"\0" for o in opts)

def ack(n):
    s.sendto(b"\0\4" + (n & 0xFFFF).to_bytes(2, "big"), server)

def receive(out, first, expect=1):
    """first: DATA block 1 already received (or the OACK)."""
    data = bytearray()
    pkt = first
    if pkt[:2] == b"\0\6":
        ack(0)
        pkt = recv()
    while True:
        if expect > 1 and pkt[:4] == b"\0\3" + ((expect - 1) & 0xFFFF).to_bytes(2, "big"):
            pkt = recv()  # the block before, sent again by the server's timer
            continue
        if pkt[:2] != b"\0\3" or int.from_bytes(pkt[2:4], "big") != expect & 0xFFFF:
            fail("expected DATA %d, got %s" % (expect, pkt[:4].hex()))
        data += pkt[4:]
        ack(expect)
        if len(pkt) - 4 < 512:
            break
        expect += 1
        pkt = recv()
    with open(out, "wb") as f:
        f.write(data)
    return len(data)

def first_reply(req):
    global first_wait
    t0 = time.monotonic()
    s.settimeout(first_wait)
    s.sendto(req, server)
    pkt = recv()
    s.settimeout(2)
    first_wait = 2
    return pkt, int((time.monotonic() - t0) * 1000)

while args:
    step = args.pop(0)
    if step == "get":
        name, out = args.pop(0), args.pop(0)
        pkt, ms = first_reply(rrq(name))
        print("get %s %d %d" % (name, receive(out, pkt), ms), flush=True)
    elif step == "put":
        name, path = args.pop(0), args.pop(0)
        data = open(path, "rb").read()
        pkt, ms = first_reply(b"\0\2" + name.encode() + b"\0octet\0")
        block = 0
        while True:
            if pkt[:2] != b"\0\4" or int.from_bytes(pkt[2:4], "big") != block & 0xFFFF:
                fail("expected ACK %d, got %s" % (block, pkt[:4].hex()))
            if block * 512 > len(data):
                break
            chunk = data[block * 512:(block + 1) * 512]
            block += 1
            s.sendto(b"\0\3" + (block & 0xFFFF).to_bytes(2, "big") + chunk, server)
            pkt = recv()
        print("put %s %d %d" % (name, len(data), ms), flush=True)
    elif step == "dup":
        name, out = args.pop(0), args.pop(0)
        req = rrq(name, "timeout", "5")
        pkt, ms = first_reply(req)
        if pkt[:2] != b"\0\6":
            fail("expected an OACK")
        ack(0)
        first = recv()
        s.sendto(req, server)
        s.settimeout(0.6)
        try:
            extra, _ = s.recvfrom(70000)
            fail("the repeated request was answered: %s" % extra[:4].hex())
        except socket.timeout:
            pass
        s.settimeout(2)
        print("dup %s %d silent" % (name, receive(out, first)), flush=True)
    elif step == "switch":
        a, b, out = args.pop(0), args.pop(0), args.pop(0)
        pkt, ms = first_reply(rrq(a, "timeout", "5"))
        ack(0)
        recv()  # DATA 1 of a
        pkt, ms = first_reply(rrq(b, "timeout", "5"))
        if pkt[:2] != b"\0\6":
            fail("expected the new request's OACK, got %s" % pkt[:4].hex())
        print("switch %s %d %d" % (b, receive(out, pkt), ms), flush=True)
    else:
        fail("unknown step " + step)
PY
}

# Every real client, byte-exact, against a server already started.
real_clients() {
	local h=${HOST:-127.0.0.1}
	rm -f "$WORK"/c.*
	hpa_get big.bin "$WORK/c.hpa"
	assert_same "$ROOT/big.bin" "$WORK/c.hpa"
	atftp_get big.bin "$WORK/c.atftp" --option "windowsize 16" --option "blksize 1400" >/dev/null 2>&1
	assert_same "$ROOT/big.bin" "$WORK/c.atftp"
	curl_get big.bin "$WORK/c.curl"
	assert_same "$ROOT/big.bin" "$WORK/c.curl"
	if [[ $h != *:* ]]; then # busybox tftp: no IPv6 address syntax here
		busybox_get big.bin "$WORK/c.busybox" -b 1024
		assert_same "$ROOT/big.bin" "$WORK/c.busybox"
	fi
	[[ $h == *:* ]] && h="[$h]"
	"$SNOW_OWL" get -q -b 1468 -w 16 "tftp://$h:$PORT/big.bin" "$WORK/c.snow"
	assert_same "$ROOT/big.bin" "$WORK/c.snow"
	hpa_put up/put.bin "$ROOT/big.bin"
	assert_same "$ROOT/big.bin" "$ROOT/up/put.bin"
	rm -f "$ROOT/up/put.bin"
}

# Every transfer socket of the server is on the listening port: nothing
# of snow-owld's is bound to another UDP port.
only_listening_port() {
	local pids
	pids=$(echo "$SERVER_PID" $(server_children) | tr ' ' '|')
	! ss -Huanp | grep -E "pid=($pids)," | awk '{print $4}' | grep -qv ":$PORT\$"
}

check_model() {
	make_file big.bin 300000
	make_upload_dir
	start_server --single-port -c "$@"
	run sp_client get big.bin "$WORK/raw4"
	assert_status 0
	assert_same "$ROOT/big.bin" "$WORK/raw4"
	run sp_client -6 get big.bin "$WORK/raw6"
	assert_status 0
	assert_same "$ROOT/big.bin" "$WORK/raw6"
	real_clients
	HOST=::1 real_clients
	only_listening_port
	# 2 raw, 6 clients over IPv4, 5 over IPv6 (no busybox).
	wait_for 5 log_count_is 'outcome=complete' 13 || {
		cat "$SERVER_LOG"
		false
	}
	refute grep -Eq 'outcome=(aborted|timeout|failed)' "$SERVER_LOG"
}

@test "workers: replies come from the listening port; tftp-hpa, atftp, curl, busybox, snow-owl byte-exact over IPv4 and IPv6" {
	need_cmd tftp atftp curl busybox
	check_model
}

@test "a child per transfer (--workers 0): the same" {
	need_cmd tftp atftp curl busybox
	check_model --workers 0
}

@test "a repeated request on a running transfer is ignored (both models)" {
	make_file big.bin 20000
	local w
	for w in 1 0; do
		start_server --single-port --workers "$w" -v
		run sp_client dup big.bin "$WORK/dup"
		echo "$output"
		assert_status 0
		assert_contains "$output" "dup big.bin 20000 silent"
		assert_same "$ROOT/big.bin" "$WORK/dup"
		wait_log 'op=RRQ file="big.bin".*outcome=complete'
		[[ $(log_count 'op=RRQ') -eq 1 ]]
		stop_server
	done
}

@test "a different request from the same port restarts the transfer (both models, IPv4 and IPv6)" {
	make_file a.bin 20000
	make_file b.bin 7000
	local w fam
	for w in 1 0; do
		for fam in "" -6; do
			start_server --single-port --workers "$w" -v --metrics "$BATS_TEST_TMPDIR/m.prom"
			run sp_client $fam switch a.bin b.bin "$WORK/b"
			echo "$output"
			assert_status 0
			assert_contains "$output" "switch b.bin 7000"
			assert_same "$ROOT/b.bin" "$WORK/b"
			wait_log 'file="b.bin".*outcome=complete'
			wait_log 'file="a.bin".*outcome=aborted detail="replaced by a new request"'
			stop_server
			# Both count, the replaced one as aborted.
			grep -qx 'snowowl_transfers_total{op="rrq",outcome="aborted"} 1' "$BATS_TEST_TMPDIR/m.prom"
			grep -qx 'snowowl_transfers_total{op="rrq",outcome="complete"} 1' "$BATS_TEST_TMPDIR/m.prom"
		done
	done
}

@test "a client reuses its port for its next files, after reads and after an upload (both models)" {
	make_file a.bin 3000
	make_file b.bin 1024
	make_local c.bin 5000
	make_upload_dir
	local w ms
	for w in 1 0; do
		start_server --single-port --workers "$w" -c -v --metrics "$BATS_TEST_TMPDIR/m.prom"
		run sp_client get a.bin "$WORK/a" get b.bin "$WORK/b" put up/c.bin "$WORK/c.bin" \
			get a.bin "$WORK/a2" put up/d.bin "$WORK/c.bin" put up/e.bin "$WORK/c.bin" get b.bin "$WORK/b2"
		echo "$output"
		assert_status 0
		assert_same "$ROOT/a.bin" "$WORK/a"
		assert_same "$ROOT/a.bin" "$WORK/a2"
		assert_same "$ROOT/b.bin" "$WORK/b"
		assert_same "$ROOT/b.bin" "$WORK/b2"
		wait_for 5 test -e "$ROOT/up/e.bin"
		assert_same "$WORK/c.bin" "$ROOT/up/c.bin"
		assert_same "$WORK/c.bin" "$ROOT/up/d.bin"
		assert_same "$WORK/c.bin" "$ROOT/up/e.bin"
		# Each next request was answered at once, not after a retry
		# (the client sends none): well under a client's timeout.
		for ms in $(awk '{print $4}' <<<"$output"); do
			((ms < 500))
		done
		wait_for 5 log_count_is 'outcome=complete' 7
		refute grep -Eq 'outcome=(aborted|timeout|failed)' "$SERVER_LOG"
		stop_server
		# Every transfer counts, those started on an ended one's socket too.
		grep -qx 'snowowl_transfers_total{op="rrq",outcome="complete"} 4' "$BATS_TEST_TMPDIR/m.prom"
		grep -qx 'snowowl_transfers_total{op="wrq",outcome="complete"} 3' "$BATS_TEST_TMPDIR/m.prom"
		rm -f "$ROOT"/up/*
	done
}

@test "many clients on one address, each on its own port, all verified (both models)" {
	make_file f.bin 65536
	local w
	for w in 1 0; do
		start_server --single-port --workers "$w"
		run "$SNOW_OWL" bench -q -c 32 -n 200 -b 1024 -w 4 --verify-file "$ROOT/f.bin" \
			"tftp://127.0.0.1:$PORT/f.bin"
		echo "$output"
		assert_status 0
		assert_contains "$output" "sessions=200 completed=200 failed=0"
		assert_contains "$output" "verify_failed=0"
		only_listening_port
		stop_server
	done
}

@test "--single-port and --port-range exclude each other" {
	run "$SNOW_OWLD" --single-port -R 40000:40010 --check-config "$ROOT"
	assert_status 2
	assert_contains "$output" "single-port and port-range exclude each other"
}

# inetd_start [reuseport]: snow-owld on fd 0 as inetd starts it, with a
# socket that has SO_REUSEPORT or not; its stderr is $SERVER_LOG.
inetd_start() {
	PORT=$(pick_port)
	python3 - "$PORT" "$SNOW_OWLD" "$ROOT" "${1:-}" 2>"$SERVER_LOG" 3>&- <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[4]:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
os.dup2(s.fileno(), 0)
os.execv(sys.argv[2], ["snow-owld", "--single-port", "-t", "2", sys.argv[3]])
PY
	ACT_PID=$!
}

@test "inetd: fd 0 without SO_REUSEPORT is refused with the fix; with it, single-port serves" {
	need_cmd tftp
	copy_demo
	inetd_start
	wait_for 5 refute pid_alive "$ACT_PID"
	local status=0
	wait "$ACT_PID" || status=$?
	ACT_PID=
	((status == 1))
	grep -q "single-port needs SO_REUSEPORT.*inetd's socket (fd 0).*ReusePort=yes" "$SERVER_LOG"

	inetd_start reuseport
	wait_for 5 port_in_use "$PORT"
	# The socket is bound before snow-owld runs: its first answer may
	# take a while on a loaded machine.
	export SP_WAIT=15
	run sp_client get hello.txt "$WORK/h"
	unset SP_WAIT
	assert_status 0
	assert_same "$ROOT/hello.txt" "$WORK/h"
	wait_for 6 refute pid_alive "$ACT_PID"
	wait "$ACT_PID"
	ACT_PID=
}

@test "systemd: a socket without ReusePort=yes is refused, naming the drop-in; one with it serves" {
	need_cmd systemd-socket-activate
	copy_demo
	PORT=$(pick_port)
	activate_env
	# systemd-socket-activate cannot set SO_REUSEPORT: the refusal.  In
	# datagram mode it starts the daemon on the first datagram.
	systemd-socket-activate --datagram "${ACT_ENV[@]}" -l "127.0.0.1:$PORT" \
		"$SNOW_OWLD" --single-port "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	ACT_PID=$!
	wait_for 5 grep -q "Listening on 127.0.0.1:$PORT" "$SERVER_LOG"
	tftp_raw -t 0.5 req rrq hello.txt octet >/dev/null
	wait_for 5 refute pid_alive "$ACT_PID"
	local status=0
	wait "$ACT_PID" || status=$?
	ACT_PID=
	cat "$SERVER_LOG"
	((status == 1))
	grep -q "add ReusePort=yes to its socket unit" "$SERVER_LOG"
	grep -q "snow-owl.socket.d/single-port.conf" "$SERVER_LOG"

	# A socket as systemd makes it with ReusePort=yes, passed the same way.
	PORT=$(pick_port)
	python3 - "$PORT" "$SNOW_OWLD" "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execve(sys.argv[2], ["snow-owld", "--single-port", "-t", "2", sys.argv[3]], env)
PY
	ACT_PID=$!
	wait_for 5 grep -q "listening on 127.0.0.1:$PORT" "$SERVER_LOG"
	export SP_WAIT=15
	run sp_client get hello.txt "$WORK/h"
	unset SP_WAIT
	assert_status 0
	assert_same "$ROOT/hello.txt" "$WORK/h"
	wait_for 6 refute pid_alive "$ACT_PID"
	wait "$ACT_PID"
	ACT_PID=
}

@test "the shipped systemd drop-in sets ReusePort=yes" {
	grep -qx 'ReusePort=yes' "$TOP_SRCDIR/systemd/snow-owl.socket.d/single-port.conf"
}

@test "contrib/kubernetes: the pods' snow-owld arguments and configuration pass --check-config" {
	is_root || skip "the configuration chroots transfers (-s), which needs root"
	local k=$TOP_SRCDIR/contrib/kubernetes conf=$BATS_TEST_TMPDIR/snow-owl.conf args
	# The ConfigMap's snow-owl.conf, and the container's arguments with
	# the paths it mounts mapped to this test's.
	python3 - "$k" "$conf" "$ROOT" >"$BATS_TEST_TMPDIR/args" <<'PY'
import json, re, sys
k, conf, root = sys.argv[1:]
lines = open(k + "/configmap.yaml").read().splitlines()
i = lines.index("  snow-owl.conf: |")
body = []
for line in lines[i + 1:]:
    if line.strip() and not line.startswith("    "):
        break
    body.append(line[4:])
open(conf, "w").write("\n".join(body) + "\n")
dep = open(k + "/deployment.yaml").read()
args = json.loads(re.search(r"^\s*args: (\[.*\])$", dep, re.M).group(1))
mount = re.search(r"- name: config\n\s*mountPath: (\S+)", dep).group(1)
data = re.search(r"- name: images\n\s*mountPath: (\S+)", dep).group(1)
for a in args:
    print(a.replace(mount + "/", conf.rsplit("/", 1)[0] + "/").replace(data, root))
PY
	mapfile -t args <"$BATS_TEST_TMPDIR/args"
	[[ ${#args[@]} -eq 3 && ${args[0]} == --config && ${args[1]} == "$conf" ]]
	"$SNOW_OWLD" "${args[@]}" --check-config
	"$SNOW_OWLD" "${args[@]}" --print-config >"$BATS_TEST_TMPDIR/effective"
	grep -qx 'single-port = yes' "$BATS_TEST_TMPDIR/effective"
	grep -qx 'foreground = yes' "$BATS_TEST_TMPDIR/effective"
	grep -qx 'address = 0.0.0.0:69' "$BATS_TEST_TMPDIR/effective"
	# UDP port 69 in the pod and in the Service, which targets it by name.
	grep -A2 'containerPort: 69' "$k/deployment.yaml" | grep -q 'protocol: UDP'
	grep -q 'protocol: UDP' "$k/service.yaml"
	grep -q 'targetPort: tftp' "$k/service.yaml"
	grep -q 'name: tftp' "$k/deployment.yaml"
}

# Between bind() and connect() a transfer socket on the shared port can be
# handed another client's request; the dispatcher takes it back and admits
# it.  With a 10 s client retry, a request lost that way shows as a session
# not served on its first request.  A child per transfer forks for each:
# fewer clients, so that none waits for a slot as long as its retry.
@test "a storm in single-port mode: every request served on its first send, every copy verified (both models)" {
	make_file boot 65536
	local w n
	for w in 1 0; do
		n=$((w ? 1500 : 300))
		start_server --single-port --workers "$w" --max-transfers "$n" \
			--metrics "$BATS_TEST_TMPDIR/m.prom" --metrics-interval 1
		run "$SNOW_OWL" bench -q -c "$n" -n "$n" -b 1468 -t 10 --verify-file "$ROOT/boot" \
			"tftp://127.0.0.1:$PORT/boot"
		echo "$output"
		assert_status 0
		assert_contains "$output" "sessions=$n completed=$n failed=0"
		assert_contains "$output" "first_try=$n "
		assert_contains "$output" "verify_failed=0"
		wait_for 5 grep -q '^snowowl_requests_rescued_total ' "$BATS_TEST_TMPDIR/m.prom"
		grep '^snowowl_requests_rescued_total ' "$BATS_TEST_TMPDIR/m.prom" >&2
		stop_server
	done
}
