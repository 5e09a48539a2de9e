#!/usr/bin/env bats
# client.bats - the snow-owl client (get, put, bench) against snow-owld,
# tftpd-hpa and atftpd, and against a scripted server for the failures a
# real one does not produce on demand.
#
# Every test gets a served root $ROOT (mode 0777: the servers write as
# nobody), a client directory $WORK, and at most one server on a random
# high port $PORT, stopped by its pid in teardown.

: "${TOP_SRCDIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${SNOW_OWLD:=$TOP_SRCDIR/snow-owld}"
: "${SNOW_OWL:=$TOP_SRCDIR/snow-owl}"
: "${HPA_TFTPD:=/usr/sbin/in.tftpd}"
# Unpacked by ./quickstart check: atftpd conflicts with tftpd-hpa.
: "${ATFTPD:=/var/cache/snow-owl/atftpd/usr/sbin/atftpd}"

bats_require_minimum_version 1.5.0

setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	WORK=$BATS_TEST_TMPDIR/work
	SRV_LOG=$BATS_TEST_TMPDIR/server.log
	mkdir -p "$ROOT" "$WORK"
	chmod 0777 "$ROOT"
	PORT=
	SRV_PID=
	OWN_ROOT=
	cd "$WORK"
}

teardown() {
	srv_stop
	[[ -z $OWN_ROOT ]] || rm -rf "$OWN_ROOT"
}

# atftpd opens files by path as nobody, who cannot pass bats' private
# temporary directory: serve a root of its own instead.
root_outside_bats() {
	OWN_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/snow-owl-client-test.XXXXXX")
	chmod 0777 "$OWN_ROOT"
	rmdir "$ROOT"
	ln -s "$OWN_ROOT" "$ROOT"
}

# ---- servers -----------------------------------------------------------------

port_in_use() { [[ -n $(ss -Huan "sport = :$1" 2>/dev/null) ]]; }

# A free UDP port outside the kernel's ephemeral range, never 69.
pick_port() {
	local lo=32768 hi=60999 p i
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		((i < 150 && p >= lo && p <= hi)) && continue
		port_in_use "$p" || {
			echo "$p"
			return 0
		}
	done
	return 1
}

srv_bound() {
	local out
	out=$(ss -Huln "sport = :$PORT" 2>/dev/null)
	[[ $out == *"127.0.0.1:$PORT "* ]] && { [[ $1 != snow-owld ]] || [[ $out == *"[::1]:$PORT "* ]]; }
}

srv_alive() {
	local st
	st=$(ps -o stat= -p "$SRV_PID" 2>/dev/null) && [[ -n $st && $st != Z* ]]
}

# srv_start snow-owld|hpa|atftpd: serve $ROOT on $PORT (snow-owld on
# 127.0.0.1 and [::1], the others on 127.0.0.1).
srv_start() {
	local kind=$1 attempt lock i
	case $kind in
	hpa) [[ -x $HPA_TFTPD ]] || skip "tftpd-hpa is not installed ($HPA_TFTPD); ./quickstart check installs it" ;;
	atftpd) [[ -x $ATFTPD ]] || skip "atftpd is not unpacked ($ATFTPD); ./quickstart check unpacks it" ;;
	esac
	for attempt in 1 2 3; do
		# Choosing and binding under a lock: test files run in parallel.
		exec {lock}>>"${TMPDIR:-/tmp}/snow-owl-bats-ports.$(id -u).lock"
		flock -x "$lock"
		PORT=$(pick_port) || return 1
		# 3>&-: bats waits for whatever holds its fd 3.
		case $kind in
		snow-owld)
			"$SNOW_OWLD" -L -a "127.0.0.1:$PORT" -a "[::1]:$PORT" -c "$ROOT" \
				>"$SRV_LOG" 2>&1 3>&- {lock}>&- </dev/null &
			;;
		hpa)
			"$HPA_TFTPD" -L -a "127.0.0.1:$PORT" -c -s "$ROOT" \
				>"$SRV_LOG" 2>&1 3>&- {lock}>&- </dev/null &
			;;
		atftpd)
			"$ATFTPD" --daemon --no-fork --port "$PORT" --bind-address 127.0.0.1 \
				--user nobody --group nogroup --logfile "$SRV_LOG" "$(readlink -f "$ROOT")" \
				>>"$SRV_LOG" 2>&1 3>&- {lock}>&- </dev/null &
			;;
		esac
		SRV_PID=$!
		for ((i = 0; i < 200; i++)); do
			srv_bound "$kind" && break
			srv_alive || break
			sleep 0.025
		done
		exec {lock}>&-
		srv_alive && srv_bound "$kind" && return 0
		srv_stop 2>/dev/null || true
	done
	echo "srv_start: $kind did not start; its log:" >&2
	cat "$SRV_LOG" >&2
	return 1
}

