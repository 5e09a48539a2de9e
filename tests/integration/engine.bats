#!/usr/bin/env bats
# engine.bats - the windowed transfer engine (RFC 7440) with a real client
# (atftp) across window sizes, and under loss, reordering and duplicate
# ACKs injected by a relay between client and server.

load helpers

RELAY_PID=
RELAY_LOG=

teardown() {
	if [[ -n $RELAY_PID ]]; then
		kill "$RELAY_PID" 2>/dev/null
		wait "$RELAY_PID" 2>/dev/null || true
		RELAY_PID=
	fi
	common_teardown
}

SIZES="0 1 511 512 513 4096 46976 100000"

# start_relay [impairments]: a relay in front of the server; the client
# talks to $RELAY_PORT.
start_relay() {
	RELAY_PORT=$(pick_port)
	RELAY_LOG=$BATS_TEST_TMPDIR/relay.log
	python3 "$TOP_SRCDIR/tests/integration/tftp_relay.py" --listen "$RELAY_PORT" \
		--server "127.0.0.1:$PORT" --log "$RELAY_LOG" "$@" 3>&- </dev/null &
	RELAY_PID=$!
	wait_for 5 port_in_use "$RELAY_PORT"
}

via_relay() { # atftp through the relay: get|put REMOTE LOCAL [atftp args]
	local dir=$1 remote=$2 local=$3
	shift 3
	if [[ $dir == get ]]; then
		atftp "$@" -g -r "$remote" -l "$local" 127.0.0.1 "$RELAY_PORT" </dev/null
	else
		atftp "$@" -p -l "$local" -r "$remote" 127.0.0.1 "$RELAY_PORT" </dev/null
	fi
}

# resumed_after K: the first DATA block at or below K + 1 that the server
# sent after the client's ACK K.
resumed_after() {
	awk -v k="$1" '$2 == "c2s" && $3 == "ACK" && $4 == k { seen = 1; next }
		seen && $2 == "s2c" && $3 == "DATA" && $4 <= k + 1 { print $4; exit }' "$RELAY_LOG"
}

# Server DATA block numbers in the order they left the server.
sent_data() { awk '$2 == "s2c" && $3 == "DATA" { print $4 }' "$RELAY_LOG"; }

@test "atftp downloads across windowsize 1..64 and the size matrix are exact" {
	need_cmd atftp
	local w size
	for size in $SIZES; do
		make_file "f$size" "$size"
	done
	start_server
	for w in 1 2 4 8 16 32 64; do
		for size in $SIZES; do
			rm -f "$WORK/o"
			atftp_get "f$size" "$WORK/o" --option "windowsize $w" --option "blksize 512" --option "timeout 2" 2>/dev/null
			assert_same "$ROOT/f$size" "$WORK/o"
		done
	done
	[[ $(log_count 'outcome=complete') -eq 56 ]]
	[[ $(log_count 'retransmits=0 outcome=complete') -eq 56 ]]
}

@test "atftp uploads across windowsize 1..64 and the size matrix are exact" {
	need_cmd atftp
	local w size
	make_upload_dir up
	for size in $SIZES; do
		make_local "f$size" "$size"
	done
	start_server -c
	for w in 1 2 4 8 16 32 64; do
		for size in $SIZES; do
			atftp_put "up/w$w-$size" "$WORK/f$size" --option "windowsize $w" --option "blksize 512" 2>/dev/null
		done
	done
	wait_for 5 log_count_is 'op=WRQ .*outcome=complete' 56
	for w in 1 2 4 8 16 32 64; do
		for size in $SIZES; do
			assert_same "$WORK/f$size" "$ROOT/up/w$w-$size"
		done
	done
}

