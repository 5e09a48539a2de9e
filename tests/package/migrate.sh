#!/bin/sh
# contrib/migrate-tftpd-hpa against /etc/default/tftpd-hpa files (TAP):
# what is carried over into the drop-ins, what is named as not carried
# over, and that the file is parsed, never run.
# shellcheck disable=SC2317  # functions run through ok()
srcdir=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
migrate=$srcdir/contrib/migrate-tftpd-hpa
daemon=${SNOW_OWLD:-$srcdir/snow-owld}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
status=0

ok() {	# ok DESCRIPTION COMMAND...
	desc=$1; shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		status=1
		sed 's/^/# out: /' "$T/out"
		sed 's/^/# err: /' "$T/err"
	fi
}

# migrate CONTENT: run the script on a file holding CONTENT (printf %b),
# drop-ins to $T/out, messages to $T/err, exit status to $rc.
migrate() {
	printf '%b' "$1" >"$T/defaults"
	rc=0
	sh "$migrate" --defaults "$T/defaults" --snow-owld "$daemon" --stdout >"$T/out" 2>"$T/err" || rc=$?
}
# The ExecStart= command line without the daemon's path.
cmdline() {
	sed -n 's/^ExecStart=[^ ]* //p' "$T/out"
}
listen() {
	sed -n 's/^ListenDatagram=\(.\)/\1/p' "$T/out" | tr '\n' ' '
}
is() {	# is ACTUAL EXPECTED
	[ "$1" = "$2" ] || { echo "# got:      '$1'"; echo "# expected: '$2'"; return 1; }
}
noted() {	# the message names TEXT on stderr and in the drop-in
	grep -qF -- "$1" "$T/err" && grep '^#   ' "$T/out" | grep -qF -- "$1"
}
nothing_noted() {
	! grep -q 'not carried over' "$T/err" && grep -q '^# Every setting was carried over' "$T/out"
}

mkdir -p "$T/srv/other"
tmpdir_ok=$T/srv/other

# Debian's file as tftpd-hpa's postinst writes it.
migrate '# /etc/default/tftpd-hpa\n\nTFTP_USERNAME="tftp"\nTFTP_DIRECTORY="/srv/tftp"\nTFTP_ADDRESS=":69"\nTFTP_OPTIONS="--secure"\n'
ok "default file: exit 0" is "$rc" 0
ok "default file: --secure, user tftp, /srv/tftp" is "$(cmdline)" "--secure --user tftp /srv/tftp"
ok "default file: every address, port 69, both families" is "$(listen)" "0.0.0.0:69 [::]:69 "
ok "default file: nothing left out" nothing_noted
ok "default file: ExecStart= is reset first" grep -qx 'ExecStart=' "$T/out"
ok "default file: the root is writable for the service" grep -qx 'ReadWritePaths=-/srv/tftp' "$T/out"

# The package test's file: another directory, -c -p -B 1468, a loopback address.
migrate "TFTP_USERNAME=\"tftp\"\nTFTP_DIRECTORY=\"$tmpdir_ok\"\nTFTP_ADDRESS=\"127.0.0.1:16969\"\nTFTP_OPTIONS=\"--secure -c -p -B 1468\"\n"
ok "-c -p -B 1468: carried over" is "$(cmdline)" "--secure --create --permissive --max-blksize 1468 --user tftp $tmpdir_ok"
ok "-c -p -B 1468: snow-owld accepts the result" nothing_noted
ok "address with port: one ListenDatagram" is "$(listen)" "127.0.0.1:16969 "

# Quoting the way the shell reads it.
migrate "TFTP_USERNAME=tftp # the user\nexport TFTP_DIRECTORY='/srv/tftp'\nTFTP_ADDRESS=\"\"'127.0.0.1':69\nTFTP_OPTIONS=\"-s \\\\\"-c\\\\\"\"\n"
ok "quoting: unquoted with a comment, export, '...', mixed" is "$(cmdline)" "--secure --user tftp /srv/tftp"
ok "quoting: the address from '' and \"\" pieces" is "$(listen)" "127.0.0.1:69 "
ok "quoting: \\\" keeps a quote, and the word is no option (tftpd-hpa took it as a directory)" noted 'directory "-c": not carried over'
migrate 'TFTP_OPTIONS="-s -c"\nTFTP_OPTIONS="-s"\n'
ok "quoting: the last assignment wins" is "$(cmdline)" "--secure --user tftp /srv/tftp"
migrate 'TFTP_OPTIONS="--secure"\t# tabs\n  TFTP_USERNAME="nobody"\n'
ok "quoting: blanks before the name, a tab before the comment" is "$(cmdline)" "--secure --user nobody /srv/tftp"
migrate 'TFTP_OPTIONS= "--secure"\n'
ok "quoting: NAME= WORD is a command in the shell, named" noted "TFTP_OPTIONS: more than one word after the =, not carried over"
migrate 'TFTP_OPTIONS="--secure \\\\\n  -c"\n'
ok "quoting: a value continued on the next line is named" noted "TFTP_OPTIONS: the quoted value does not end on its line, not carried over"

