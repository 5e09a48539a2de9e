#!/usr/bin/env bats
# errors.bats - refused requests get the right TFTP error code, garbage is
# ignored, option negotiation corner cases; after each, the same server
# still serves a normal download.

load helpers

setup() {
	common_setup
	copy_demo
}

# expect_error CODE PACKET...: the reply to PACKET is ERROR CODE.
expect_error() {
	local code=$1
	shift
	run tftp_raw "$@"
	[[ $output == "ERROR $code "* ]] || {
		printf 'expected ERROR %s for %s, got: %s\n' "$code" "$*" "$output" >&2
		return 1
	}
}

# expect_refused_log FILE CODE: the transfer was logged as refused.
expect_refused_log() {
	wait_log "file=\"$1\" .*outcome=refused detail=\"$2 "
}

@test "RRQ of a missing file: ERROR 1 (logged with -v)" {
	start_server -v
	expect_error 1 req rrq no-such-file octet
	[[ $output == "ERROR 1 File not found" ]]
	expect_error 1 req rrq no-such-dir/file octet
	HOST=::1 run tftp_raw -6 req rrq no-such-file octet
	[[ $output == "ERROR 1 "* ]]
	expect_refused_log no-such-file 1
	expect_refused_log no-such-dir/file 1
	wait_log 'peer=\[::1\]:[0-9]+ op=RRQ file="no-such-file" .*outcome=refused'
	assert_serves_hello
}

@test "ERROR 1 for a missing file is not logged without -v" {
	need_cmd tftp
	start_server
	expect_error 1 req rrq no-such-file octet
	assert_serves_hello
	wait_log 'file="hello.txt".*outcome=complete'
	[[ $(log_count 'no-such-file') -eq 0 ]]
}

@test "names that leave the root: ERROR 2 (../etc/passwd, /../x, a/../../x)" {
	mkdir -m 0755 "$ROOT/a"
	start_server
	expect_error 2 req rrq ../etc/passwd octet
	assert_not_contains "$output" "root:"
	expect_error 2 req rrq /../x octet
	expect_error 2 req rrq a/../../x octet
	expect_error 2 req rrq a/../hello.txt octet # any .. component
	expect_error 2 req rrq .. octet
	expect_error 2 req wrq ../evil octet
	expect_refused_log '\.\./etc/passwd' 2
	assert_serves_hello
}

@test "illegal names: empty, only slashes, control characters: ERROR 2" {
	start_server
	expect_error 2 raw '\x00\x01\x00octet\x00'
	expect_error 2 req rrq / octet
	expect_error 2 req rrq /// octet
	expect_error 2 raw '\x00\x01hel\x01lo.txt\x00octet\x00'
	expect_error 2 raw '\x00\x01hello.txt\x7f\x00octet\x00'
	# A leading slash is ignored: /hello.txt is hello.txt.
	run tftp_raw req rrq /hello.txt octet
	[[ $output == "DATA 1 "* ]]
	assert_serves_hello
}

@test "RRQ of a directory: ERROR 2" {
	mkdir -m 0755 "$ROOT/dir"
	start_server
	expect_error 2 req rrq dir octet
	expect_error 2 req rrq dir/ octet
	expect_error 2 req rrq . octet
	assert_serves_hello
}

@test "RRQ of a file that is not world-readable (0600, 0640): ERROR 2" {
	make_file secret 100
	chmod 0600 "$ROOT/secret"
	make_file group-only 100
	chmod 0640 "$ROOT/group-only"
	start_server
	expect_error 2 req rrq secret octet
	expect_error 2 req rrq group-only octet
	expect_refused_log secret 2
	assert_serves_hello
}

@test "RRQ of a FIFO: ERROR 2, and nothing hangs" {
	mkfifo -m 0644 "$ROOT/fifo"
	start_server
	expect_error 2 req rrq fifo octet
	expect_refused_log fifo 2
	wait_for 3 no_children
	assert_serves_hello
}

