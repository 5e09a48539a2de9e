#!/usr/bin/env bats
# changes.bats - a served file that changes while it is read: truncated,
# appended to or rewritten in place, the transfer ends with ERROR 0 "File
# changed during transfer" and outcome=changed, never with a complete-looking
# mix of old and new bytes; a new file renamed over the name does not
# disturb the transfer of the old one.  Both process models, windowsize 1
# and 16, with and without tsize, octet and netascii.

load helpers

setup() {
	common_setup
}

teardown() {
	common_teardown
}

MODELS=("--workers 0" "--workers 1")

# changing_get FILE ACTION AT [--pause S] [--mode M] [NAME VALUE]...: read
# $ROOT/FILE as a windowed client into $WORK/got; after block AT (a
# multiple of the window) has arrived, change the file (ACTION: truncate,
# append, rewrite, rename, none) before acknowledging, then wait S seconds.
# Prints "COMPLETE <bytes>" or "ERROR <code> <message> AFTER <bytes>".
changing_get() {
	python3 - "$PORT" "$ROOT" "$WORK/got" "$@" <<'PY'
import os, socket, sys, time

port, root, out_path, name, action, at = sys.argv[1:7]
port, at = int(port), int(at)
args = sys.argv[7:]
pause, mode = 0.0, "octet"
while args and args[0].startswith("--"):
    a = args.pop(0)
    if a == "--pause":
        pause = float(args.pop(0))
    elif a == "--mode":
        mode = args.pop(0)
path = os.path.join(root, name)
size = os.path.getsize(path)

def change():
    if action == "truncate":
        os.truncate(path, size // 10)
    elif action == "append":
        with open(path, "ab") as f:
            f.write(b"appended\n" * 1000)
    elif action == "rewrite":
        # Same size, same inode, other bytes.
        with open(path, "r+b") as f:
            f.write(bytes(b ^ 0x55 for b in open(path, "rb").read()))
    elif action == "rename":
        with open(path + ".new", "wb") as f:
            f.write(os.urandom(size))
        os.rename(path + ".new", path)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
req = b"\0\1" + name.encode() + b"\0" + mode.encode() + b"\0"
req += b"".join(x.encode() + b"\0" for x in args)
s.sendto(req, ("127.0.0.1", port))
r, peer = s.recvfrom(70000)
bs, ws = 512, 1
got = bytearray()

def error(r):
    msg = r[4:].split(b"\0")[0].decode("latin-1")
    print("ERROR %d %s AFTER %d" % (int.from_bytes(r[2:4], "big"), msg, len(got)))
    open(out_path, "wb").write(got)
    sys.exit(0)

def ack(b):
    s.sendto(b"\0\4" + (b & 0xFFFF).to_bytes(2, "big"), peer)

if r[:2] == b"\0\5":
    error(r)
if r[:2] == b"\0\6":
    f = r[2:].split(b"\0")[:-1]
    opts = {f[i].decode().lower(): f[i + 1].decode() for i in range(0, len(f) - 1, 2)}
    bs = int(opts.get("blksize", 512))
    ws = int(opts.get("windowsize", 1))
    ack(0)
    r = None
expected, in_window, changed, gap = 1, 0, False, False
while True:
    if r is None:
        try:
            r, _ = s.recvfrom(70000)
        except socket.timeout:
            print("TIMEOUT AFTER %d" % len(got))
            sys.exit(0)
    pkt, r = r, None
    if pkt[:2] == b"\0\5":
        error(pkt)
    if pkt[:2] != b"\0\3":
        continue
    w = int.from_bytes(pkt[2:4], "big")
    data = pkt[4:]
    if w != expected & 0xFFFF:
        if not gap and w != (expected - 1) & 0xFFFF:
            ack(expected - 1)
            gap, in_window = True, 0
        continue
    gap = False
    got += data
    in_window += 1
    if expected == at and not changed:
        change()
        changed = True
        time.sleep(pause)
    if len(data) < bs or in_window == ws:
        ack(expected)
        in_window = 0
    if len(data) < bs:
        break
    expected += 1
open(out_path, "wb").write(got)
print("COMPLETE %d" % len(got))
PY
}

CHANGED="ERROR 0 File changed during transfer AFTER"
LOGGED='outcome=changed detail="File changed during transfer"'

# A 2 MiB file: 2048 blocks of 1024, and an empty final block.
@test "truncated while read: ERROR 0 and outcome=changed, not a short file taken as whole (both models, windowsize 1 and 16)" {
	for model in "${MODELS[@]}"; do
		start_server $model
		for ws in 1 16; do
			make_file f 2097152
			run changing_get f truncate 512 tsize 0 blksize 1024 windowsize $ws
			assert_status 0
			assert_contains "$output" "$CHANGED"
		done
		wait_for 5 log_count_is "file=\"f\".*$LOGGED" 2
		stop_server
	done
}

@test "appended to while read: ERROR 0, never more bytes than the announced tsize (both models, windowsize 1 and 16)" {
	for model in "${MODELS[@]}"; do
		start_server $model
		for ws in 1 16; do
			make_file f 2097152
			run changing_get f append 512 tsize 0 blksize 1024 windowsize $ws
			assert_status 0
			assert_contains "$output" "$CHANGED"
			(($(stat -c %s "$WORK/got") <= 2097152))
		done
		wait_for 5 log_count_is "file=\"f\".*$LOGGED" 2
		stop_server
	done
}

@test "rewritten in place, same size, same inode: ERROR 0, not old bytes then new ones (both models, windowsize 1 and 16)" {
	for model in "${MODELS[@]}"; do
		start_server $model
		for ws in 1 16; do
			make_file f 2097152
			sleep 0.05 # the rewrite's mtime differs from the creation's
			run changing_get f rewrite 512 tsize 0 blksize 1024 windowsize $ws
			assert_status 0
			assert_contains "$output" "$CHANGED"
		done
		wait_for 5 log_count_is "file=\"f\".*$LOGGED" 2
		refute grep -q 'file="f".*outcome=complete' "$SERVER_LOG"
		stop_server
	done
}

@test "a new file renamed over the name: the transfer completes with the old bytes (both models, windowsize 1 and 16)" {
	for model in "${MODELS[@]}"; do
		start_server $model
		for ws in 1 16; do
			make_file f 2097152
			cp "$ROOT/f" "$WORK/old"
			run changing_get f rename 512 tsize 0 blksize 1024 windowsize $ws
			assert_status 0
			assert_contains "$output" "COMPLETE 2097152"
			assert_same "$WORK/old" "$WORK/got"
		done
		wait_for 5 log_count_is 'file="f".*outcome=complete' 2
		stop_server
	done
}

@test "a change is seen while the file is read, not only at its end (fstat every 100 ms)" {
	for model in "${MODELS[@]}"; do
		start_server $model
		make_file f 8388608
		sleep 0.05
		# The client waits 0.3 s after the rewrite at 512 KiB: the next
		# window the server reads must end the transfer, far from the
		# end of the 8 MiB file (the server reads ahead at most 128 KiB).
		run changing_get f rewrite 512 --pause 0.3 tsize 0 blksize 1024 windowsize 16
		assert_status 0
		assert_contains "$output" "$CHANGED"
		(($(stat -c %s "$WORK/got") < 1048576))
		stop_server
	done
}

@test "without tsize, without any option, and in netascii: the same rule" {
	for model in "${MODELS[@]}"; do
		start_server $model
		make_file f 2097152
		run changing_get f truncate 512 blksize 1024
		assert_contains "$output" "$CHANGED"
		make_file f 2097152
		run changing_get f append 1024
		assert_contains "$output" "$CHANGED"
		make_file f 2097152
		sleep 0.05
		run changing_get f rewrite 1024
		assert_contains "$output" "$CHANGED"
		for action in truncate append; do
			make_file f 2097152
			run changing_get f $action 512 --mode netascii blksize 1024
			assert_contains "$output" "$CHANGED"
		done
		# Unchanged, netascii still completes.
		printf 'line one\nline two\r\n' >"$ROOT/t.txt"
		run changing_get t.txt none 1 --mode netascii
		assert_contains "$output" "COMPLETE"
		wait_for 5 log_count_is "file=\"f\".*$LOGGED" 5
		stop_server
	done
}

# A real client against a 64 MiB file truncated once the download is
# under way: it must not end with success holding a prefix.
real_client_truncated() { # CLIENT-FUNCTION
	local client=$1 rc=0 i
	make_file big 67108864
	rm -f "$WORK/big"
	"$client" big "$WORK/big" >"$WORK/client.out" 2>&1 3>&- &
	local pid=$!
	for ((i = 0; i < 200; i++)); do
		(($(stat -c %s "$WORK/big" 2>/dev/null || echo 0) > 1048576)) && break
		sleep 0.01
	done
	truncate -s 1M "$ROOT/big"
	wait "$pid" || rc=$?
	wait_log 'file="big".*outcome=changed'
	echo "$client: rc=$rc $(cat "$WORK/client.out")"
	# A failure, said by the exit status (or, tftp-hpa, by a message).
	((rc != 0)) || [[ -s $WORK/client.out ]]
}

@test "real clients (tftp-hpa, curl) are told when the file is truncated under them" {
	need_cmd tftp curl
	start_server
	real_client_truncated hpa_get
	real_client_truncated curl_get
	stop_server
	start_server --workers 0
	real_client_truncated hpa_get
}

# A worker keeps one copy of each small file it serves (--file-cache).  The
# copy must never outlive the file: each transfer after a change gets the
# new bytes, whether the file was rewritten in place (same size, same
# inode) or replaced by a rename.
@test "a worker's copy of a file: shared while unchanged, never served once the file changed" {
	start_server --workers 1
	make_file f 300000
	local i
	for i in 1 2 3; do
		run "$SNOW_OWL" get -b 1468 "tftp://127.0.0.1:$PORT/f" "$WORK/got"
		assert_status 0
		assert_same "$ROOT/f" "$WORK/got"
		case $i in
		1)	# In place: same size, same inode, new bytes.
			head -c 300000 /dev/urandom >"$WORK/new"
			sleep 0.02
			dd if="$WORK/new" of="$ROOT/f" conv=notrunc status=none ;;
		2)	head -c 300000 /dev/urandom >"$ROOT/f.tmp"
			mv "$ROOT/f.tmp" "$ROOT/f" ;;
		esac
	done
	wait_for 5 log_count_is 'file="f".*outcome=complete' 3
}

@test "--file-cache 0: every transfer reads the file" {
	start_server --workers 1 --file-cache 0
	make_file f 300000
	run "$SNOW_OWL" get -b 1468 "tftp://127.0.0.1:$PORT/f" "$WORK/got"
	assert_status 0
	assert_same "$ROOT/f" "$WORK/got"
	head -c 300000 /dev/urandom >"$WORK/new"
	dd if="$WORK/new" of="$ROOT/f" conv=notrunc status=none
	run "$SNOW_OWL" get -b 1468 "tftp://127.0.0.1:$PORT/f" "$WORK/got"
	assert_status 0
	assert_same "$WORK/new" "$WORK/got"
}
