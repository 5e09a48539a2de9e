#!/usr/bin/env bats
# clients.bats - downloads and uploads with real clients (tftp-hpa, atftp,
# curl, busybox) over IPv4 and IPv6, for a matrix of file sizes around the
# block and window boundaries, plus a file of more than 65535 blocks.

load helpers

# name:size pairs; 70464 = 1468 * 16 * 3, an exact multiple of a whole
# window of 16 blocks of 1468 bytes.
MATRIX=(f0:0 f1:1 f511:511 f512:512 f513:513 fwin:70464 f10m:10485760)
HUGE_SIZE=$((512 * 70000 + 100)) # 70001 blocks of 512: the block number wraps

setup_file() {
	DATA=$BATS_FILE_TMPDIR/data
	export DATA
	mkdir -p "$DATA"
	local m
	for m in "${MATRIX[@]}"; do
		head -c "${m#*:}" /dev/urandom >"$DATA/${m%%:*}"
	done
	head -c "$HUGE_SIZE" /dev/urandom >"$DATA/huge"
	# Text for netascii: LF line ends (lines cross block boundaries), a
	# bare CR inside a line, CR LF pairs split by block boundaries.
	{
		for i in $(seq 1 1500); do
			printf 'line %d: %*s\n' "$i" $((i % 97)) x
		done
		printf 'a bare\rcarriage return\n'
		printf 'no newline at the end'
	} >"$DATA/text"
	chmod 0644 "$DATA"/*
}

setup() {
	common_setup
	copy_demo
	local f
	for f in "$DATA"/*; do
		ln "$f" "$ROOT/${f##*/}" # hard links: no copying for every test
	done
	make_upload_dir up 0777
}