@test "symlinks: pointing outside the root ERROR 2, pointing inside works" {
	need_cmd tftp
	ln -s /etc/passwd "$ROOT/abs-outside"
	ln -s ../../../../../../../../../etc/passwd "$ROOT/rel-outside"
	ln -s .. "$ROOT/parent"
	ln -s "$ROOT/hello.txt" "$ROOT/abs-inside" # absolute: refused too
	mkdir -m 0755 "$ROOT/sub"
	make_file sub/data 2000
	ln -s hello.txt "$ROOT/link"
	ln -s ../hello.txt "$ROOT/sub/uplink"
	ln -s sub "$ROOT/sublink"
	start_server
	expect_error 2 req rrq abs-outside octet
	assert_not_contains "$output" "root:"
	expect_error 2 req rrq rel-outside octet
	expect_error 2 req rrq "parent/$(basename "$BATS_TEST_TMPDIR")/root/hello.txt" octet
	expect_error 2 req rrq abs-inside octet
	hpa_get link "$WORK/link"
	assert_same "$ROOT/hello.txt" "$WORK/link"
	hpa_get sub/uplink "$WORK/uplink"
	assert_same "$ROOT/hello.txt" "$WORK/uplink"
	hpa_get sublink/data "$WORK/data"
	assert_same "$ROOT/sub/data" "$WORK/data"
	assert_serves_hello
}

@test "malformed requests: ERROR 4" {
	start_server
	# No NUL after the mode.
	expect_error 4 raw '\x00\x01hello.txt\x00octet'
	[[ $output == "ERROR 4 Malformed request" ]]
	# Truncated file name: no NUL, no mode.
	expect_error 4 raw '\x00\x01hello'
	# File name but no mode at all.
	expect_error 4 raw '\x00\x01hello.txt\x00'
	# The opcode alone.
	expect_error 4 raw '\x00\x01'
	expect_error 4 raw '\x00\x02upload'
	assert_serves_hello
}

@test "modes mail and bogus: ERROR 4; the mode is matched in any case" {
	start_server
	expect_error 4 req rrq hello.txt mail
	expect_error 4 req rrq hello.txt bogus
	expect_error 4 req wrq hello.txt mail
	expect_error 4 req rrq hello.txt ''
	expect_refused_log hello.txt 4
	run tftp_raw req rrq hello.txt OCTET
	[[ $output == "DATA 1 55" ]]
	run tftp_raw req rrq hello.txt NetAscii
	[[ $output == "DATA 1 57" ]] # two LFs became CR LF
	assert_serves_hello
}

@test "rollover 2: ERROR 8; rollover 0 and 1 are acknowledged" {
	start_server
	expect_error 8 req rrq hello.txt octet rollover 2
	expect_error 8 req rrq hello.txt octet rollover x
	expect_refused_log hello.txt 8
	run tftp_raw req rrq hello.txt octet rollover 1
	[[ $output == "OACK rollover=1" ]]
	run tftp_raw req rrq hello.txt octet rollover 0
	[[ $output == "OACK rollover=0" ]]
	assert_serves_hello
}

@test "--read-only: every WRQ gets ERROR 2, reads still work" {
	make_upload_dir up
	make_file up/existing 100
	chmod 0666 "$ROOT/up/existing"
	cp "$ROOT/up/existing" "$WORK/existing.orig"
	start_server --read-only -c
	expect_error 2 req wrq up/new octet
	expect_error 2 req wrq up/existing octet
	expect_refused_log up/new 2
	[[ ! -e $ROOT/up/new ]]
	assert_same "$WORK/existing.orig" "$ROOT/up/existing"
	assert_serves_hello
}

@test "WRQ of a new file without -c: ERROR 1" {
	make_upload_dir up
	start_server -v
	expect_error 1 req wrq up/new-file octet
	expect_refused_log up/new-file 1
	[[ -z $(ls -A "$ROOT/up") ]]
	assert_serves_hello
}

@test "WRQ to an existing 0644 file without -p: ERROR 2" {
	make_upload_dir up
	make_file up/ro 300
	cp "$ROOT/up/ro" "$WORK/ro.orig"
	start_server -c
	expect_error 2 req wrq up/ro octet
	expect_error 2 req wrq hello.txt octet
	expect_refused_log up/ro 2
	assert_same "$WORK/ro.orig" "$ROOT/up/ro"
	[[ $(ls -A "$ROOT/up") == ro ]]
	assert_serves_hello
}

