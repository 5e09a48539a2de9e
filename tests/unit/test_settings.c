/* Unit tests for src/settings.c (every type, ranges, suffixes, the file, the command line, --print-config)
 * and for the networks of src/addr.c that --client-root uses. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "settings.h"

static char why[256];

static int set(struct settings *s, const char *name, const char *value)
{
	why[0] = '\0';
	return settings_set(s, name, value, why, sizeof(why));
}

static void test_size(void)
{
	static const struct {
		const char *text;
		int rc;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 }, { "1", 0, 1 }, { "1K", 0, 1024 }, { "1k", 0, 1024 }, { "3M", 0, 3 << 20 },
		{ "2G", 0, 2ull << 30 }, { "1023", 0, 1023 }, { "", -EINVAL, 0 }, { "K", -EINVAL, 0 },
		{ "1T", -EINVAL, 0 }, { "1.5K", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "1 K", -EINVAL, 0 },
		{ "5G", -ERANGE, 0 }, { "4294967297", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 99;
		int rc = settings_parse_size(cases[i].text, 0, 4ull << 30, &v);

		is_int(rc, cases[i].rc, "size \"%s\": %s", cases[i].text, rc ? "refused" : "taken");
		if (cases[i].rc == 0)
			is_int(v, cases[i].v, "size \"%s\" is %llu", cases[i].text, (unsigned long long)cases[i].v);
	}
	{
		uint64_t v;

		is_int(settings_parse_size("1K", 2000, 4096, &v), -ERANGE, "size: below the minimum after the suffix");
	}
}

static void test_types(void)
{
	struct settings s;
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "On" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "FALSE" };

	settings_init(&s);
	/* yes/no */
	for (size_t i = 0; i < 6; i++) {
		s.srv.sandbox.chroot = false;
		is_int(set(&s, "secure", yes[i]), 0, "bool: \"%s\"", yes[i]);
		ok(s.srv.sandbox.chroot, "... is yes");
		is_int(set(&s, "secure", no[i]), 0, "bool: \"%s\"", no[i]);
		ok(!s.srv.sandbox.chroot, "... is no");
	}
	is_int(set(&s, "secure", NULL), 0, "bool: a bare flag");
	ok(s.srv.sandbox.chroot, "... is yes");
	is_int(set(&s, "secure", "maybe"), -EINVAL, "bool: \"maybe\" is refused");
	is_str(why, "'maybe' is not yes or no", "... saying why");
	is_int(set(&s, "secure", ""), 0, "bool: empty");
	ok(!s.srv.sandbox.chroot, "... is the default");
	is_int(set(&s, "read-only", "yes"), 0, "read-only");
	ok(s.read_only, "... is stored");

	/* numbers and their ranges */
	is_int(set(&s, "max-blksize", "8"), 0, "uint: the minimum");
	is_int(s.srv.xfer.lim.blksize_max, 8, "... is stored");
	is_int(set(&s, "max-blksize", "65464"), 0, "uint: the maximum");
	is_int(s.srv.xfer.lim.blksize_max, 65464, "... is stored");
	is_int(set(&s, "max-blksize", "7"), -EINVAL, "uint: below the range");
	is_str(why, "'7' is not a number in 8..65464", "... saying the range");
	is_int(set(&s, "max-blksize", "65465"), -EINVAL, "uint: above the range");
	is_int(set(&s, "max-blksize", "1k"), -EINVAL, "uint: no suffix");
	is_int(set(&s, "max-blksize", "+9"), -EINVAL, "uint: no sign");
	is_int(s.srv.xfer.lim.blksize_max, 65464, "a refused value leaves the old one");
	is_int(set(&s, "max-blksize", ""), 0, "uint: empty");
	is_int(s.srv.xfer.lim.blksize_max, PACKET_BLKSIZE_MAX, "... is the default");
	is_int(set(&s, "retransmit", "1000000"), 0, "a 64-bit field");
	is_int(s.srv.xfer.rto_us, 1000000, "... is stored whole");
	is_int(s.srv.max_transfers, SERVER_TRANSFERS_AUTO, "... and its neighbours are untouched");

	/* sizes */
	is_int(set(&s, "max-upload", "10M"), 0, "size: 10M");
	is_int(s.srv.xfer.upload_max, 10 << 20, "... is 10 MiB");
	is_int(set(&s, "rcvbuf", "2G"), -EINVAL, "size: over the maximum");
	ok(strstr(why, "0..1073741824") != NULL, "... saying the range: %s", why);
	is_int(set(&s, "rcvbuf", "64K"), 0, "size: into an int");
	is_int(s.srv.rcvbuf, 65536, "... is stored");

	/* octal */
	is_int(set(&s, "umask", "027"), 0, "octal: 027");
	is_int(s.srv.xfer.upload.umask, 027, "... is stored");
	is_int(set(&s, "umask", "8"), -EINVAL, "octal: 8 is refused");
	is_int(set(&s, "umask", "00022"), -EINVAL, "octal: five digits are refused");

	/* strings */
	is_int(set(&s, "user", "tftp"), 0, "string");
	is_str(s.srv.user, "tftp", "... is stored");
	is_int(set(&s, "user", ""), 0, "string: empty");
	is_str(s.srv.user, "nobody", "... is the default");

	/* counts */
	is_int(set(&s, "verbose", NULL), 0, "count: one more");
	is_int(set(&s, "verbose", NULL), 0, "count: one more");
	is_int(s.verbose, 2, "... is 2");
	is_int(set(&s, "verbose", "4"), 0, "count: set");
	is_int(set(&s, "verbose", NULL), 0, "count: one more at the top");
	is_int(s.verbose, 4, "... stays at the maximum");
	is_int(set(&s, "verbose", "5"), -EINVAL, "count: above the range");

	/* the custom ones */
	is_int(set(&s, "refuse", "BlkSize"), 0, "refuse: any case");
	ok(s.srv.xfer.lim.refuse[OPT_BLKSIZE], "... is stored");
	is_int(set(&s, "refuse", "tsize"), 0, "refuse: a second one");
	ok(s.srv.xfer.lim.refuse[OPT_BLKSIZE] && s.srv.xfer.lim.refuse[OPT_TSIZE], "... adds");
	is_int(set(&s, "refuse", "bogus"), -EINVAL, "refuse: an unknown option");
	is_int(set(&s, "refuse", ""), 0, "refuse: empty");
	ok(!s.srv.xfer.lim.refuse[OPT_BLKSIZE] && !s.srv.xfer.lim.refuse[OPT_TSIZE], "... clears");
	is_int(set(&s, "port-range", "1000:2000"), 0, "port-range");
	ok(s.srv.port_low == 1000 && s.srv.port_high == 2000, "... is stored");
	is_int(set(&s, "port-range", "5:5"), 0, "port-range: one port");
	is_int(set(&s, "port-range", "2000:1000"), -EINVAL, "port-range: backwards");
	is_int(set(&s, "port-range", "0:10"), -EINVAL, "port-range: port 0");
	is_int(set(&s, "port-range", "1000"), -EINVAL, "port-range: no colon");
	is_int(set(&s, "port-range", ""), 0, "port-range: empty");
	ok(s.srv.port_low == 0 && s.srv.port_high == 0, "... is any port");
	is_int(set(&s, "client-root", "10.0.0.0/8=/srv/a"), 0, "client-root");
	is_int(set(&s, "client-root", "::1=/srv/b"), 0, "client-root: one IPv6 host");
	is_int(s.srv.nroots, 2, "... two");
	is_int(s.srv.roots[1].net.prefix, 128, "... a host is /128");
	is_int(set(&s, "client-root", "10.0.0.1/8=/x"), -EINVAL, "client-root: host bits set");
	is_int(set(&s, "client-root", "10.0.0.0/33=/x"), -EINVAL, "client-root: prefix too long");
	is_int(set(&s, "client-root", "10.0.0.0/8"), -EINVAL, "client-root: no directory");
	is_int(set(&s, "client-root", "10.0.0.0/8="), -EINVAL, "client-root: an empty directory");
	is_int(set(&s, "client-root", "example.com=/x"), -EINVAL, "client-root: a name");
	is_int(set(&s, "address", "127.0.0.1:69"), 0, "address");
	is_int(s.naddress, 1, "... is kept for later");

	is_int(set(&s, "no-such-key", "1"), -ENOENT, "an unknown key");
	is_str(why, "unknown key 'no-such-key'", "... saying so");
	is_int(set(&s, "max-blksize", NULL), -EINVAL, "a number needs a value");
}

