#!/usr/bin/env bats
# upload.bats - WRQ semantics: overwrite rules, modes, atomicity, -c, -U, -p.

load helpers

setup() {
	common_setup
	copy_demo
	make_upload_dir up 0777
}

# Size of the largest file a transfer child of the server has open for
# writing (the upload's temporary file), or nothing.
upload_progress() {
	local c fd size best=
	for c in $(server_children); do
		for fd in /proc/"$c"/fd/*; do
			[[ $(readlink "$fd" 2>/dev/null) == "$ROOT"/* ]] || continue
			size=$(stat -L -c %s "$fd" 2>/dev/null) || continue
			[[ -z $best || $size -gt $best ]] && best=$size
		done
	done
	echo "$best"
}

upload_past() { # BYTES
	local p
	p=$(upload_progress)
	[[ -n $p && $p -ge $1 ]]
}

@test "overwrite of a 0666 file replaces the content and keeps mode 0666" {
	need_cmd tftp
	make_file up/target 5000
	chmod 0666 "$ROOT/up/target"
	ln "$ROOT/up/target" "$BATS_TEST_TMPDIR/old-link" # a second name for the old inode
	cp "$ROOT/up/target" "$WORK/old"
	make_local new 70000
	start_server
	hpa_put up/target "$WORK/new"
	assert_same "$WORK/new" "$ROOT/up/target"
	[[ $(mode_of "$ROOT/up/target") == 666 ]]
	# Replaced by a new file (rename), not rewritten in place.
	assert_same "$WORK/old" "$BATS_TEST_TMPDIR/old-link"
	[[ $(ls -A "$ROOT/up") == target ]]
	wait_log 'op=WRQ file="up/target" .*bytes=70000 .*outcome=complete'
}

@test "overwrite with a shorter file leaves no old bytes behind; other modes are kept" {
	need_cmd tftp atftp
	make_file up/shrink 100000
	chmod 0666 "$ROOT/up/shrink"
	make_file up/odd 100
	chmod 0622 "$ROOT/up/odd" # world-writable, not world-readable
	make_local small 10
	make_local other 1000
	start_server
	hpa_put up/shrink "$WORK/small"
	assert_same "$WORK/small" "$ROOT/up/shrink"
	[[ $(mode_of "$ROOT/up/shrink") == 666 ]]
	atftp_put up/odd "$WORK/other" --option "windowsize 16"
	assert_same "$WORK/other" "$ROOT/up/odd"
	[[ $(mode_of "$ROOT/up/odd") == 622 ]]
	[[ $(ls -A "$ROOT/up" | sort | tr '\n' ' ') == "odd shrink " ]]
}

@test "overwrite of a root-owned 0666 file in a sticky (1777) upload directory succeeds" {
	need_cmd tftp
	is_root || skip "needs root: the transfer user must differ from the file owner"
	make_upload_dir sticky 1777
	make_file sticky/target 5000
	chmod 0666 "$ROOT/sticky/target"
	cp "$ROOT/sticky/target" "$WORK/old"
	make_local new 3000
	start_server
	# The tftpd-hpa rule: a world-writable file may be overwritten.
	run hpa_put sticky/target "$WORK/new"
	# Whatever happens, the old file must be intact or fully replaced,
	# and no temporary file may be left.
	[[ $(ls -A "$ROOT/sticky") == target ]]
	if cmp -s "$WORK/old" "$ROOT/sticky/target"; then
		echo "the upload was refused (the old file is still there): $output" >&2
		cat "$SERVER_LOG" >&2
		false
	fi
	assert_same "$WORK/new" "$ROOT/sticky/target"
	[[ $(mode_of "$ROOT/sticky/target") == 666 ]]
}

@test "interrupted upload (client killed midway) leaves the old file and no temporary file" {
	need_cmd atftp
	make_file up/big 1000
	chmod 0666 "$ROOT/up/big"
	cp "$ROOT/up/big" "$WORK/old"
	make_local huge $((256 * 1024 * 1024))
	start_server -T 100000 --retries 2
	# Lock-step at 512 bytes: 256 MiB take some 20 s, so there is time
	# to kill it.
	atftp -p -l "$WORK/huge" -r up/big 127.0.0.1 "$PORT" </dev/null >"$BATS_TEST_TMPDIR/atftp.out" 2>&1 3>&- &
	local client=$!
	if ! wait_for 10 upload_past $((256 * 1024)); then
		kill -KILL "$client" 2>/dev/null || true
		wait "$client" || true
		echo "upload did not get going: $(cat "$BATS_TEST_TMPDIR/atftp.out")" >&2
		false
	fi
	# Still midway: the client is running, the file not yet replaced.
	pid_alive "$client"
	kill -KILL "$client"
	wait "$client" || true
	assert_same "$WORK/old" "$ROOT/up/big"
	# The transfer child notices (timeout or port unreachable) and cleans up.
	wait_log 'op=WRQ file="up/big" .*outcome=(timeout|aborted)' 10
	wait_for 5 no_children
	assert_same "$WORK/old" "$ROOT/up/big"
	[[ $(ls -A "$ROOT/up") == big ]]
	[[ $(mode_of "$ROOT/up/big") == 666 ]]
	assert_serves_hello
}

@test "a client that goes silent mid-upload: timeout, nothing published" {
	make_file up/keep 700
	chmod 0666 "$ROOT/up/keep"
	cp "$ROOT/up/keep" "$WORK/old"
	start_server -c -T 100000 --retries 2
	# New file: five blocks, then silence with the socket still open.
	run tftp_raw --data 5 --hold 1.2 req wrq up/new octet
	assert_contains "$output" "SENT 5 blocks"
	# Existing file: the same.
	run tftp_raw --data 3 --hold 1.2 req wrq up/keep octet
	assert_contains "$output" "SENT 3 blocks"
	wait_log 'op=WRQ file="up/new" .*bytes=2560 .*outcome=timeout'
	wait_log 'op=WRQ file="up/keep" .*bytes=1536 .*outcome=timeout'
	wait_for 5 no_children
	[[ $(ls -A "$ROOT/up") == keep ]]
	assert_same "$WORK/old" "$ROOT/up/keep"
}

@test "a client that vanishes mid-upload: aborted, nothing published" {
	start_server -c -T 100000 --retries 2
	run tftp_raw --data 4 --vanish req wrq up/gone octet
	assert_contains "$output" "SENT 4 blocks"
	wait_log 'op=WRQ file="up/gone" .*outcome=(aborted|timeout)'
	wait_for 5 no_children
	[[ -z $(ls -A "$ROOT/up") ]]
	# And a complete one through the same path works.
	run tftp_raw --data 4 --last req wrq up/done octet
	assert_contains "$output" "LAST ACKED"
	[[ $(stat -c %s "$ROOT/up/done") -eq $((4 * 512 + 4)) ]]
}

@test "-c creates new files with mode 0644 (umask 022), owned by the transfer user" {
	need_cmd tftp curl
	make_local new 1234
	start_server -c
	hpa_put up/created "$WORK/new"
	assert_same "$WORK/new" "$ROOT/up/created"
	[[ $(mode_of "$ROOT/up/created") == 644 ]]
	if is_root; then
		[[ $(stat -c %U "$ROOT/up/created") == nobody ]]
	fi
	curl_put up/created2 "$WORK/new"
	[[ $(mode_of "$ROOT/up/created2") == 644 ]]
	wait_log 'op=WRQ file="up/created" .*outcome=complete'
}

@test "-c with -U 002 creates mode 0664, -U 077 mode 0600, -U 0 mode 0666" {
	need_cmd tftp
	make_local new 600
	start_server -c -U 002
	hpa_put up/g "$WORK/new"
	[[ $(mode_of "$ROOT/up/g") == 664 ]]
	stop_server
	start_server -c -U 077
	hpa_put up/private "$WORK/new"
	[[ $(mode_of "$ROOT/up/private") == 600 ]]
	assert_same "$WORK/new" "$ROOT/up/private"
	stop_server
	start_server -c -U 0
	hpa_put up/all "$WORK/new"
	[[ $(mode_of "$ROOT/up/all") == 666 ]]
}

@test "the process umask does not change the mode of created files" {
	need_cmd tftp
	make_local new 100
	umask 077
	start_server -c
	umask 022
	hpa_put up/x "$WORK/new"
	[[ $(mode_of "$ROOT/up/x") == 644 ]]
}

@test "upload into a subdirectory" {
	need_cmd tftp atftp
	mkdir -p "$ROOT/up/sub/deeper"
	chmod 0777 "$ROOT/up/sub/deeper"
	make_local new 5000
	start_server -c
	hpa_put up/sub/deeper/file "$WORK/new"
	assert_same "$WORK/new" "$ROOT/up/sub/deeper/file"
	atftp_put /up/sub/deeper/file2 "$WORK/new" # a leading slash is ignored
	assert_same "$WORK/new" "$ROOT/up/sub/deeper/file2"
	[[ $(ls -A "$ROOT/up/sub") == deeper ]]
	# A directory that is not writable by the transfer user.
	if is_root; then
		mkdir -m 0755 "$ROOT/up/locked"
		run tftp_raw req wrq up/locked/file octet
		[[ $output == "ERROR 2 "* ]]
		[[ -z $(ls -A "$ROOT/up/locked") ]]
	fi
}

@test "upload to a name that is an existing directory: ERROR 2" {
	mkdir -m 0777 "$ROOT/up/dir"
	start_server -c
	run tftp_raw req wrq up/dir octet
	[[ $output == "ERROR 2 "* ]]
	run tftp_raw req wrq up/dir/ octet
	[[ $output == "ERROR 2 "* ]]
	run tftp_raw req wrq up octet
	[[ $output == "ERROR 2 "* ]]
	[[ -d $ROOT/up/dir && -z $(ls -A "$ROOT/up/dir") ]]
	stop_server
	start_server -c -p
	run tftp_raw req wrq up/dir octet
	[[ $output == "ERROR 2 "* ]]
	assert_serves_hello
}

@test "upload to a symlink or a FIFO: ERROR 2, the link target is untouched" {
	make_file up/real 100
	chmod 0666 "$ROOT/up/real"
	cp "$ROOT/up/real" "$WORK/old"
	ln -s real "$ROOT/up/link"
	mkfifo -m 0666 "$ROOT/up/fifo"
	start_server -c
	run tftp_raw req wrq up/link octet
	[[ $output == "ERROR 2 "* ]]
	run tftp_raw req wrq up/fifo octet
	[[ $output == "ERROR 2 "* ]]
	assert_same "$WORK/old" "$ROOT/up/real"
	[[ -L $ROOT/up/link && -p $ROOT/up/fifo ]]
}

@test "-p: the kernel's permission checks decide instead of the mode bits" {
	need_cmd tftp
	is_root || skip "needs root (transfers as nobody)"
	make_file up/nobodys 100
	chown nobody "$ROOT/up/nobodys"
	chmod 0644 "$ROOT/up/nobodys"
	make_file up/roots 100
	chmod 0644 "$ROOT/up/roots"
	make_file private 100
	chown nobody "$ROOT/private"
	chmod 0600 "$ROOT/private"
	make_local new 2000
	start_server -p
	hpa_put up/nobodys "$WORK/new"
	assert_same "$WORK/new" "$ROOT/up/nobodys"
	[[ $(mode_of "$ROOT/up/nobodys") == 644 ]]
	run tftp_raw req wrq up/roots octet
	[[ $output == "ERROR 2 "* ]]
	# Reads: a 0600 file of the transfer user is served with -p.
	hpa_get private "$WORK/private"
	assert_same "$ROOT/private" "$WORK/private"
	stop_server
	start_server
	run tftp_raw req rrq private octet
	[[ $output == "ERROR 2 "* ]]
}

@test "a file that appears during a new upload is not replaced: ERROR 6" {
	start_server -c
	tftp_raw --data 2 --hold 1 --last req wrq up/race octet >"$BATS_TEST_TMPDIR/raw.out" 2>&1 3>&- &
	local raw=$!
	wait_for 3 grep -q "SENT 2 blocks" "$BATS_TEST_TMPDIR/raw.out"
	echo "someone else" >"$ROOT/up/race"
	wait "$raw"
	run cat "$BATS_TEST_TMPDIR/raw.out"
	assert_contains "$output" "ERROR 6"
	[[ $(cat "$ROOT/up/race") == "someone else" ]]
	[[ $(ls -A "$ROOT/up") == race ]]
	wait_log 'op=WRQ file="up/race" .*outcome=failed'
}

@test "WRQ options: tsize is echoed, blksize and windowsize are granted" {
	start_server -c
	run tftp_raw req wrq up/opt octet tsize 12345 blksize 1024 windowsize 4
	[[ $(sorted_words "$output") == "OACK blksize=1024 tsize=12345 windowsize=4" ]]
	run tftp_raw req wrq up/opt2 octet rollover 2
	[[ $output == "ERROR 8 "* ]]
	wait_for 3 no_children
	[[ -z $(ls -A "$ROOT/up") ]]
}

@test "--max-upload: an announced size over it gets ERROR 3 before any data; the running count stops the rest" {
	need_cmd tftp
	make_upload_dir up
	start_server -c --max-upload 100K
	run tftp_raw req wrq up/big octet tsize 200000
	[[ $output == "ERROR 3 File too large" ]]
	# No size announced (tftp-hpa sends none): refused once over the limit.
	make_local big 300000
	run hpa_put up/big "$WORK/big"
	assert_contains "$output" "File too large"
	wait_log 'op=WRQ file="up/big".*outcome=failed'
	[[ -z $(ls -A "$ROOT/up") ]]
	# Within the limit uploads still work.
	make_local small 90000
	hpa_put up/small "$WORK/small"
	wait_log 'op=WRQ file="up/small".*outcome=complete'
	assert_same "$WORK/small" "$ROOT/up/small"
}

@test "an upload whose client leaves after the final ACK is complete, even if a late ACK finds its port closed" {
	# The client repeats its final block from a socket that cannot take
	# the answer (connected elsewhere), so the server's second ACK draws
	# an ICMP port unreachable while it dallies.
	start_server -c
	run python3 - "$PORT" <<-'PYEOF'
		import socket, sys
		srv = ("127.0.0.1", int(sys.argv[1]))
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.settimeout(3)
		s.sendto(b"\0\2up/late.bin\0octet\0", srv)
		ack, peer = s.recvfrom(100)
		assert ack == b"\0\4\0\0", ack
		s.sendto(b"\0\3\0\1final\n", peer)
		ack, _ = s.recvfrom(100)
		assert ack == b"\0\4\0\1", ack
		port = s.getsockname()[1]
		s.close()
		t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		t.bind(("127.0.0.1", port))
		t.connect(("127.0.0.1", 9))   # the server's ACK will match no socket
		t.sendto(b"\0\3\0\1final\n", peer)
		print("SENT")
	PYEOF
	assert_status 0
	[[ $output == SENT ]]
	wait_log 'op=WRQ file="up/late.bin" .*outcome='
	[[ $(cat "$ROOT/up/late.bin") == final ]]
	run grep 'file="up/late.bin"' "$SERVER_LOG"
	assert_contains "$output" "bytes=6 "
	assert_contains "$output" "outcome=complete"
}

# A client that leaves while full-sized DATA waits in the transfer's queue:
# the server's ACK draws a port-unreachable, and the blocks still queued
# are read as the transfer ends.  A 1024-byte block read into a smaller
# buffer must not pass for a short, final one.
@test "an upload whose client vanishes with blksize-1024 DATA queued is not published truncated" {
	make_file up/keep 5000
	chmod 0666 "$ROOT/up/keep"
	cp "$ROOT/up/keep" "$WORK/old"
	start_server -c --workers 0
	run python3 - "$PORT" "$SERVER_PID" <<'PYEOF'
import os, signal, socket, sys, time
port, server = int(sys.argv[1]), int(sys.argv[2])

def children():
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                stat = open("/proc/%s/stat" % p).read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == server:
                out.append(int(p))
    return out

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"\0\2up/keep\0octet\0blksize\x001024\0", ("127.0.0.1", port))
oack, tid = s.recvfrom(600)
assert oack[:2] == b"\0\6", oack
block = lambda n: b"\0\3" + n.to_bytes(2, "big") + bytes([n]) * 1024
s.sendto(block(1), tid)
ack, _ = s.recvfrom(600)
assert ack == b"\0\4\0\1", ack
kids = children()
assert len(kids) == 1, kids
os.kill(kids[0], signal.SIGSTOP)
time.sleep(0.1)
for n in (2, 3, 4):
    s.sendto(block(n), tid)
s.close()
time.sleep(0.1)
os.kill(kids[0], signal.SIGCONT)
print("QUEUED")
PYEOF
	assert_contains "$output" QUEUED
	wait_log 'op=WRQ file="up/keep" .*outcome=' 10
	wait_for 5 no_children
	refute grep -q 'file="up/keep" .*outcome=complete' "$SERVER_LOG"
	assert_same "$WORK/old" "$ROOT/up/keep"
	[[ $(ls -A "$ROOT/up") == keep ]]
}
