#!/bin/bash
# Compare snow-owld with tftpd-hpa and atftpd on the loopback interface;
# the boot storm also runs dnsmasq, and floor as a yardstick.
#
#   sudo tests/bench/compare.sh          or          make bench
#
# Environment:
#   SNOW_OWLD        the daemon to measure (default ./snow-owld)
#   SNOW_OWL_CLIENT  the load generator, "snow-owl bench" (default ./snow-owl)
#   FLOOR            the storm's yardstick, built from tests/bench/floor.c
#                    (default ./tests/bench/floor; make bench builds it)
#   REPS             repetitions; they are interleaved and medians are
#                    reported (default 3)
#   QUICK=1          a smoke run: one repetition, no 100 MiB windowsize-1 cases
#   RESULTS          directory for the raw results
#                    (default /tmp/snow-owl-bench-DATE)
#   W1_MIB           file size for the single-client windowsize-1 cases
#                    (default 100)
#   RUN_LIMIT        seconds after which one client run is abandoned (600)
#   SNOW_OWLD_ARGS   extra options for snow-owld (e.g. "--workers 0")
#   ALT_ARGS         when set, a second snow-owld column, "snow-owld-alt",
#                    runs with these options instead (to compare models:
#                    ALT_ARGS="--workers 0", or single-port against the
#                    default: ALT_ARGS="--single-port"
#                    SCENARIOS="many storm"); ratios still compare
#                    snow-owld with the other servers only: tftpd-hpa,
#                    atftpd and dnsmasq, never snow-owld-alt or floor
#   ALT_SNOW_OWLD    the daemon of the snow-owld-alt column (default
#                    SNOW_OWLD): another build, to compare two versions in
#                    one run (ALT_SNOW_OWLD=/tmp/old/snow-owld ALT_ARGS=)
#   SCENARIOS        which scenarios to run (default
#                    "single many storm loss syscalls"; "bigstorm" adds
#                    10,000 clients × 64 KiB and × 1 MiB against snow-owld,
#                    floor and dnsmasq only, with their peak memory)
#
# Each server listens on its own random high port of 127.0.0.1 and runs on
# CPU 0; every client runs on CPU 1.  dnsmasq's TFTP port is fixed at 69,
# so dnsmasq and its clients run in a network namespace of their own
# (snow-owl-bench.PID, removed at exit): port 69 of this host is never used.
# floor is the least a TFTP server can do: no timers, logging or sandbox,
# files cached in memory; it shows the kernel's cost and is never compared.
# When dnsmasq or floor cannot run, the storm table says "not run" for it.
# Markdown tables go to standard output, progress to standard error, and one
# CSV line per client run (with the client's summary line) to
# $RESULTS/runs.csv.  Needs root: it installs the servers it compares with,
# creates a network namespace, and the servers, floor aside, switch to the
# nobody user.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu

# ---------------------------------------------------------------- settings

# The command line as given, for the report's header.
CMDLINE=
for v in REPS QUICK RESULTS SNOW_OWLD ALT_SNOW_OWLD SNOW_OWL_CLIENT FLOOR W1_MIB RUN_LIMIT SNOW_OWLD_ARGS ALT_ARGS SCENARIOS; do
	if [ -n "${!v+set}" ]; then CMDLINE+="$v=$(printf %q "${!v}") "; fi
done
CMDLINE+=$(printf %q "$0")
for a in "$@"; do CMDLINE+=" $(printf %q "$a")"; done

case "${1:-}" in
"") ;;
-h | --help)
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*)
	echo "usage: $0 (settings come from the environment; see --help)" >&2
	exit 1
	;;
esac

QUICK=${QUICK:-0}
REPS=${REPS:-3}
[ "$QUICK" = 1 ] && REPS=1
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=${RESULTS:-/tmp/snow-owl-bench-$STAMP}
SNOW_OWLD=${SNOW_OWLD:-./snow-owld}
CLIENT=${SNOW_OWL_CLIENT:-./snow-owl}
W1_MIB=${W1_MIB:-100}
RUN_LIMIT=${RUN_LIMIT:-600}
TFTPD_HPA=/usr/sbin/in.tftpd
ATFTPD_DIR=/var/cache/snow-owl/atftpd
ATFTPD=$ATFTPD_DIR/usr/sbin/atftpd
FLOOR=${FLOOR:-./tests/bench/floor}
DNSMASQ=/usr/sbin/dnsmasq
DNSMASQ_USER=nobody DNSMASQ_GROUP=nogroup
SNOW_OWLD_ARGS=${SNOW_OWLD_ARGS:-}
SCENARIOS=${SCENARIOS:-single many storm loss syscalls}
SERVERS=(snow-owld tftpd-hpa atftpd)
if [ -n "${ALT_ARGS+set}" ]; then SERVERS=(snow-owld snow-owld-alt tftpd-hpa atftpd); fi
# The storm runs two more: dnsmasq, and floor, a yardstick.
REFERENCES=(floor dnsmasq)
STORM_SERVERS=("${SERVERS[@]}" "${REFERENCES[@]}")
# The 10,000-client storm: only those that hold it.
BIG_SERVERS=(snow-owld "${REFERENCES[@]}")
# Columns that the ratio never compares snow-owld with.
NOT_COMPARED=" snow-owld-alt floor "
# dnsmasq's network namespace; NETNS_MADE once it exists.
NETNS=snow-owl-bench.$$ NETNS_MADE=''
SERVER_CPU=0
CLIENT_CPU=1
# A server whose lossy run takes longer than this is not run again with
# the other seeds (tftpd-hpa needs about a second per lost packet).
LOSS_REPEAT_LIMIT=30
CLK_TCK=$(getconf CLK_TCK)
T0=$(date +%s)

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# ----------------------------------------------------------- preparation

apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# tftpd-hpa would start its own service on port 69: not while we install.
	local policy='' status=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		policy=1
	fi
	apt-get install -y -q --no-install-recommends "$@" >&2 || status=$?
	[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
	return "$status"
}

