#!/usr/bin/env bats
# ops.bats - what operators see: the line per transfer and its outcomes,
# -v levels, the journal's fields, --metrics, process titles and STATUS=.

load helpers

JOURNAL_PID=
ACT_PID=

setup() {
	common_setup
	METRICS=$BATS_TEST_TMPDIR/metrics/snowowl.prom
	mkdir -p "$(dirname "$METRICS")"
}

teardown() {
	common_teardown
	local p
	for p in $JOURNAL_PID $ACT_PID; do
		pid_alive "$p" && kill "$p"
		wait "$p" 2>/dev/null || true
	done
	JOURNAL_PID=
	ACT_PID=
}

# ---- metrics ---------------------------------------------------------------

# A strict reader of the textfile format: every sample after the HELP and
# TYPE of its metric, numbers only, histogram buckets cumulative with +Inf
# equal to _count, a final newline.  Prints "NAME{LABELS} VALUE" lines.
_METRICS_PY=$(
	cat <<'PYEOF'
import re, sys

text = open(sys.argv[1]).read()
if not text.endswith("\n"):
    sys.exit("no final newline")
types, helps, samples = {}, set(), []
sample_re = re.compile(r'^([a-z_]+)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (\S+)$')
for ln in text[:-1].split("\n"):
    if ln.startswith("# HELP "):
        helps.add(ln.split(" ")[2])
        continue
    if ln.startswith("# TYPE "):
        _, _, name, kind = ln.split(" ")
        if name not in helps or name in types:
            sys.exit("TYPE without HELP, or twice: " + ln)
        types[name] = kind
        continue
    m = sample_re.match(ln)
    if not m:
        sys.exit("malformed line: " + repr(ln))
    name, labels, value = m.group(1), m.group(2) or "", m.group(3)
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    if name not in types and types.get(base) != "histogram":
        sys.exit("sample before its TYPE: " + ln)
    if not name.startswith("snowowl_"):
        sys.exit("not prefixed: " + ln)
    float(value)
    samples.append((name, labels, value))
# Buckets per op: cumulative, +Inf equal to _count.
hist = {}
for name, labels, value in samples:
    if name.endswith("_bucket"):
        op = re.search(r'op="(\w+)"', labels).group(1)
        hist.setdefault(op, []).append(int(value))
for name, labels, value in samples:
    if name.endswith("_count") and types.get(name[:-6]) == "histogram":
        op = re.search(r'op="(\w+)"', labels).group(1)
        b = hist[op]
        if b != sorted(b) or b[-1] != int(value):
            sys.exit("histogram of %s not cumulative or +Inf != _count" % op)
for name, labels, value in samples:
    print("%s%s %s" % (name, labels, value))
PYEOF
)

# read_metrics: parse $METRICS into $BATS_TEST_TMPDIR/metrics.txt.
read_metrics() {
	python3 -c "$_METRICS_PY" "$METRICS" >"$BATS_TEST_TMPDIR/metrics.txt"
}

# metric NAME{LABELS}: its value in the last read_metrics.
metric() {
	awk -v k="$1" '$1 == k { print $2; found = 1 } END { exit !found }' "$BATS_TEST_TMPDIR/metrics.txt"
}

# metric_is NAME{LABELS} VALUE: re-read the file and compare (for wait_for).
metric_is() {
	[[ -f $METRICS ]] && read_metrics && [[ $(metric "$1") == "$2" ]]
}

# Sum of the values of every sample whose name and labels match ERE.
metric_sum() {
	awk -v re="$1" '$1 ~ re { s += $2 } END { print s + 0 }' "$BATS_TEST_TMPDIR/metrics.txt"
}

# ---- clients -----------------------------------------------------------------

# probe FILE CODE: ask for FILE with tsize, then answer the OACK with
# ERROR CODE as PXE firmware does; prints the OACK.
probe() {
	python3 - "$PORT" "$1" "$2" <<'PY'
import socket, sys
port, name, code = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"\0\1" + name.encode() + b"\0octet\0tsize\0" + b"0\0", ("127.0.0.1", port))
r, peer = s.recvfrom(1024)
print(r[2:].replace(b"\0", b" ").decode().strip())
s.sendto(b"\0\5" + code.to_bytes(2, "big") + b"size only\0", peer)
PY
}

