#!/bin/sh
# The Debian packages, built and put through an admin's life on this
# machine (TAP): build them with dpkg-buildpackage, run lintian, then set
# up tftpd-hpa with a non-default /etc/default/tftpd-hpa, install
# snow-owld in its place, serve the same files and uploads as tftpd-hpa
# did (started from the installed units, with systemd-socket-activate in
# the place of PID 1), remove, purge, install again, and go back to
# tftpd-hpa.
#
# Everything that installs or removes packages runs in a private mount
# namespace, chrooted into an overlay of this machine's own root: dpkg, the
# maintainer scripts and the servers see the real system, and what they
# change lands in the overlay's upper directory, which is thrown away at the
# end.  The machine's packages, users and /srv/tftp never change, so a
# failure cannot leave it without tftpd-hpa, and tests running at the same
# time are not disturbed.  The servers run in a private network namespace.
#
# Needs root, dpkg-buildpackage, debhelper, lintian, tftp-hpa's tftp, curl,
# systemd-socket-activate, and tftpd-hpa installed (or installable).
# The step outputs are kept in $SNOW_OWL_PACKAGE_LOG (a directory) if set.

srcdir=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PORT=16969
ADDR=127.0.0.1:$PORT

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

# ---- TAP -------------------------------------------------------------------
# Both halves write to one counter ($W/n): the plan comes at the end.
tap() {	# tap ok|not ok DESCRIPTION
	n=$(($(cat "$W/n") + 1))
	echo "$n" >"$W/n"
	echo "$1 $n - $2"
	[ "$1" = ok ] || echo 1 >"$W/failed"
}
check() {	# check DESCRIPTION COMMAND...: pass when the command does
	desc=$1; shift
	if "$@" >"$W/check.out" 2>&1; then
		tap ok "$desc"
	else
		tap "not ok" "$desc"
		sed 's/^/#   /' "$W/check.out"
	fi
}
show() {	# show TITLE FILE: a step's output as TAP comments
	echo "# ---- $1 (at $(($(date +%s) - $(cat "$W/start"))) s)"
	sed 's/^/#   /' "$2"
}

# ---- The system half: inside the private namespaces -------------------------