static char *write_temp(const char *text)
{
	static char path[64];
	int fd;
	FILE *f;

	strcpy(path, "/tmp/test_settings.XXXXXX");
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as a file; returns the status, the error without the path. */
static int load(struct settings *s, const char *text, char *err, size_t size)
{
	char *path = write_temp(text), full[512];
	int rc;

	full[0] = '\0';
	rc = settings_load(s, path, full, sizeof(full));
	snprintf(err, size, "%s", strncmp(full, path, strlen(path)) == 0 ? full + strlen(path) : full);
	unlink(path);
	return rc;
}

static void test_file(void)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "# comment\n\nbogus = 1\n", ":3: unknown key 'bogus'" },
		{ "secure = yes\nmax-blksize = 7\n", ":2: max-blksize: '7' is not a number in 8..65464" },
		{ "; comment\nsecure = perhaps\n", ":2: secure: 'perhaps' is not yes or no" },
		{ "secure = yes\n[snow-owld]\nuser = tftp\n", ":2: sections are not used: '[snow-owld]'" },
		{ "secure = yes\njust words\n", ":2: expected KEY = VALUE" },
		{ "user = x\nbogus = 1\nmore = 2\n", ":2: unknown key 'bogus'" },
		{ "refuse = blksize\nrefuse = nonsense\n", ":2: refuse: unknown option 'nonsense'" },
	};
	struct settings s;
	char err[512], longline[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		settings_init(&s);
		is_int(load(&s, bad[i].text, err, sizeof(err)), -EINVAL, "bad file %zu refused", i);
		is_str(err, bad[i].err, "bad file %zu: the message names the line", i);
	}
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "user = ", 7);
	strcpy(longline + sizeof(longline) - 2, "\n");
	settings_init(&s);
	is_int(load(&s, longline, err, sizeof(err)), -EINVAL, "an over-long line is refused");
	ok(strncmp(err, ":1: line longer than", 20) == 0, "... at its line: %s", err);

	settings_init(&s);
	is_int(load(&s, "  secure = yes\n\tuser = tftp ; who runs transfers\nmax-upload=1M\n"
			"refuse = tsize\nrefuse = blksize\n", err, sizeof(err)), 0, "a good file: %s", err);
	ok(s.srv.sandbox.chroot, "an indented line is a key of its own");
	is_str(s.srv.user, "tftp", "a trailing ; comment is dropped");
	is_int(s.srv.xfer.upload_max, 1 << 20, "blanks around = are optional");
	ok(s.srv.xfer.lim.refuse[OPT_TSIZE] && s.srv.xfer.lim.refuse[OPT_BLKSIZE], "a list key adds up");

	is_int(settings_load(&s, "/nonexistent/snow-owl.conf", err, sizeof(err)), -ENOENT, "a missing file");
	is_str(err, "/nonexistent/snow-owl.conf: No such file or directory", "... is named");
}

