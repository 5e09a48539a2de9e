#!/usr/bin/env bats
# mtu.bats - blksize fits the path MTU: a client in another network
# namespace, behind a veth link of MTU 1280, 1500 or 9000, over IPv4 and
# IPv6, asks for 65464 and is granted exactly the MTU less the IP, UDP and
# TFTP headers (32 for IPv4, 52 for IPv6: a DATA of blksize bytes then
# fills the MTU exactly); --mtu lowers it, --mtu-clamp=no turns it off; and a download at
# 8192 over a 1500-byte link arrives in unfragmented datagrams.

load helpers

setup() {
	common_setup
	is_root || skip "needs root for network namespaces"
	need_cmd ip python3
	SNS=so-mtu-s-$$-$BATS_TEST_NUMBER
	CNS=so-mtu-c-$$-$BATS_TEST_NUMBER
	netns_add "$SNS"
	netns_add "$CNS"
	ip -n "$SNS" link add m0 type veth peer name m1 netns "$CNS"
	ip -n "$SNS" addr add 10.77.0.1/24 dev m0
	ip -n "$SNS" addr add fd77::1/64 dev m0 nodad
	ip -n "$CNS" addr add 10.77.0.2/24 dev m1
	ip -n "$CNS" addr add fd77::2/64 dev m1 nodad
	ip -n "$SNS" link set m0 up
	ip -n "$CNS" link set m1 up
	PORT=6969 # inside the test's own namespaces
}

# link_mtu N: both ends of the link.
link_mtu() {
	ip -n "$SNS" link set m0 mtu "$1"
	ip -n "$CNS" link set m1 mtu "$1"
}

# start_ns_server [args]: snow-owld in the server's namespace.
start_ns_server() {
	ip netns exec "$SNS" "$SNOW_OWLD" -L -a "10.77.0.1:$PORT" -a "[fd77::1]:$PORT" "$@" "$ROOT" \
		>"$SERVER_LOG" 2>&1 3>&- </dev/null &
	SERVER_PID=$!
	wait_for 5 grep -q "listening on \[fd77::1\]" "$SERVER_LOG"
}

# Datagrams the client's namespace reassembled from fragments, IPv4 and IPv6.
reassembled() {
	ip netns exec "$CNS" awk '$1 == "Ip:" && $2 ~ /^[0-9]/ { n += $15 } $1 == "Ip6ReasmReqds" { n += $2 }
		END { print n + 0 }' /proc/net/snmp /proc/net/snmp6
}

# granted HOST BLKSIZE: the blksize of the server's OACK to a request for
# a.bin with that blksize, from the client's namespace.
granted() {
	ip netns exec "$CNS" python3 - "$1" "$PORT" "$2" <<'PY'
import socket, sys
host, port, bs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"\0\1a.bin\0octet\0blksize\0" + bs.encode() + b"\0", (host, port))
r, peer = s.recvfrom(70000)
if r[:2] != b"\0\6":
    print("not an OACK:", r[:40])
    sys.exit(1)
f = r[2:].split(b"\0")
opts = {f[i].decode(): f[i + 1].decode() for i in range(0, len(f) - 1, 2)}
print(opts.get("blksize", "none"))
s.sendto(b"\0\5\0\0done\0", peer)
PY
}

@test "blksize 65464 is clamped to the route's MTU less 32 (IPv4) or 52 (IPv6): 1280, 1500, 9000" {
	make_file a.bin 100000
	start_ns_server
	check_clamps
	# A child per transfer: the same (its sandbox reads IP_MTU too).
	stop_server
	start_ns_server --workers 0
	check_clamps
}

check_clamps() {
	local mtu
	for mtu in 1280 1500 9000; do
		link_mtu "$mtu"
		run granted 10.77.0.1 65464
		[[ $output == "$((mtu - 32))" ]] || { echo "IPv4 MTU $mtu: $output" >&2; return 1; }
		run granted fd77::1 65464
		[[ $output == "$((mtu - 52))" ]] || { echo "IPv6 MTU $mtu: $output" >&2; return 1; }
		# A smaller request is granted as asked.
		run granted 10.77.0.1 1024
		[[ $output == 1024 ]] || return 1
	done
}

@test "--mtu lowers the clamp (a tunnel); -B still caps; --mtu-clamp=no turns the route's MTU off" {
	make_file a.bin 100000
	link_mtu 9000
	start_ns_server --mtu 1400
	run granted 10.77.0.1 65464
	[[ $output == 1368 ]]
	run granted fd77::1 65464
	[[ $output == 1348 ]]
	stop_server
	# --mtu above the route's MTU changes nothing.
	link_mtu 1500
	start_ns_server --mtu 9000
	run granted 10.77.0.1 65464
	[[ $output == 1468 ]]
	stop_server
	start_ns_server -B 1024
	run granted 10.77.0.1 65464
	[[ $output == 1024 ]]
	stop_server
	start_ns_server --mtu-clamp=no
	run granted 10.77.0.1 65464
	[[ $output == 65464 ]]
	run granted fd77::1 65464
	[[ $output == 65464 ]]
	stop_server
	start_ns_server --mtu-clamp=no --mtu 1400
	run granted 10.77.0.1 65464
	[[ $output == 1368 ]]
}

@test "a client behind a 1500-byte link asking for 8192 gets the file in unfragmented datagrams" {
	make_file a.bin 3000000
	link_mtu 1500
	start_ns_server
	local host before after
	for host in 10.77.0.1 fd77::1; do
		before=$(reassembled)
		rm -f "$WORK/a.bin"
		ip netns exec "$CNS" python3 - "$host" "$PORT" "$WORK/a.bin" <<'PY'
import socket, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"\0\1a.bin\0octet\0blksize\08192\0", (host, port))
r, peer = s.recvfrom(70000)
f = r[2:].split(b"\0")
bs = int(f[1])
s.sendto(b"\0\4\0\0", peer)
out, block = open(path, "wb"), 1
while True:
    r, _ = s.recvfrom(70000)
    if r[:2] != b"\0\3" or int.from_bytes(r[2:4], "big") != block & 0xFFFF:
        continue
    out.write(r[4:])
    s.sendto(b"\0\4" + r[2:4], peer)
    if len(r) - 4 < bs:
        break
    block += 1
out.close()
print("blksize", bs)
PY
		assert_same "$ROOT/a.bin" "$WORK/a.bin"
		after=$(reassembled)
		[[ $before == "$after" ]] || { echo "$host: $((after - before)) fragments reassembled" >&2; return 1; }
	done
}
