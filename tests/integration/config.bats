#!/usr/bin/env bats
# config.bats - snow-owl.conf, --check-config, --print-config, the command
# line over the file, -m remap rules and --map-test, -P, --client-root.

load helpers

teardown() {
	stop_daemon
	common_teardown
}

# conf LINE...: write a configuration file, its path in $CONF.
conf() {
	CONF=$BATS_TEST_TMPDIR/snow-owl.conf
	printf '%s\n' "$@" >"$CONF"
}

# check_refused MESSAGE: --check-config with $CONF exits 2 and its one
# line on stderr is "snow-owld: MESSAGE" (MESSAGE may leave off the end).
check_refused() {
	run --separate-stderr "$SNOW_OWLD" --config "$CONF" --check-config "$ROOT"
	assert_status 2
	[[ $stderr == "snow-owld: $1"* && $stderr != *$'\n'* ]] || {
		echo "stderr: $stderr" >&2
		return 1
	}
}

@test "config: an unknown key names FILE:LINE and exits 2" {
	conf '# a comment' '' 'bogus-key = 1' 'secure = yes'
	check_refused "$CONF:3: unknown key 'bogus-key'"
	[[ $stderr == "snow-owld: $CONF:3: unknown key 'bogus-key'" ]]
	# Starting is refused the same way.
	run --separate-stderr "$SNOW_OWLD" -L -a 127.0.0.1:1 --config "$CONF" "$ROOT"
	assert_status 2
	assert_contains "$stderr" "$CONF:3: unknown key 'bogus-key'"
}

@test "config: a bad value names FILE:LINE, the key and the range, and exits 2" {
	conf 'secure = yes' 'max-blksize = 7'
	check_refused "$CONF:2: max-blksize: '7' is not a number in 8..65464"
	[[ $stderr == "snow-owld: $CONF:2: max-blksize: '7' is not a number in 8..65464" ]]
	conf 'create = perhaps'
	check_refused "$CONF:1: create: 'perhaps' is not yes or no"
	conf 'user = tftp' '[snow-owld]'
	check_refused "$CONF:2: sections are not used: '[snow-owld]'"
	conf 'max-upload = 3X'
	check_refused "$CONF:1: max-upload: '3X' is not a size"
	conf 'secure = yes' 'words without an equals sign'
	check_refused "$CONF:2: expected KEY = VALUE"
}

@test "--check-config: 0 for good settings, 2 for bad ones, 1 for a missing directory" {
	conf "root = $ROOT" 'secure = yes' 'max-upload = 10M' 'refuse = tsize' 'verbose = 1'
	run --separate-stderr "$SNOW_OWLD" --config "$CONF" --check-config
	assert_status 0
	[[ -z $output && -z $stderr ]]
	# A bad option on the command line fails the check too.
	run --separate-stderr "$SNOW_OWLD" --config "$CONF" --check-config --max-transfers 0
	assert_status 2
	assert_contains "$stderr" "--max-transfers: '0' is not auto or a number from 1 to 1000000"
	run --separate-stderr "$SNOW_OWLD" --config "$CONF" --check-config "$BATS_TEST_TMPDIR/no-such-dir"
	assert_status 1
	assert_contains "$stderr" "no-such-dir"
	# An explicit --config that does not exist is an error.
	run --separate-stderr "$SNOW_OWLD" --config "$BATS_TEST_TMPDIR/none.conf" --check-config "$ROOT"
	assert_status 2
	assert_contains "$stderr" "none.conf: No such file or directory"
	# Bad remap rules are found by the check.
	printf 'r x y\nrq x y\n' >"$BATS_TEST_TMPDIR/rules"
	run --separate-stderr "$SNOW_OWLD" --check-config -m "$BATS_TEST_TMPDIR/rules" "$ROOT"
	assert_status 2
	[[ $stderr == "snow-owld: $BATS_TEST_TMPDIR/rules:2: unknown flag 'q'" ]]
}

