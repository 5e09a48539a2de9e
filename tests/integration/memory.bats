#!/usr/bin/env bats
# memory.bats - the senders' rings stay within --transfer-memory: one host
# that opens 1024 transfers at blksize 65464 and windowsize 64 (4 MiB of
# ring each, 4 GiB in all) gets small windows once its part of the budget
# (--client-memory) is spent, the server's resident memory stays within
# the budget, and another client's 10 MiB download completes meanwhile,
# byte for byte and within twice its time on an idle server.

load helpers

# hog N: N transfers of f10m at 65464/w64 from 127.0.0.2, each
# acknowledging its OACK and then nothing (the first window stays in the
# server's ring); prints the blksize and windowsize each was granted,
# then holds them until $STOP exists.
hog() {
	python3 - "$PORT" "$1" "$STOP" <<'PY'
import os, resource, socket, sys, time
port, n, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    s.sendto(b"\0\1f10m\0octet\0blksize\0" b"65464\0windowsize\0" b"64\0", ("127.0.0.1", port))
    socks.append(s)
for s in socks:
    while True:
        r, peer = s.recvfrom(70000)
        if r[:2] == b"\0\6":
            break
    f = r[2:].split(b"\0")
    opts = {f[i].decode(): f[i + 1].decode() for i in range(0, len(f) - 1, 2)}
    print(opts.get("blksize", "512"), opts.get("windowsize", "1"), flush=True)
    s.sendto(b"\0\4\0\0", peer)
end = time.monotonic() + 60
while not os.path.exists(stop) and time.monotonic() < end:
    time.sleep(0.05)
PY
}

# rss_kib: resident memory of the server and its workers, in KiB.
rss_kib() {
	local pid sum=0 kib
	for pid in "$SERVER_PID" $(server_children); do
		kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		sum=$((sum + ${kib:-0}))
	done
	echo "$sum"
}

# get_ms: fetch f10m with blksize 1428 and windowsize 16, check it, print
# the milliseconds it took.
get_ms() {
	local t0 t1
	rm -f "$WORK/f10m"
	t0=$(date +%s%N)
	"$SNOW_OWL" get -q -b 1428 -w 16 "tftp://127.0.0.1:$PORT/f10m" "$WORK/f10m" >&2
	t1=$(date +%s%N)
	assert_same "$ROOT/f10m" "$WORK/f10m" >&2
	echo $(((t1 - t0) / 1000000))
}

# attack BUDGET_MIB [server options]: the 1024-transfer attack against a
# server with --transfer-memory BUDGET_MIB M.
attack() {
	peak=0
	local budget=$1 idle busy rss before granted hog_pid i
	shift
	make_file f10m $((10 * 1024 * 1024))
	STOP=$BATS_TEST_TMPDIR/stop
	granted=$BATS_TEST_TMPDIR/granted
	start_server -v --max-transfers 2048 --transfer-memory "${budget}M" "$@"
	idle=$(get_ms)
	echo "10 MiB on an idle server: $idle ms"
	before=$(rss_kib)
	echo "resident before: $before KiB"
	hog 1024 >"$granted" &
	hog_pid=$!
	wait_for 30 eval '[[ $(wc -l <"$granted") -eq 1024 ]]'
	busy=$(get_ms)
	for i in 1 2 3 4 5 6 7 8 9 10; do
		rss=$(rss_kib)
		((rss > peak)) && peak=$rss
		sleep 0.1
	done
	echo "10 MiB under the attack: $busy ms"
	echo "resident under the attack: $peak KiB, $((peak - before)) KiB more (budget $((budget * 1024)) KiB)"
	echo "granted (blksize windowsize: transfers):"
	sort "$granted" | uniq -c | sort -rn | head -n 5
	# The windows add up to the attacker's part of the budget, and one
	# block of 512 for each transfer past it.
	local window_bytes
	window_bytes=$(awk '{ s += ($1 + 4) * $2 } END { print s }' "$granted")
	echo "the attacker's windows: $window_bytes bytes"
	((window_bytes <= CLIENT_CAP + 1024 * 516))
	[[ $(head -n1 "$granted") == "65464 "* ]]
	[[ $(tail -n1 "$granted") == "512 1" ]]
	# What the server holds beyond its idle self (the dispatcher, the
	# workers, their receive buffers) stays within the budget.
	((peak - before < budget * 1024))
	# The attacker's transfers fill the pace (--pace, 256 a worker)
	# until they have timed out twice in a row (some 750 ms for new
	# ones), so the download may first wait its turn, --pace-wait
	# (500 ms) at most.
	((busy <= 2 * idle + 1000 + 500))
	touch "$STOP"
	wait "$hog_pid"
	refute grep -Eq "killed by signal|Out of memory" "$SERVER_LOG"
}

@test "1024 transfers at 65464/w64 from one host, default budget: within it, another 10 MiB download completes" {
	CLIENT_CAP=$((32 * 1024 * 1024))
	attack 256
	echo "resident: $peak KiB in all"
	((peak < 256 * 1024))
}

@test "1024 transfers at 65464/w64 from one host, 24M budget: within it, another 10 MiB download completes" {
	CLIENT_CAP=$((4 * 1024 * 1024))
	attack 24 --client-memory 4M
}

@test "workers and transfer children run under RLIMIT_DATA, and a 4 MiB window fits in it" {
	local model pid lim
	make_file f 3000000
	for model in "--workers 1" "--workers 0 --max-transfers 16"; do
		# shellcheck disable=SC2086 # the options are words
		start_server $model
		run tftp_raw --rcvbuf $((8 * 1024 * 1024)) --get "$WORK/f" req rrq f octet blksize 65464 windowsize 64
		[[ ${lines[0]} == "OACK blksize=65464 windowsize=64" ]]
		assert_same "$ROOT/f" "$WORK/f"
		tftp_raw --hold 2 req rrq f octet >/dev/null &
		local held=$!
		wait_for 5 has_children
		pid=$(server_children | head -n1)
		lim=$(awk '/Max data size/ { print $4 }' "/proc/$pid/limits")
		echo "$model: RLIMIT_DATA $lim"
		if [[ -n ${SNOW_OWL_SANITIZERS-} ]]; then
			# ASan maps its shadow memory as data (terabytes of it):
			# that build sets no limit, by design (sandbox.c).
			[[ $lim == unlimited ]]
		else
			# A worker's grows with the transfers it may hold (some
			# 72 KiB each besides the windows' budget): 9992 under a
			# hard descriptor limit of 20000, 16384 under 65536.
			[[ $lim =~ ^[0-9]+$ ]]
			((lim < 2 * 1024 * 1024 * 1024))
		fi
		wait "$held"
		stop_server
	done
}
