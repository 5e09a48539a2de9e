#!/usr/bin/env bats
# reflection.bats - a peer that never answers (its address may be
# spoofed: TFTP as a reflector) gets the first reply and at most two
# resends, and no ERROR (the transfer still waits out --retries, silently);
# a peer that has answered gets every retry.

load helpers

# listen_silently [-6] OPCODE FILE [NAME VALUE]...: send a request and
# print every datagram that arrives in the next 2.5 s, one per line,
# without ever answering.
listen_silently() {
	python3 -c "$_TFTP_DESCRIBE_PY"$'\n'"$(
		cat <<'PY'
import socket, sys, time
args = sys.argv[1:]
fam, host = socket.AF_INET, "127.0.0.1"
if args[0] == "-6":
    fam, host = socket.AF_INET6, "::1"
    args.pop(0)
port, op = int(args.pop(0)), {"rrq": 1, "wrq": 2}[args.pop(0)]
s = socket.socket(fam, socket.SOCK_DGRAM)
s.sendto(op.to_bytes(2, "big") + b"".join(a.encode() + b"\0" for a in [args[0], "octet"] + args[1:]),
         (host, port))
end = time.monotonic() + 2.5
while time.monotonic() < end:
    s.settimeout(max(0.01, end - time.monotonic()))
    try:
        r, _ = s.recvfrom(70000)
        print(describe(r), flush=True)
    except socket.timeout:
        break
PY
	)" "$@"
}

@test "a peer that never answers: the first reply and 2 resends, no ERROR (RRQ, OACK, WRQ; both models)" {
	make_file f 100000
	make_upload_dir up
	local model
	for model in "" "--workers 0"; do
		# shellcheck disable=SC2086 # the option is words
		start_server -v -c -T 20000 --retries 4 $model
		run listen_silently "$PORT" rrq f
		printf '%s\n' "$output"
		[[ $output == $'DATA 1 512\nDATA 1 512\nDATA 1 512' ]]
		run listen_silently -6 "$PORT" rrq f blksize 1428
		[[ $output == $'OACK blksize=1428\nOACK blksize=1428\nOACK blksize=1428' ]]
		run listen_silently "$PORT" wrq up/x
		[[ $output == $'ACK 0\nACK 0\nACK 0' ]]
		wait_log 'op=WRQ file="up/x" .*retransmits=2 outcome=timeout detail="Timeout"'
		[[ $(log_count 'file="f" .*retransmits=2 outcome=timeout detail="Timeout"') -eq 2 ]]
		stop_server
	done
}

@test "a peer that has answered keeps every retry, and gets the ERROR" {
	make_file f 100000
	start_server -v -T 20000 --retries 4
	run python3 -c "$_TFTP_DESCRIBE_PY"$'\n'"$(
		cat <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"\0\1f\0octet\0", ("127.0.0.1", int(sys.argv[1])))
r, peer = s.recvfrom(70000)
print(describe(r))
s.sendto(b"\0\4\0\1", peer)   # ACK 1, then silence
try:
    while True:
        r, _ = s.recvfrom(70000)
        print(describe(r))
        if r[:2] == b"\0\5":
            break
except socket.timeout:
    print("TIMEOUT")
PY
	)" "$PORT"
	printf '%s\n' "$output"
	[[ $output == $'DATA 1 512\nDATA 2 512\nDATA 2 512\nDATA 2 512\nDATA 2 512\nDATA 2 512\nERROR 0 Timeout' ]]
}

# flood_ns N SECONDS: from the client namespace, N requests for big.img
# over SECONDS, each from its own port of 10.88.0.99, an address no host
# has (IP_TRANSPARENT): nobody answers, as when the source is forged.
flood_ns() {
	ip netns exec "$CNS" python3 - "$1" "$2" <<'PY'
import socket, sys, time
n, secs = int(sys.argv[1]), float(sys.argv[2])
IP_TRANSPARENT = 19
t0 = time.monotonic()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    s.bind(("10.88.0.99", 20000 + i))
    s.sendto(b"\0\1big.img\0octet\0", ("10.77.0.1", 6969))
    s.close()
    time.sleep(max(0, t0 + secs * (i + 1) / n - time.monotonic()))
PY
}

