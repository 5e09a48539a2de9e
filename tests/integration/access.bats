#!/usr/bin/env bats
# access.bats - the --allow and --deny rules: by network and operation,
# first match wins, silent drop or ERROR 2, the log's rate limit, the
# metrics, IPv4, IPv6 and IPv4-mapped clients; and broadcast requests on
# a dual-stack socket.

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

# A dual-stack listener ([::]:PORT, IPv4 clients arrive as ::ffff:a.b.c.d)
# from systemd-socket-activate; the daemon logs to $SERVER_LOG.
start_dual_stack() {
	need_cmd systemd-socket-activate
	PORT=$(pick_port)
	systemd-socket-activate --datagram -l "[::]:$PORT" \
		"$SNOW_OWLD" "$@" "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	ACT_PID=$!
	wait_for 5 grep -q "Listening on \[::\]:$PORT" "$SERVER_LOG"
}

@test "no rules: everyone reads and writes, as before" {
	copy_demo
	make_upload_dir up
	start_server -c
	run tftp_raw req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	run tftp_raw -6 req wrq up/x octet
	[[ $output == "ACK 0" ]]
}

@test "--deny read:NET: reads from it get no answer, writes and other networks pass" {
	need_cmd tftp
	copy_demo
	make_upload_dir up
	make_local up.bin 3000
	start_server -c --deny read:127.0.0.0/8 --metrics "$BATS_TEST_TMPDIR/m.prom" --metrics-interval 1
	run tftp_raw -t 1.5 req rrq hello.txt octet
	[[ $output == TIMEOUT ]]
	# IPv6 is another network.
	run tftp_raw -6 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	# Writes are not covered by a read rule.
	hpa_put up/a.bin "$WORK/up.bin"
	assert_same "$WORK/up.bin" "$ROOT/up/a.bin"
	wait_log 'denied RRQ from 127\.0\.0\.1:[0-9]+$'
	wait_for 5 grep -qx 'snowowl_requests_denied_total{op="rrq"} 1' "$BATS_TEST_TMPDIR/m.prom"
	grep -qx 'snowowl_requests_denied_total{op="wrq"} 0' "$BATS_TEST_TMPDIR/m.prom"
	# The denied request never reached a transfer: no line for it.
	[[ $(log_count 'peer=127\.0\.0\.1:[0-9]+ op=RRQ') -eq 0 ]]
}

@test "--deny-error: a denied request gets ERROR 2, and no file is touched" {
	make_upload_dir up
	copy_demo
	start_server -c --deny write:any --deny-error
	run tftp_raw req wrq up/new octet
	[[ $output == "ERROR 2 Access violation" ]]
	run tftp_raw -6 req wrq up/new octet
	[[ $output == "ERROR 2 Access violation" ]]
	[[ ! -e $ROOT/up/new ]]
	[[ -z $(ls -A "$ROOT/up") ]]
	run tftp_raw req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
}

@test "first match wins: allow a host, deny its network, allow the rest" {
	copy_demo
	start_server --allow 127.0.0.1 --deny 127.0.0.0/8 --deny-error
	run tftp_raw req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	stop_server
	# The same rules the other way round: the wider deny hides the allow.
	start_server --deny 127.0.0.0/8 --allow 127.0.0.1 --deny-error
	run tftp_raw req rrq hello.txt octet
	[[ $output == "ERROR 2 Access violation" ]]
	stop_server
	# Allow a network, deny the rest (IPv6 ::1 is outside it).
	start_server --allow 127.0.0.0/8 --deny any --deny-error
	run tftp_raw req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	run tftp_raw -6 req rrq hello.txt octet
	[[ $output == "ERROR 2 Access violation" ]]
	stop_server
	start_server --allow read:::1/128 --deny ::/0 --deny-error
	run tftp_raw -6 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	run tftp_raw -6 req wrq x octet
	[[ $output == "ERROR 2 Access violation" ]]
	# Allowed by the rules; refused as there is no such file (no -c).
	run tftp_raw req wrq x octet
	[[ $output == "ERROR 1 File not found" ]]
}

