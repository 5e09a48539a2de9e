#!/usr/bin/env bats
# lifecycle.bats - every ended transfer tells its client, and reloads and
# stops leave no process behind: a killed transfer child (--workers 0), a
# dispatcher killed under its workers, transfers cut by the drain timeout,
# retiring workers whose last transfer ends by any path, and process
# titles that follow the number of transfers.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# held_client FILE ACTION [PID]: a client that takes DATA 1 of $ROOT/FILE,
# never ACKs it, then (ACTION) kills PID's only child with SIGKILL
# (kill-child), kills PID (kill), sends it SIGTERM (term), or nothing
# (none), and waits up to 8 s for an ERROR, ignoring DATA sent again.
# Prints "ERROR <code> <message> same-port|other-port <ms>", the time
# counted from the action, or TIMEOUT.  With HELD_READY set, creates that
# file once DATA 1 has arrived; with HELD_TIMEOUT, asks for that timeout
# option (a fixed timeout the server does not shorten).
held_client() {
	python3 - "$PORT" "$@" <<'PY'
import os, signal, socket, sys, time
port, name, action = int(sys.argv[1]), sys.argv[2], sys.argv[3]
pid = int(sys.argv[4]) if len(sys.argv) > 4 else 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(8)
opts = b""
if os.environ.get("HELD_TIMEOUT"):
    opts = b"timeout\0" + os.environ["HELD_TIMEOUT"].encode() + b"\0"
s.sendto(b"\0\1" + name.encode() + b"\0octet\0" + opts, ("127.0.0.1", port))
data, tid = s.recvfrom(2048)
if data[:2] == b"\0\6":
    s.sendto(b"\0\4\0\0", tid)
    data, tid = s.recvfrom(2048)
assert data[:4] == b"\0\3\0\1", data[:4]
if os.environ.get("HELD_READY"):
    open(os.environ["HELD_READY"], "w").close()
if action == "kill-child":
    kids = []
    for t in os.listdir("/proc/%d/task" % pid):
        kids += open("/proc/%d/task/%s/children" % (pid, t)).read().split()
    assert len(kids) == 1, kids
    t0 = time.monotonic()
    os.kill(int(kids[0]), signal.SIGKILL)
elif action == "kill":
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
elif action == "term":
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
else:
    t0 = time.monotonic()
try:
    while True:
        data, src = s.recvfrom(2048)
        if data[:2] == b"\0\5":
            ms = (time.monotonic() - t0) * 1000
            print("ERROR %d %s %s %d" % (int.from_bytes(data[2:4], "big"), data[4:-1].decode(),
                  "same-port" if src == tid else "other-port", ms))
            break
except socket.timeout:
    print("TIMEOUT")
PY
}

# error_within OUTPUT MESSAGE MS: the ERROR 0 MESSAGE came from the
# transfer's port within MS milliseconds.
error_within() {
	[[ $1 =~ ^ERROR\ 0\ $2\ same-port\ ([0-9]+)$ ]] || {
		echo "expected ERROR 0 $2 from the transfer's port, got: $1" >&2
		return 1
	}
	((BASH_REMATCH[1] < $3)) || {
		echo "ERROR after ${BASH_REMATCH[1]} ms, more than $3" >&2
		return 1
	}
}

# All processes below $1 (its children, theirs...), pids one per line.
descendants() {
	local p
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$p"
		descendants "$p"
	done
}

@test "--workers 0: a transfer child killed with SIGKILL: its client gets ERROR 0 from the transfer's port within 100 ms" {
	make_file f 100000
	start_server --workers 0
	run held_client f kill-child "$SERVER_PID"
	error_within "$output" "Transfer interrupted" 100
	wait_log "transfer [0-9]+ killed by signal 9"
	# The server goes on serving.
	copy_demo
	assert_serves_hello
}

@test "a worker killed with SIGKILL: the same (the worker model already did)" {
	make_file f 100000
	start_server --workers 1
	wait_for 5 eval '[[ $(server_children | wc -l) -eq 1 ]]'
	run held_client f kill-child "$SERVER_PID"
	error_within "$output" "Transfer interrupted" 100
}

