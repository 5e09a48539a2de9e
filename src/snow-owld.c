/*
 * snow-owld.c - command line of the TFTP server.
 *
 * The flags are tftpd-hpa's where they exist, so an existing
 * in.tftpd command line keeps working.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

enum {
	LONG_MAX_WINDOWSIZE = 256,
	LONG_BATCH,
	LONG_RETRIES,
	LONG_READ_ONLY,
};

static const char usage_text[] =
	"usage: snow-owld -L|-l [-a ADDR[:PORT]]... [-46cpsv] [-u USER] [-U UMASK]\n"
	"                 [-B MAX_BLKSIZE] [-T USEC] [-r OPTION]... [options] ROOT\n"
	"  -L, --foreground         run standalone, in the foreground\n"
	"  -l, --listen             run standalone, as a background daemon\n"
	"  -a, --address ADDR[:PORT]  listen here (repeatable; default port 69,\n"
	"                           IPv6 as [::1]:6969; default all addresses)\n"
	"  -4, --ipv4 / -6, --ipv6  only IPv4 / only IPv6\n"
	"  -s, --secure             chroot into ROOT\n"
	"  -c, --create             allow uploads to create new files\n"
	"  -p, --permissive         only the kernel's permission checks\n"
	"  -u, --user USER          run transfers as USER (default nobody)\n"
	"  -U, --umask UMASK        mode mask for created files (default 022)\n"
	"  -B, --max-blksize N      largest blksize granted (default 65464)\n"
	"      --max-windowsize N   largest windowsize granted (default 64)\n"
	"  -T, --timeout USEC       first retransmission timeout (default 1000000)\n"
	"      --retries N          retransmissions before giving up (default 6)\n"
	"  -r, --refuse OPTION      never acknowledge OPTION\n"
	"      --read-only          refuse every upload\n"
	"      --batch N            requests read per system call (default 32)\n"
	"  -v, --verbose            more log detail (repeatable)\n"
	"  -V, --version            print the version\n"
	"  -h, --help               this help\n";

static const struct option long_opts[] = {
	{ "foreground", no_argument, NULL, 'L' },
	{ "listen", no_argument, NULL, 'l' },
	{ "address", required_argument, NULL, 'a' },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "secure", no_argument, NULL, 's' },
	{ "create", no_argument, NULL, 'c' },
	{ "permissive", no_argument, NULL, 'p' },
	{ "user", required_argument, NULL, 'u' },
	{ "umask", required_argument, NULL, 'U' },
	{ "max-blksize", required_argument, NULL, 'B' },
	{ "max-windowsize", required_argument, NULL, LONG_MAX_WINDOWSIZE },
	{ "timeout", required_argument, NULL, 'T' },
	{ "retries", required_argument, NULL, LONG_RETRIES },
	{ "refuse", required_argument, NULL, 'r' },
	{ "read-only", no_argument, NULL, LONG_READ_ONLY },
	{ "batch", required_argument, NULL, LONG_BATCH },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

static uint64_t number(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (opt_parse_uint(s, max, &v) < 0 || v < min) {
		fprintf(stderr, "snow-owld: %s: '%s' is not a number in %llu..%llu\n", opt, s,
			(unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return v;
}

static void refuse_option(struct server_conf *c, const char *name)
{
	for (int id = 0; id < OPT_MAX; id++) {
		if (strcasecmp(name, opt_name(id)) == 0) {
			c->xfer.lim.refuse[id] = true;
			return;
		}
	}
	fprintf(stderr, "snow-owld: -r: unknown option '%s'\n", name);
	exit(2);
}

static void add_address(struct server_conf *c, const char *arg)
{
	if (c->nlisten == SERVER_LISTEN_MAX) {
		fprintf(stderr, "snow-owld: at most %d addresses\n", SERVER_LISTEN_MAX);
		exit(2);
	}
	if (addr_parse(arg, 69, c->family, &c->listen[c->nlisten], &c->listen_len[c->nlisten]) < 0) {
		fprintf(stderr, "snow-owld: -a: cannot parse address '%s'\n", arg);
		exit(2);
	}
	c->nlisten++;
}

int main(int argc, char **argv)
{
	struct server_conf c;
	bool standalone = false;
	int verbose = 0, opt, r;
	const char *addrs[SERVER_LISTEN_MAX];
	int naddrs = 0;

	server_conf_init(&c);
	c.xfer.allow_write = true;
	while ((opt = getopt_long(argc, argv, "Lla:46scpu:U:B:T:r:vVh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'L':
			standalone = true;
			c.daemonize = false;
			break;
		case 'l':
			standalone = true;
			c.daemonize = true;
			break;
		case 'a':
			if (naddrs == SERVER_LISTEN_MAX) {
				fprintf(stderr, "snow-owld: at most %d addresses\n", SERVER_LISTEN_MAX);
				return 2;
			}
			addrs[naddrs++] = optarg;
			break;
		case '4':
			c.family = AF_INET;
			break;
		case '6':
			c.family = AF_INET6;
			break;
		case 's':
			c.sandbox.chroot = true;
			break;
		case 'c':
			c.xfer.upload.allow_create = true;
			break;
		case 'p':
			c.xfer.upload.plain_perms = true;
			break;
		case 'u':
			c.user = optarg;
			break;
		case 'U':
			if (!*optarg || strlen(optarg) > 4 || strspn(optarg, "01234567") != strlen(optarg)) {
				fprintf(stderr, "snow-owld: -U: '%s' is not an octal mask\n", optarg);
				return 2;
			}
			c.xfer.upload.umask = (mode_t)strtoul(optarg, NULL, 8) & 0777;
			break;
		case 'B':
			c.xfer.lim.blksize_max = (unsigned)number("-B", optarg, OPT_BLKSIZE_MIN, PACKET_BLKSIZE_MAX);
			break;
		case LONG_MAX_WINDOWSIZE:
			c.xfer.lim.windowsize_max = (unsigned)number("--max-windowsize", optarg, 1, OPT_WINDOWSIZE_MAX);
			break;
		case 'T':
			c.xfer.rto_us = number("-T", optarg, 10000, 255000000);
			if (c.xfer.rto_max_us < c.xfer.rto_us)
				c.xfer.rto_max_us = c.xfer.rto_us;
			break;
		case LONG_RETRIES:
			c.xfer.max_retries = (unsigned)number("--retries", optarg, 1, 100);
			break;
		case 'r':
			refuse_option(&c, optarg);
			break;
		case LONG_READ_ONLY:
			c.xfer.allow_write = false;
			break;
		case LONG_BATCH:
			c.batch = (unsigned)number("--batch", optarg, 1, 256);
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("snow-owld %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "snow-owld: exactly one ROOT directory is needed\n");
		usage(2);
	}
	if (!standalone) {
		fprintf(stderr, "snow-owld: give -L (foreground) or -l (daemon) to listen\n");
		return 2;
	}
	log_init("snow-owld", verbose >= 2 ? LOG_DEBUG : verbose ? LOG_INFO : LOG_NOTICE);
	c.root = argv[optind];

	/* Addresses are parsed after -4/-6, which change their meaning. */
	for (int i = 0; i < naddrs; i++)
		add_address(&c, addrs[i]);
	if (!c.nlisten) {
		if (c.family != AF_INET6)
			add_address(&c, "0.0.0.0");
		if (c.family != AF_INET)
			add_address(&c, "[::]");
	}

	c.rootfd = open(c.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.rootfd < 0) {
		log_err("cannot open %s: %m", c.root);
		return 1;
	}
	c.sandbox.root = c.root;
	r = sandbox_resolve_user(&c.sandbox, c.user);
	if (r < 0) {
		log_err("user %s: %s", c.user, r == -ENOENT ? "no such user" : strerror(-r));
		return 1;
	}
	if (c.sandbox.chroot && geteuid() != 0) {
		log_err("-s needs root to chroot");
		return 1;
	}
	return dispatch_run(&c);
}