@test "WRQ into a directory that does not exist: ERROR 1" {
	start_server -c
	expect_error 1 req wrq no-such-dir/file octet
	assert_serves_hello
}

@test "garbage datagrams to the listening port are ignored" {
	start_server -v
	local pkt=$BATS_TEST_TMPDIR/garbage
	printf '\xff\xff' >"$pkt"
	head -c 300 /dev/urandom >>"$pkt"
	run tftp_raw -t 0.4 file "$pkt"
	[[ $output == TIMEOUT ]]
	run tftp_raw -t 0.4 raw '\x00\x04\x00\x00' # a lone ACK
	[[ $output == TIMEOUT ]]
	run tftp_raw -t 0.4 raw '\x00\x03\x00\x01some data' # DATA
	[[ $output == TIMEOUT ]]
	run tftp_raw -t 0.4 raw '\x00\x05\x00\x00oops\x00' # ERROR
	[[ $output == TIMEOUT ]]
	run tftp_raw -t 0.4 raw '\x00\x06blksize\x00512\x00' # OACK
	[[ $output == TIMEOUT ]]
	run tftp_raw -t 0.4 raw '\x00' # one byte
	[[ $output == TIMEOUT ]]
	run tftp_raw -t 0.4 raw '' # empty
	[[ $output == TIMEOUT ]]
	HOST=::1 run tftp_raw -6 -t 0.4 raw '\x00\x04\x00\x01'
	[[ $output == TIMEOUT ]]
	# A request longer than 4096 bytes is dropped.
	local long
	long=$(printf 'x%.0s' $(seq 1 4200))
	run tftp_raw -t 0.4 req rrq "$long" octet
	[[ $output == TIMEOUT ]]
	# No transfer was started for any of them.
	[[ $(log_count 'peer=') -eq 0 ]]
	refute has_children
	assert_serves_hello
	HOST=::1 hpa_get hello.txt "$WORK/hello6"
	assert_same "$ROOT/hello.txt" "$WORK/hello6"
}

@test "OACK: blksize 7 is not acknowledged, tsize is" {
	start_server
	run tftp_raw req rrq hello.txt octet blksize 7 tsize 0
	[[ $output == "OACK tsize=55" ]]
	assert_not_contains "$output" blksize
	# A non-numeric blksize likewise; blksize 8 is the smallest granted.
	run tftp_raw req rrq hello.txt octet blksize abc tsize 0
	[[ $output == "OACK tsize=55" ]]
	run tftp_raw req rrq hello.txt octet blksize 8
	[[ $output == "OACK blksize=8" ]]
	assert_serves_hello
}

@test "OACK: windowsize 0 is not acknowledged" {
	start_server
	run tftp_raw req rrq hello.txt octet windowsize 0
	[[ $output == "DATA 1 55" ]] # no option left: plain RFC 1350 transfer
	run tftp_raw req rrq hello.txt octet windowsize 0 tsize 0
	[[ $output == "OACK tsize=55" ]]
	run tftp_raw req rrq hello.txt octet windowsize 4
	[[ $output == "OACK windowsize=4" ]]
	assert_serves_hello
}

@test "OACK: an upper-case BLKSIZE gets a lower-case blksize" {
	start_server
	run tftp_raw req rrq hello.txt octet BLKSIZE 1024
	[[ $output == "OACK blksize=1024" ]]
	run tftp_raw req rrq hello.txt octet TSize 0 WindowSize 8
	[[ $(sorted_words "$output") == "OACK tsize=55 windowsize=8" ]]
	assert_serves_hello
}

@test "OACK: a repeated option is echoed once (the first one counts)" {
	start_server
	run tftp_raw req rrq hello.txt octet blksize 1024 blksize 2048
	[[ $output == "OACK blksize=1024" ]]
	run tftp_raw req rrq hello.txt octet tsize 0 blksize 1024 BLKSIZE 2048 tsize 0
	[[ $(grep -o 'blksize=' <<<"$output" | wc -l) -eq 1 ]]
	[[ $(grep -o 'tsize=' <<<"$output" | wc -l) -eq 1 ]]
	assert_contains "$output" "blksize=1024"
	assert_serves_hello
}

