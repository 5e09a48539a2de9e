#!/usr/bin/env bats
# sandbox.bats - what a transfer child runs with, and proof that the
# seccomp filter is enforced.

load helpers

# held_child_status: /proc/PID/status of a live transfer child, held open
# by a client that waits 1.5 s before answering (and is waited for).
held_child_status() {
	local held child status
	tftp_raw --hold 1.5 req rrq hello.txt octet >/dev/null &
	held=$!
	wait_for 5 has_children
	child=$(server_children | head -n1)
	status=$(cat "/proc/$child/status")
	wait "$held"
	echo "$status"
}

@test "a transfer child: uid not 0, no capabilities, no_new_privs, seccomp filter mode" {
	copy_demo
	start_server --workers 0
	local status
	status=$(held_child_status)
	grep -E "^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" <<<"$status"
	! grep -Eq "^Uid:\s+0\s" <<<"$status"
	grep -Eq "^CapEff:\s+0+$" <<<"$status"
	grep -Eq "^CapPrm:\s+0+$" <<<"$status"
	grep -Eq "^NoNewPrivs:\s+1$" <<<"$status"
	grep -Eq "^Seccomp:\s+2$" <<<"$status"
	assert_serves_hello
}

@test "the same with uploads enabled and -s" {
	is_root || skip "needs root for -s"
	copy_demo
	make_upload_dir up
	start_server -s -c
	local status
	status=$(held_child_status)
	grep -Eq "^Seccomp:\s+2$" <<<"$status"
	grep -Eq "^NoNewPrivs:\s+1$" <<<"$status"
	make_local u 100000
	atftp_put up/u "$WORK/u" --option "windowsize 8"
	wait_log 'op=WRQ file="up/u".*outcome=complete'
	assert_same "$WORK/u" "$ROOT/up/u"
}

@test "the filter is enforced: a build without openat2 in it loses its transfer children to SIGSYS" {
	[[ -x ${SNOW_OWLD_FILTER_TEST:-} ]] || skip "the filter test build is not built"
	copy_demo
	# A child per transfer: the child dies, the dispatcher tells the
	# client from the transfer's port.
	SNOW_OWLD=$SNOW_OWLD_FILTER_TEST start_server -v --workers 0
	run tftp_raw -t 1 req rrq hello.txt octet
	[[ $output == "ERROR 0 Transfer interrupted" ]]
	wait_log "transfer [0-9]+ killed by signal 31"
	stop_server
	# A worker: it dies, the dispatcher tells the client from the
	# transfer's own port and starts another worker.
	SNOW_OWLD=$SNOW_OWLD_FILTER_TEST start_server -v --workers 1
	run tftp_raw -t 2 req rrq hello.txt octet
	[[ $output == "ERROR 0 Transfer interrupted" ]]
	wait_log "worker [0-9]+ killed by signal 31; 1 transfers lost"
	# With the debug switch the same build logs instead of killing.
	stop_server
	SNOW_OWLD=$SNOW_OWLD_FILTER_TEST start_server --seccomp-log
	assert_serves_hello
}

@test "descriptors the server inherits beyond 0-2 are closed: neither it, its workers nor a child hold them" {
	copy_demo
	make_file f 100000
	local model p holders=()
	for model in "" "--workers 0"; do
		# A file the shell that starts the daemon happens to have open.
		exec 7>"$WORK/inherited"
		# shellcheck disable=SC2086 # the option is words
		start_server $model
		exec 7>&-
		# A transfer held open: DATA 1 is never acknowledged.
		python3 - "$PORT" "$WORK/held" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"\x00\x01f\x00octet\x00", ("127.0.0.1", int(sys.argv[1])))
s.recvfrom(2048)
open(sys.argv[2], "w").close()
time.sleep(2)
PY
		local client=$!
		wait_for 5 test -e "$WORK/held"
		[[ $(server_children | wc -l) -ge 1 ]]
		for p in "$SERVER_PID" $(server_children); do
			if ls -l "/proc/$p/fd" 2>/dev/null | grep -q "$WORK/inherited"; then
				holders+=("$p")
			fi
		done
		wait "$client"
		rm -f "$WORK/held"
		stop_server
	done
	[[ ${#holders[@]} -eq 0 ]] || {
		echo "still open in: ${holders[*]}" >&2
		false
	}
}

@test "in the sandbox, socket() and connect() fail with EACCES (no new socket, no AF_UNIX service reached)" {
	[[ -x ${SNOW_OWLD_PROBE_TEST:-} ]] || skip "the probe test build is not built"
	copy_demo
	local model
	for model in "--workers 1" "--workers 0"; do
		# shellcheck disable=SC2086 # the option is words
		SNOW_OWLD=$SNOW_OWLD_PROBE_TEST start_server $model
		assert_serves_hello
		wait_log "probe: connect: "
		cat "$SERVER_LOG"
		grep -qx "probe: socket(AF_UNIX): Permission denied" "$SERVER_LOG"
		grep -qx "probe: socket(AF_INET): Permission denied" "$SERVER_LOG"
		grep -qx "probe: connect: Permission denied" "$SERVER_LOG"
		refute grep -q "allowed" "$SERVER_LOG"
		stop_server
	done
}

@test "a transfer child holds its own root directory and no other (--client-root)" {
	copy_demo
	local lab=$BATS_TEST_TMPDIR/lab other=$BATS_TEST_TMPDIR/other child held dirs
	mkdir -m 0755 "$lab" "$other"
	cp "$ROOT/hello.txt" "$lab/hello.txt"
	start_server --client-root "127.0.0.0/8=$lab" --client-root "10.0.0.0/8=$other"
	tftp_raw --hold 1.5 req rrq hello.txt octet >/dev/null &
	held=$!
	wait_for 5 has_children
	child=$(server_children | head -n1)
	dirs=$(for f in /proc/"$child"/fd/*; do
		if [[ -d $f ]]; then readlink "$f"; fi
	done)
	wait "$held"
	echo "directories held: $dirs"
	[[ $dirs == "$lab" ]]
}