@test "a lost DATA block: the client ACKs the block before it and the server resumes right after that ACK" {
	need_cmd atftp
	make_file f 100000
	start_server
	start_relay --drop-data 5,40
	# A long fixed timeout: only the gap ACK can repair the loss in time.
	via_relay get f "$WORK/o" --option "windowsize 8" --option "blksize 1024" --option "timeout 5" 2>/dev/null
	assert_same "$ROOT/f" "$WORK/o"
	cat "$RELAY_LOG"
	# After the client's ACK 4 the server goes back to DATA 5, not further
	# (the rest of the old window may still be in flight, so blocks above
	# 5 are skipped when looking).
	[[ $(resumed_after 4) == 5 ]]
	[[ $(resumed_after 39) == 40 ]]
	wait_log 'file="f".*outcome=complete'
	# Repaired by the gap ACKs, not by the 5 s retransmission timer.
	local secs
	secs=$(sed -n 's/.*file="f".* seconds=\([0-9.]*\).*/\1/p' "$SERVER_LOG")
	awk -v s="$secs" 'BEGIN { exit !(s < 2) }'
}

@test "duplicate ACKs never cause a resend (Sorcerer's Apprentice)" {
	need_cmd atftp
	make_file f 300000
	start_server
	start_relay --dup-ack
	# A fixed 5 s timeout rules out timer resends on a busy machine.
	via_relay get f "$WORK/o" --option "windowsize 4" --option "blksize 512" --option "timeout 5" 2>/dev/null
	assert_same "$ROOT/f" "$WORK/o"
	local blocks=$((300000 / 512 + 1))
	# Every ACK arrived twice; every block left the server exactly once.
	[[ $(grep -c ' c2s ACK .* dup$' "$RELAY_LOG") -gt 100 ]]
	[[ $(sent_data | wc -l) -eq $blocks ]]
	[[ $(sent_data | sort -n | uniq -d | wc -l) -eq 0 ]]
	wait_log 'file="f".*retransmits=0 outcome=complete'
}

@test "reordered DATA within a window: the transfer completes exactly" {
	need_cmd atftp
	make_file f 200000
	start_server
	start_relay --swap-data 3,20,77
	via_relay get f "$WORK/o" --option "windowsize 8" --option "blksize 1024" 2>/dev/null
	assert_same "$ROOT/f" "$WORK/o"
	grep -q ' s2c DATA 20 late' "$RELAY_LOG"
}

@test "a lost ACK: the server's timer resends the window from the last ACK + 1" {
	need_cmd atftp
	make_file f 50000
	start_server
	start_relay --drop-ack 8
	via_relay get f "$WORK/o" --option "windowsize 8" --option "blksize 1024" --option "timeout 1" 2>/dev/null
	assert_same "$ROOT/f" "$WORK/o"
	# The ACK of the first window (1..8) is lost: when the timer fires the
	# server sends that window again, from the last ACK (0) + 1.
	local after
	after=$(awk '$3 == "ACK" && $4 == 8 && $5 == "dropped" { getline; print $3, $4; exit }' "$RELAY_LOG")
	[[ $after == "DATA 1" ]]
	wait_log 'file="f".*outcome=complete'
	[[ $(log_count 'retransmits=8 outcome=complete') -eq 1 ]]
}

@test "a windowed upload with a dropped block completes exactly" {
	need_cmd atftp
	make_upload_dir up
	make_local f 100000
	start_server -c
	start_relay --drop-data 7,50
	via_relay put up/f "$WORK/f" --option "windowsize 8" --option "blksize 1024" 2>/dev/null
	wait_log 'op=WRQ .*outcome=complete'
	assert_same "$WORK/f" "$ROOT/up/f"
	grep -q ' c2s DATA 7 dropped' "$RELAY_LOG"
}

@test "random loss in both directions with a 2 ms round trip: every transfer completes exactly" {
	need_cmd atftp
	make_file f 300000
	make_upload_dir up
	make_local u 300000
	start_server -c
	start_relay --loss 3 --seed 7 --delay-ms 1
	via_relay get f "$WORK/o" --option "windowsize 16" --option "blksize 1468" --tftp-timeout 1 2>/dev/null
	assert_same "$ROOT/f" "$WORK/o"
	kill "$RELAY_PID"
	wait "$RELAY_PID" || true
	start_relay --loss 3 --seed 11 --delay-ms 1
	via_relay put up/u "$WORK/u" --option "windowsize 16" --option "blksize 1468" --tftp-timeout 1 2>/dev/null
	wait_log 'op=WRQ .*outcome=complete'
	assert_same "$WORK/u" "$ROOT/up/u"
	grep -q dropped "$RELAY_LOG"
}