srv_stop() {
	[[ -n $SRV_PID ]] || return 0
	kill "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
}

# ---- files and checks -----------------------------------------------------

# make_file PATH SIZE: SIZE random bytes, readable by everyone.
make_file() {
	head -c "$2" /dev/urandom >"$1"
	chmod 0644 "$1"
}

# same EXPECTED ACTUAL: byte for byte; waits a little for a server that
# finishes writing after its final ACK.
same() {
	local i
	for ((i = 0; i < 40; i++)); do
		cmp -s -- "$1" "$2" && return 0
		sleep 0.05
	done
	echo "$2 differs from $1 ($(stat -c %s "$1") vs $(stat -c %s "$2" 2>/dev/null) bytes)" >&2
	return 1
}

# url HOST FILE
url() { echo "tftp://$1:$PORT/$2"; }

# get_check HOST REMOTE EXPECTED [options]: get into $WORK/got, compare.
get_check() {
	local host=$1 remote=$2 want=$3
	shift 3
	rm -f "$WORK/got"
	"$SNOW_OWL" get -q "$@" "$(url "$host" "$remote")" "$WORK/got" || {
		echo "get $* $remote from $host failed" >&2
		return 1
	}
	same "$want" "$WORK/got"
}

# put_check HOST LOCAL REMOTE [options]: put, then compare what the server stored.
put_check() {
	local host=$1 local=$2 remote=$3
	shift 3
	"$SNOW_OWL" put -q "$@" "$local" "$(url "$host" "$remote")" || {
		echo "put $* $local to $host failed" >&2
		return 1
	}
	same "$local" "$ROOT/$remote"
}

# The key=value summary line of a bench run: value of KEY.
key() { grep -o "\\b$1=[^ ]*" <<<"${lines[-1]}" | cut -d= -f2; }

# A scripted one-request server on 127.0.0.1 ($PORT), for failures real
# servers do not make on demand.  Mode:
#   stall     DATA 1, then silence
#   badsize   OACK tsize=1000, then a 10-byte file
#   stranger  DATA 1; DATA 2 from another port (expects ERROR 5 there);
#             then the real DATA 2
# It prints what it saw on $BATS_TEST_TMPDIR/fake.out.
fake_start() {
	python3 - "$1" "$BATS_TEST_TMPDIR/fake.port" >"$BATS_TEST_TMPDIR/fake.out" 2>&1 3>&- <<'EOF' &
import os, socket, struct, sys, time
mode, portfile = sys.argv[1], sys.argv[2]
ls = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ls.bind(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
ls.settimeout(10)
req, peer = ls.recvfrom(2048)
t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t.bind(("127.0.0.1", 0))
t.settimeout(3)
data = lambda n, b: struct.pack("!HH", 3, n) + b
def wait_ack(sock, n):
    while True:
        r, _ = sock.recvfrom(2048)
        if r[:4] == struct.pack("!HH", 4, n):
            return
if mode == "stall":
    t.sendto(data(1, b"x" * 512), peer)
    time.sleep(2)
elif mode == "badsize":
    t.sendto(b"\0\6tsize\x001000\0", peer)
    wait_ack(t, 0)
    t.sendto(data(1, b"y" * 10), peer)
    time.sleep(0.5)
elif mode == "stranger":
    t.sendto(data(1, b"a" * 512), peer)
    wait_ack(t, 1)
    s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s2.settimeout(3)
    s2.sendto(data(2, b"evil"), peer)
    r, _ = s2.recvfrom(2048)
    print("stranger got", struct.unpack("!HH", r[:4]))
    t.sendto(data(2, b"good"), peer)
    wait_ack(t, 2)
    print("done")
EOF
	SRV_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $BATS_TEST_TMPDIR/fake.port ]] && break
		sleep 0.02
	done
	PORT=$(cat "$BATS_TEST_TMPDIR/fake.port")
}

