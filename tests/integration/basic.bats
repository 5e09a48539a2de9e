#!/usr/bin/env bats
# basic.bats - start-up, command line, logging, chroot and privilege drop.

load helpers

teardown() {
	stop_daemon
	common_teardown
}

@test "serves the README demo file (hello.txt) over IPv4 and IPv6" {
	need_cmd tftp
	copy_demo
	start_server
	hpa_get hello.txt "$WORK/hello4"
	assert_same "$TOP_SRCDIR/demo/hello.txt" "$WORK/hello4"
	HOST=::1 hpa_get hello.txt "$WORK/hello6"
	assert_same "$TOP_SRCDIR/demo/hello.txt" "$WORK/hello6"
}

@test "log: startup lines, then one line per transfer with peer, file, bytes, outcome" {
	need_cmd tftp
	copy_demo
	start_server
	grep -q "listening on 127.0.0.1:$PORT, serving $ROOT" "$SERVER_LOG"
	grep -q "listening on \[::1\]:$PORT, serving $ROOT" "$SERVER_LOG"
	hpa_get hello.txt "$WORK/hello"
	local size
	size=$(stat -c %s "$ROOT/hello.txt")
	wait_log 'op=RRQ file="hello.txt"'
	run grep 'op=RRQ file="hello.txt"' "$SERVER_LOG"
	[[ ${#lines[@]} -eq 1 ]]
	[[ $output =~ ^snow-owld\[[0-9]+\]:\ peer=127\.0\.0\.1:[0-9]+\ op=RRQ\ file=\"hello\.txt\"\ mode=octet\ options=-\ bytes=$size\ seconds=[0-9.]+\ rate_kib=[0-9]+\ retransmits=0\ outcome=complete$ ]]
	# The line is written by the transfer child, not the listener.
	[[ $output != "snow-owld[$SERVER_PID]"* ]]

	HOST=::1 hpa_get hello.txt "$WORK/hello6"
	wait_log "peer=\[::1\]:[0-9]+ op=RRQ file=\"hello.txt\" .* bytes=$size .*outcome=complete"
}

@test "log: names are escaped (quotes, backslashes, control bytes)" {
	copy_demo
	start_server -v
	run tftp_raw raw '\x00\x01a"b\\c\xe9\x00octet\x00'
	[[ $output == "ERROR 1 "* ]]
	wait_log 'file="a\\x22b\\x5cc\\xe9" .*outcome=refused'
}

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr "$SNOW_OWLD" --help
	assert_status 0
	assert_contains "$output" "usage: snow-owld"
	assert_contains "$output" "--read-only"
	[[ -z $stderr ]]
	run "$SNOW_OWLD" -h
	assert_status 0
	assert_contains "$output" "usage: snow-owld"
}

@test "--version prints the version and exits 0" {
	run "$SNOW_OWLD" --version
	assert_status 0
	[[ $output =~ ^snow-owld\ [0-9] ]]
}

@test "an unknown flag exits 2 with the usage on stderr" {
	run --separate-stderr "$SNOW_OWLD" -L --no-such-flag "$ROOT"
	assert_status 2
	[[ -z $output ]]
	assert_contains "$stderr" "usage: snow-owld"
	run "$SNOW_OWLD" -L -Z "$ROOT"
	assert_status 2
}

@test "bad option values and a missing ROOT argument exit 2" {
	run "$SNOW_OWLD" -L -B 7 "$ROOT"
	assert_status 2
	assert_contains "$output" "-B"
	run "$SNOW_OWLD" -L -U 999 "$ROOT"
	assert_status 2
	run "$SNOW_OWLD" -L -a 127.0.0.1:99999 "$ROOT"
	assert_status 2
	run "$SNOW_OWLD" -L
	assert_status 2
	assert_contains "$output" "ROOT"
	run "$SNOW_OWLD" "$ROOT" # neither -L nor -l
	assert_status 2
}

@test "a missing root directory exits nonzero with a message" {
	PORT=$(pick_port)
	run timeout 10 "$SNOW_OWLD" -L -a "127.0.0.1:$PORT" "$BATS_TEST_TMPDIR/no-such-dir"
	[[ $status -ne 0 && $status -ne 124 ]]
	assert_contains "$output" "no-such-dir"
	assert_contains "$output" "No such file or directory"
	# A file is not a directory either.
	touch "$BATS_TEST_TMPDIR/plain"
	run timeout 10 "$SNOW_OWLD" -L -a "127.0.0.1:$PORT" "$BATS_TEST_TMPDIR/plain"
	[[ $status -ne 0 && $status -ne 124 ]]
	assert_contains "$output" "plain"
}

@test "an unknown -u user exits nonzero with a message (as root)" {
	is_root || skip "needs root"
	PORT=$(pick_port)
	run timeout 10 "$SNOW_OWLD" -L -u no-such-user-snowowl -a "127.0.0.1:$PORT" "$ROOT"
	[[ $status -ne 0 && $status -ne 124 ]]
	assert_contains "$output" "no-such-user-snowowl"
}

@test "SIGTERM stops the server with status 0" {
	copy_demo
	start_server
	local pid=$SERVER_PID
	stop_server
	refute pid_alive "$pid"
	grep -q "stopping" "$SERVER_LOG"
	refute port_in_use "$PORT"
}

@test "-s (chroot) serves files and refuses a symlink to /etc/passwd" {
	is_root || skip "chroot needs root"
	need_cmd tftp
	copy_demo
	make_file sub/data.bin 3000
	ln -s /etc/passwd "$ROOT/passwd"
	ln -s ../../../../../../../../etc/passwd "$ROOT/passwd-rel"
	start_server -s
	hpa_get hello.txt "$WORK/hello"
	assert_same "$ROOT/hello.txt" "$WORK/hello"
	hpa_get sub/data.bin "$WORK/data.bin"
	assert_same "$ROOT/sub/data.bin" "$WORK/data.bin"
	run tftp_raw req rrq passwd octet
	[[ $output == "ERROR 2 "* ]]
	run tftp_raw req rrq passwd-rel octet
	[[ $output == "ERROR 2 "* ]]
	run tftp_raw req rrq /etc/passwd octet
	[[ $output == "ERROR 1 "* ]] # /etc/passwd is etc/passwd under ROOT: absent
	assert_serves_hello
}

@test "as root, a transfer child runs as nobody, without supplementary groups" {
	is_root || skip "needs root"
	copy_demo
	start_server
	local nobody_uid nobody_gid child out
	nobody_uid=$(id -u nobody)
	nobody_gid=$(id -g nobody)
	# A raw client that gets DATA 1 and then keeps the transfer open.
	tftp_raw --hold 1.5 req rrq hello.txt octet >"$BATS_TEST_TMPDIR/raw.out" 2>&1 3>&- &
	local raw=$!
	wait_for 3 has_children
	child=$(server_children | head -n1)
	[[ -n $child ]]
	out=$(cat "/proc/$child/status")
	echo "$out" | grep -Eq "^Uid:[[:space:]]+${nobody_uid}[[:space:]]+${nobody_uid}[[:space:]]+${nobody_uid}[[:space:]]+${nobody_uid}$"
	echo "$out" | grep -Eq "^Gid:[[:space:]]+${nobody_gid}[[:space:]]+${nobody_gid}[[:space:]]+${nobody_gid}[[:space:]]+${nobody_gid}$"
	echo "$out" | grep -Eq "^Groups:[[:space:]]*$"
	echo "$out" | grep -Eq "^NoNewPrivs:[[:space:]]+1$"
	# The listener itself keeps its privileges.
	grep -Eq "^Uid:[[:space:]]+0[[:space:]]" "/proc/$SERVER_PID/status"
	wait "$raw"
	grep -q "^DATA 1 " "$BATS_TEST_TMPDIR/raw.out"
	wait_log 'op=RRQ file="hello.txt".*outcome=aborted'
}

@test "-u USER runs transfers as that user (as root)" {
	is_root || skip "needs root"
	id daemon >/dev/null 2>&1 || skip "no user daemon"
	copy_demo
	start_server -u daemon
	tftp_raw --hold 1 req rrq hello.txt octet >/dev/null 2>&1 3>&- &
	local raw=$! child uid
	wait_for 3 has_children
	child=$(server_children | head -n1)
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$child/status")
	[[ $uid -eq $(id -u daemon) ]]
	wait "$raw"
}

@test "-l detaches: the command returns at once and the daemon serves" {
	need_cmd tftp
	copy_demo
	PORT=$(pick_port)
	run timeout 10 "$SNOW_OWLD" -l -a "127.0.0.1:$PORT" "$ROOT" 3>&-
	assert_status 0
	wait_for 5 port_in_use "$PORT"
	# The dispatcher holds the listening socket (its workers close their
	# copies right after they are forked).
	wait_for 5 eval '[[ $(ss -Hulnp "sport = :$PORT" | grep -o "pid=[0-9]*" | sort -u | wc -l) -eq 1 ]]'
	DAEMON_PID=$(ss -Hulnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
	[[ -n $DAEMON_PID ]]
	[[ $(cat "/proc/$DAEMON_PID/comm") == snow-owld ]]
	# Detached: a new session, its parent is no longer us.
	[[ $(ps -o sid= -p "$DAEMON_PID" | tr -d ' ') -eq $DAEMON_PID ]]
	hpa_get hello.txt "$WORK/hello"
	assert_same "$ROOT/hello.txt" "$WORK/hello"
	kill "$DAEMON_PID"
	wait_for 5 refute pid_alive "$DAEMON_PID"
	DAEMON_PID=
}

@test "SIGINT stops the server with status 0 too" {
	copy_demo
	start_server
	local pid=$SERVER_PID status=0
	SERVER_PID=
	kill -INT "$pid"
	wait "$pid" || status=$?
	[[ $status -eq 0 ]]
}

@test "a burst of 200 requests over IPv4 and IPv6 is answered (--batch 8)" {
	copy_demo
	start_server --batch 8
	run python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
socks = []
for i in range(200):
    fam, host = (socket.AF_INET6, "::1") if i % 2 else (socket.AF_INET, "127.0.0.1")
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"\0\1hello.txt\0octet\0", (host, port))
    socks.append(s)
ok = 0
for s in socks:
    try:
        r, peer = s.recvfrom(1000)
    except socket.timeout:
        continue
    if r[:4] == b"\0\3\0\1":
        ok += 1
        s.sendto(b"\0\4\0\1", peer)
print("answered", ok)
PY
	[[ $output == "answered 200" ]]
	wait_for 5 log_count_is 'file="hello.txt" .*outcome=complete' 200
}