@test "the rules from the file; the command line's first rule replaces them" {
	copy_demo
	local conf=$BATS_TEST_TMPDIR/snow-owl.conf
	printf 'allow = ::1\ndeny = any\ndeny-error = yes\n' >"$conf"
	run "$SNOW_OWLD" --config "$conf" --print-config
	[[ $output == *$'\nallow = ::1/128\ndeny = any\n'* ]]
	start_server --config "$conf"
	run tftp_raw req rrq hello.txt octet
	[[ $output == "ERROR 2 Access violation" ]]
	run tftp_raw -6 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	stop_server
	# A --deny on the command line replaces both of the file's rules.
	start_server --config "$conf" --deny ::1
	run tftp_raw req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	run tftp_raw -6 req rrq hello.txt octet
	[[ $output == "ERROR 2 Access violation" ]]
	run --separate-stderr "$SNOW_OWLD" --config /dev/null --deny 10.0.0.1/8 --check-config "$ROOT"
	assert_status 2
	assert_contains "$stderr" "--deny: '10.0.0.1/8' is not"
}

@test "a flood of denied requests: at most 5 log lines a second, every one counted" {
	copy_demo
	start_server --deny any --metrics "$BATS_TEST_TMPDIR/m.prom" --metrics-interval 1
	python3 - "$PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    s.sendto(b"\0\1hello.txt\0octet\0", ("127.0.0.1", int(sys.argv[1])))
PY
	wait_for 5 grep -qx 'snowowl_requests_denied_total{op="rrq"} 300' "$BATS_TEST_TMPDIR/m.prom"
	local lines
	lines=$(log_count 'denied RRQ')
	((lines >= 1 && lines <= 10))
	# The next line, a second later, tells how many went unlogged.
	sleep 1.1
	tftp_raw -t 0.3 req rrq hello.txt octet
	wait_log 'denied RRQ from 127\.0\.0\.1:[0-9]+ \(and [0-9]+ more not logged\)'
	local unlogged
	unlogged=$(sed -n 's/.*(and \([0-9]*\) more not logged)/\1/p' "$SERVER_LOG" | tail -1)
	((lines + unlogged == 300))
}

@test "dual-stack socket: IPv4 clients (v4-mapped) match IPv4 rules" {
	copy_demo
	start_dual_stack --deny 127.0.0.0/8 --deny-error
	run tftp_raw req rrq hello.txt octet
	[[ $output == "ERROR 2 Access violation" ]]
	run tftp_raw -6 req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	wait_log 'denied RRQ from \[::ffff:127\.0\.0\.1\]:[0-9]+'
}