# ---- command line and documentation ----------------------------------------

@test "--help: usage, every option, the exit codes; the man page documents the same" {
	run -0 "$SNOW_OWL" --help
	[[ ${lines[0]} == "usage: snow-owl get [options] tftp://HOST[:PORT]/FILE [LOCAL]" ]]
	[[ $output == *"Exit status: 0 success, 1 usage, 2 error from the server"*"3 timeout, 4 local I/O error, 5 verification failed."* ]]
	local man
	man=$(mandoc -Tascii "$TOP_SRCDIR/man/snow-owl.1" | sed 's/.\x08//g')
	# SYNOPSIS lines are the usage lines.
	local synopsis
	synopsis=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' <<<"$man" | sed -n 's/^ *snow-owl /snow-owl /p')
	[[ $synopsis == "$(sed -n 's/^\(usage:\)\? *\(snow-owl [a-z-].*\)$/\2/p' <<<"$output")" ]]
	local opt
	for opt in $(grep -o -- ' --[a-z-]*' <<<"$output" | sort -u); do
		[[ $man == *"$opt"* ]] || {
			echo "the man page does not mention $opt" >&2
			return 1
		}
	done
	run -0 mandoc -Tlint -W warning "$TOP_SRCDIR/man/snow-owl.1"
	[[ -z $output ]]
}

@test "usage errors exit 1" {
	run -1 "$SNOW_OWL"
	run -1 "$SNOW_OWL" fetch tftp://h/x
	run -1 "$SNOW_OWL" get
	run -1 "$SNOW_OWL" get http://h/x
	run -1 "$SNOW_OWL" get tftp://h:0/x
	run -1 "$SNOW_OWL" get "tftp://h/x;mode=mail"
	run -1 "$SNOW_OWL" get -b 7 tftp://h/x
	run -1 "$SNOW_OWL" get -t 0 tftp://h/x
	run -1 "$SNOW_OWL" get -c 4 tftp://h/x
	[[ $output == *"-c is a bench option"* ]]
	run -1 "$SNOW_OWL" get -m octet "tftp://h/x;mode=netascii"
	run -1 "$SNOW_OWL" put tftp://h/x
	run -1 "$SNOW_OWL" bench --verify-file x --expect-size 1 tftp://h/x
	run -1 "$SNOW_OWL" bench --loss 101 tftp://h/x
}

# ---- against snow-owld ---------------------------------------------------------

@test "snow-owld: get is byte-exact for blksize 512/1468/8192 x windowsize 1/16/64, 0 to 100000 bytes, IPv4 and IPv6" {
	srv_start snow-owld
	local size host b w
	for size in 0 1 512 513 100000; do
		make_file "$ROOT/f$size" "$size"
	done
	for host in 127.0.0.1 '[::1]'; do
		for b in 512 1468 8192; do
			for w in 1 16 64; do
				for size in 0 1 512 513 100000; do
					get_check "$host" "f$size" "$ROOT/f$size" -b "$b" -w "$w"
				done
			done
		done
	done
}

@test "snow-owld: put is byte-exact for blksize 512/1468/8192 x windowsize 1/16/64, 0 to 100000 bytes, IPv4 and IPv6" {
	srv_start snow-owld
	local size host b w n=0
	for size in 0 1 512 513 100000; do
		make_file "$WORK/f$size" "$size"
	done
	for host in 127.0.0.1 '[::1]'; do
		for b in 512 1468 8192; do
			for w in 1 16 64; do
				for size in 0 1 512 513 100000; do
					put_check "$host" "$WORK/f$size" "up$((n++))" -b "$b" -w "$w"
				done
			done
		done
	done
}