# download_matrix CLIENT_GET [client args]: fetch every file of the matrix.
download_matrix() {
	local get=$1 m name size
	shift
	for m in "${MATRIX[@]}"; do
		name=${m%%:*}
		size=${m#*:}
		rm -f "$WORK/$name"
		"$get" "$name" "$WORK/$name" "$@" || {
			echo "$get $name ($size bytes) failed" >&2
			return 1
		}
		assert_same "$DATA/$name" "$WORK/$name"
	done
	# One log line per file, complete, with every byte acknowledged.
	for m in "${MATRIX[@]}"; do
		wait_log "peer=${LOG_PEER:-127\.0\.0\.1}:[0-9]+ op=RRQ file=\"${m%%:*}\" .* bytes=${m#*:} .*outcome=complete"
	done
}

# upload_matrix CLIENT_PUT [client args]: send every file of the matrix to
# up/, where it must arrive byte for byte.
upload_matrix() {
	local put=$1 m name size
	shift
	for m in "${MATRIX[@]}"; do
		name=${m%%:*}
		size=${m#*:}
		"$put" "up/$name" "$DATA/$name" "$@" || {
			echo "$put $name ($size bytes) failed" >&2
			return 1
		}
		assert_same "$DATA/$name" "$ROOT/up/$name"
		[[ $(mode_of "$ROOT/up/$name") == 644 ]]
	done
	[[ $(ls -A "$ROOT/up" | wc -l) -eq ${#MATRIX[@]} ]] # no temporary files
	for m in "${MATRIX[@]}"; do
		wait_log "peer=${LOG_PEER:-127\.0\.0\.1}:[0-9]+ op=WRQ file=\"up/${m%%:*}\" .* bytes=${m#*:} .*outcome=complete"
	done
}

# curl (7.88) rejects the OACK of an empty file: "invalid tsize -:0:- value
# in OACK packet" (RFC 2349 allows 0).  That is the client's limit, so curl
# fetches the empty file without options.
curl_get_matrix() {
	if [[ $1 == f0 ]]; then
		curl_get "$1" "$2" --tftp-no-options
	else
		curl_get "$@"
	fi
}

# ---- downloads -------------------------------------------------------------

@test "download, tftp-hpa, IPv4: size matrix" {
	need_cmd tftp
	start_server
	download_matrix hpa_get
}

@test "download, tftp-hpa, IPv6: size matrix" {
	need_cmd tftp
	start_server
	HOST=::1 LOG_PEER='\[::1\]' download_matrix hpa_get
}

@test "download, atftp, IPv4: size matrix" {
	need_cmd atftp
	start_server
	download_matrix atftp_get
}

@test "download, atftp windowsize 16 blksize 1468, IPv4: size matrix" {
	need_cmd atftp
	start_server
	download_matrix atftp_get --option "windowsize 16" --option "blksize 1468"
	wait_log 'file="fwin" .*options=blksize=1468,windowsize=16 bytes=70464 .*outcome=complete'
}

@test "download, atftp windowsize 16 blksize 1468, IPv6: size matrix" {
	need_cmd atftp
	start_server
	HOST=::1 LOG_PEER='\[::1\]' download_matrix atftp_get --option "windowsize 16" --option "blksize 1468"
}

@test "download, curl, IPv4: size matrix" {
	need_cmd curl
	start_server
	download_matrix curl_get_matrix
}

@test "download, curl --tftp-blksize 1468, IPv4: size matrix" {
	need_cmd curl
	start_server
	download_matrix curl_get_matrix --tftp-blksize 1468
	wait_log 'file="f10m" .*options=blksize=1468,tsize=10485760'
}

@test "download, curl, IPv6: size matrix" {
	need_cmd curl
	start_server
	HOST=::1 LOG_PEER='\[::1\]' download_matrix curl_get_matrix
}

@test "download, busybox tftp -b 1024, IPv4: size matrix" {
	need_cmd busybox
	busybox tftp --help 2>&1 | grep -q -- '-g' || skip "busybox without tftp get"
	start_server
	download_matrix busybox_get -b 1024
	wait_log 'file="f10m" .*options=blksize=1024'
}

@test "download of more than 65535 blocks, atftp blksize 512 windowsize 16 (block number wraps)" {
	need_cmd atftp
	start_server
	atftp_get huge "$WORK/huge" --option "blksize 512" --option "windowsize 16"
	assert_same "$DATA/huge" "$WORK/huge"
	wait_log "op=RRQ file=\"huge\" .*options=blksize=512,windowsize=16 bytes=$HUGE_SIZE .*outcome=complete"
}

@test "download of more than 65535 blocks, curl (blksize 512, lock-step)" {
	need_cmd curl
	start_server
	curl_get huge "$WORK/huge"
	assert_same "$DATA/huge" "$WORK/huge"
	wait_log "op=RRQ file=\"huge\" .* bytes=$HUGE_SIZE .*outcome=complete"
}

# ---- uploads ---------------------------------------------------------------

@test "upload, tftp-hpa, IPv4: size matrix" {
	need_cmd tftp
	start_server -c
	upload_matrix hpa_put
}

@test "upload, tftp-hpa, IPv6: size matrix" {
	need_cmd tftp
	start_server -c
	HOST=::1 LOG_PEER='\[::1\]' upload_matrix hpa_put
}

@test "upload, atftp, IPv4: size matrix" {
	need_cmd atftp
	start_server -c
	upload_matrix atftp_put
}

@test "upload, atftp windowsize 16, IPv4: size matrix" {
	need_cmd atftp
	start_server -c
	upload_matrix atftp_put --option "windowsize 16"
	wait_log 'op=WRQ file="up/f10m" .*options=windowsize=16 '
}

@test "upload, atftp windowsize 16 blksize 1468, IPv6: size matrix" {
	need_cmd atftp
	start_server -c
	HOST=::1 LOG_PEER='\[::1\]' upload_matrix atftp_put --option "windowsize 16" --option "blksize 1468"
}

@test "upload, curl -T, IPv4: size matrix" {
	need_cmd curl
	start_server -c
	upload_matrix curl_put
}

@test "upload, curl -T --tftp-blksize 1468, IPv6: size matrix" {
	need_cmd curl
	start_server -c
	HOST=::1 LOG_PEER='\[::1\]' upload_matrix curl_put --tftp-blksize 1468
}

@test "upload, busybox tftp -p, IPv4: size matrix" {
	need_cmd busybox
	busybox tftp --help 2>&1 | grep -q -- '-p' || skip "busybox without tftp put"
	start_server -c
	upload_matrix busybox_put
}

@test "upload of more than 65535 blocks, atftp blksize 512 windowsize 16 (block number wraps)" {
	need_cmd atftp
	start_server -c
	atftp_put up/huge "$DATA/huge" --option "blksize 512" --option "windowsize 16"
	assert_same "$DATA/huge" "$ROOT/up/huge"
	wait_log "op=WRQ file=\"up/huge\" .*options=blksize=512,windowsize=16 bytes=$HUGE_SIZE .*outcome=complete"
}

# ---- netascii --------------------------------------------------------------

@test "netascii download (tftp-hpa -m ascii) of an LF text file arrives identical" {
	need_cmd tftp
	start_server
	TFTP_MODE=ascii hpa_get text "$WORK/text"
	assert_same "$DATA/text" "$WORK/text"
	TFTP_MODE=ascii HOST=::1 hpa_get hello.txt "$WORK/hello"
	assert_same "$ROOT/hello.txt" "$WORK/hello"
	# On the wire every LF is CR LF: the byte count says so.
	local lf cr size
	lf=$(tr -cd '\n' <"$DATA/text" | wc -c)
	cr=$(tr -cd '\r' <"$DATA/text" | wc -c)
	size=$(($(stat -c %s "$DATA/text") + lf + cr))
	wait_log "op=RRQ file=\"text\" mode=netascii .* bytes=$size .*outcome=complete"
}

@test "netascii upload (tftp-hpa -m ascii) round-trips" {
	need_cmd tftp
	start_server -c
	TFTP_MODE=ascii hpa_put up/text "$DATA/text"
	assert_same "$DATA/text" "$ROOT/up/text"
	TFTP_MODE=ascii hpa_get up/text "$WORK/text"
	assert_same "$DATA/text" "$WORK/text"
	wait_log 'op=WRQ file="up/text" mode=netascii .*outcome=complete'
}

@test "concurrent downloads and uploads with different clients" {
	need_cmd tftp atftp curl
	start_server -c
	local pids=() p
	hpa_get f10m "$WORK/a" 3>&- &
	pids+=($!)
	atftp_get f10m "$WORK/b" --option "windowsize 16" --option "blksize 1468" >/dev/null 2>&1 3>&- &
	pids+=($!)
	HOST=::1 curl_get fwin "$WORK/c" 3>&- &
	pids+=($!)
	atftp_put up/d "$DATA/f10m" --option "windowsize 8" >/dev/null 2>&1 3>&- &
	pids+=($!)
	for p in "${pids[@]}"; do
		wait "$p"
	done
	assert_same "$DATA/f10m" "$WORK/a"
	assert_same "$DATA/f10m" "$WORK/b"
	assert_same "$DATA/fwin" "$WORK/c"
	assert_same "$DATA/f10m" "$ROOT/up/d"
}

# ---- protocol details, with the raw windowed client of helpers.bash ----------

@test "rollover 1: after block 65535 comes block 1 (raw windowed client)" {
	start_server
	# A fixed timeout: a slow client on a busy machine must not see timer
	# resends here, which would count as dups.
	run tftp_raw --get "$WORK/huge" req rrq huge octet windowsize 16 rollover 1 timeout 5
	[[ ${lines[0]} == "OACK timeout=5 windowsize=16 rollover=1" ]]
	[[ ${lines[1]} == "GOT $HUGE_SIZE bytes in 70001 blocks, "*", 1 wraps, 0 dropped, 0 dups" ]]
	assert_same "$DATA/huge" "$WORK/huge"
	wait_log "file=\"huge\" .*options=timeout=5,windowsize=16,rollover=1 bytes=$HUGE_SIZE .*outcome=complete"
}

@test "rollover 0: after block 65535 comes block 0 (raw windowed client)" {
	start_server
	run tftp_raw --get "$WORK/huge" req rrq huge octet windowsize 16 rollover 0 timeout 5
	[[ ${lines[0]} == "OACK timeout=5 windowsize=16 rollover=0" ]]
	[[ ${lines[1]} == "GOT $HUGE_SIZE bytes in 70001 blocks, "*", 1 wraps, 0 dropped, 0 dups" ]]
	assert_same "$DATA/huge" "$WORK/huge"
}

@test "lost blocks inside a window are repaired after the receiver's ACK" {
	start_server
	# Blocks 5 and 40 are "lost": the client ACKs the block before each
	# gap and the server resends from there.
	run tftp_raw --get "$WORK/fwin" --drop 5 --drop 40 req rrq fwin octet windowsize 16 blksize 1468
	[[ ${lines[1]} == "GOT 70464 bytes in 49 blocks, "*", 2 dropped, "* ]]
	assert_same "$DATA/fwin" "$WORK/fwin"
	wait_log 'file="fwin" .*bytes=70464 .*retransmits=[1-9][0-9]* outcome=complete'
	# Lock-step: a lost block is sent again when the timer expires.
	run tftp_raw --get "$WORK/f513" --drop 2 req rrq f513 octet
	[[ ${lines[1]} == "GOT 513 bytes in 2 blocks, "*", 1 dropped, "* ]]
	assert_same "$DATA/f513" "$WORK/f513"
}

@test "large blksize: 65464 lock-step (atftp) and with 4 MiB windows (raw client); blksize 8" {
	need_cmd atftp
	start_server
	atftp_get f10m "$WORK/a" --option "blksize 65464"
	assert_same "$DATA/f10m" "$WORK/a"
	wait_log 'file="f10m" .*options=blksize=65464 bytes=10485760 .*outcome=complete'
	# 64 blocks of 65464 bytes per window: the receiver needs a socket
	# buffer that holds a whole window, or it drops the tail of every
	# window and each one costs a retransmission timeout.
	local rmem_max
	rmem_max=$(cat /proc/sys/net/core/rmem_max)
	if is_root || ((rmem_max >= 8 * 1024 * 1024)); then
		run tftp_raw --rcvbuf $((8 * 1024 * 1024)) --get "$WORK/b" req rrq f10m octet blksize 65464 windowsize 64
		[[ ${lines[0]} == "OACK blksize=65464 windowsize=64" ]]
		[[ ${lines[1]} == "GOT 10485760 bytes in 161 blocks, "* ]]
		assert_same "$DATA/f10m" "$WORK/b"
	fi
	# The other end: 8-byte blocks.
	run tftp_raw --get "$WORK/c" req rrq fwin octet blksize 8 tsize 0
	[[ ${lines[0]} == "OACK blksize=8 tsize=70464" ]]
	assert_same "$DATA/fwin" "$WORK/c"
}

@test "netascii on the wire: LF goes out as CR LF, CR as CR NUL (raw client)" {
	start_server
	run tftp_raw --get "$WORK/wire" req rrq text netascii
	[[ ${lines[0]} == "DATA 1 512" ]]
	python3 -c 'import sys; d = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(d.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n"))' "$DATA/text" >"$WORK/expected"
	assert_same "$WORK/expected" "$WORK/wire"
	# A CR at the very end of a file, and a CR LF pair in the input.
	printf 'x\r\ny\r' >"$ROOT/cr-end"
	chmod 0644 "$ROOT/cr-end"
	run tftp_raw --get "$WORK/cr-end" req rrq cr-end netascii
	printf 'x\r\0\r\ny\r\0' >"$WORK/cr-end.expected"
	assert_same "$WORK/cr-end.expected" "$WORK/cr-end"
}

@test "netascii upload on the wire: CR LF is stored as LF, CR NUL as CR (raw client)" {
	start_server -c
	python3 -c 'import sys; d = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(d.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n"))' "$DATA/text" >"$WORK/wire"
	run tftp_raw --put "$WORK/wire" req wrq up/text netascii windowsize 4
	[[ ${lines[1]} == "PUT "* ]]
	assert_same "$DATA/text" "$ROOT/up/text"
}

@test "duplicate ACKs never make the server send a block again (Sorcerer's Apprentice)" {
	start_server
	# A fixed timeout: a client slowed down by a loaded machine must not
	# cause a timer resend, which would also show as a duplicate.
	run tftp_raw --get "$WORK/a" --dup-ack req rrq fwin octet timeout 5
	echo "$output"
	[[ ${lines[1]} == "GOT 70464 bytes in 138 blocks, "*", 0 dups" ]]
	assert_same "$DATA/fwin" "$WORK/a"
	run tftp_raw --get "$WORK/b" --dup-ack req rrq fwin octet windowsize 4 timeout 5
	echo "$output"
	[[ ${lines[1]} == "GOT 70464 bytes in 138 blocks, "*", 0 dups" ]]
	assert_same "$DATA/fwin" "$WORK/b"
	wait_log 'file="fwin" .*options=timeout=5 .*retransmits=0 outcome=complete'
	wait_log 'file="fwin" .*options=timeout=5,windowsize=4 .*retransmits=0 outcome=complete'
}

@test "windowed upload: blocks lost on the way are sent again after the server's ACK (raw client)" {
	start_server -c -T 200000
	run tftp_raw --put "$DATA/fwin" --skip 3 --skip 20 --skip 138 req wrq up/w8 octet windowsize 8
	[[ ${lines[1]} == "PUT 70464 bytes in 138 blocks, "*", 3 skipped" ]]
	assert_same "$DATA/fwin" "$ROOT/up/w8"
	run tftp_raw --put "$DATA/f513" --skip 2 req wrq up/lockstep octet
	[[ ${lines[1]} == "PUT 513 bytes in 2 blocks, "*", 1 skipped" ]]
	assert_same "$DATA/f513" "$ROOT/up/lockstep"
	wait_log 'op=WRQ file="up/w8" .*bytes=70464 .*outcome=complete'
}

@test "upload of more than 65535 blocks with rollover 1 (raw client)" {
	start_server -c
	run tftp_raw --put "$DATA/huge" req wrq up/huge octet windowsize 16 rollover 1
	[[ ${lines[0]} == "OACK windowsize=16 rollover=1" ]]
	[[ ${lines[1]} == "PUT $HUGE_SIZE bytes in 70001 blocks, "* ]]
	assert_same "$DATA/huge" "$ROOT/up/huge"
	wait_log "op=WRQ file=\"up/huge\" .*options=windowsize=16,rollover=1 bytes=$HUGE_SIZE .*outcome=complete"
}