# counted_not_logged METRIC COMMAND...: at the default level, the transfer
# COMMAND makes brings METRIC to 1 but logs no line.
counted_not_logged() {
	local m=$1
	shift
	start_server --metrics "$METRICS" --metrics-interval 1
	"$@" >/dev/null
	wait_for 4 metric_is "$m" 1
	[[ $(log_count 'outcome=') -eq 0 ]]
	stop_server
}

# title_of PID: the process title (its command line up to the first NUL).
title_of() {
	tr '\0' '\n' <"/proc/$1/cmdline" | head -n1
}

title_is() { [[ $(title_of "$1") == "$2" ]]; }

# ---- the line per transfer -------------------------------------------------

LINE_HEAD='^snow-owld\[[0-9]+\]: peer=127\.0\.0\.1:[0-9]+ op=RRQ'

@test "complete download: one line with peer, file, mode, options, bytes, seconds, rate, retransmits, outcome" {
	make_file f 3000
	start_server
	# A fixed timeout: no timer resend on a busy machine (retransmits=0).
	run tftp_raw --get "$WORK/f" req rrq f octet blksize 1024 tsize 0 timeout 5
	assert_contains "$output" "GOT 3000 bytes"
	wait_log "outcome=complete"
	run grep "outcome=" "$SERVER_LOG"
	[[ ${#lines[@]} -eq 1 ]]
	[[ ${lines[0]} =~ $LINE_HEAD\ file=\"f\"\ mode=octet\ options=blksize=1024,tsize=3000,timeout=5\ bytes=3000\ seconds=[0-9]+\.[0-9]{3}\ rate_kib=[0-9]+\ retransmits=0\ outcome=complete$ ]]
}

@test "not found: no line at the default level but counted in the metrics; -v logs it" {
	counted_not_logged 'snowowl_refusals_total{op="rrq",code="1"}' tftp_raw req rrq missing octet
	[[ $(metric 'snowowl_transfers_total{op="rrq",outcome="refused"}') -eq 1 ]]
	start_server -v
	run tftp_raw req rrq missing octet
	[[ $output == "ERROR 1 File not found" ]]
	wait_log "$LINE_HEAD file=\"missing\" mode=octet options=- bytes=0 seconds=[0-9.]+ rate_kib=0 retransmits=0 outcome=refused detail=\"1 File not found\"$"
}

@test "refused: other errors are logged at the default level with the code and message sent" {
	make_file secret 100
	chmod 0600 "$ROOT/secret"
	start_server --read-only
	run tftp_raw req rrq secret octet
	[[ $output == "ERROR 2 "* ]]
	run tftp_raw req wrq up octet
	[[ $output == "ERROR 2 Uploads are disabled" ]]
	wait_log "$LINE_HEAD file=\"secret\" mode=octet .* outcome=refused detail=\"2 Access violation\"$"
	wait_log 'op=WRQ file="up" mode=octet .* outcome=refused detail="2 Uploads are disabled"$'
}

@test "client abort: an ERROR from the client during the transfer is outcome=aborted with its message" {
	make_file f 5000
	start_server
	run tftp_raw req rrq f octet
	[[ $output == "DATA 1 512" ]]
	wait_log "$LINE_HEAD file=\"f\" mode=octet options=- bytes=0 .* outcome=aborted detail=\"client error 0: test done\"$"
}

@test "probe: tsize then ERROR 8 right after the OACK is a probe, quiet by default, served in the counts" {
	make_file boot.img 4096
	counted_not_logged 'snowowl_transfers_total{op="rrq",outcome="probe"}' probe boot.img 8
	[[ $(metric 'snowowl_transfers_total{op="rrq",outcome="aborted"}') -eq 0 ]]
	start_server -v
	run probe boot.img 8
	[[ $output == "tsize 4096" ]]
	run probe boot.img 0
	wait_for 5 log_count_is 'outcome=probe' 2
	wait_log "$LINE_HEAD file=\"boot.img\" mode=octet options=tsize=4096 bytes=0 .* outcome=probe detail=\"client error 8: size only\"$"
	wait_log 'outcome=probe detail="client error 0: size only"$'
}

@test "an upload whose client leaves right after its last block is complete, not aborted" {
	make_upload_dir
	start_server -c
	# The last block twice, then the port closes: the ACK of the repeat
	# meets a closed port while the server waits for one more repeat.
	python3 - "$PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"\0\2up/last\0octet\0", ("127.0.0.1", int(sys.argv[1])))
r, peer = s.recvfrom(100)
assert r == b"\0\4\0\0", r
s.sendto(b"\0\3\0\1end\n", peer)
r, _ = s.recvfrom(100)
assert r == b"\0\4\0\1", r
s.sendto(b"\0\3\0\1end\n", peer)
s.close()
PY
	wait_log 'op=WRQ file="up/last" .*bytes=4 .*outcome=complete$'
	[[ $(log_count 'outcome=aborted') -eq 0 ]]
	[[ $(cat "$ROOT/up/last") == end ]]
}

@test "-v levels: notice by default, -v adds info (not found), -vv adds debug (dropped datagrams)" {
	copy_demo
	local level
	for level in "" -v -vv; do
		start_server $level
		tftp_raw -t 0.3 raw '\x00\x03\x00\x01x' >/dev/null # DATA to the listener
		tftp_raw req rrq missing octet >/dev/null
		assert_serves_hello
		wait_log 'file="hello.txt" .*outcome=complete'
		wait_for 3 no_children
		case $level in
		"") [[ $(log_count 'file="missing"') -eq 0 && $(log_count 'dropped opcode') -eq 0 ]] ;;
		-v) [[ $(log_count 'file="missing"') -eq 1 && $(log_count 'dropped opcode') -eq 0 ]] ;;
		-vv) [[ $(log_count 'file="missing"') -eq 1 && $(log_count 'dropped opcode 3 from 127\.0\.0\.1:') -eq 1 ]] ;;
		esac
		stop_server
	done
}

# ---- metrics -----------------------------------------------------------------

@test "metrics: counts, bytes and durations exact after known transfers" {
	make_file f 3000
	make_file g 100000
	make_file secret 10
	chmod 0600 "$ROOT/secret"
	make_upload_dir
	make_local u 2000
	start_server -c --metrics "$METRICS" --metrics-interval 1
	local i
	for i in 1 2 3; do
		run tftp_raw --get "$WORK/f$i" req rrq f octet
		assert_contains "$output" "GOT 3000 bytes"
	done
	run tftp_raw --get "$WORK/g" req rrq g octet blksize 1428 windowsize 8
	assert_contains "$output" "GOT 100000 bytes"
	run tftp_raw --put "$WORK/u" req wrq up/u octet
	assert_contains "$output" "PUT 2000 bytes"
	tftp_raw req rrq missing octet >/dev/null
	tftp_raw req rrq missing/too octet >/dev/null
	tftp_raw req rrq secret octet >/dev/null
	tftp_raw req rrq f octet >/dev/null # aborted after DATA 1
	wait_for 5 metric_is 'snowowl_transfer_duration_seconds_count{op="rrq"}' 8
	wait_for 3 metric_is 'snowowl_transfer_duration_seconds_count{op="wrq"}' 1
	cat "$BATS_TEST_TMPDIR/metrics.txt"
	[[ $(metric 'snowowl_transfers_total{op="rrq",outcome="complete"}') -eq 4 ]]
	[[ $(metric 'snowowl_transfers_total{op="rrq",outcome="refused"}') -eq 3 ]]
	[[ $(metric 'snowowl_transfers_total{op="rrq",outcome="aborted"}') -eq 1 ]]
	[[ $(metric 'snowowl_transfers_total{op="wrq",outcome="complete"}') -eq 1 ]]
	[[ $(metric_sum '^snowowl_transfers_total') -eq 9 ]]
	[[ $(metric 'snowowl_refusals_total{op="rrq",code="1"}') -eq 2 ]]
	[[ $(metric 'snowowl_refusals_total{op="rrq",code="2"}') -eq 1 ]]
	[[ $(metric_sum '^snowowl_refusals_total') -eq 3 ]]
	[[ $(metric snowowl_sent_bytes_total) -eq 109000 ]]
	[[ $(metric snowowl_received_bytes_total) -eq 2000 ]]
	[[ $(metric_sum '^snowowl_transfer_duration_seconds_count') -eq 9 ]]
	[[ $(metric 'snowowl_transfer_duration_seconds_bucket{op="rrq",le="+Inf"}') -eq 8 ]]
	[[ $(metric snowowl_transfers_active) -eq 0 ]]
	[[ $(metric snowowl_transfers_queued) -eq 0 ]]
	[[ $(metric snowowl_transfers_lost_total) -eq 0 ]]
	[[ $(metric snowowl_requests_dropped_total) -eq 0 ]]
	[[ $(metric "snowowl_info{version=\"$("$SNOW_OWLD" -V | cut -d' ' -f2)\",root=\"$(realpath "$ROOT")\"}") -eq 1 ]]
}

@test "metrics: a child killed before its report counts as lost and failed, not as an outcome" {
	[[ -x ${SNOW_OWLD_FILTER_TEST:-} ]] || skip "the filter test build is not built"
	copy_demo
	# This build's filter lacks openat2 (every download opens its file): its children die by SIGSYS.
	SNOW_OWLD=$SNOW_OWLD_FILTER_TEST start_server --metrics "$METRICS" --metrics-interval 1 --workers 0
	run tftp_raw -t 1 req rrq hello.txt octet
	[[ $output == "ERROR 0 Transfer interrupted" ]]
	wait_for 4 metric_is snowowl_transfers_lost_total 1
	[[ $(metric_sum '^snowowl_transfers_total') -eq 0 ]]
	[[ $(metric_sum '^snowowl_transfer_duration_seconds_count') -eq 0 ]]
	wait_for 2 title_is "$SERVER_PID" \
		"snow-owld-filter-test: 0 active, 0 queued, 0 served, 1 failed (0 not found), 0 dropped (busy), 0 lost (buffer full), 0 B sent, 0 B received"
	# A worker dies the same way, with the transfer it was running.
	stop_server
	SNOW_OWLD=$SNOW_OWLD_FILTER_TEST start_server --metrics "$METRICS" --metrics-interval 1 --workers 1
	run tftp_raw -t 2 req rrq hello.txt octet
	[[ $output == "ERROR 0 Transfer interrupted" ]]
	wait_for 4 metric_is snowowl_transfers_lost_total 1
	[[ $(metric_sum '^snowowl_transfers_total') -eq 0 ]]
}

@test "metrics: the file is replaced atomically (never seen partial) and written at exit" {
	make_file f 20000
	start_server --metrics "$METRICS" --metrics-interval 1
	wait_for 3 test -f "$METRICS"
	# Read it over and over while it is rewritten and transfers end.
	python3 - "$METRICS" 3.5 >"$BATS_TEST_TMPDIR/reads" <<'PY' &
import os, sys, time
path, until = sys.argv[1], time.time() + float(sys.argv[2])
reads, inodes, bad = 0, set(), 0
while time.time() < until:
    with open(path) as f:
        inodes.add(os.fstat(f.fileno()).st_ino)
        t = f.read()
    reads += 1
    if not (t.startswith("# HELP ") and t.endswith("} 1\n") and "snowowl_info{" in t):
        bad += 1
print(reads, len(inodes), bad)
PY
	local reader=$!
	for i in 1 2 3 4 5 6; do
		tftp_raw --get "$WORK/f" req rrq f octet >/dev/null
		sleep 0.4
	done
	wait "$reader"
	local reads inodes bad
	read -r reads inodes bad <"$BATS_TEST_TMPDIR/reads"
	echo "reads=$reads inodes=$inodes bad=$bad"
	((reads > 100 && inodes >= 3 && bad == 0))
	stop_server
	run ls "$(dirname "$METRICS")"
	[[ $output == "snowowl.prom" ]] # no temporary file left behind

	# A long interval: the transfer shows only through the write at exit.
	start_server --metrics "$METRICS" --metrics-interval 3600
	tftp_raw --get "$WORK/f" req rrq f octet >/dev/null
	wait_log 'outcome=complete'
	read_metrics
	[[ $(metric 'snowowl_transfers_total{op="rrq",outcome="complete"}') -eq 0 ]]
	stop_server
	read_metrics
	[[ $(metric 'snowowl_transfers_total{op="rrq",outcome="complete"}') -eq 1 ]]
	[[ $(metric snowowl_sent_bytes_total) -eq 20000 ]]
}

@test "metrics: an unwritable file is one warning, and serving goes on" {
	copy_demo
	start_server --metrics "$BATS_TEST_TMPDIR/none/m.prom" --metrics-interval 1
	assert_serves_hello
	sleep 2.2
	assert_serves_hello
	[[ $(log_count "cannot write $BATS_TEST_TMPDIR/none/m.prom: No such file or directory") -eq 1 ]]
}

# ---- titles and STATUS= ------------------------------------------------------

@test "process titles: a child shows peer, request, file and progress; the dispatcher its counts" {
	make_file f 51200 # 100 blocks
	head -c 51200 /dev/zero | tr '\0' a >"$ROOT/t"
	chmod 0644 "$ROOT/t"
	# The client pauses for 3 s: enough retries to outlast the backoff.
	start_server --retries 50 --workers 0
	tftp_raw --pause-at 50 3 --get "$WORK/f" req rrq f octet >"$BATS_TEST_TMPDIR/get1" &
	local client=$! child
	wait_for 2 has_children
	child=$(server_children | head -n1)
	# 49 of 100 blocks acknowledged while the client waits before the 50th.
	wait_for 1.8 title_is "$child" "snow-owld: 127.0.0.1 RRQ f 49%"
	wait_for 1.5 title_is "$SERVER_PID" \
		"snow-owld: 1 active, 0 queued, 0 served, 0 failed (0 not found), 0 dropped (busy), 0 lost (buffer full), 0 B sent, 0 B received"
	wait "$client"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/get1")" "GOT 51200 bytes"
	# netascii: the size on the wire is not known, the title counts bytes.
	tftp_raw --pause-at 50 3 --get "$WORK/t" req rrq t netascii >"$BATS_TEST_TMPDIR/get2" &
	client=$!
	wait_for 2 has_children
	child=$(server_children | head -n1)
	wait_for 1.8 title_is "$child" "snow-owld: 127.0.0.1 RRQ t 24.5 KiB"
	wait "$client"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/get2")" "GOT 51200 bytes"
	wait_for 3 title_is "$SERVER_PID" \
		"snow-owld: 0 active, 0 queued, 2 served, 0 failed (0 not found), 0 dropped (busy), 0 lost (buffer full), 100.0 KiB sent, 0 B received"
}

@test "STATUS= for systemctl status: active, queued, served, failed, not found, bytes" {
	need_cmd systemd-socket-activate
	make_file f 3000
	local sock=$BATS_TEST_TMPDIR/notify log=$BATS_TEST_TMPDIR/notify.log
	notify_listener "$sock" "$log" 3>&- &
	local listener=$!
	wait_for 5 test -S "$sock"
	PORT=$(pick_port)
	activate_env
	# The idle timeout is long enough that a slow machine between the two
	# requests does not end the server; SIGTERM ends it.
	systemd-socket-activate --datagram "${ACT_ENV[@]}" -l "127.0.0.1:$PORT" -E NOTIFY_SOCKET="$sock" \
		"$SNOW_OWLD" -t 60 "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
	ACT_PID=$!
	wait_for 5 grep -q "Listening on 127.0.0.1:$PORT" "$SERVER_LOG"
	run tftp_raw --get "$WORK/f" req rrq f octet
	assert_contains "$output" "GOT 3000 bytes"
	run tftp_raw req rrq missing octet
	[[ $output == "ERROR 1 File not found" ]]
	# While it runs: the line follows the counts within a second or so.
	wait_for 5 grep -q "STATUS=0 active, 0 queued, 1 served, 1 failed (1 not found), 0 dropped (busy), 0 lost (buffer full), 2.9 KiB sent, 0 B received" \
		"$log" || { cat "$log"; false; }
	kill -TERM "$ACT_PID"
	wait "$ACT_PID"
	ACT_PID=
	wait "$listener"
	grep -q "STOPPING=1" "$log"
}

# ---- the journal -------------------------------------------------------------

# start_journal: a stand-in for journald on $JDIR/socket that stores each
# entry as a JSON object per line in $JDIR/entries, decoding the native
# protocol (NAME=value lines, and the binary form NAME\n<le64><value>\n).
start_journal() {
	JDIR=$BATS_TEST_TMPDIR/journal
	mkdir -p "$JDIR"
	python3 - "$JDIR/socket" "$JDIR/entries" 3>&- <<'PY' &
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a")
while True:
    d, i, e = s.recv(65536), 0, {}
    while i < len(d):
        nl = d.index(b"\n", i)
        line = d[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k, n = line, struct.unpack("<Q", d[nl + 1:nl + 9])[0]
            v = d[nl + 9:nl + 9 + n]
            assert d[nl + 9 + n:nl + 10 + n] == b"\n"
            i = nl + 10 + n
        e[k.decode()] = v.decode("latin-1")
    out.write(json.dumps(e) + "\n")
    out.flush()
PY
	JOURNAL_PID=$!
	wait_for 5 test -S "$JDIR/socket"
	touch "$JDIR/entries"
	# The daemon runs in a mount namespace where the stand-in sits at
	# /run/systemd/journal, with JOURNAL_STREAM naming its standard
	# error, as under systemd (JOURNAL_STREAM_AS overrides that).
	REAL_SNOW_OWLD=$SNOW_OWLD
	SNOW_OWLD=$BATS_TEST_TMPDIR/snow-owld-under-journal
	cat >"$SNOW_OWLD" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c '
	mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal &&
	mount --bind "\$0" /run/systemd/journal || exit 1
	JOURNAL_STREAM=\${JOURNAL_STREAM_AS:-\$(stat -L -c %d:%i /proc/self/fd/2)}
	export JOURNAL_STREAM
	exec "\$@"' "$JDIR" "$REAL_SNOW_OWLD" "\$@"
EOF
	chmod +x "$SNOW_OWLD"
}

# journal_field MESSAGE_ERE FIELD: FIELD of the first entry whose MESSAGE
# matches; fails when there is no such entry or field.
journal_field() {
	python3 - "$JDIR/entries" "$1" "$2" <<'PY'
import json, re, sys
for ln in open(sys.argv[1]):
    e = json.loads(ln)
    if re.search(sys.argv[2], e.get("MESSAGE", "")):
        if sys.argv[3] not in e:
            sys.exit(1)
        print(e[sys.argv[3]])
        sys.exit(0)
sys.exit(1)
PY
}

journal_has() { journal_field "$1" MESSAGE >/dev/null; }

@test "journal: under systemd every line goes to the journal with TFTP_ fields, from chrooted children too" {
	is_root || skip "mount namespaces need root"
	need_cmd unshare
	copy_demo
	make_file secret 10
	chmod 0600 "$ROOT/secret"
	start_journal
	start_server -s -v
	assert_serves_hello
	tftp_raw req rrq missing octet >/dev/null
	tftp_raw req rrq secret octet >/dev/null
	wait_for 5 journal_has 'file="secret"'
	local m='file="hello.txt"'
	[[ $(journal_field "$m" TFTP_PEER) =~ ^127\.0\.0\.1:[0-9]+$ ]]
	[[ $(journal_field "$m" TFTP_OP) == RRQ ]]
	[[ $(journal_field "$m" TFTP_FILE) == hello.txt ]]
	[[ $(journal_field "$m" TFTP_MODE) == octet ]]
	[[ $(journal_field "$m" TFTP_OPTIONS) == - ]]
	[[ $(journal_field "$m" TFTP_BYTES) == "$(stat -c %s "$ROOT/hello.txt")" ]]
	[[ $(journal_field "$m" TFTP_SECONDS) =~ ^[0-9]+\.[0-9]{3}$ ]]
	[[ $(journal_field "$m" TFTP_RATE_KIB) =~ ^[0-9]+$ ]]
	[[ $(journal_field "$m" TFTP_RETRANSMITS) == 0 ]]
	[[ $(journal_field "$m" TFTP_OUTCOME) == complete ]]
	[[ $(journal_field "$m" PRIORITY) == 5 ]]
	[[ $(journal_field "$m" SYSLOG_IDENTIFIER) == snow-owld ]]
	[[ $(journal_field "$m" MESSAGE) =~ ^peer=127\.0\.0\.1:[0-9]+\ op=RRQ\ file=\"hello.txt\"\ .*outcome=complete$ ]]
	refute journal_field "$m" TFTP_ERROR
	refute journal_field "$m" TFTP_DETAIL
	m='file="missing"'
	[[ $(journal_field "$m" PRIORITY) == 6 ]] # info: only with -v
	[[ $(journal_field "$m" TFTP_OUTCOME) == refused ]]
	[[ $(journal_field "$m" TFTP_ERROR) == 1 ]]
	[[ $(journal_field "$m" TFTP_DETAIL) == "1 File not found" ]]
	[[ $(journal_field 'file="secret"' TFTP_ERROR) == 2 ]]
	[[ $(journal_field 'file="secret"' PRIORITY) == 5 ]]
	# The dispatcher's own messages go there too; standard error stays empty.
	journal_has "^listening on 127\.0\.0\.1:$PORT, serving "
	[[ ! -s $SERVER_LOG ]]
}

@test "journal: a JOURNAL_STREAM that is not standard error leaves the lines on standard error" {
	is_root || skip "mount namespaces need root"
	need_cmd unshare
	copy_demo
	start_journal
	JOURNAL_STREAM_AS=1:1 start_server
	assert_serves_hello
	wait_log "$LINE_HEAD file=\"hello.txt\" .*outcome=complete$"
	[[ ! -s $JDIR/entries ]]
}