# Never run: expansions and commands are named, not executed.
migrate "TFTP_OPTIONS=\"\$(touch $T/ran)\"\nTFTP_DIRECTORY=\`touch $T/ran\`\ntouch $T/ran\nTFTP_USERNAME=x; touch $T/ran\n"
ok "not run: no command of the file ran" test ! -e "$T/ran"
ok "not run: \$(...) named" noted "TFTP_OPTIONS: needs the shell to expand it (\$)"
ok "not run: \`...\` named" noted "TFTP_DIRECTORY: needs the shell to expand it (\`)"
ok "not run: a command line named" noted "not an assignment, ignored: touch $T/ran"
ok "not run: ; named" noted "TFTP_USERNAME: shell syntax (;), not carried over"
ok "not run: the defaults stand in" is "$(cmdline)" "--user tftp /srv/tftp"

# Option syntax: clusters, attached arguments, long names, prefixes, --.
migrate 'TFTP_OPTIONS="-scB1468 -vvv -U022 --blocks=512 --retrans 200000 -r tsize --refuse=blksize -R 4000:5000 -t 60 -m /dev/null"\n'
ok "syntax: clusters, -B1468, prefixes, = forms" is "$(cmdline)" \
	"--secure --create --max-blksize 1468 --umask 022 --max-blksize 512 --retransmit 200000 --refuse tsize --refuse blksize --port-range 4000:5000 --idle-timeout 60 --remap /dev/null --user tftp --verbose --verbose --verbose /srv/tftp"
ok "syntax: snow-owld accepts all of it" nothing_noted
migrate 'TFTP_OPTIONS="--verbosity 7 --ver"\n'
ok "syntax: an ambiguous prefix is named" noted "--ver: not carried over: ambiguous"
ok "syntax: --verbosity above 4 is capped, and said so" noted "verbosity 7: snow-owld's highest is 4, carried over as 4"
ok "syntax: --verbosity 7 gives -v four times" is "$(cmdline)" "--user tftp --verbose --verbose --verbose --verbose /srv/tftp"

# -u and -a in TFTP_OPTIONS come after the init script's --user/--address.
migrate 'TFTP_USERNAME="tftp"\nTFTP_ADDRESS=":69"\nTFTP_OPTIONS="-u nobody --address 127.0.0.2:1069"\n'
ok "-u in the options wins over TFTP_USERNAME" is "$(cmdline)" "--user nobody /srv/tftp"
ok "-a with a port in the options wins over TFTP_ADDRESS" is "$(listen)" "127.0.0.2:1069 "

# Addresses.
migrate 'TFTP_ADDRESS="[2001:db8::1]:6969"\n'
ok "IPv6 in brackets with a port" is "$(listen)" "[2001:db8::1]:6969 "
migrate 'TFTP_ADDRESS="[::]"\n'
ok "IPv6 in brackets, no port: 69" is "$(listen)" "[::]:69 "
migrate 'TFTP_ADDRESS="::1"\n'
ok "IPv6 without brackets is named" noted "address ::1: an IPv6 address needs brackets"
ok "IPv6 without brackets: no socket drop-in" is "$(listen)" ""
migrate 'TFTP_ADDRESS="0.0.0.0:tftp"\n'
ok "a port by service name" is "$(listen)" "0.0.0.0:69 "
migrate 'TFTP_ADDRESS="boot.example.org:69"\n'
ok "a host name is named" noted "address boot.example.org:69: a host name"
migrate 'TFTP_ADDRESS=":69"\nTFTP_OPTIONS="-4"\n'
ok "-4: IPv4 only" is "$(listen)" "0.0.0.0:69 "
migrate 'TFTP_ADDRESS=":6969"\nTFTP_OPTIONS="--ipv6"\n'
ok "--ipv6: IPv6 only, on the port given" is "$(listen)" "[::]:6969 "
migrate 'TFTP_ADDRESS="127.0.0.1:70000"\n'
ok "a port out of range is named" noted "address 127.0.0.1:70000: port 70000 out of range, not carried over"