@test "snow-owld: the OACK's values are used and reported; no options falls back to 512/1" {
	srv_start snow-owld
	make_file "$ROOT/f" 70000
	run --separate-stderr -0 "$SNOW_OWL" get -v -b 1468 -w 16 "$(url 127.0.0.1 f)"
	[[ $stderr == *"got f: 70000 bytes in "*"blksize 1468, windowsize 16, 0 retransmits"* ]]
	same "$ROOT/f" "$WORK/f"
	run --separate-stderr -0 "$SNOW_OWL" get -v --no-tsize "$(url '[::1]' f)" plain
	[[ $stderr == *"blksize 512, windowsize 1 (no options acknowledged)"* ]]
	same "$ROOT/f" "$WORK/plain"
}

@test "snow-owld: a file of more than 65535 blocks at blksize 512, get and put, rollover 0 and 1" {
	srv_start snow-owld
	make_file "$ROOT/big" $((65536 * 512 + 300))
	get_check 127.0.0.1 big "$ROOT/big" -w 16
	get_check '[::1]' big "$ROOT/big" -w 16 --rollover 1
	put_check 127.0.0.1 "$ROOT/big" bigup -w 16
}

@test "snow-owld: netascii get and put round-trip a text file" {
	srv_start snow-owld
	printf 'one\ntwo\r\nbare\rcr\n%0600d\nlast line without end' 0 >"$ROOT/text.txt"
	chmod 0644 "$ROOT/text.txt"
	get_check 127.0.0.1 "text.txt;mode=netascii" "$ROOT/text.txt" -b 8
	get_check '[::1]' text.txt "$ROOT/text.txt" -m netascii -w 4 -b 9
	put_check 127.0.0.1 "$ROOT/text.txt" text2.txt -m netascii -b 8 -w 3
	# On the wire every LF is CR LF and every bare CR is CR NUL.
	run -0 "$SNOW_OWL" get -q "$(url 127.0.0.1 text.txt)" octet.txt
	cmp "$ROOT/text.txt" octet.txt
}

@test "snow-owld: get writes to standard output with LOCAL -, and to the basename by default" {
	srv_start snow-owld
	mkdir -p "$ROOT/sub"
	chmod 0755 "$ROOT/sub"
	make_file "$ROOT/sub/f.bin" 5000
	"$SNOW_OWL" get -q "$(url 127.0.0.1 sub/f.bin)" - >"$WORK/stdout.bin"
	same "$ROOT/sub/f.bin" "$WORK/stdout.bin"
	"$SNOW_OWL" get -q "$(url 127.0.0.1 sub/f.bin)"
	same "$ROOT/sub/f.bin" "$WORK/f.bin"
	mkdir "$WORK/into"
	"$SNOW_OWL" get -q "$(url 127.0.0.1 sub/f.bin)" "$WORK/into"
	same "$ROOT/sub/f.bin" "$WORK/into/f.bin"
	"$SNOW_OWL" put -q - "$(url 127.0.0.1 from-stdin)" <"$ROOT/sub/f.bin"
	same "$ROOT/sub/f.bin" "$ROOT/from-stdin"
}

@test "a missing file: exit 2 with the server's message; an existing LOCAL stays, no temporary file" {
	srv_start snow-owld
	echo "precious" >"$WORK/keep"
	run --separate-stderr -2 "$SNOW_OWL" get "$(url 127.0.0.1 missing)" "$WORK/keep"
	[[ $stderr == *"missing: server error 1: File not found"* ]]
	[[ $(cat "$WORK/keep") == precious ]]
	[[ $(ls -A "$WORK") == keep ]]
	run -2 "$SNOW_OWL" get "$(url 127.0.0.1 missing)"
	[[ $(ls -A "$WORK") == keep ]]
}

@test "a transfer cut off after one block times out (exit 3): LOCAL unchanged, no partial file" {
	echo "precious" >"$WORK/keep"
	fake_start stall
	local t0=$SECONDS
	run --separate-stderr -3 "$SNOW_OWL" get -t 0.2 -r 2 "$(url 127.0.0.1 x)" "$WORK/keep"
	[[ $stderr == *"timed out after 2 retransmissions"* ]]
	((SECONDS - t0 < 3))
	[[ $(cat "$WORK/keep") == precious ]]
	[[ $(ls -A "$WORK") == keep ]]
	# Nobody listening at all: the request is sent 1 + 2 times.
	srv_stop
	run -3 "$SNOW_OWL" get -t 0.1 -r 2 "$(url 127.0.0.1 x)" "$WORK/keep"
	[[ $(ls -A "$WORK") == keep ]]
}