# victim_bytes: bytes (IP packets) that reached the client namespace for
# 10.88.0.0/24.
victim_bytes() {
	ip netns exec "$CNS" nft list chain inet sotest pre |
		awk '/10\.88\.0\.0\/24/ { for (i = 1; i < NF; i++) if ($i == "bytes") print $(i + 1) }'
}

@test "a flood from a forged source is held to its network's budget; another network is served meanwhile" {
	is_root || skip "needs root for network namespaces"
	need_cmd ip nft python3
	SNS=so-refl-s-$$ CNS=so-refl-c-$$
	netns_add "$SNS"
	netns_add "$CNS"
	ip -n "$SNS" link add r0 type veth peer name r1 netns "$CNS"
	ip -n "$SNS" addr add 10.77.0.1/24 dev r0
	ip -n "$CNS" addr add 10.77.0.2/24 dev r1
	ip -n "$SNS" link set r0 up
	ip -n "$CNS" link set r1 up
	ip -n "$SNS" route add 10.88.0.0/24 via 10.77.0.2
	ip netns exec "$CNS" nft -f - <<-'NFT'
		table inet sotest {
			chain pre {
				type filter hook prerouting priority 0;
				ip daddr 10.88.0.0/24 counter
			}
		}
	NFT
	truncate -s 100M "$ROOT/big.img"
	make_file f 1000000
	PORT=6969
	local rate burst secs=3 n=150 got allowed unlimited model before
	rate=$((10 * 1024)) burst=$((20 * 1024))
	for model in "" "--workers 0"; do
		# shellcheck disable=SC2086 # the option is words
		ip netns exec "$SNS" "$SNOW_OWLD" -L -a "10.77.0.1:$PORT" -v -T 50000 --retries 3 $model \
			--unverified-rate "$rate" --unverified-burst "$burst" --metrics "$BATS_TEST_TMPDIR/m.prom" \
			--metrics-interval 1 "$ROOT" >"$SERVER_LOG" 2>&1 3>&- </dev/null &
		SERVER_PID=$!
		wait_for 5 grep -q "listening on 10.77.0.1" "$SERVER_LOG"
		before=$(victim_bytes)
		flood_ns "$n" "$secs" &
		local flood=$!
		# Another network's client, in the middle of the flood.
		sleep 1
		ip netns exec "$CNS" "$SNOW_OWL" get -q "tftp://10.77.0.1:$PORT/f" "$WORK/f"
		assert_same "$ROOT/f" "$WORK/f"
		wait "$flood"
		sleep 2 # the last resends
		got=$(($(victim_bytes) - before))
		# What was charged bounds what was sent: the burst, and the rate
		# for as long as the flood lasted.
		allowed=$((burst + rate * secs))
		echo "${model:-workers}: $n forged requests in $secs s, $got bytes to their network ($((got / (secs + 2))) a second over $((secs + 2)) s); budget $allowed"
		((got > 0 && got <= allowed))
		wait_log 'dropped RRQ from 10\.88\.0\.99:[0-9]+: its network.s unverified bytes are spent'
		wait_for 5 grep -Eq '^snowowl_requests_unverified_limited_total\{op="rrq"\} [1-9]' "$BATS_TEST_TMPDIR/m.prom"
		grep '^snowowl_requests_unverified_limited_total' "$BATS_TEST_TMPDIR/m.prom"
		stop_server
	done
	# Without the budget the same flood gets its three datagrams a request
	# (each in a process of its own: in a worker, whose forged transfers
	# are never answered, their silent queue holds most resends back).
	ip netns exec "$SNS" "$SNOW_OWLD" -L -a "10.77.0.1:$PORT" -T 50000 --retries 3 --unverified-rate 0 --workers 0 "$ROOT" \
		>"$SERVER_LOG" 2>&1 3>&- </dev/null &
	SERVER_PID=$!
	wait_for 5 grep -q "listening on 10.77.0.1" "$SERVER_LOG"
	before=$(victim_bytes)
	flood_ns "$n" "$secs"
	sleep 2
	unlimited=$(($(victim_bytes) - before))
	echo "no budget: $unlimited bytes to their network"
	((unlimited >= n * 3 * (516 + 28)))
}