if [ "${1:-}" = --system ]; then
	W=$2
	R=$W/root		# the overlay: the machine's root, writable
	U=$W/upper		# what the test changed in it
	DIR=/srv/tftp-pkgtest	# tftpd-hpa's directory, not the default one
	set -u

	mkdir -p "$R" "$U" "$W/ovl-work" || exit 1
	mount --make-rprivate / &&
		mount -t overlay overlay -o "lowerdir=/,upperdir=$U,workdir=$W/ovl-work" "$R" &&
		mount --rbind /proc "$R/proc" &&
		mount --rbind /dev "$R/dev" &&
		mount --rbind /sys "$R/sys" &&
		mount -t tmpfs tmpfs "$R/run" &&
		ip link set lo up &&
		# glibc's AI_ADDRCONFIG, which in.tftpd uses, wants an address
		# besides loopback's.
		ip link add snowpkg0 type veth peer name snowpkg1 &&
		ip addr add 192.0.2.1/24 dev snowpkg0 &&
		ip link set snowpkg0 up ||
		{ tap "not ok" "an overlay of / in private mount and network namespaces"; exit 1; }
	in_root() {
		chroot "$R" "$@"
	}
	export DEBIAN_FRONTEND=noninteractive

	# Service starts are the init system's business, and there is none.
	printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
	chmod 0755 "$R/usr/sbin/policy-rc.d"
	# man-db's trigger rebuilds its index at every dpkg run: most of the
	# time the steps would take, and nothing this test looks at.
	echo 'man-db man-db/auto-update boolean false' | in_root debconf-set-selections

	# -- tftpd-hpa, configured the way an admin would
	if ! in_root dpkg-query -W -f '${Status}' tftpd-hpa 2>/dev/null | grep -q 'ok installed'; then
		in_root apt-get install -y -q --no-install-recommends tftpd-hpa >"$W/tftpd-hpa-install.out" 2>&1 ||
			{ cat "$W/tftpd-hpa-install.out"; tap "not ok" "tftpd-hpa installs"; exit 1; }
	fi
	cat >"$R/etc/default/tftpd-hpa" <<-EOF
	# /etc/default/tftpd-hpa

	TFTP_USERNAME="tftp"
	TFTP_DIRECTORY="$DIR"
	TFTP_ADDRESS="$ADDR"
	TFTP_OPTIONS="--secure -c -p -B 1468"
	EOF
	show "/etc/default/tftpd-hpa" "$R/etc/default/tftpd-hpa"

	# The admin's root: files to serve, one that uploads may overwrite,
	# one they may not.  Kept in $W/orig to compare and to reset.
	rm -rf "$R$DIR" && mkdir -p "$R$DIR/sub/dir"
	head -c 3000000 /dev/urandom >"$R$DIR/boot.img"
	head -c 26826 /dev/urandom >"$R$DIR/pxelinux.0"
	printf 'menuentry "x" {\n  linux /vmlinuz\n}\n' >"$R$DIR/sub/dir/grub.cfg"
	: >"$R$DIR/empty.bin"
	echo "old" >"$R$DIR/overwrite.bin"
	echo "keep" >"$R$DIR/readonly.bin"
	in_root chown -R tftp:tftp "$DIR"
	in_root chown root:root "$DIR/readonly.bin" "$DIR/boot.img"
	chmod 0644 "$R$DIR/overwrite.bin" "$R$DIR/readonly.bin"
	cp -a "$R$DIR" "$W/orig"
	manifest() {	# owners, modes, sizes and contents of the root
		(cd "$R$DIR" && find . -printf '%p %u:%g %m %s %y\n' | sort &&
			find . -type f -exec sha256sum {} + | sort -k 2)
	}
	manifest >"$W/manifest.orig"
	reset_root() {
		rm -rf "$R$DIR" && cp -a "$W/orig" "$R$DIR"
	}

	head -c 700000 /dev/urandom >"$W/upload.bin"
	printf 'new\n' >"$W/small.bin"
	# The client side of "behaves as before": one line per operation,
	# with what the client saw and what the root holds afterwards.
	exercise() {
		c=$W/client
		rm -rf "$c" && mkdir -p "$c"
		for f in boot.img pxelinux.0 sub/dir/grub.cfg empty.bin; do
			timeout 60 tftp 127.0.0.1 $PORT -m binary -c get "$f" "$c/got" >"$c/log" 2>&1
			if [ ! -s "$c/log" ] && cmp -s "$c/got" "$W/orig/$f"; then
				r="same bytes"
			else
				r="failed: $(cat "$c/log")"
			fi
			echo "tftp get $f: $r"
			rm -f "$c/got"
		done
		curl -s -m 60 --tftp-blksize 8192 -o "$c/got" "tftp://$ADDR/boot.img"
		echo "curl blksize 8192 get boot.img: exit $? $(cmp -s "$c/got" "$W/orig/boot.img" && echo same bytes)"
		curl -s -m 60 -o "$c/got2" "tftp://$ADDR/missing.bin"
		echo "curl get missing.bin: exit $?"
		curl -s -m 60 -o "$c/got3" "tftp://$ADDR/../etc/passwd"
		echo "curl get ../etc/passwd: exit $?"
		timeout 60 tftp 127.0.0.1 $PORT -m binary -c put "$W/upload.bin" new.bin >"$c/log" 2>&1
		echo "tftp put new.bin (-c): $(cmp -s "$R$DIR/new.bin" "$W/upload.bin" && echo same bytes) $(stat -c '%U:%G' "$R$DIR/new.bin" 2>&1)"
		timeout 60 tftp 127.0.0.1 $PORT -m binary -c put "$W/small.bin" overwrite.bin >"$c/log" 2>&1
		echo "tftp put overwrite.bin: $(cat "$R$DIR/overwrite.bin")"
		# Refusals: tftpd-hpa says ERROR 0 "Permission denied" where
		# snow-owld says ERROR 2 (access violation); the outcome counts.
		curl -s -m 60 -T "$W/small.bin" "tftp://$ADDR/readonly.bin"
		echo "curl put readonly.bin: $(refused $?), holds $(cat "$R$DIR/readonly.bin")"
		curl -s -m 60 -T "$W/small.bin" "tftp://$ADDR/nodir/x.bin"
		echo "curl put nodir/x.bin: $(refused $?), $(test -e "$R$DIR/nodir" && echo created || echo nothing created)"
	}
	refused() {	# curl's exit status: 68-74 are TFTP errors from the server
		case $1 in
		6[89]|7[0-4]) echo "refused" ;;
		*) echo "exit $1" ;;
		esac
	}
	# What tftpd-hpa does with these settings, and snow-owld must too.
	cat >"$W/expected.txt" <<-EOF
	tftp get boot.img: same bytes
	tftp get pxelinux.0: same bytes
	tftp get sub/dir/grub.cfg: same bytes
	tftp get empty.bin: same bytes
	curl blksize 8192 get boot.img: exit 0 same bytes
	curl get missing.bin: exit 68
	curl get ../etc/passwd: exit 68
	tftp put new.bin (-c): same bytes tftp:tftp
	tftp put overwrite.bin: new
	curl put readonly.bin: refused, holds keep
	curl put nodir/x.bin: refused, nothing created
	EOF
	wait_port() {	# until something listens on UDP $PORT
		i=0
		while ! ss -Hlun "sport = :$PORT" | grep -q .; do
			i=$((i + 1))
			[ $i -lt 100 ] || return 1
			sleep 0.1
		done
	}
	stop() {	# stop PID: SIGTERM and reap
		kill "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 0
	}

	# -- Before: tftpd-hpa, as its init script starts it (in the
	# foreground, so that this test holds its pid).
	(
		# shellcheck disable=SC1091  # written above
		. "$R/etc/default/tftpd-hpa"
		# shellcheck disable=SC2086  # split like the init script
		exec chroot "$R" /usr/sbin/in.tftpd --foreground --user "$TFTP_USERNAME" \
			--address "$TFTP_ADDRESS" $TFTP_OPTIONS $TFTP_DIRECTORY
	) >"$W/in.tftpd.log" 2>&1 &
	pid=$!
	if wait_port; then exercise >"$W/before.txt"; else echo "in.tftpd is not listening" >"$W/before.txt"; fi
	stop $pid
	reset_root
	show "tftpd-hpa serves (in.tftpd --secure -c -p -B 1468)" "$W/before.txt"
	check "tftpd-hpa: every file served, uploads as -c allows" diff "$W/expected.txt" "$W/before.txt"

	# What the machine holds before snow-owld comes: the test's own
	# changes so far (in the overlay's upper directory), the users, and
	# the packages' files.
	upper_files() {	# files, and directories this machine does not have
		(cd "$U" && { find . ! -type d ! -type c; find . -type d | while read -r d; do
				[ -d "/${d#./}" ] || echo "$d/"; done; } | sed 's|^\.||' |
			grep -Ev '^/(var/lib/dpkg|var/lib/apt|var/cache|var/log|tmp|var/tmp|run)/' |
			grep -Fxv "$DIR" | grep -v "^$DIR/" | sort)
	}
	upper_files >"$W/upper.before"
	for f in passwd group shadow gshadow; do cp "$R/etc/$f" "$W/$f.before"; done
	in_root dpkg -L tftpd-hpa >"$W/tftpd-hpa.files"

	# -- Install: dpkg replaces tftpd-hpa and carries its settings over.
	debs=$(ls "$W"/snow-owld_*.deb "$W"/snow-owl-client_*.deb)
	mkdir -p "$R/var/tmp/debs"
	# shellcheck disable=SC2086
	cp $debs "$R/var/tmp/debs/"
	in_root sh -c 'dpkg -i /var/tmp/debs/snow-owld_*.deb /var/tmp/debs/snow-owl-client_*.deb' >"$W/install.out" 2>&1
	st=$?
	show "install: dpkg -i snow-owld_*.deb snow-owl-client_*.deb" "$W/install.out"
	check "install: dpkg -i exits 0" test $st = 0
	check "install: snow-owld and snow-owl-client are installed" \
		sh -c "chroot '$R' dpkg-query -W -f '\${Status}\n' snow-owld snow-owl-client | grep -vc 'install ok installed' | grep -qx 0"
	check "install: tftpd-hpa was removed, its configuration kept" \
		sh -c "chroot '$R' dpkg-query -W -f '\${Status}\n' tftpd-hpa | tee /dev/stderr | grep -q ' config-files\$' && test -e '$R/etc/default/tftpd-hpa' && test ! -e '$R/usr/sbin/in.tftpd'"
	check "install: the socket is enabled, the service is not" \
		sh -c "test -L '$R/etc/systemd/system/sockets.target.wants/snow-owl.socket' && ! find '$R/etc/systemd/system' -name snow-owl.service | grep -q ."
	check "install: /etc/snow-owl/snow-owl.conf is a conffile" \
		sh -c "chroot '$R' dpkg-query -W -f '\${Conffiles}' snow-owld | grep -q '/etc/snow-owl/snow-owl.conf'"
	check "install: /srv/tftp exists" test -d "$R/srv/tftp"
	check "install: no user or group added (the units use DynamicUser)" \
		sh -c "cmp '$W/passwd.before' '$R/etc/passwd' && cmp '$W/group.before' '$R/etc/group'"

	# -- Migrate: the drop-ins hold tftpd-hpa's settings.
	sdir=$R/etc/systemd/system/snow-owl.service.d
	kdir=$R/etc/systemd/system/snow-owl.socket.d
	cat "$sdir"/*.conf "$kdir"/*.conf >"$W/dropins.txt" 2>&1
	show "migrate: the drop-ins postinst wrote" "$W/dropins.txt"
	check "migrate: ExecStart carries the user, the options and the directory" \
		grep -qx "ExecStart=/usr/sbin/snow-owld --secure --create --permissive --max-blksize 1468 --user tftp $DIR" "$sdir/tftpd-hpa.conf"
	check "migrate: the socket listens on TFTP_ADDRESS" \
		grep -qx "ListenDatagram=$ADDR" "$kdir/tftpd-hpa.conf"
	check "migrate: the install said what it carried over" \
		grep -q "migrate-tftpd-hpa: snow-owld will run: /usr/sbin/snow-owld --secure --create" "$W/install.out"
	(manifest) >"$W/manifest.now"
	check "migrate: the admin's root is untouched by the install" cmp "$W/manifest.orig" "$W/manifest.now"

	# -- Serve: the units' command line, with systemd-socket-activate in
	# the place of PID 1.  Drop-ins are read after the unit, in order; an
	# empty assignment clears the list, as in systemd.
	unit_values() {	# unit_values UNIT KEY: the values in effect, one a line
		for f in "$R/lib/systemd/system/$1" "$R/etc/systemd/system/$1.d"/*.conf; do
			[ -e "$f" ] && cat "$f"
		done | awk -v key="$2" '
			index($0, key "=") == 1 {
				v = substr($0, length(key) + 2)
				if (v == "") n = 0; else vals[++n] = v
			}
			END { for (i = 1; i <= n; i++) print vals[i] }'
	}
	serve() {	# serve LOG: start snow-owld as the units would
		execstart=$(unit_values snow-owl.service ExecStart | tail -n 1)
		listen=""
		for l in $(unit_values snow-owl.socket ListenDatagram); do
			listen="$listen -l $l"
		done
		echo "systemd-socket-activate --datagram$listen $execstart" >"$1"
		# systemd's quoting and specifiers, for this unit: "..." and %%.
		eval "set -- $(printf '%s' "$execstart" | sed 's/%%/%/g; s/\$\$/\\$/g')"
		# shellcheck disable=SC2086
		chroot "$R" systemd-socket-activate --datagram $listen "$@" >>"$1" 2>&1 &
		pid=$!
		wait_port
	}
	serve_and_exercise() {	# serve_and_exercise LOG RESULT
		if serve "$1"; then exercise >"$2"; else echo "nothing listens" >"$2"; fi
		stop $pid
	}
	serve_and_exercise "$W/serve.cmd" "$W/after.txt"
	show "serve: $(head -n 1 "$W/serve.cmd")" "$W/after.txt"
	check "serve: the same files and uploads as tftpd-hpa" diff "$W/before.txt" "$W/after.txt"
	reset_root

	# -- Remove: the programs go, the configuration stays.
	in_root dpkg -r snow-owld snow-owl-client >"$W/remove.out" 2>&1
	st=$?
	show "remove: dpkg -r snow-owld snow-owl-client" "$W/remove.out"
	check "remove: dpkg -r exits 0" test $st = 0
	check "remove: the programs and units are gone" \
		sh -c "! ls -d '$R/usr/sbin/snow-owld' '$R/usr/bin/snow-owl' '$R/lib/systemd/system/snow-owl.socket' '$R/lib/systemd/system/snow-owl.service' '$R/usr/libexec/snow-owl' 2>/dev/null | grep ."
	check "remove: the configuration stays (conffile, drop-ins)" \
		test -e "$R/etc/snow-owl/snow-owl.conf" -a -e "$sdir/tftpd-hpa.conf" -a -e "$kdir/tftpd-hpa.conf"
	(manifest) >"$W/manifest.now"
	check "remove: the admin's root is untouched" cmp "$W/manifest.orig" "$W/manifest.now"

	# -- Purge: nothing of snow-owl is left.
	in_root dpkg -P snow-owld snow-owl-client >"$W/purge.out" 2>&1
	st=$?
	show "purge: dpkg -P snow-owld snow-owl-client" "$W/purge.out"
	check "purge: dpkg -P exits 0" test $st = 0
	upper_files >"$W/upper.after"
	# tftpd-hpa's files are its own business (its postrm changes its
	# init script): only what is new and not tftpd-hpa's counts.
	comm -13 "$W/upper.before" "$W/upper.after" | grep -Fxv -f "$W/tftpd-hpa.files" >"$W/left"
	show "purge: files the packages' life left under / (none expected)" "$W/left"
	check "purge: no file left behind (/etc, /usr, /lib, /var/lib, enablement symlinks, state)" test ! -s "$W/left"
	check "purge: no enablement symlink or unit state left" \
		sh -c "! find '$R/etc/systemd' '$R/var/lib/systemd' -name '*snow-owl*' | grep ."
	check "purge: no user or group left" \
		sh -c "for f in passwd group shadow gshadow; do cmp '$W/'\$f.before '$R/etc/'\$f || exit 1; done"
	check "purge: dpkg knows neither package" \
		sh -c "! chroot '$R' dpkg-query -W -f '\${Status}\n' snow-owld snow-owl-client 2>/dev/null | grep -v 'not-installed' | grep ."
	(manifest) >"$W/manifest.now"
	check "purge: the admin's root is untouched" cmp "$W/manifest.orig" "$W/manifest.now"
	check "purge: /srv/tftp stays" test -d "$R/srv/tftp"

	# -- Reinstall: a first install again, so the settings are carried
	# over again; it serves.
	in_root sh -c 'dpkg -i /var/tmp/debs/snow-owld_*.deb /var/tmp/debs/snow-owl-client_*.deb' >"$W/reinstall.out" 2>&1
	st=$?
	show "reinstall: dpkg -i snow-owld_*.deb snow-owl-client_*.deb" "$W/reinstall.out"
	check "reinstall: dpkg -i exits 0" test $st = 0
	check "reinstall: the drop-ins are written again" grep -q "^ExecStart=.*--create" "$sdir/tftpd-hpa.conf"
	serve_and_exercise "$W/serve2.cmd" "$W/after2.txt"
	check "reinstall: the same files and uploads as tftpd-hpa" diff "$W/before.txt" "$W/after2.txt"
	reset_root

	# -- The way back: installing tftpd-hpa replaces snow-owld; its
	# /etc/default/tftpd-hpa was kept, and it serves as before.
	# apt removes snow-owld (tftpd-hpa conflicts with tftp-server, which
	# it provides); the cached package keeps this off the network.
	tdeb=$(find /var/cache/apt/archives -name 'tftpd-hpa_*.deb' | sort | tail -n 1)
	if [ -n "$tdeb" ]; then
		mkdir -p "$R/var/tmp/back" && cp "$tdeb" "$R/var/tmp/back/"
		tdeb=/var/tmp/back/${tdeb##*/}
	else
		tdeb=tftpd-hpa
	fi
	in_root apt-get install -y -q --no-install-recommends "$tdeb" >"$W/back.out" 2>&1
	st=$?
	show "way back: apt-get install tftpd-hpa" "$W/back.out"
	check "way back: tftpd-hpa installs, snow-owld is removed" \
		sh -c "test $st = 0 && chroot '$R' dpkg-query -W -f '\${Status}' snow-owld | grep -qx 'deinstall ok config-files'"
	check "way back: /etc/default/tftpd-hpa is as the admin left it" grep -qx "TFTP_OPTIONS=\"--secure -c -p -B 1468\"" "$R/etc/default/tftpd-hpa"
	(
		# shellcheck disable=SC1091
		. "$R/etc/default/tftpd-hpa"
		# shellcheck disable=SC2086
		exec chroot "$R" /usr/sbin/in.tftpd --foreground --user "$TFTP_USERNAME" \
			--address "$TFTP_ADDRESS" $TFTP_OPTIONS $TFTP_DIRECTORY
	) >"$W/in.tftpd.log" 2>&1 &
	pid=$!
	if wait_port; then exercise >"$W/back.txt"; else echo "in.tftpd is not listening" >"$W/back.txt"; fi
	stop $pid
	check "way back: tftpd-hpa serves as before" diff "$W/before.txt" "$W/back.txt"
	exit 0
