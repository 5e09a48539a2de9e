#!/bin/bash
# amplification.sh - how much a spoofed-source flood makes snow-owld send
# to its victim (as root; not run by make check).
#
# Two network namespaces joined by a veth pair: the server in one, the
# "victim" network in the other.  From the victim side, N requests for a
# 100 MiB file are sent with the source address 10.88.0.99, which no host
# has (IP_TRANSPARENT lets the socket use it): nobody ever answers the
# replies, exactly as when the source is spoofed.  The victim side's veth
# counts the bytes that arrive (every reply, with its IP and UDP headers)
# and the bytes that left (the requests).  Prints the amplification
# factor: bytes received by the victim / bytes of the requests.
#
# With DURATION, the requests are spread over that many seconds, and the
# bytes per second that reached the victim network during the flood are
# printed too: what --unverified-rate and --unverified-burst hold it to
# (compare with ARGS="--unverified-rate 0").
#
# Environment: SNOW_OWLD (default ./snow-owld), N (default 200), ARGS
# (extra server options), WAIT (seconds to let resends run out, default 40),
# DURATION (seconds the flood lasts, default 0: as fast as it can).
set -euo pipefail
SNOW_OWLD=${SNOW_OWLD:-./snow-owld}
N=${N:-200}
WAIT=${WAIT:-40}
DURATION=${DURATION:-0}
S=so-amp-s-$$
C=so-amp-c-$$
dir=$(mktemp -d)
pid=
cleanup() {
	[[ -z $pid ]] || kill "$pid" 2>/dev/null || true
	ip netns del "$S" 2>/dev/null || true
	ip netns del "$C" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
mkdir -m 0755 "$dir/root"
truncate -s 100M "$dir/root/big.img"
chmod 0644 "$dir/root/big.img"
ip netns add "$S"
ip netns add "$C"
ip -n "$S" link set lo up
ip -n "$C" link set lo up
ip -n "$S" link add a0 type veth peer name a1 netns "$C"
ip -n "$S" addr add 10.77.0.1/24 dev a0
ip -n "$C" addr add 10.77.0.2/24 dev a1
ip -n "$S" link set a0 up
ip -n "$C" link set a1 up
ip -n "$S" route add 10.88.0.0/24 via 10.77.0.2
# shellcheck disable=SC2086 # ARGS are words
ip netns exec "$S" "$SNOW_OWLD" -L -a 10.77.0.1:69 ${ARGS:-} "$dir/root" >"$dir/log" 2>&1 </dev/null &
pid=$!
sleep 1
stat() { ip netns exec "$C" cat "/sys/class/net/a1/statistics/$1"; }
rx0=$(stat rx_bytes) tx0=$(stat tx_bytes) rxp0=$(stat rx_packets)
t0=$(date +%s%N)
ip netns exec "$C" python3 - "$N" "$DURATION" <<'PY'
import socket, sys, time
IP_TRANSPARENT = 19
n, secs = int(sys.argv[1]), float(sys.argv[2])
t0 = time.monotonic()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    s.bind(("10.88.0.99", 20000 + i % 40000))
    s.sendto(b"\0\1big.img\0octet\0", ("10.77.0.1", 69))
    s.close()
    if secs:
        time.sleep(max(0, t0 + secs * (i + 1) / n - time.monotonic()))
PY
tx1=$(stat tx_bytes)
t1=$(date +%s%N)
rxf=$(stat rx_bytes)
sleep "$WAIT"
rx1=$(stat rx_bytes) rxp1=$(stat rx_packets)
kill "$pid"
wait "$pid" || true
pid=
sent=$((tx1 - tx0)) got=$((rx1 - rx0)) pkts=$((rxp1 - rxp0))
echo "requests: $N, $sent bytes on the wire"
echo "to the victim: $pkts datagrams, $got bytes ($(awk -v p="$pkts" -v n="$N" 'BEGIN { printf "%.2f", p / n }') per request)"
echo "amplification: $(awk -v g="$got" -v s="$sent" 'BEGIN { printf "%.1f", g / s }')"
if ((DURATION > 0)); then
	echo "during the flood ($(awk -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", t / 1e9 }') s): $((rxf - rx0)) bytes to the victim network," \
		"$(awk -v b=$((rxf - rx0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", b / (t / 1e9) }') bytes a second"
fi