@test "--print-config: the output read back with --config prints the same" {
	mkdir -p "$BATS_TEST_TMPDIR/lab"
	conf "root = $ROOT" 'secure = yes' 'create = on' 'umask = 027' 'max-upload = 64K' \
		'max-blksize = 1468' 'refuse = windowsize' 'refuse = tsize' 'port-range = 40000:40100' \
		"client-root = 10.1.0.0/16=$BATS_TEST_TMPDIR/lab" 'address = 127.0.0.1:6969' \
		'verbose = 2' 'user = daemon' "pid-file = $BATS_TEST_TMPDIR/pid" 'idle-timeout = 60'
	"$SNOW_OWLD" --config "$CONF" --print-config >"$BATS_TEST_TMPDIR/one"
	"$SNOW_OWLD" --config "$BATS_TEST_TMPDIR/one" --print-config >"$BATS_TEST_TMPDIR/two"
	diff -u "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	grep -qx 'umask = 027' "$BATS_TEST_TMPDIR/one"
	grep -qx 'max-upload = 64K' "$BATS_TEST_TMPDIR/one"
	grep -qx 'refuse = tsize' "$BATS_TEST_TMPDIR/one"
	grep -qx 'refuse = windowsize' "$BATS_TEST_TMPDIR/one"
	grep -qx "client-root = 10.1.0.0/16=$BATS_TEST_TMPDIR/lab" "$BATS_TEST_TMPDIR/one"
	grep -qx 'max-transfers = auto' "$BATS_TEST_TMPDIR/one" # a default
	# Every key in the output is accepted back one by one, as an option.
	local key
	for key in $(sed -n 's/^#\{0,1\}\([a-z0-9-]*\) =.*/\1/p' "$BATS_TEST_TMPDIR/one"); do
		"$SNOW_OWLD" --config /dev/null "--$key=" --print-config >/dev/null
	done
}

@test "the shipped example file is --print-config's defaults, commented out" {
	"$SNOW_OWLD" --config /dev/null --print-config | sed 's/^\([a-z]\)/#\1/' >"$BATS_TEST_TMPDIR/example"
	diff -u "$BATS_TEST_TMPDIR/example" "$TOP_SRCDIR/contrib/snow-owl.conf"
	# It reads as the defaults.
	"$SNOW_OWLD" --config "$TOP_SRCDIR/contrib/snow-owl.conf" --print-config >"$BATS_TEST_TMPDIR/again"
	"$SNOW_OWLD" --config /dev/null --print-config | diff -u - "$BATS_TEST_TMPDIR/again"
}

@test "the command line overrides the file, before or after --config" {
	conf 'max-blksize = 600' 'refuse = tsize' 'verbose = 0'
	make_file f 3000
	start_server -B 1000 --config "$CONF" -v
	run tftp_raw req rrq f octet blksize 1400 tsize 0
	[[ $output == "OACK blksize=1000" ]]
	wait_log 'peer=127\.0\.0\.1:[0-9]+ op=RRQ file="f" .*options=blksize=1000 '
	stop_server
	# The file alone: its blksize limit, and tsize refused.
	start_server --config "$CONF" -v
	run tftp_raw req rrq f octet blksize 1400 tsize 0
	[[ $output == "OACK blksize=600" ]]
	# -r on the command line replaces the file's list.
	stop_server
	start_server --config "$CONF" -r blksize
	run tftp_raw req rrq f octet blksize 1400 tsize 0
	[[ $output == "OACK tsize=3000" ]]
}

@test "a real transfer with settings from the file (refuse, max-blksize, read-only)" {
	need_cmd tftp atftp
	make_file big.bin 100000
	make_local up.bin 1000
	make_upload_dir up
	conf 'max-blksize = 1024' 'refuse = windowsize' 'read-only = yes' 'verbose = 1'
	start_server --config "$CONF"
	atftp_get big.bin "$WORK/big.bin" --option "blksize 1400" --option "windowsize 8"
	assert_same "$ROOT/big.bin" "$WORK/big.bin"
	wait_log 'file="big.bin" mode=octet options=blksize=1024 bytes=100000 .*outcome=complete'
	run tftp_raw req wrq up/new.bin octet
	[[ $output == "ERROR 2 Uploads are disabled" ]]
}