# tftpd-hpa, strace, pgrep (procps), ss (iproute2) and atftpd's libraries.
ensure_packages() {
	local p missing=()
	for p in tftpd-hpa strace procps iproute2 libwrap0 libpcre2-8-0; do
		dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	apt_install "${missing[@]}"
}

# Debian's atftpd conflicts with tftpd-hpa, so it runs from an unpacked copy.
ensure_atftpd() {
	[ -x "$ATFTPD" ] && return 0
	say "unpacking atftpd into $ATFTPD_DIR"
	local tmp status=0
	tmp=$(mktemp -d)
	chmod 0755 "$tmp" # apt-get download writes as the _apt user
	if ! (cd "$tmp" && apt-get download -q atftpd >&2); then
		apt-get update -q >&2
		(cd "$tmp" && apt-get download -q atftpd >&2) || status=$?
	fi
	if [ "$status" -eq 0 ]; then
		mkdir -p "$ATFTPD_DIR" && dpkg -x "$tmp"/atftpd_*.deb "$ATFTPD_DIR" || status=$?
	fi
	rm -rf "$tmp"
	return "$status"
}

# The storm's reference servers, floor and dnsmasq, with the reason why
# one of them does not run (it is then "not run" in the table).
declare -A SKIP=()
skip_server() {
	SKIP[$1]=$2
	say "warning: $1 does not run in the storm: $2"
}

# floor comes from the build; dnsmasq from dnsmasq-base (which, unlike the
# dnsmasq package, starts no service), and it gets a network namespace of
# its own with only the loopback interface.
prepare_references() {
	if [ -x "$FLOOR" ]; then
		FLOOR=$(realpath -e "$FLOOR")
	else
		skip_server floor "no yardstick at $FLOOR: build it (make tests/bench/floor) or set FLOOR"
	fi
	if ! dpkg-query -W -f='${db:Status-Status}' dnsmasq-base 2>/dev/null | grep -qx installed; then
		say "installing dnsmasq-base"
		apt_install dnsmasq-base || true
	fi
	if [ ! -x "$DNSMASQ" ]; then
		skip_server dnsmasq "no $DNSMASQ: could not install dnsmasq-base"
	elif ip netns add "$NETNS" >&2 && NETNS_MADE=1 &&
		ip netns exec "$NETNS" ip link set lo up >&2; then
		say "network namespace $NETNS for dnsmasq"
	else
		skip_server dnsmasq "could not create the network namespace $NETNS"
	fi
}

# A scratch directory: copies of the programs under test, so that a
# rebuild during the run changes nothing, and ROOT with the files every
# scenario fetches, created once.
make_work() {
	WORK=$(mktemp -d /tmp/snow-owl-bench.XXXXXX)
	chmod 0755 "$WORK"
	mkdir -m 0755 "$WORK/bin" "$WORK/root"
	cp "$SNOW_OWLD" "$WORK/bin/snow-owld"
	cp "${ALT_SNOW_OWLD:-$SNOW_OWLD}" "$WORK/bin/snow-owld-alt"
	ALT_SNOW_OWLD_ORIG=${ALT_SNOW_OWLD:-$SNOW_OWLD} ALT_SNOW_OWLD=$WORK/bin/snow-owld-alt
	cp "$CLIENT" "$WORK/bin/snow-owl"
	SNOW_OWLD_ORIG=$SNOW_OWLD CLIENT_ORIG=$CLIENT
	SNOW_OWLD=$WORK/bin/snow-owld CLIENT=$WORK/bin/snow-owl
	if [ -n "$STORM" ] && [ -z "${SKIP[floor]:-}" ]; then
		cp "$FLOOR" "$WORK/bin/floor"
		FLOOR_ORIG=$FLOOR FLOOR=$WORK/bin/floor
	fi
	ROOT=$WORK/root
	head -c $((100 << 20)) /dev/urandom >"$ROOT/100m.bin"
	head -c $((10 << 20)) /dev/urandom >"$ROOT/10m.bin"
	head -c $((64 << 10)) /dev/urandom >"$ROOT/64k.bin"
	head -c $((1 << 20)) /dev/urandom >"$ROOT/1m.bin"
	W1_FILE=100m.bin
	if [ "$W1_MIB" != 100 ]; then
		W1_FILE=w1.bin
		head -c $((W1_MIB << 20)) /dev/urandom >"$ROOT/$W1_FILE"
	fi
	chmod 0644 "$ROOT"/*.bin
	# dnsmasq reads the files as nobody when it can, as root otherwise.
	if [ -n "$STORM" ] && ! runuser -u nobody -- test -r "$ROOT/64k.bin"; then
		say "warning: nobody cannot read $ROOT/64k.bin: dnsmasq runs as root"
		DNSMASQ_USER=root DNSMASQ_GROUP=root
	fi
}

# --------------------------------------------------------------- servers

declare -A PID=() PORT=() TRACER=() BASE=() LOSS_SLOW=()

# Server CPU time is read from a cgroup that holds the server and everything
# it forks: tftpd-hpa ignores SIGCHLD, so the kernel reaps its children
# without adding their time to its cutime/cstime.  Without a usable cgroup
# it falls back to /proc/PID/stat (utime+stime+cutime+cstime).
CG_KIND=proc CG_ROOT=''
cg_init() {
	local m
	m=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -n "$m" ] && mkdir "$m/snow-owl-bench.$$" 2>/dev/null; then
		CG_KIND=v2 CG_ROOT=$m/snow-owl-bench.$$
		mkdir "$CG_ROOT/client"
		return
	fi
	m=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuacct(,|$)/ { print $2; exit }' /proc/mounts)
	if [ -n "$m" ] && mkdir "$m/snow-owl-bench.$$" 2>/dev/null; then
		CG_KIND=v1 CG_ROOT=$m/snow-owl-bench.$$
		mkdir "$CG_ROOT/client"
		return
	fi
	say "warning: no cgroup for CPU accounting; /proc/PID/stat misses tftpd-hpa's children"
}

cg_describe() {
	case $CG_KIND in
	v2) echo "usage_usec in cpu.stat of a cgroup (v2) holding the server and all it forks" ;;
	v1) echo "cpuacct.usage of a cgroup holding the server and all it forks" ;;
	proc) echo "utime+stime+cutime+cstime of the server in /proc/PID/stat (no cgroup: tftpd-hpa's children are not counted)" ;;
	esac
}

# Server CPU time so far, in microseconds.
cpu_us() {
	local name=$1 st f
	case $CG_KIND in
	v2) awk '$1 == "usage_usec" { print $2 }' "$CG_ROOT/$name/cpu.stat" 2>/dev/null || echo 0 ;;
	v1) awk '{ print int($1 / 1000) }' "$CG_ROOT/$name/cpuacct.usage" 2>/dev/null || echo 0 ;;
	proc)
		st=$(cat "/proc/${PID[$name]:-none}/stat" 2>/dev/null) || {
			echo 0
			return
		}
		read -r -a f <<<"${st##*) }"
		# f[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17.
		echo $(((f[11] + f[12] + f[13] + f[14]) * 1000000 / CLK_TCK))
		;;
	esac
}

# Remove the cgroups once the last transfer process has left them.
cg_cleanup() {
	local i d
	[ -n "$CG_ROOT" ] || return 0
	for i in $(seq 50); do
		for d in "$CG_ROOT"/*/; do
			[ ! -d "$d" ] || rmdir "$d" 2>/dev/null || true
		done
		rmdir "$CG_ROOT" 2>/dev/null || true
		[ -d "$CG_ROOT" ] || return 0
		sleep 0.1
	done
	say "warning: could not remove $CG_ROOT"
}