@test "a client that sends a size probe (ERROR 8 after the OACK) is logged as a probe at info level" {
	make_file f 1000
	start_server -v
	run python3 - "$PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"\0\1f\0octet\0tsize\0" b"0\0blksize\0" b"1468\0", ("127.0.0.1", int(sys.argv[1])))
r, peer = s.recvfrom(1000)
print(r[:2] == b"\0\6" and b"tsize\x001000" in r)
s.sendto(b"\0\5\0\x08tsize only\0", peer)
PY
	[[ $output == True ]]
	wait_log 'file="f".*outcome=probe'
}

@test "a file over 4 GiB: 64-bit tsize, offsets past 4 GiB and block numbers across the wrap" {
	# Sparse but for its last MiB, so the test costs time, not disk.
	truncate -s 4G "$ROOT/huge"
	head -c 1048576 /dev/urandom >>"$ROOT/huge"
	chmod 0644 "$ROOT/huge"
	local size=$((4 * 1024 * 1024 * 1024 + 1048576))
	start_server
	run tftp_raw req rrq huge octet tsize 0
	[[ $output == "OACK tsize=$size" ]]
	# The client checks the size against tsize; the tail is compared here.
	"${SNOW_OWL:-$TOP_SRCDIR/snow-owl}" get -q -b 65464 -w 64 "tftp://127.0.0.1:$PORT/huge" - |
		tail -c 2097152 >"$WORK/tail"
	tail -c 2097152 "$ROOT/huge" | cmp - "$WORK/tail"
	wait_log "file=\"huge\" .*options=blksize=65464,tsize=$size,windowsize=64 bytes=$size .*outcome=complete"
}

# A clean link where one ACK comes 5-20 ms late for every 500 blocks
# (1 ACK in 500 at windowsize 1, 1 in 32 at 16), as boot firmware's do now
# and then: the server must wait for it rather than resend.
spiky_transfer() { # get|put WINDOWSIZE
	local dir=$1 w=$2 spikes
	start_relay --spike $((500 / w)):5:20 --seed "$w"
	if [[ $dir == get ]]; then
		via_relay get f "$WORK/o" --option "windowsize $w" --option "blksize 1468" 2>/dev/null
		assert_same "$ROOT/f" "$WORK/o"
		wait_log "op=RRQ .*options=.*windowsize=$w.*outcome=complete"
	else
		via_relay put "up/u$w" "$WORK/u" --option "windowsize $w" --option "blksize 1468" 2>/dev/null
		wait_log "op=WRQ .*file=\"up/u$w\".*outcome=complete"
		assert_same "$WORK/u" "$ROOT/up/u$w"
	fi
	spikes=$(grep -c ' spike ' "$RELAY_LOG" || true)
	[[ $spikes -ge 5 ]] || { echo "only $spikes ACKs were held" >&2; return 1; }
	kill "$RELAY_PID"
	wait "$RELAY_PID" || true
	RELAY_PID=
}

@test "rare late ACKs on a clean link: 8 MiB at windowsize 1 and 16, both ways, with no resend" {
	need_cmd atftp
	make_file f $((8 << 20))
	make_local u $((8 << 20))
	make_upload_dir up
	start_server -c
	local w
	for w in 1 16; do
		spiky_transfer get "$w"
		spiky_transfer put "$w"
	done
	[[ $(log_count 'outcome=complete') -eq 4 ]]
	if [[ $(log_count 'retransmits=0 outcome=complete') -ne 4 ]]; then
		grep outcome= "$SERVER_LOG" >&2
		return 1
	fi
}