@test "dual-stack socket: IPv4 broadcast requests are ignored (network namespaces)" {
	is_root || skip "needs root for network namespaces"
	need_cmd ip systemd-socket-activate
	copy_demo
	local sns=so-acl-s-$$-$BATS_TEST_NUMBER cns=so-acl-c-$$-$BATS_TEST_NUMBER
	netns_add "$sns"
	netns_add "$cns"
	ip -n "$sns" link add d0 type veth peer name d1 netns "$cns"
	ip -n "$sns" addr add 10.99.0.1/24 brd + dev d0
	ip -n "$cns" addr add 10.99.0.2/24 brd + dev d1
	ip -n "$sns" link set d0 up
	ip -n "$cns" link set d1 up
	ip -n "$cns" route add default dev d1
	PORT=6969 # inside the test's own namespace
	ip netns exec "$sns" systemd-socket-activate --datagram -l "[::]:$PORT" \
		"$SNOW_OWLD" "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	ACT_PID=$!
	wait_for 5 grep -q "Listening on \[::\]:$PORT" "$SERVER_LOG"
	run ip netns exec "$cns" python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
# The first request starts the server, and was queued before it asked
# for packet info: a unicast one, which it serves unjudged.
for dst in ("10.99.0.1", "10.99.0.255", "255.255.255.255", "10.99.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.settimeout(3 if dst == "10.99.0.1" else 0.7)
    s.sendto(b"\0\1hello.txt\0octet\0", (dst, port))
    try:
        r, peer = s.recvfrom(1000)
        print(dst, "DATA" if r[:2] == b"\0\3" else "OTHER")
        s.sendto(b"\0\4\0\1", peer)
    except socket.timeout:
        print(dst, "none")
PY
	echo "$output"
	cat "$SERVER_LOG"
	[[ ${lines[0]} == "10.99.0.1 DATA" ]]
	[[ ${lines[1]} == "10.99.0.255 none" ]]
	[[ ${lines[2]} == "255.255.255.255 none" ]]
	[[ ${lines[3]} == "10.99.0.1 DATA" ]]
	# Ignored as broadcast, not merely unanswerable: no reply socket was
	# tried for them.
	refute grep -q "no socket for" "$SERVER_LOG"
}

# ---- upload paths ---------------------------------------------------------

@test "--upload-path: writes land only where a pattern matches, '*' never crosses a '/'" {
	need_cmd tftp
	copy_demo
	make_upload_dir backups
	make_upload_dir other
	make_local sw1.cfg 3000
	start_server -c --upload-path 'backups/*.cfg' --upload-path 'other/fw-??.bin'
	hpa_put backups/sw1.cfg "$WORK/sw1.cfg"
	assert_same "$WORK/sw1.cfg" "$ROOT/backups/sw1.cfg"
	hpa_put /other/fw-01.bin "$WORK/sw1.cfg"
	assert_same "$WORK/sw1.cfg" "$ROOT/other/fw-01.bin"
	local name
	for name in sw1.cfg backups/sw1.txt backups/.sw1.cfg other/fw-1.bin other/sw1.cfg backups/new/sw1.cfg; do
		run tftp_raw req wrq "$name" octet
		[[ $output == "ERROR 2 Uploads are not allowed there" ]] || {
			echo "$name: $output" >&2
			return 1
		}
	done
	[[ ! -e $ROOT/sw1.cfg && ! -e $ROOT/backups/new && ! -e $ROOT/backups/.sw1.cfg ]]
	[[ $(ls -A "$ROOT/backups") == sw1.cfg ]]
	# Reads are not restricted.
	run tftp_raw req rrq hello.txt octet
	[[ $output == "DATA 1 "* ]]
	wait_log 'op=WRQ file="backups/sw1.txt" .*outcome=refused detail="2 Uploads are not allowed there"'
}

@test "--upload-path: a matching name in a missing directory fails, and no directory is made" {
	make_upload_dir backups
	start_server -c --upload-path 'backups/*/*.cfg'
	run tftp_raw req wrq backups/sw2/run.cfg octet
	[[ $output == "ERROR 1 "* ]]
	[[ ! -e $ROOT/backups/sw2 ]]
	mkdir -m 0777 "$ROOT/backups/sw2"
	run tftp_raw --data 1 --last req wrq backups/sw2/run.cfg octet
	[[ ${lines[0]} == "ACK 0" ]]
	[[ ${lines[-1]} == "LAST ACKED" ]]
	[[ -f $ROOT/backups/sw2/run.cfg ]]
}

@test "--upload-path applies to the name the remap rules make" {
	make_upload_dir backups
	printf 'r ^(.*)\\.cfg$ backups/\\1.cfg\n' >"$BATS_TEST_TMPDIR/rules"
	start_server -c -m "$BATS_TEST_TMPDIR/rules" --upload-path 'backups/*.cfg'
	run tftp_raw --data 1 --last req wrq sw3.cfg octet
	[[ ${lines[0]} == "ACK 0" ]]
	[[ -f $ROOT/backups/sw3.cfg ]]
	run tftp_raw req wrq sw3.txt octet
	[[ $output == "ERROR 2 Uploads are not allowed there" ]]
}