@test "a size other than the announced tsize fails verification (exit 5), nothing is written" {
	fake_start badsize
	run --separate-stderr -5 "$SNOW_OWL" get "$(url 127.0.0.1 x)" "$WORK/x"
	[[ $stderr == *"received 10 bytes, the server announced 1000"* ]]
	[[ -z $(ls -A "$WORK") ]]
}

@test "a datagram from another port gets ERROR 5 and the transfer goes on" {
	fake_start stranger
	run -0 "$SNOW_OWL" get -q "$(url 127.0.0.1 x)" "$WORK/x"
	wait "$SRV_PID"
	SRV_PID=
	[[ $(cat "$BATS_TEST_TMPDIR/fake.out") == *"stranger got (5, 5)"*"done"* ]]
	[[ $(head -c 512 "$WORK/x" | tr -d a) == "" && $(tail -c 4 "$WORK/x") == good ]]
}

@test "local errors exit 4" {
	srv_start snow-owld
	make_file "$ROOT/f" 10
	run -4 "$SNOW_OWL" get "$(url 127.0.0.1 f)" "$WORK/no/such/dir/f"
	run -4 "$SNOW_OWL" put "$WORK/does-not-exist" "$(url 127.0.0.1 g)"
}

# ---- against tftpd-hpa and atftpd ----------------------------------------------

@test "tftpd-hpa: get and put are byte-exact for blksize 512/1468/8192, 0 to 100000 bytes" {
	srv_start hpa
	local size b n=0
	for size in 0 1 512 513 100000; do
		make_file "$ROOT/f$size" "$size"
		make_file "$WORK/l$size" "$size"
	done
	for b in 512 1468 8192; do
		for size in 0 1 512 513 100000; do
			get_check 127.0.0.1 "f$size" "$ROOT/f$size" -b "$b" -w 16
			put_check 127.0.0.1 "$WORK/l$size" "up$((n++))" -b "$b"
		done
	done
	# Without any option too, and netascii both ways.
	get_check 127.0.0.1 f513 "$ROOT/f513" --no-tsize
	printf 'a\nb\r\nc\rd\n' >"$WORK/t.txt"
	put_check 127.0.0.1 "$WORK/t.txt" t.txt -m netascii
	get_check 127.0.0.1 "t.txt;mode=netascii" "$WORK/t.txt"
	run -2 "$SNOW_OWL" get "$(url 127.0.0.1 missing)"
}

@test "atftpd: get and put are byte-exact for blksize 512/1468/8192 x windowsize 1/16, 0 to 100000 bytes" {
	[[ -x $ATFTPD ]] || skip "atftpd is not unpacked ($ATFTPD); ./quickstart check unpacks it"
	root_outside_bats
	srv_start atftpd
	local size b w n=0
	for size in 0 1 512 513 100000; do
		make_file "$ROOT/f$size" "$size"
		make_file "$WORK/l$size" "$size"
	done
	for b in 512 1468 8192; do
		for w in 1 16; do
			for size in 0 1 512 513 100000; do
				get_check 127.0.0.1 "f$size" "$ROOT/f$size" -b "$b" -w "$w"
				# atftpd keeps the default receive buffer: 16 blocks
				# of 8 KiB overflow it, which a short timeout repairs.
				put_check 127.0.0.1 "$WORK/l$size" "up$((n++))" -b "$b" -w "$w" -t 0.2
			done
		done
	done
	printf 'a\nb\r\nc\rd\n' >"$WORK/t.txt"
	put_check 127.0.0.1 "$WORK/t.txt" t.txt -m netascii
	get_check 127.0.0.1 "t.txt;mode=netascii" "$WORK/t.txt"
	run -2 "$SNOW_OWL" get "$(url 127.0.0.1 missing)"
}

# ---- bench -----------------------------------------------------------------