static char *printed(const struct settings *s)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	settings_print(s, f);
	fclose(f);
	return buf;
}

static void test_print(void)
{
	struct settings a, b;
	char *one, *two, *path, err[512];

	settings_init(&a);
	set(&a, "secure", "yes");
	set(&a, "max-upload", "3M");
	set(&a, "rcvbuf", "1000");
	set(&a, "umask", "007");
	set(&a, "refuse", "windowsize");
	set(&a, "refuse", "tsize");
	set(&a, "port-range", "3000:3100");
	set(&a, "client-root", "192.168.1.0/24=/srv/lab");
	set(&a, "client-root", "2001:db8::/32=/srv/v6");
	set(&a, "address", "[::1]:6969");
	set(&a, "user", "tftp");
	set(&a, "verbose", "2");
	set(&a, "pid-file", "/run/snow-owld.pid");
	one = printed(&a);
	ok(strstr(one, "\nmax-upload = 3M\n") && strstr(one, "\nrcvbuf = 1000\n") &&
	   strstr(one, "\numask = 007\n") && strstr(one, "\nsecure = yes\n") &&
	   strstr(one, "\nclient-root = 2001:db8::/32=/srv/v6\n") && strstr(one, "\n#root =\n") &&
	   strstr(one, "\nrefuse = tsize\nrefuse = windowsize\n"), "print: values in the file's format");

	path = write_temp(one);
	settings_init(&b);
	is_int(settings_load(&b, path, err, sizeof(err)), 0, "print: the output reads back: %s", err);
	unlink(path);
	two = printed(&b);
	is_str(two, one, "print: reading it back gives the same settings");
	free(one);
	free(two);

	settings_init(&a);
	one = printed(&a);
	ok(strstr(one, "\nmax-upload = 0\n") && strstr(one, "\nrcvbuf = 32M\n") &&
	   strstr(one, "\nmax-transfers = auto\n") && strstr(one, "\n#client-root =\n"),
	   "print: the defaults");
	free(one);
}

