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
	# A child per transfer: the child dies, the client hears nothing.
	SNOW_OWLD=$SNOW_OWLD_FILTER_TEST start_server -v --workers 0
	run tftp_raw -t 1 req rrq hello.txt octet
	[[ $output == TIMEOUT ]]
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
