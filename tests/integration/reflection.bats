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