static void test_args(void)
{
	struct settings s;
	struct settings_cli cli;
	char err[512], *path = write_temp("max-blksize = 1000\nrefuse = tsize\nverbose = 2\n"
					  "root = /srv/file\nsecure = yes\nuser = fromfile\n");
	char *argv1[] = { "snow-owld", "--max-blksize", "1468", "--config", path, "-r", "blksize",
			  "--secure=no", "/srv/cmd", NULL };
	char *argv2[] = { "snow-owld", "-vv", "--config", path, "--user=", NULL };
	char *argv3[] = { "snow-owld", "--config", path, "--max-blksize", "7", NULL };
	char *argv4[] = { "snow-owld", "--config", "/nonexistent.conf", NULL };
	char *argv5[] = { "snow-owld", "--blocksize", "1024", "--timeout", "60", "--map-file", "/r",
			  "--pidfile", "/p", "-T", "500000", NULL };

	settings_init(&s);
	is_int(settings_parse_args(&s, &cli, 9, argv1, err, sizeof(err)), 0, "args: options and a file");
	is_str(cli.config, path, "... --config is seen");
	is_int(s.srv.xfer.lim.blksize_max, 1468, "... an option before --config overrides the file");
	ok(s.srv.xfer.lim.refuse[OPT_BLKSIZE] && !s.srv.xfer.lim.refuse[OPT_TSIZE],
	   "... a list option replaces the file's list");
	is_int(s.verbose, 2, "... what the command line leaves alone stays");
	ok(!s.srv.sandbox.chroot, "... --secure=no overrides secure = yes");
	is_str(s.root, "/srv/cmd", "... ROOT overrides the root key");

	settings_init(&s);
	is_int(settings_parse_args(&s, &cli, 5, argv2, err, sizeof(err)), 0, "args: -vv and an empty value");
	is_int(s.verbose, 2, "... -vv replaces the file's verbose");
	is_str(s.srv.user, "nobody", "... --user= restores the default");
	is_str(s.root, "/srv/file", "... the root key without ROOT");

	settings_init(&s);
	is_int(settings_parse_args(&s, &cli, 5, argv3, err, sizeof(err)), -EINVAL, "args: a bad value");
	is_str(err, "-B/--max-blksize: '7' is not a number in 8..65464", "... names the option");

	settings_init(&s);
	is_int(settings_parse_args(&s, &cli, 3, argv4, err, sizeof(err)), -EINVAL, "args: a missing --config");
	is_str(err, "/nonexistent.conf: No such file or directory", "... is an error");

	settings_init(&s);
	is_int(settings_parse_args(&s, &cli, 11, argv5, err, sizeof(err)), 0, "args: tftpd-hpa's long names");
	is_int(s.srv.xfer.lim.blksize_max, 1024, "... --blocksize is -B");
	is_int(s.srv.idle_timeout_s, 60, "... --timeout is -t");
	is_str(s.remap, "/r", "... --map-file is -m");
	is_str(s.srv.pid_file, "/p", "... --pidfile is -P");
	is_int(s.srv.xfer.rto_us, 500000, "... -T is the retransmission timeout");
	unlink(path);
}