@test "-m: a rule rewrites the name, an a rule refuses with its message, a rule cannot leave ROOT" {
	need_cmd tftp
	make_file images/pxelinux.0 5000
	make_file secret.pvt 10
	echo outside >"$BATS_TEST_TMPDIR/outside"
	cat >"$BATS_TEST_TMPDIR/rules" <<-'EOF'
		# tftpd-hpa style rules
		rg	\\		/		# backslashes to slashes
		r	^boot/		images/		# old layout
		a	\.pvt$		private\ file\ \0
		r	^escape$	../outside
	EOF
	start_server -vv -m "$BATS_TEST_TMPDIR/rules"
	hpa_get 'boot\pxelinux.0' "$WORK/p"
	assert_same "$ROOT/images/pxelinux.0" "$WORK/p"
	wait_log 'file="boot\\x5cpxelinux.0" mapped to "images/pxelinux.0"'
	run tftp_raw req rrq secret.pvt octet
	[[ $output == "ERROR 2 private file .pvt" ]]
	run tftp_raw req rrq escape octet
	[[ $output == "ERROR 2 Illegal file name" ]]
	# The log line keeps the name the client sent.
	wait_log 'file="secret.pvt" .*outcome=refused detail="2 private file .pvt"'
}

@test "-m with a looping rule refuses the request, and the server lives on" {
	copy_demo
	printf 'rg ^a a\n' >"$BATS_TEST_TMPDIR/rules"
	start_server -m "$BATS_TEST_TMPDIR/rules"
	run tftp_raw req rrq abc octet
	[[ $output == "ERROR 2 Remap table failure" ]]
	assert_serves_hello
}

@test "--map-test prints the mapped name, or refused, for an address and a request type" {
	cat >"$BATS_TEST_TMPDIR/rules" <<-'EOF'
		rG	^		get/
		rP	^		put/
		r	^get/host$	get/\x-\i
		a	^get/secret	no
		rg	^put/\.\./	put/
	EOF
	local m=("$SNOW_OWLD" -m "$BATS_TEST_TMPDIR/rules")
	run --separate-stderr "${m[@]}" --map-test boot.img
	assert_status 0
	[[ $output == "get/boot.img" ]]
	run --separate-stderr "${m[@]}" --map-test boot.img --map-test-op WRQ
	assert_status 0
	[[ $output == "put/boot.img" ]]
	run --separate-stderr "${m[@]}" --map-test host --map-test-client 192.0.2.169
	[[ $output == "get/C00002A9-192.0.2.169" ]]
	run --separate-stderr "${m[@]}" --map-test host --map-test-client ::1
	[[ $output == "get/00000000000000000000000000000001-::1" ]]
	run --separate-stderr "${m[@]}" --map-test secret.txt
	assert_status 1
	[[ $output == "refused: no" ]]
	# The path rules still apply to the result.
	run --separate-stderr "${m[@]}" --map-test ../x --map-test-op wrq
	assert_status 0
	[[ $output == "put/x" ]]
	run --separate-stderr "${m[@]}" --map-test 'a/../b'
	assert_status 1
	[[ $output == 'refused: illegal file name "get/a/../b"' ]]
	run --separate-stderr "${m[@]}" --map-test x --map-test-op DEL
	assert_status 2
	run --separate-stderr "$SNOW_OWLD" --map-test x
	assert_status 2
	assert_contains "$stderr" "needs remap rules"
}

@test "-P writes the pid file and removes it at exit; with -l it holds the daemon's pid" {
	copy_demo
	local pidfile=$BATS_TEST_TMPDIR/run/snow-owld.pid
	mkdir -p "$BATS_TEST_TMPDIR/run"
	start_server -P "$pidfile"
	wait_for 5 test -s "$pidfile"
	[[ $(cat "$pidfile") == "$SERVER_PID" ]]
	assert_serves_hello
	stop_server
	[[ ! -e $pidfile ]]

	# -l: the daemon is a grandchild; the file names it, relative paths too.
	PORT=$(pick_port)
	(cd "$BATS_TEST_TMPDIR/run" && "$SNOW_OWLD" -l -a "127.0.0.1:$PORT" -P snow-owld.pid "$ROOT" 3>&-)
	wait_for 5 test -s "$pidfile"
	DAEMON_PID=$(cat "$pidfile")
	pid_alive "$DAEMON_PID"
	[[ $(cat "/proc/$DAEMON_PID/comm") == snow-owld ]]
	hpa_get hello.txt "$WORK/h"
	assert_same "$ROOT/hello.txt" "$WORK/h"
	kill "$DAEMON_PID"
	wait_for 5 refute pid_alive "$DAEMON_PID"
	DAEMON_PID=
	wait_for 5 test ! -e "$pidfile"
}