# ARGV: the command line of server $1 listening on port $2.
server_argv() {
	case $1 in
	snow-owld)
		# shellcheck disable=SC2206 # the options are words
		ARGV=("$SNOW_OWLD" -L -a "127.0.0.1:$2" $SNOW_OWLD_ARGS "$ROOT")
		;;
	snow-owld-alt)
		# shellcheck disable=SC2206
		ARGV=("$ALT_SNOW_OWLD" -L -a "127.0.0.1:$2" $ALT_ARGS "$ROOT")
		;;
	tftpd-hpa) ARGV=("$TFTPD_HPA" -L -a "127.0.0.1:$2" -s "$ROOT") ;;
	atftpd)
		ARGV=("$ATFTPD" --daemon --no-fork --port "$2" --bind-address 127.0.0.1
			--logfile /dev/null --user nobody --group nogroup --maxthread 2100 "$ROOT")
		;;
	floor) ARGV=("$FLOOR" "127.0.0.1:$2" "$ROOT") ;;
	# --keep-in-foreground, not --no-daemon, which would keep it root.  It
	# logs "sent FILE to ADDR" for every transfer even with --quiet-tftp.
	dnsmasq)
		ARGV=(ip netns exec "$NETNS" "$DNSMASQ" --keep-in-foreground --port=0
			--enable-tftp --tftp-root="$ROOT" --tftp-max=10000
			--listen-address=127.0.0.1 --bind-interfaces --quiet-tftp
			--user="$DNSMASQ_USER" --group="$DNSMASQ_GROUP"
			--conf-file=/dev/null --pid-file= --log-facility=-)
		;;
	esac
}

# in_netns SERVER COMMAND...: COMMAND in the server's network namespace
# (dnsmasq's own, or this one).
in_netns() {
	local name=$1
	shift
	if [ "$name" = dnsmasq ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi
}

# A UDP port of 127.0.0.1 that nothing uses, below the ephemeral range.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		[ -z "$(ss -Hlun "sport = :$p")" ] && break
	done
	echo "$p"
}

# Process $1 exists and is not a zombie.
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# Threads of $1 plus its child processes: back to its idle value when
# every transfer has ended and been reaped.
tasks() {
	local threads children
	threads=$(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
	children=$(pgrep -c -P "$1" || true)
	echo $((threads + children))
}

# start_server NAME [STRACE_OUTPUT]: on a free port (dnsmasq: on port 69
# of its namespace), pinned to SERVER_CPU, under "strace -f -c" when a
# second argument is given.  Fails when the server does not start.
start_server() {
	local name=$1 trace=${2:-} port pid tracer try i
	if [ "$name" = dnsmasq ] && [ -z "$NETNS_MADE" ]; then
		say "dnsmasq needs its network namespace"
		return 1
	fi
	for try in 1 2 3 4 5; do
		port=69
		[ "$name" = dnsmasq ] || port=$(free_port)
		pid=
		server_argv "$name" "$port"
		tracer=
		if [ -n "$trace" ]; then
			taskset -c "$SERVER_CPU" strace -f -c -o "$trace" "${ARGV[@]}" \
				>>"$RESULTS/$name.log" 2>&1 &
			tracer=$!
		elif [ "$CG_KIND" != proc ]; then
			mkdir -p "$CG_ROOT/$name"
			# shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
			taskset -c "$SERVER_CPU" sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' \
				sh "$CG_ROOT/$name" "${ARGV[@]}" >>"$RESULTS/$name.log" 2>&1 &
			pid=$!
		else
			taskset -c "$SERVER_CPU" "${ARGV[@]}" >>"$RESULTS/$name.log" 2>&1 &
			pid=$!
		fi
		for i in $(seq 100); do
			[ -z "$tracer" ] || pid=$(pgrep -o -P "$tracer" || true)
			if [ -n "$pid" ] && in_netns "$name" ss -Hlunp "sport = :$port" | grep -q "pid=$pid,"; then
				PID[$name]=$pid PORT[$name]=$port TRACER[$name]=$tracer
				BASE[$name]=$(tasks "$pid")
				say "$name: pid $pid on 127.0.0.1:$port${trace:+ under strace}"
				return 0
			fi
			alive "${tracer:-$pid}" || break
			sleep 0.05
		done
		say "$name did not start on port $port (try $try); see $RESULTS/$name.log"
		kill -KILL "${tracer:-$pid}" 2>/dev/null || true
		wait "${tracer:-$pid}" 2>/dev/null || true
	done
	return 1
}

# Start server $1 or stop the benchmark; a reference server (floor,
# dnsmasq) that does not start is left out of the storm instead.
launch_server() {
	start_server "$1" && return 0
	case " ${REFERENCES[*]} " in
	*" $1 "*) skip_server "$1" "it did not start; see $RESULTS/$1.log" ;;
	*) die "could not start $1" ;;
	esac
}