@test "OACK: limits (-B, big values), unknown options, timeout, tsize in netascii" {
	start_server -B 1024
	run tftp_raw req rrq hello.txt octet blksize 1468
	[[ $output == "OACK blksize=1024" ]]
	run tftp_raw req rrq hello.txt octet blksize 99999999999999999999999
	[[ $output == "OACK blksize=1024" ]]
	run tftp_raw req rrq hello.txt octet foo bar
	[[ $output == "DATA 1 55" ]]
	run tftp_raw req rrq hello.txt octet timeout 0
	[[ $output == "DATA 1 55" ]]
	run tftp_raw req rrq hello.txt octet timeout 5
	[[ $output == "OACK timeout=5" ]]
	run tftp_raw req rrq hello.txt netascii tsize 0
	[[ $output == "DATA 1 57" ]]
	assert_serves_hello
}

@test "-r refuses an option: it is ignored as if not sent" {
	start_server -r tsize -r BLKSIZE
	run tftp_raw req rrq hello.txt octet tsize 0 blksize 1024
	[[ $output == "DATA 1 55" ]]
	run tftp_raw req rrq hello.txt octet tsize 0 windowsize 2
	[[ $output == "OACK windowsize=2" ]]
	assert_serves_hello
}

@test "blksize above 65464 is lowered to 65464" {
	start_server
	run tftp_raw req rrq hello.txt octet blksize 65535
	[[ $output == "OACK blksize=65464" ]]
	assert_serves_hello
}

@test "a file name longer than 1024 bytes: ERROR 2" {
	start_server
	local long
	long=$(printf 'n%.0s' $(seq 1 1100))
	expect_error 2 req rrq "$long" octet
	wait_log 'file="nnnn.*\.\.\." .*outcome=refused' # shortened in the log
	assert_serves_hello
}

@test "windowsize limits: --max-windowsize, and at most 4 MiB per window" {
	start_server --max-windowsize 8
	run tftp_raw req rrq hello.txt octet windowsize 64
	[[ $output == "OACK windowsize=8" ]]
	stop_server
	start_server --max-windowsize 65535
	run tftp_raw req rrq hello.txt octet blksize 65464 windowsize 65535
	[[ $(sorted_words "$output") == "OACK blksize=65464 windowsize=64" ]]
	run tftp_raw req rrq hello.txt octet windowsize 65535
	[[ $output == "OACK windowsize=8192" ]] # 8192 * 512 = 4 MiB
	assert_serves_hello
}

@test "timeout and utimeout are echoed only when in range" {
	start_server
	run tftp_raw req rrq hello.txt octet utimeout 500000
	[[ $output == "OACK utimeout=500000" ]]
	run tftp_raw req rrq hello.txt octet utimeout 5000
	[[ $output == "DATA 1 55" ]]
	run tftp_raw req rrq hello.txt octet timeout 256
	[[ $output == "DATA 1 55" ]]
	run tftp_raw req rrq hello.txt octet timeout 255
	[[ $output == "OACK timeout=255" ]]
	assert_serves_hello
}

@test "a client that asks for tsize and aborts after the OACK is logged as a probe" {
	start_server -v
	run tftp_raw req rrq hello.txt octet tsize 0
	[[ $output == "OACK tsize=55" ]]
	wait_log 'file="hello.txt" .*options=tsize=55 bytes=0 .*outcome=probe'
	assert_serves_hello
}

@test "a client that stops answering: retransmissions, then ERROR 0 and outcome=timeout" {
	start_server -T 100000 --retries 2
	# DATA 1 arrives, is never acknowledged; the socket stays open.
	run tftp_raw --hold 1.5 --vanish req rrq hello.txt octet
	[[ $output == "DATA 1 55" ]]
	wait_log 'file="hello.txt" .*bytes=0 .*retransmits=2 outcome=timeout detail="Timeout"'
	# The same after an OACK.
	run tftp_raw --hold 1.5 --vanish req rrq hello.txt octet blksize 1024
	[[ $output == "OACK blksize=1024" ]]
	wait_log 'file="hello.txt" .*options=blksize=1024 .*retransmits=2 outcome=timeout'
	# A client whose port is closed: ICMP port unreachable ends it at once.
	run tftp_raw --vanish req rrq hello.txt octet
	wait_log 'file="hello.txt" .*outcome=aborted detail="peer port unreachable"'
	assert_serves_hello
}
