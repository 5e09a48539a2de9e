#!/usr/bin/env bats
# cluster.bats - single-port mode where it is needed: clients behind a
# masquerading NAT router, a service address balanced over three servers
# by nftables DNAT (as kube-proxy's nftables mode does), and an ECMP
# route over three servers.  Everything runs in network namespaces of the
# test's own (port 69 is free there), deleted at teardown.

load helpers

: "${SNOW_OWL:=$TOP_SRCDIR/snow-owl}"

NS_PIDS=()
TAG=

setup() {
	common_setup
	is_root || skip "network namespaces need root"
	need_cmd ip nft
	TAG=$(printf '%04x' $((RANDOM ^ $$ & 0xffff)))
	NS_PIDS=()
}

teardown() {
	local p
	for p in "${NS_PIDS[@]}"; do
		kill_server "$p"
	done
	common_teardown
}

# The name of this test's namespace ROLE.
ns() { echo "sot$TAG-$1"; }

# nsx ROLE COMMAND...: run COMMAND in the namespace.
nsx() {
	local n
	n=$(ns "$1")
	shift
	ip netns exec "$n" "$@"
}

# veth ROLE1 ADDR1/LEN ROLE2 ADDR2/LEN: a link between two namespaces;
# its ends are named after the peer's role.
veth() {
	ip -n "$(ns "$1")" link add "v$3" type veth peer name "v$1" netns "$(ns "$3")"
	ip -n "$(ns "$1")" addr add "$2" dev "v$3"
	ip -n "$(ns "$3")" addr add "$4" dev "v$1"
	ip -n "$(ns "$1")" link set "v$3" up
	ip -n "$(ns "$3")" link set "v$1" up
}

# A namespace that forwards, with no reverse-path filter (replies from a
# service address come back over any of its paths).  Before its links.
router() {
	nsx "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
}

# serve ROLE LOG [args]: snow-owld in the namespace on port 69.
serve() {
	local role=$1 log=$2
	shift 2
	nsx "$role" "$SNOW_OWLD" -L -a 0.0.0.0:69 --workers 1 "$@" "$ROOT" >"$log" 2>&1 3>&- </dev/null &
	NS_PIDS+=($!)
	wait_for 5 bound "$role"
}
bound() { [[ -n $(nsx "$1" ss -Huln 'sport = :69') ]]; }