static struct sockaddr_storage sock_of(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	} else {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr);
	}
	return ss;
}

static void test_nets(void)
{
	static const struct {
		const char *net, *addr;
		bool in;
	} cases[] = {
		{ "10.0.0.0/8", "10.1.2.3", true }, { "10.0.0.0/8", "11.0.0.1", false },
		{ "10.0.0.0/8", "::ffff:10.9.9.9", true }, { "10.0.0.0/8", "::1", false },
		{ "127.0.0.2", "127.0.0.2", true }, { "127.0.0.2", "127.0.0.1", false },
		{ "192.168.1.128/25", "192.168.1.200", true }, { "192.168.1.128/25", "192.168.1.100", false },
		{ "0.0.0.0/0", "203.0.113.7", true }, { "0.0.0.0/0", "2001:db8::1", false },
		{ "2001:db8::/32", "2001:db8:1::5", true }, { "2001:db8::/32", "2001:db9::5", false },
		{ "::1", "::1", true }, { "::/0", "::ffff:1.2.3.4", false },
	};
	static const char *const bad[] = { "10.0.0.1/8", "/8", "10.0.0.0/", "10.0.0.0/x", "::1/129", "host", "" };
	struct addr_net n;
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss = sock_of(cases[i].addr);

		is_int(addr_net_parse(cases[i].net, &n), 0, "net %s parses", cases[i].net);
		is_int(addr_net_contains(&n, (struct sockaddr *)&ss), cases[i].in, "%s %s %s", cases[i].net,
		       cases[i].in ? "contains" : "does not contain", cases[i].addr);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(addr_net_parse(bad[i], &n), -EINVAL, "net \"%s\" is refused", bad[i]);
	addr_net_parse("2001:db8:0::/48", &n);
	is_str(addr_net_format(&n, buf, sizeof(buf)), "2001:db8::/48", "net: formatted in short form");
}

static void test_pick(void)
{
	struct server_conf c;
	struct sockaddr_storage a = sock_of("10.1.2.3"), b = sock_of("10.9.0.1"), o = sock_of("192.0.2.1");

	server_conf_init(&c);
	addr_net_parse("10.0.0.0/8", &c.roots[0].net);
	addr_net_parse("10.1.0.0/16", &c.roots[1].net);
	addr_net_parse("10.0.0.0/8", &c.roots[2].net);
	c.nroots = 3;
	is_int(server_root_pick(&c, (struct sockaddr *)&a), 1, "pick: the longest prefix");
	is_int(server_root_pick(&c, (struct sockaddr *)&b), 0, "pick: the first of equal prefixes");
	is_int(server_root_pick(&c, (struct sockaddr *)&o), -1, "pick: none, ROOT");
}

int main(void)
{
	test_size();
	test_types();
	test_file();
	test_print();
	test_args();
	test_nets();
	test_pick();
	return tap_done();
}