# Empty values.
migrate 'TFTP_USERNAME=""\nTFTP_DIRECTORY=""\nTFTP_ADDRESS=""\nTFTP_OPTIONS=""\n'
ok "empty: exit 0" is "$rc" 0
ok "empty: default user and directory" is "$(cmdline)" "/srv/tftp"
ok "empty user named" noted "no user given: transfers run as snow-owld's default user, nobody"
ok "empty directory named" noted "TFTP_DIRECTORY is empty: snow-owld serves /srv/tftp"
ok "empty address: the socket keeps its own" noted "the socket keeps snow-owl.socket's addresses"
ok "empty address: no socket drop-in" is "$(listen)" ""
migrate ''
ok "empty file: tftpd-hpa's defaults" is "$(cmdline)" "--user tftp /srv/tftp"

# What snow-owld cannot do, or need not do, under systemd.
migrate 'TFTP_OPTIONS="--listen -L -P /run/tftpd.pid -V -k --mcast x"\n'
ok "-l named as done by the socket" noted "--listen: not needed, snow-owl.socket listens"
ok "-L named as done by the socket" noted "-L: not needed, snow-owl.socket listens"
ok "-P named" noted "-P /run/tftpd.pid: not carried over: systemd tracks the service's process"
ok "-V named" noted "-V: not carried over: it only prints tftpd-hpa's version"
ok "unknown short option named" noted "-k: not carried over: tftpd-hpa has no such option"
ok "unknown long option named" noted "--mcast: not carried over: tftpd-hpa has no such option"
ok "unknown options: none reaches the command line" is "$(cmdline)" "--user tftp /srv/tftp"
ok "a stray word is an extra directory, named" noted "directory x: not carried over: snow-owld serves one directory (/srv/tftp)"

# Several directories: the first is served, the others named.
migrate 'TFTP_DIRECTORY="/srv/tftp /srv/more"\n'
ok "two directories: the first served" is "$(cmdline)" "--user tftp /srv/tftp"
ok "two directories: the second named" noted "directory /srv/more: not carried over"

# A value snow-owld refuses is named with snow-owld's own reason.
migrate 'TFTP_OPTIONS="-B 5"\n'
ok "-B 5: snow-owld's refusal is named" noted "snow-owld --check-config rejects the result"

# Characters systemd would interpret are escaped.
migrate "TFTP_DIRECTORY='/srv/a%b\$c\"d'\n"
# shellcheck disable=SC2016
ok "% \$ and \" in a path are escaped for systemd" is "$(cmdline)" '--user tftp "/srv/a%%b$$c\"d"'

# Writing the files: both drop-ins, the root created when missing.
printf 'TFTP_DIRECTORY="%s"\nTFTP_ADDRESS="127.0.0.1:16969"\nTFTP_OPTIONS="-s -c -P /x"\n' "$T/gone" >"$T/defaults"
rc=0
sh "$migrate" --defaults "$T/defaults" --unit-dir "$T/units" --snow-owld "$daemon" >"$T/out" 2>"$T/err" || rc=$?
ok "writing: exit 0" is "$rc" 0
ok "writing: the service drop-in" grep -q "^ExecStart=.* --secure --create --user tftp $T/gone\$" "$T/units/snow-owl.service.d/tftpd-hpa.conf"
ok "writing: the socket drop-in" grep -qx "ListenDatagram=127.0.0.1:16969" "$T/units/snow-owl.socket.d/tftpd-hpa.conf"
ok "writing: the missing root is created" test -d "$T/gone"
ok "writing: -P is named in the file" grep -q '^#   -P /x: not carried over' "$T/units/snow-owl.service.d/tftpd-hpa.conf"
ok "writing: -P is named on stderr" grep -q '^  -P /x: not carried over' "$T/err"
ok "writing: no temporary file left" is "$(find "$T/units" -name '*.tmp')" ""

rc=0
sh "$migrate" --defaults "$T/nonexistent" --unit-dir "$T/units2" >"$T/out" 2>"$T/err" || rc=$?
ok "a missing file: exit 1, nothing written" test "$rc" = 1 -a ! -e "$T/units2"

echo "1..$n"
exit $status