fi

# ---- The build half ---------------------------------------------------------

[ -z "${SNOW_OWL_IN_PACKAGE_BUILD:-}" ] || skip "inside the package's own build"
[ "$(id -u)" = 0 ] || skip "needs root (it installs packages, in an overlay of /)"
for t in dpkg-buildpackage dh lintian tftp curl systemd-socket-activate unshare chroot ss; do
	command -v $t >/dev/null 2>&1 || skip "$t is not installed (debhelper dpkg-dev lintian tftp-hpa curl systemd)"
done
[ -e /usr/share/perl5/Debian/Debhelper/Sequence/autoreconf.pm ] || [ -x /usr/bin/dh_autoreconf ] ||
	skip "dh-autoreconf is not installed"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "the kernel has no overlayfs"
unshare -mn true 2>/dev/null || skip "cannot make mount and network namespaces"

start=$(date +%s)
W=$(mktemp -d /var/tmp/snow-owl-package.XXXXXX)
cleanup() {
	# The namespaces are gone with their processes; only files remain.
	if [ -n "${SNOW_OWL_PACKAGE_LOG:-}" ]; then
		mkdir -p "$SNOW_OWL_PACKAGE_LOG" && cp "$W"/*.out "$W"/*.txt "$W"/*.cmd "$SNOW_OWL_PACKAGE_LOG"/ 2>/dev/null
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
echo 0 >"$W/n"
echo "$start" >"$W/start"

# A copy of the tree, so that the build leaves this one alone: the files
# git knows (committed or not) in a checkout, else the whole (distributed)
# tree.
mkdir "$W/src"
if git -C "$srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$srcdir" && git ls-files -z -c -o --exclude-standard | xargs -0 tar -cf - --no-recursion) |
		tar -xf - -C "$W/src"
else
	(cd "$srcdir" && tar -cf - --exclude=./autom4te.cache .) | tar -xf - -C "$W/src"
	(cd "$W/src" && { [ ! -f Makefile ] || make distclean >/dev/null 2>&1; })
fi
chmod -R u+w "$W/src"
# make check runs this test from a make whose command line (TEST_LOGS=...)
# reaches every child through MAKEFLAGS: the package's own build must not
# inherit it, or it would run this run's tests.
(cd "$W/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES dpkg-buildpackage -us -uc -b) \
	>"$W/build.out" 2>&1
st=$?
check "dpkg-buildpackage -us -uc -b" test $st = 0
if [ $st != 0 ]; then
	tail -n 40 "$W/build.out" | sed 's/^/#   /'
	echo "1..$(cat "$W/n")"
	exit 1
fi
echo "# built: $(cd "$W" && ls ./*.deb | sed 's|^\./||' | tr '\n' ' ')"

lintian --tag-display-limit 0 "$W"/*.changes >"$W/lintian.out" 2>&1
show "lintian $(lintian --version) on the .changes" "$W/lintian.out"
check "lintian: no error, no warning" sh -c "! grep -E '^[EW]: ' '$W/lintian.out'"
check "lintian: every override says why" sh -c '
	for f in "$1"/debian/*lintian-overrides "$1"/debian/source/lintian-overrides; do
		[ -e "$f" ] || continue
		awk "/^#/ { why = 1; next } /^[[:space:]]*$/ { why = 0; next } !why { print FILENAME \": \" \$0; bad = 1 } END { exit bad }" "$f" || exit 1
	done' sh "$W/src"

unshare -mn -- sh "$0" --system "$W"
[ "$(cat "$W/n")" -gt 3 ] || check "the installation steps ran" false
echo "# package test: $(($(date +%s) - start)) s"
echo "1..$(cat "$W/n")"
[ ! -e "$W/failed" ]