# kill_server PID: the dispatcher and its workers, by pid.
kill_server() {
	local w
	pid_alive "$1" || return 0
	for w in $(ps -o pid= --ppid "$1"); do
		kill -KILL "$w" 2>/dev/null || true
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

completed() { grep -c 'outcome=complete' "$1" || true; }
# Transfers the three servers completed, in all.
total() {
	echo $(($(completed "$BATS_TEST_TMPDIR/s1.log") + $(completed "$BATS_TEST_TMPDIR/s2.log") +
		$(completed "$BATS_TEST_TMPDIR/s3.log")))
}
log_is() { (($(completed "$2") == $1)); }
total_ge() { (($(total) >= $1)); }

# Every client, from namespace ROLE to HOST:69, byte-exact.
all_clients() {
	local role=$1 host=$2
	rm -f "$WORK"/c.*
	nsx "$role" tftp "$host" 69 -m binary -c get big.bin "$WORK/c.hpa" </dev/null
	assert_same "$ROOT/big.bin" "$WORK/c.hpa"
	nsx "$role" atftp --option "windowsize 16" --option "blksize 1400" -g -r big.bin \
		-l "$WORK/c.atftp" "$host" 69 </dev/null >/dev/null 2>&1
	assert_same "$ROOT/big.bin" "$WORK/c.atftp"
	nsx "$role" curl -sS -o "$WORK/c.curl" "tftp://$host:69/big.bin" </dev/null
	assert_same "$ROOT/big.bin" "$WORK/c.curl"
	nsx "$role" busybox tftp -b 1024 -g -r big.bin -l "$WORK/c.busybox" "$host" 69 </dev/null >/dev/null 2>&1
	assert_same "$ROOT/big.bin" "$WORK/c.busybox"
	nsx "$role" "$SNOW_OWL" get -q -b 1468 -w 16 "tftp://$host:69/big.bin" "$WORK/c.snow"
	assert_same "$ROOT/big.bin" "$WORK/c.snow"
}

@test "NAT: behind a masquerading router the default mode fails; single-port serves every client" {
	need_cmd tftp atftp curl busybox
	make_file big.bin 200000
	local r
	for r in c r s; do netns_add "$(ns $r)"; done
	router r
	veth c 10.71.0.2/24 r 10.71.0.1/24
	veth r 10.72.0.1/24 s 10.72.0.3/24
	nsx c ip route add default via 10.71.0.1
	nsx r nft -f - <<-'EOF'
		table ip nat {
			chain post {
				type nat hook postrouting priority srcnat;
				ip saddr 10.71.0.0/24 oifname "vs" masquerade
			}
		}
	EOF

	serve s "$BATS_TEST_TMPDIR/default.log"
	# The reply comes from a new port: no NAT entry matches it.
	run nsx c "$SNOW_OWL" get -q -t 0.3 -r 2 "tftp://10.72.0.3:69/big.bin" "$WORK/nat-default"
	((status != 0))
	[[ ! -e $WORK/nat-default ]]
	kill_server "${NS_PIDS[-1]}"

	serve s "$BATS_TEST_TMPDIR/single.log" --single-port
	all_clients c 10.72.0.3
	# The server saw the router's address only.
	wait_for 5 log_is 5 "$BATS_TEST_TMPDIR/single.log"
	refute grep -q 'peer=10\.71\.' "$BATS_TEST_TMPDIR/single.log"
	[[ $(grep -c 'peer=10\.72\.0\.1:' "$BATS_TEST_TMPDIR/single.log") -eq 5 ]]
}

# Three servers s1..s3 behind namespace FRONT, each on 10.8N.0.2 with a
# link 10.8N.0.1 to it, serving $ROOT in single-port mode; clients in c
# on 10.80.0.2 reach the service address 10.99.0.1 through FRONT.
three_servers() {
	local front=$1 i r
	for r in c "$front" s1 s2 s3; do netns_add "$(ns "$r")"; done
	router "$front"
	veth c 10.80.0.2/24 "$front" 10.80.0.1/24
	nsx c ip route add default via 10.80.0.1
	for i in 1 2 3; do
		veth "$front" "10.8$i.0.1/24" "s$i" "10.8$i.0.2/24"
		nsx "s$i" ip route add default via "10.8$i.0.1"
		[[ $front == lb ]] || nsx "s$i" ip addr add 10.99.0.1/32 dev lo
		serve "s$i" "$BATS_TEST_TMPDIR/s$i.log" --single-port
	done
}

# bench_vip N CSV [options]: N sessions through the service address from c.
bench_vip() {
	local n=$1 csv=$2
	shift 2
	nsx c "$SNOW_OWL" bench -q -c 16 -n "$n" -b 1024 -t 0.3 -r 4 --csv "$csv" \
		--verify-file "$ROOT/f.bin" "$@" "tftp://10.99.0.1:69/f.bin"
}

# Per-server counts of completed transfers, for the record.
counts() {
	local i line=
	for i in 1 2 3; do line+=" s$i=$(completed "$BATS_TEST_TMPDIR/s$i.log")"; done
	echo "# $1:$line" >&3
}

# The checks both cluster tests make: a 300-session run spread over all
# three; then s3 dies mid-run and REMOVE takes it out: the other servers'
# transfers all complete, nothing is corrupt, and later sessions complete.
spread_and_failover() {
	local remove=$1 i n out before
	make_file f.bin 32768
	run bench_vip 300 "$BATS_TEST_TMPDIR/a.csv"
	echo "$output"
	assert_status 0
	assert_contains "$output" "sessions=300 completed=300 failed=0"
	assert_contains "$output" "verify_failed=0"
	wait_for 5 total_ge 300
	for i in 1 2 3; do
		(($(completed "$BATS_TEST_TMPDIR/s$i.log") > 0))
	done
	counts "300 sessions"

	# Slow sessions (each datagram held 2 ms) so that s3 dies mid-run.
	before=$(total)
	bench_vip 300 "$BATS_TEST_TMPDIR/b.csv" --delay 2 >"$BATS_TEST_TMPDIR/b.out" 2>&1 3>&- &
	local bench=$!
	wait_for 10 total_ge $((before + 60)) || {
		cat "$BATS_TEST_TMPDIR/b.out"
		counts "no progress"
		false
	}
	kill_server "${NS_PIDS[-1]}" # s3, the last started
	"$remove"
	counts "s3 killed and removed"
	pid_alive "${NS_PIDS[-1]}" && { echo "s3 still runs" >&2; false; }
	wait "$bench" || true
	out=$(cat "$BATS_TEST_TMPDIR/b.out")
	echo "$out"
	echo "# while s3 died: $out" >&3
	counts "after s3 died"
	# Only sessions that were on s3, or sent there before it was
	# removed, may fail; no copy is corrupt; every transfer the other
	# servers ran completed.
	assert_contains "$out" "verify_failed=0"
	n=$(sed -n 's/.* failed=\([0-9]*\) .*/\1/p' <<<"$out")
	((n <= 32))
	for i in 1 2; do
		refute grep -Eq 'outcome=(aborted|timeout|failed|refused)' "$BATS_TEST_TMPDIR/s$i.log"
	done

	# Sessions started after the removal all complete, on s1 and s2.
	run bench_vip 100 "$BATS_TEST_TMPDIR/c.csv"
	echo "$output"
	assert_status 0
	assert_contains "$output" "sessions=100 completed=100 failed=0"
	assert_contains "$output" "verify_failed=0"
	counts "100 more"
}

@test "service address: nftables DNAT with numgen over three single-port servers, one dies and is removed" {
	need_cmd conntrack
	three_servers lb
	nsx lb nft -f - <<-'EOF'
		table ip svc {
			chain pre {
				type nat hook prerouting priority dstnat;
				ip daddr 10.99.0.1 udp dport 69 dnat to numgen random mod 3 map {
					0 : 10.81.0.2, 1 : 10.82.0.2, 2 : 10.83.0.2 }
			}
		}
	EOF
	spread_and_failover remove_from_service
}

# As a failed readiness probe does in kube-proxy: the endpoint leaves the
# rule, and UDP conntrack entries to it are cleared (a new session from a
# client port that had one would still go to the dead server).
remove_from_service() {
	nsx lb nft -f - <<-'EOF'
		flush chain ip svc pre
		add rule ip svc pre ip daddr 10.99.0.1 udp dport 69 dnat to numgen random mod 2 map { 0 : 10.81.0.2, 1 : 10.82.0.2 }
	EOF
	local out
	out=$(nsx lb conntrack -D -p udp --dst-nat 10.83.0.2 2>&1 >/dev/null) || true
	echo "# conntrack: $out" >&3
}

@test "ECMP: a multipath route with L4 hashing over three single-port servers, one dies and is removed" {
	three_servers rt
	nsx rt sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	# A resilient group: removing a member moves only that member's
	# flows, as hash-threshold multipath would not.
	nsx rt ip nexthop add id 1 via 10.81.0.2 dev vs1
	nsx rt ip nexthop add id 2 via 10.82.0.2 dev vs2
	nsx rt ip nexthop add id 3 via 10.83.0.2 dev vs3
	nsx rt ip nexthop add id 10 group 1/2/3 type resilient buckets 96 idle_timer 0
	nsx rt ip route add 10.99.0.1/32 nhid 10
	spread_and_failover remove_from_route
}

remove_from_route() {
	nsx rt ip nexthop del id 3
}