# Three roots: 127.0.0.2 and ::1 have their own, 127.0.0.1 gets ROOT.
client_roots_serve_their_bytes() {
	local r2=$BATS_TEST_TMPDIR/r2 r6=$BATS_TEST_TMPDIR/r6
	need_cmd tftp curl
	mkdir -p "$r2" "$r6"
	chmod 0755 "$r2" "$r6"
	make_file boot.img 3000
	head -c 4000 /dev/urandom >"$r2/boot.img"
	head -c 5000 /dev/urandom >"$r6/boot.img"
	chmod 0644 "$r2/boot.img" "$r6/boot.img"
	start_server -v "$@" --client-root "127.0.0.2/32=$r2" --client-root "::1=$r6" \
		--client-root "10.0.0.0/8=$BATS_TEST_TMPDIR/r2"
	hpa_get boot.img "$WORK/v4"
	assert_same "$ROOT/boot.img" "$WORK/v4"
	HOST=::1 hpa_get boot.img "$WORK/v6"
	assert_same "$r6/boot.img" "$WORK/v6"
	curl -sS --interface 127.0.0.2 -o "$WORK/v4b" "tftp://127.0.0.1:$PORT/boot.img"
	assert_same "$r2/boot.img" "$WORK/v4b"
	# A name that exists only in another root is not found.
	touch "$r6/only6"
	chmod 0644 "$r6/only6"
	run tftp_raw req rrq only6 octet
	[[ $output == "ERROR 1 "* ]]
	run tftp_raw -6 req rrq only6 octet
	[[ $output == "DATA 1 0" ]]
}

@test "--client-root: two client addresses get the bytes of their own directory" {
	client_roots_serve_their_bytes
}

@test "--client-root with -s: each transfer is chrooted into its client's directory (as root)" {
	is_root || skip "chroot needs root"
	client_roots_serve_their_bytes -s
}

@test "--client-root in the file: a bad network names FILE:LINE" {
	conf "client-root = 10.0.0.1/8=$ROOT"
	check_refused "$CONF:1: client-root: '10.0.0.1/8' is not a network (ADDR/PREFIX, no host bits set)"
	# A directory that cannot be opened stops the start, as for ROOT.
	conf "client-root = 10.0.0.0/8=$BATS_TEST_TMPDIR/missing"
	run --separate-stderr "$SNOW_OWLD" --config "$CONF" --check-config "$ROOT"
	assert_status 1
	assert_contains "$stderr" "cannot open $BATS_TEST_TMPDIR/missing: No such file or directory"
	# --print-config shows the settings as given, before any such check.
	run --separate-stderr "$SNOW_OWLD" --config "$CONF" --print-config
	assert_status 0
	assert_contains "$output" "client-root = 10.0.0.0/8=$BATS_TEST_TMPDIR/missing"
}

@test "every key is in --help, in snow-owl.conf(5) and in snow-owld(8)" {
	local key keys help
	keys=$("$SNOW_OWLD" --config /dev/null --print-config | sed -n 's/^#\{0,1\}\([a-z0-9-]*\) =.*/\1/p')
	[[ $(wc -w <<<"$keys") -ge 30 ]]
	help=$("$SNOW_OWLD" --help)
	for key in $keys; do
		assert_contains "$help" "--$key"
		grep -q "^\.It Cm $key Ns = Ns" "$TOP_SRCDIR/man/snow-owl.conf.5" ||
			{ echo "snow-owl.conf(5) lacks $key" >&2; return 1; }
		grep -q "^\.It .*Fl -$key\( \|$\)" "$TOP_SRCDIR/man/snow-owld.8" ||
			{ echo "snow-owld(8) lacks --$key" >&2; return 1; }
	done
}