# Stop server $1 by its pid (under strace: the server, then wait for strace
# to write its summary).
stop_server() {
	local name=$1 pid=${PID[$1]:-} tracer=${TRACER[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		alive "$pid" || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	if [ -n "$tracer" ]; then
		for i in $(seq 100); do
			alive "$tracer" || break
			sleep 0.05
		done
		kill -KILL "$tracer" 2>/dev/null || true
		wait "$tracer" 2>/dev/null || true
	else
		wait "$pid" 2>/dev/null || true
	fi
	PID[$name]='' TRACER[$name]=''
}

# Wait until server $1 has no transfer left (children exited and reaped,
# threads ended): at most 10 s.
wait_idle() {
	local name=$1 pid=${PID[$1]} i n
	sleep 0.2
	for i in $(seq 200); do
		n=$(tasks "$pid")
		[ "$n" -le "${BASE[$name]}" ] && return 0
		sleep 0.05
	done
	say "warning: $name still has $((n - BASE[$name])) transfer tasks after 10 s"
}

cleanup() {
	local name
	for name in "${STORM_SERVERS[@]}"; do stop_server "$name" || true; done
	cg_cleanup
	if [ -n "$NETNS_MADE" ]; then
		ip netns delete "$NETNS" || say "warning: could not remove the network namespace $NETNS"
	fi
	[ -z "${WORK:-}" ] || rm -rf "$WORK"
}

# ------------------------------------------------------------ client runs

CSV_HEADER="rep,group,case,server,seed,exit,bad,cpu_ms,sessions,completed,failed,bytes,seconds,MiBps,tps,p50_ms,p99_ms,max_ms,retransmits,first_try,syscalls,others_pct,rss_mib,summary"
SUMMARY_KEYS="sessions completed failed bytes seconds MiBps tps p50_ms p99_ms max_ms retransmits first_try"

# CPU time used by every process on the machine so far (user, nice,
# system, steal: not interrupts, where the loopback traffic itself is
# handled), in milliseconds.
busy_ms() {
	awk -v hz="$CLK_TCK" '$1 == "cpu" { print int(($2 + $3 + $4 + $9) * 1000 / hz); exit }' /proc/stat
}

# rss_sampler PROCS OUT: every 0.1 s, the resident memory of the processes
# listed in the cgroup file PROCS together; the largest so far, in MiB,
# goes to OUT.  It reads with shell builtins only: a command started for
# each process every 0.1 s would take CPU from the server it measures.
rss_sampler() {
	local peak=0 kib pid key val _
	while :; do
		kib=0
		while read -r pid; do
			while read -r key val _; do
				if [ "$key" = VmRSS: ]; then
					kib=$((kib + val))
					break
				fi
			done 2>/dev/null <"/proc/$pid/status" || true
		done <"$1"
		if [ "$kib" -gt "$peak" ]; then
			peak=$kib
			echo $((peak / 1024)) >"$2"
		fi
		sleep 0.1
	done
}

# run_client SERVER SESSIONS FILE CLIENT_OPTIONS...: one "snow-owl bench"
# against SERVER, on CLIENT_CPU.  Sets RUN_EXIT, RUN_SUMMARY, RUN_CPU_MS,
# RUN_BAD (sessions that failed or did not verify) and RUN_OTHERS (the share
# of the machine's CPU that neither the server nor the client used: other
# work that disturbed the measurement).
run_client() {
	local name=$1 n=$2 file=$3 c0 c1 k0 k1 b0 b1 t0 t1 out failed vfailed completed server_died sampler
	local launch=(taskset -c "$CLIENT_CPU")
	shift 3
	[ "$name" != dnsmasq ] || launch=(ip netns exec "$NETNS" "${launch[@]}")
	if [ "$CG_KIND" != proc ]; then
		# shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
		launch=(sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG_ROOT/client" "${launch[@]}")
	fi
	b0=$(busy_ms) t0=$(date +%s%N) k0=$(cpu_us client) c0=$(cpu_us "$name")
	RUN_EXIT=0 RUN_RSS='' sampler=''
	if [ -n "${SAMPLE_RSS:-}" ] && [ "$CG_KIND" = v2 ]; then
		rss_sampler "$CG_ROOT/$name/cgroup.procs" "$RESULTS/rss.tmp" &
		sampler=$!
	fi
	out=$(timeout -k 5 "$RUN_LIMIT" "${launch[@]}" "$CLIENT" bench -q "$@" \
		"tftp://127.0.0.1:${PORT[$name]}/$file" 2>&1) || RUN_EXIT=$?
	if [ -n "$sampler" ]; then
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		RUN_RSS=$(cat "$RESULTS/rss.tmp" 2>/dev/null || true)
	fi
	if alive "${PID[$name]}"; then
		wait_idle "$name"
		server_died=''
	else
		server_died=1
	fi
	c1=$(cpu_us "$name") k1=$(cpu_us client) t1=$(date +%s%N) b1=$(busy_ms)
	RUN_CPU_MS=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
	RUN_OTHERS=''
	# (Under strace, strace itself would count as other work.)
	if [ "$CG_KIND" != proc ] && [ -z "${TRACER[$name]:-}" ]; then
		RUN_OTHERS=$(awk -v b=$((b1 - b0)) -v s=$((c1 - c0)) -v k=$((k1 - k0)) \
			-v t=$((t1 - t0)) -v n="$(nproc)" 'BEGIN {
			o = b - (s + k) / 1000
			printf "%.0f", (o > 0) ? 100 * o / (t / 1e6 * n) : 0 }')
	fi
	{
		echo "## $name: bench -q $* tftp://127.0.0.1:${PORT[$name]}/$file (exit $RUN_EXIT)"
		echo "$out"
	} >>"$RESULTS/clients.log"
	RUN_SUMMARY=$(grep -E '^sessions=' <<<"$out" | tail -n 1 || true)
	if [ -z "$RUN_SUMMARY" ]; then
		RUN_BAD=$n
	else
		failed=$(kv failed) vfailed=$(kv verify_failed) completed=$(kv completed)
		RUN_BAD=$((failed > vfailed ? failed : vfailed))
		if [ "$RUN_EXIT" -ne 0 ] && [ "$RUN_BAD" -eq 0 ]; then
			RUN_BAD=$((n - completed > 0 ? n - completed : 1))
		fi
	fi
	if [ -n "$server_died" ]; then
		say "$name (pid ${PID[$name]}) died during this run; see $RESULTS/$name.log"
		[ "$RUN_BAD" -gt 0 ] || RUN_BAD=1
		wait "${TRACER[$name]:-${PID[$name]}}" 2>/dev/null || true
		PID[$name]=
		[ -n "${TRACER[$name]}" ] || launch_server "$name"
	fi
}

# The value of key $1 in RUN_SUMMARY (0 when absent).
kv() {
	awk -v k="$1" '
	{ for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { v = a[2]; found = 1 } } }
	END { print found ? v : 0 }' <<<"$RUN_SUMMARY"
}

# record REP GROUP CASE SERVER SEED [SYSCALLS]: one CSV line for the last run.
record() {
	local k line="$1,$2,$3,$4,$5,$RUN_EXIT,$RUN_BAD,$RUN_CPU_MS"
	for k in $SUMMARY_KEYS; do
		if [ -n "$RUN_SUMMARY" ]; then line+=",$(kv "$k")"; else line+=","; fi
	done
	line+=",${6:-},$RUN_OTHERS,$RUN_RSS,\"$RUN_SUMMARY\""
	echo "$line" >>"$CSV"
	say "rep $1 $2 $3 $4: ${RUN_SUMMARY:-no summary (exit $RUN_EXIT)} server_cpu_ms=$RUN_CPU_MS${6:+ syscalls=$6}${RUN_OTHERS:+ others_cpu=$RUN_OTHERS%}"
}

# servers_for_rep REP [SERVER...]: the servers (default SERVERS) in turn,
# starting with a different one each repetition.
servers_for_rep() {
	local rep=$1 i k
	shift
	local list=("$@")
	[ $# -gt 0 ] || list=("${SERVERS[@]}")
	k=$(((rep - 1) % ${#list[@]}))
	for i in "${!list[@]}"; do
		echo "${list[$(((i + k) % ${#list[@]}))]}"
	done
}

# -------------------------------------------------------------- scenarios

# 1: one client, one big file, blksize 1468 and 8192, windowsize 1/16/64.
scenario_single() {
	local rep=$1 bw b w file name
	for bw in 1468:1 1468:16 1468:64 8192:1 8192:16 8192:64; do
		b=${bw%:*} w=${bw#*:} file=100m.bin
		if [ "$w" = 1 ]; then
			[ "$QUICK" = 1 ] && continue
			file=$W1_FILE
		fi
		for name in $(servers_for_rep "$rep"); do
			run_client "$name" 1 "$file" -b "$b" -w "$w" -c 1 -n 1 --verify-file "$ROOT/$file"
			record "$rep" single "b${b}w$w" "$name" ""
		done
	done
}

# 2: 50 clients at once, 10 MiB each.
scenario_many() {
	local rep=$1 bw b w name
	for bw in 512:1 1468:1 1468:16; do
		b=${bw%:*} w=${bw#*:}
		for name in $(servers_for_rep "$rep"); do
			run_client "$name" 50 10m.bin -b "$b" -w "$w" -c 50 -n 50 --verify-file "$ROOT/10m.bin"
			record "$rep" many "b${b}w$w" "$name" ""
		done
	done
}

# 3: a boot storm: N clients ask for a small file at the same moment and
# retry after 1 s.  dnsmasq and floor run here too.
scenario_storm() {
	local rep=$1 n name
	for n in 500 2000; do
		for name in $(servers_for_rep "$rep" "${STORM_SERVERS[@]}"); do
			[ -z "${SKIP[$name]:-}" ] || continue
			run_client "$name" "$n" 64k.bin -b 1468 -t 1 -c "$n" -n "$n" --verify-file "$ROOT/64k.bin"
			record "$rep" storm "n$n" "$name" ""
		done
	done
}

# 3b: a data-centre boot storm: 10,000 clients at once, 64 KiB each (a
# boot program's first request) and 1 MiB each (a typical network boot
# program), against the servers that can take it: snow-owld with its
# defaults, floor and dnsmasq.  Their peak memory is sampled.
scenario_bigstorm() {
	local rep=$1 name f
	for f in 64k.bin 1m.bin; do
		for name in $(servers_for_rep "$rep" "${BIG_SERVERS[@]}"); do
			[ -z "${SKIP[$name]:-}" ] || continue
			# floor has no timers: a session whose client went on
			# with a retry stays open, and after one big storm the
			# next would run out of descriptors.  It starts afresh.
			if [ "$name" = floor ]; then
				stop_server floor
				launch_server floor
			fi
			SAMPLE_RSS=1 run_client "$name" 10000 "$f" -b 1468 -t 1 -c 10000 -n 10000 \
				--verify-file "$ROOT/$f"
			record "$rep" bigstorm "n10000-${f%.bin}" "$name" ""
		done
	done
}

# 4: 1% loss and 2 ms RTT, windowsize 16; repetition R uses seed R.
scenario_loss() {
	local rep=$1 name
	for name in $(servers_for_rep "$rep"); do
		if [ -n "${LOSS_SLOW[$name]:-}" ]; then
			say "rep $rep loss: $name skipped (its first lossy run took over ${LOSS_REPEAT_LIMIT} s)"
			continue
		fi
		run_client "$name" 1 10m.bin -b 1468 -w 16 -t 1 --loss 1 --delay 2 --seed "$rep" \
			-c 1 -n 1 --verify-file "$ROOT/10m.bin"
		record "$rep" loss l1d2 "$name" "$rep"
		if [ -z "$RUN_SUMMARY" ] ||
			awk -v s="$(kv seconds)" -v l="$LOSS_REPEAT_LIMIT" 'BEGIN { exit !(s > l) }'; then
			LOSS_SLOW[$name]=1
		fi
	done
}

# 5: system calls per MiB, each server under "strace -f -c" (which follows
# forked children and threads), one 100 MiB transfer, then the server is
# stopped so that strace writes its summary.
scenario_syscalls() {
	local w name trace calls
	for w in 16 64; do
		for name in "${SERVERS[@]}"; do
			trace=$RESULTS/strace-$name-w$w.txt
			start_server "$name" "$trace" || die "could not start $name under strace"
			run_client "$name" 1 100m.bin -b 1468 -w "$w" -c 1 -n 1 --verify-file "$ROOT/100m.bin"
			stop_server "$name"
			calls=$(awk '$NF == "total" { print $4 }' "$trace" 2>/dev/null || true)
			record 1 syscalls "b1468w$w" "$name" "" "${calls:-0}"
		done
	done
}

# ----------------------------------------------------------------- report

# run_values GROUP CASE SERVER METRIC: one line per run, "ok VALUE" or
# "bad FAILED_SESSIONS".
run_values() {
	awk -F, -v g="$1" -v c="$2" -v s="$3" -v m="$4" '
	NR > 1 && $2 == g && $3 == c && $4 == s {
		if (m == "compfail") { print "ok", $10, $11; next }
		if ($7 > 0) { print "bad", $7; next }
		mib = $12 / 1048576
		if (m == "mibps") v = $14
		else if (m == "seconds") v = $13
		else if (m == "tps") v = $15
		else if (m == "p99") v = $17
		else if (m == "first") v = 100 * $20 / $9
		else if (m == "cpu_mib") v = $8 / mib
		else if (m == "cpu_xfer") v = $8 / $9
		else if (m == "sys_mib") v = $21 / mib
		else if (m == "rss") v = $23
		print "ok", v
	}' "$CSV"
}

median() {
	sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A MLABEL=(
	[mibps]="MiB/s ↑" [seconds]="seconds ↓" [tps]="transfers/s ↑" [p99]="p99 ms ↓"
	[first]="served on first request, % ↑" [compfail]="completed / failed (median)"
	[cpu_mib]="server CPU ms/MiB ↓" [cpu_xfer]="server CPU ms/transfer ↓"
	[sys_mib]="syscalls/MiB ↓" [rss]="peak resident memory, MiB ↓")
declare -A MFORMAT=(
	[mibps]="%.1f" [seconds]="%.2f" [tps]="%.0f" [p99]="%.0f" [first]="%.0f%%"
	[cpu_mib]="%.2f" [cpu_xfer]="%.2f" [sys_mib]="%.0f" [rss]="%.0f")
declare -A MDIR=(
	[mibps]=up [seconds]=down [tps]=up [p99]=down [first]=up [compfail]=none
	[cpu_mib]=down [cpu_xfer]=down [sys_mib]=down [rss]=down)

# cell GROUP CASE SERVER METRIC: "NUMBER|TEXT", NUMBER "-" when there is
# none to compare (a failure, or a run that did not happen).
cell() {
	local vals n count
	vals=$(run_values "$@")
	if [ -z "$vals" ]; then
		echo "-|not run"
		return
	fi
	count=$(wc -l <<<"$vals")
	if [ "$4" = compfail ]; then
		echo "-|$(awk '{ print $2 }' <<<"$vals" | median) / $(awk '{ print $3 }' <<<"$vals" | median)"
		return
	fi
	if grep -q '^bad' <<<"$vals"; then
		n=$(awk '$1 == "bad" { print $2 }' <<<"$vals" | sort -g | tail -n 1)
		echo "-|FAIL($n)"
		return
	fi
	n=$(awk '{ print $2 }' <<<"$vals" | median)
	# shellcheck disable=SC2059 # the format is the metric's
	printf '%s|%s' "$n" "$(LC_ALL=C printf "${MFORMAT[$4]}" "$n")"
	if [ "$1" = loss ] && [ "$count" -lt "$REPS" ]; then printf ' (%s of %s seeds)' "$count" "$REPS"; fi
	echo
}

# ratio DIR SNOW OTHER...: snow-owld over the best other server.
ratio() {
	local dir=$1 snow=$2
	shift 2
	[ "$dir" = none ] && {
		echo "–"
		return
	}
	awk -v d="$dir" -v s="$snow" 'BEGIN {
		best = ""
		for (i = 1; i < ARGC; i++) {
			if (ARGV[i] == "-") continue
			v = ARGV[i] + 0
			if (best == "" || (d == "up" && v > best) || (d == "down" && v < best)) best = v
		}
		if (s == "-" || best == "" || best == 0) { print "n/a"; exit }
		r = s / best
		if (r == 1) verdict = "equal"
		else if ((d == "up") == (r > 1)) verdict = "snow-owl better"
		else verdict = "snow-owl worse"
		printf "%.2f (%s)\n", r, verdict
	}' "$@"
}

# The columns of the table being written: SERVERS, or STORM_SERVERS.
COLS=()

# row LABEL GROUP CASE METRIC [NOTE_FOR_TFTPD_HPA]
row() {
	local label=$1 g=$2 c=$3 m=$4 note=${5:-} name r text line nums=()
	line="| $label | ${MLABEL[$m]} |"
	for name in "${COLS[@]}"; do
		r=$(cell "$g" "$c" "$name" "$m")
		text=${r#*|}
		if [ "$name" = tftpd-hpa ] && [ -n "$note" ] && [[ $text != FAIL* ]] && [ "$text" != "not run" ]; then
			text+=" $note"
		fi
		line+=" $text |"
		[[ $NOT_COMPARED == *" $name "* ]] || nums+=("${r%%|*}")
	done
	echo "$line $(ratio "${MDIR[$m]}" "${nums[@]}") |"
}

# How much CPU other work took during the client runs (column others_pct).
disturbance() {
	[ "$CG_KIND" != proc ] || return 0
	awk -F, 'NR > 1 && $22 != "" { print $22 }' "$CSV" | sort -g | awk '
	{ v[NR] = $1; if ($1 > 10) busy++ }
	END {
		if (!NR) exit
		printf "- CPU used by other processes during the client runs (strace pass excluded): median %d%%, max %d%% of the machine; %d of %d runs above 10%%\n", v[int((NR + 1) / 2)], v[NR], busy, NR
		if (busy) print "- **warning: other work competed for the CPUs during some runs; their numbers (others_pct in the CSV) are not comparable**"
	}'
}

# table_head TITLE SERVER...: the columns are these servers.
table_head() {
	printf '\n## %s\n\n' "$1"
	shift
	COLS=("$@")
	local name head="| case | metric |" rule="|---|---|"
	for name in "${COLS[@]}"; do
		head+=" $name |" rule+="--:|"
	done
	echo "$head snow-owl / best other |"
	echo "$rule--:|"
}

# ", dnsmasq VERSION, floor (PATH, sha256 ...)" for the versions line.
versions_references() {
	[ -n "$STORM" ] || return 0
	if [ -z "${SKIP[dnsmasq]:-}" ]; then
		printf ', %s' "$("$DNSMASQ" --version 2>&1 | head -n 1 | sed 's/ *Copyright.*//')"
	fi
	if [ -z "${SKIP[floor]:-}" ]; then
		printf ', floor (%s, sha256 %s)' "$FLOOR_ORIG" "$(sha256sum "$FLOOR" | cut -c1-12)"
	fi
}

report() {
	local bw b w note file_mib name refs=''
	[ -z "$STORM" ] || refs=" (the storm also dnsmasq, and floor as a yardstick)"
	echo "# snow-owl benchmark: snow-owld, tftpd-hpa, atftpd$refs"
	echo
	echo "- date: $(date -R); kernel: $(uname -srm); nproc: $(nproc); REPS=$REPS$([ "$QUICK" = 1 ] && echo ' (QUICK=1)')"
	echo "- command: \`$CMDLINE\`"
	echo "- snow-owld options: ${SNOW_OWLD_ARGS:-(defaults)}${ALT_ARGS+; snow-owld-alt options: ${ALT_ARGS:-(defaults)}}"
	[ -z "${ALT_ARGS+set}" ] || echo "- snow-owld-alt: $ALT_SNOW_OWLD_ORIG, sha256 $(sha256sum "$ALT_SNOW_OWLD" | cut -c1-12)"
	echo "- versions: $("$SNOW_OWLD" -V 2>&1 | head -n 1) ($SNOW_OWLD_ORIG, sha256 $(sha256sum "$SNOW_OWLD" | cut -c1-12)), $("$TFTPD_HPA" -V 2>&1 | head -n 1 | cut -d, -f1), $("$ATFTPD" -V 2>&1 | head -n 1)$(versions_references); client: $("$CLIENT" -V 2>&1 | head -n 1) ($CLIENT_ORIG, sha256 $(sha256sum "$CLIENT" | cut -c1-12))"
	echo "- servers pinned to CPU $SERVER_CPU, clients to CPU $CLIENT_CPU; medians of $REPS interleaved repetitions; every copy verified against the file"
	echo "- load average before the first run: $LOAD_START"
	disturbance
	if [ -n "$STORM" ]; then
		echo "- floor (storm only): a minimal server with no timers, logging or sandbox, files cached in memory: the kernel's cost on this machine; a yardstick, not a server, so no ratio compares with it"
		echo "- dnsmasq (storm only): runs in a network namespace of its own, since its TFTP port is fixed at 69 (its clients run there too); --tftp-max=10000, as user $DNSMASQ_USER; it logs a line per transfer, which no option turns off ($RESULTS/dnsmasq.log)"
	fi
	echo "- ratio = snow-owld ÷ the best other server (tftpd-hpa, atftpd, and dnsmasq in the storm; never snow-owld-alt or floor): on ↑ rows (higher is better) best = highest and a ratio above 1 favours snow-owl; on ↓ rows (lower is better) best = lowest and a ratio below 1 favours snow-owl"
	echo "- FAIL(n): a run had n failed or unverified sessions (n = the worst repetition); no median is given then"
	echo "- server CPU = user + system time of the server, its threads and its children: $(cg_describe)"

	table_head "1. One client, one file" "${SERVERS[@]}"
	for bw in 1468:1 1468:16 1468:64 8192:1 8192:16 8192:64; do
		b=${bw%:*} w=${bw#*:} file_mib=100 note=
		if [ "$w" = 1 ]; then
			[ "$QUICK" = 1 ] && continue
			file_mib=$W1_MIB
		else
			note="(w1)"
		fi
		row "$file_mib MiB, blksize $b, windowsize $w" single "b${b}w$w" mibps "$note"
		row "$file_mib MiB, blksize $b, windowsize $w" single "b${b}w$w" cpu_mib "$note"
	done
	echo
	echo "(w1): tftpd-hpa does not grant windowsize, so it ran these with windowsize 1."
	[ "$QUICK" = 1 ] && echo "QUICK=1: the windowsize-1 cases were skipped."
	[ "$W1_MIB" != 100 ] && echo "The windowsize-1 cases fetch a $W1_MIB MiB file instead of 100 MiB."

	table_head "2. 50 clients at once, 10 MiB each" "${SERVERS[@]}"
	for bw in 512:1 1468:1 1468:16; do
		b=${bw%:*} w=${bw#*:} note=
		[ "$w" = 1 ] || note="(w1)"
		row "50 × 10 MiB, blksize $b, windowsize $w" many "b${b}w$w" seconds "$note"
		row "50 × 10 MiB, blksize $b, windowsize $w" many "b${b}w$w" mibps "$note"
		row "50 × 10 MiB, blksize $b, windowsize $w" many "b${b}w$w" cpu_mib "$note"
	done
	echo
	echo "seconds: from the first request to the last copy; MiB/s: all bytes over that time. (w1): tftpd-hpa ran windowsize 1."

	table_head "3. Boot storm: N clients × 64 KiB at once, blksize 1468, client retry timeout 1 s" "${STORM_SERVERS[@]}"
	for b in 500 2000; do
		for w in tps first p99 compfail cpu_xfer; do
			row "$b clients" storm "n$b" "$w"
		done
	done
	echo
	echo "Every client sends its request at the same moment and retries after 1 s (5 retries); \"served on first request\" is the share of sessions that needed no retry of the request."
	for name in "${REFERENCES[@]}"; do
		[ -z "${SKIP[$name]:-}" ] || echo "$name: not run: ${SKIP[$name]}."
	done

	if [[ " $SCENARIOS " == *" bigstorm "* ]]; then
		table_head "3b. Data-centre boot storm: 10,000 clients at once, blksize 1468, client retry timeout 1 s" "${BIG_SERVERS[@]}"
		for f in 64k 1m; do
			for w in tps first p99 compfail cpu_xfer cpu_mib rss; do
				row "10,000 × $([ $f = 1m ] && echo 1 MiB || echo 64 KiB)" bigstorm "n10000-$f" "$w"
			done
		done
		echo
		echo "snow-owld runs with its default settings. Peak resident memory: the processes of the server's cgroup together, sampled every 0.1 s."
	fi

	table_head "4. 10 MiB over a lossy link: 1% loss, 2 ms RTT, blksize 1468, windowsize 16" "${SERVERS[@]}"
	row "seed$([ "$REPS" -gt 1 ] && echo "s 1–$REPS" || echo " 1")" loss l1d2 seconds "(w1)"
	echo
	echo "Repetition R uses --seed R (the client drops 1% of received DATA and sent ACKs and delays what it sends by 2 ms); retry timeout 1 s. A server whose run took over ${LOSS_REPEAT_LIMIT} s was not run again with the other seeds. (w1): tftpd-hpa ran windowsize 1."

	table_head "5. System calls per MiB (one 100 MiB transfer under strace -f -c)" "${SERVERS[@]}"
	row "100 MiB, blksize 1468, windowsize 16" syscalls b1468w16 sys_mib "(w1)"
	row "100 MiB, blksize 1468, windowsize 64" syscalls b1468w64 sys_mib "(w1)"
	echo
	echo "All calls of the server and its children or threads from start to stop, idle waits and start-up included (one run; strace output in $RESULTS/strace-*.txt). (w1): tftpd-hpa ran windowsize 1."
	echo
	echo "Raw results: $CSV (client output: $RESULTS/clients.log)"
	echo "Runtime: $((($(date +%s) - T0) / 60)) min $((($(date +%s) - T0) % 60)) s"
}

# ------------------------------------------------------------------ main

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and the servers switch to nobody"
case "$REPS" in '' | *[!0-9]* | 0) die "REPS must be a positive number" ;; esac
[ "$(nproc)" -ge 2 ] || CLIENT_CPU=0

ensure_packages
ensure_atftpd || die "could not unpack atftpd into $ATFTPD_DIR"
SNOW_OWLD=$(realpath -e "$SNOW_OWLD") || die "no daemon at $SNOW_OWLD: build it (make) or set SNOW_OWLD"
CLIENT=$(realpath -e "$CLIENT") || die "no client at $CLIENT: build it (make) or set SNOW_OWL_CLIENT"
for f in "$SNOW_OWLD" "$CLIENT" "$TFTPD_HPA" "$ATFTPD"; do
	[ -x "$f" ] || die "$f is not executable"
done

# Storms open one socket per session, and atftpd one per thread.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 8192 ||
	say "warning: could not raise the open-file limit (now $(ulimit -n))"

mkdir -p "$RESULTS"
CSV=$RESULTS/runs.csv
echo "$CSV_HEADER" >"$CSV"
say "raw results in $RESULTS"
trap cleanup EXIT
trap 'exit 130' INT TERM

cg_init
STORM=''
[[ " $SCENARIOS " != *" storm "* && " $SCENARIOS " != *" bigstorm "* ]] || STORM=1
[ -z "$STORM" ] || prepare_references
say "copying the programs, creating the test files"
make_work
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

for name in "${SERVERS[@]}"; do launch_server "$name"; done
if [ -n "$STORM" ]; then
	for name in "${REFERENCES[@]}"; do
		[ -n "${SKIP[$name]:-}" ] || launch_server "$name"
	done
fi
for rep in $(seq "$REPS"); do
	for scenario in single many storm bigstorm loss; do
		[[ " $SCENARIOS " == *" $scenario "* ]] || continue
		say "rep $rep/$REPS: $scenario"
		"scenario_$scenario" "$rep"
	done
done
for name in "${STORM_SERVERS[@]}"; do stop_server "$name"; done

if [[ " $SCENARIOS " == *" syscalls "* ]]; then
	say "system calls, under strace"
	scenario_syscalls
fi

report
say "done in $(($(date +%s) - T0)) s; raw results in $RESULTS"