@test "bench: -c 8 -n 40 on a 100 KiB file verifies all 40 copies; --csv has a line each" {
	srv_start snow-owld
	make_file "$ROOT/f100k" 102400
	run -0 "$SNOW_OWL" bench -c 8 -n 40 --verify-file "$ROOT/f100k" --csv "$WORK/b.csv" \
		"$(url 127.0.0.1 f100k)"
	[[ ${lines[-1]} == "sessions=40 completed=40 failed=0 bytes=4096000 seconds="* ]]
	local k
	for k in seconds MiBps tps p50_ms p99_ms max_ms retransmits first_try; do
		[[ $(key "$k") =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
			echo "no number for $k" >&2
			return 1
		}
	done
	[[ $(key first_try) -eq 40 ]]
	[[ $(wc -l <"$WORK/b.csv") -eq 40 ]]
	[[ $(cut -d, -f1 "$WORK/b.csv" | sort -n | paste -sd' ') == "$(seq -s' ' 0 39)" ]]
	awk -F, 'NF != 6 || $4 != 102400 || $6 != "ok" { exit 1 }' "$WORK/b.csv"
	# IPv6, windows, size check only.
	run -0 "$SNOW_OWL" bench -c 4 -n 8 -b 1468 -w 16 --expect-size 102400 "$(url '[::1]' f100k)"
	[[ ${lines[-1]} == "sessions=8 completed=8 failed=0 bytes=819200 "* ]]
}

@test "bench: a missing file fails every session (exit 2)" {
	srv_start snow-owld
	run -2 "$SNOW_OWL" bench -q -c 4 -n 12 "$(url 127.0.0.1 missing)"
	[[ ${lines[-1]} == "sessions=12 completed=0 failed=12 bytes=0 "* ]]
	[[ $(key server_errors) -eq 12 ]]
}

@test "bench: wrong content or size fails verification (exit 5)" {
	srv_start snow-owld
	make_file "$ROOT/f" 3000
	make_file "$WORK/other" 3000
	run -5 "$SNOW_OWL" bench -q -c 2 -n 4 --verify-file "$WORK/other" "$(url 127.0.0.1 f)"
	[[ $(key verify_failed) -eq 4 && $(key completed) -eq 0 ]]
	run -5 "$SNOW_OWL" bench -q -c 2 -n 4 --expect-size 2999 "$(url 127.0.0.1 f)"
	[[ $(key verify_failed) -eq 4 ]]
}

@test "bench: --loss 5 --seed 1 still completes every session, with retransmits" {
	srv_start snow-owld
	make_file "$ROOT/f100k" 102400
	run -0 "$SNOW_OWL" bench -c 8 -n 40 -b 1468 -w 16 -t 0.2 -r 20 --loss 5 --seed 1 \
		--verify-file "$ROOT/f100k" "$(url 127.0.0.1 f100k)"
	[[ ${lines[-1]} == "sessions=40 completed=40 failed=0 bytes=4096000 "* ]]
	[[ $(key retransmits) -gt 0 ]]
}

@test "bench: --delay holds every send; -d runs for a duration" {
	srv_start snow-owld
	make_file "$ROOT/f" 1000
	# Request, ACK 1, ACK 2: every exchange waits 30 ms first.
	run -0 "$SNOW_OWL" bench -c 2 -n 4 --delay 30 "$(url 127.0.0.1 f)"
	[[ $(key completed) -eq 4 ]]
	awk -v v="$(key p50_ms)" 'BEGIN { exit !(v >= 60) }'
	run -0 "$SNOW_OWL" bench -c 4 -d 0.5 "$(url 127.0.0.1 f)"
	[[ $(key sessions) -gt 4 && $(key failed) -eq 0 ]]
	awk -v v="$(key seconds)" 'BEGIN { exit !(v >= 0.5 && v < 3) }'
}

@test "bench: a boot storm of 2000 sessions at once, under an open-file limit of 256" {
	srv_start snow-owld
	make_file "$ROOT/boot" 4000
	run -0 bash -c 'ulimit -Sn 256 && exec "$0" bench -q -c 2000 -n 2000 --verify-file "$1" "$2"' \
		"$SNOW_OWL" "$ROOT/boot" "$(url 127.0.0.1 boot)"
	[[ ${lines[-1]} == "sessions=2000 completed=2000 failed=0 bytes=8000000 "* ]]
}