@test "drain timeout: the transfers it cuts get ERROR 0 \"Server stopped\", and no process is left (both models)" {
	make_file f 100000
	for model in "--workers 0" "--workers 2"; do
		start_server $model --drain-timeout 1
		local pid=$SERVER_PID procs
		# A second client, held the same way, in the background.
		held_client f none >"$WORK/other" &
		local other=$!
		wait_for 5 has_children
		procs=$(descendants "$pid")
		run held_client f term "$pid"
		# Cut at the drain timeout, 1 s after SIGTERM, not before.
		error_within "$output" "Server stopped" 1500
		[[ $output =~ \ ([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 900))
		wait "$other"
		[[ $(cat "$WORK/other") == "ERROR 0 Server stopped same-port"* ]]
		wait "$pid"
		SERVER_PID=
		wait_log "drain timeout: ending 2 transfers"
		local p
		for p in $procs; do
			refute pid_alive "$p"
		done
	done
}

@test "the dispatcher killed with SIGKILL: its worker sends ERROR 0 \"Server stopped\" and exits" {
	make_file f 100000
	start_server --workers 1
	wait_for 5 eval '[[ $(server_children | wc -l) -eq 1 ]]'
	local worker pid=$SERVER_PID
	worker=$(server_children)
	run held_client f kill "$pid"
	wait "$pid" || true
	SERVER_PID=
	# The worker hears the hangup at once (a loaded machine may take
	# longer than the 100 ms a killed child's client is promised).
	error_within "$output" "Server stopped" 500
	wait_for 2 refute pid_alive "$worker"
	grep -q 'outcome=failed detail="Server stopped"' "$SERVER_LOG"
}

@test "SIGHUP then SIGTERM, transfers ended by every path: the retiring worker exits at once, nothing is left 1 s after the drain timeout" {
	copy_demo
	make_file f 200000
	make_upload_dir up
	start_server -v -c --workers 1 --retries 2 -T 200000 --drain-timeout 2
	wait_for 5 eval '[[ $(server_children | wc -l) -eq 1 ]]'
	local pid=$SERVER_PID old all
	old=$(server_children)
	# In the old worker: an upload that ends in its dally after the
	# final ACK; a client that goes away; a client that stops answering;
	# a download that completes.
	tftp_raw --data 2 --hold 0.8 --last req wrq up/a octet timeout 1 >"$WORK/dally" &
	local dally=$!
	tftp_raw --hold 0.5 --vanish req rrq f octet >"$WORK/gone" &
	local gone=$!
	HELD_READY=$WORK/silent.ready held_client f none >"$WORK/silent" &
	local silent=$!
	tftp_raw --pause-at 2 0.8 --get "$WORK/got" req rrq f octet blksize 1024 timeout 1 >"$WORK/complete" &
	local complete=$!
	# Each has its first reply: all four run in the old worker.
	wait_for 5 eval 'test -s "$WORK/dally" -a -s "$WORK/gone" -a -s "$WORK/complete" -a -e "$WORK/silent.ready"'
	kill -HUP "$pid"
	wait_for 5 eval '[[ $(server_children | grep -vx "$old" | wc -l) -eq 1 ]]'
	all=$(descendants "$pid")
	# In the new worker: a client held until the drain timeout.
	HELD_READY=$WORK/cut.ready HELD_TIMEOUT=5 held_client f none >"$WORK/cut" &
	local cut=$!
	wait "$dally" "$gone" "$silent" "$complete"
	grep -q "LAST ACKED" "$WORK/dally"
	grep -q "GOT 200000 bytes" "$WORK/complete"
	wait_log 'file="up/a".*outcome=complete'
	wait_log 'file="f".*outcome=timeout'
	wait_log 'file="f".*outcome=(aborted|timeout)' # the client that went away
	# The old worker leaves as soon as its last transfer has ended: the
	# upload's dally is over 1 s after its final ACK.
	wait_for 1.5 refute pid_alive "$old"
	wait_for 10 test -e "$WORK/cut.ready"
	kill -TERM "$pid"
	wait "$cut"
	[[ $(cat "$WORK/cut") == "ERROR 0 Server stopped same-port"* ]]
	wait "$pid"
	SERVER_PID=
	sleep 1
	local p
	for p in $all; do
		refute pid_alive "$p"
	done
}

title_of() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }

@test "process titles follow the number of transfers at once, in the worker and the dispatcher" {
	make_file f 100000
	start_server --workers 1
	wait_for 5 eval '[[ $(server_children | wc -l) -eq 1 ]]'
	local worker
	worker=$(server_children)
	local clients=()
	for i in 1 2 3; do
		tftp_raw --hold 2 req rrq f octet >/dev/null &
		clients+=($!)
	done
	wait_for 3 eval '[[ $(title_of "$worker") == *"worker, 3 transfers"* ]]'
	wait_for 0.5 eval '[[ $(title_of "$SERVER_PID") == *" 3 active,"* ]]'
	wait "${clients[@]}"
	# The clients sent ERROR 0 and left: both titles say so at once (the
	# dispatcher used to wait up to a second, an idle worker for ever).
	wait_for 0.3 eval '[[ $(title_of "$worker") == *"worker, 0 transfers"* ]]'
	wait_for 0.3 eval '[[ $(title_of "$SERVER_PID") == *" 0 active,"* ]]'
}
