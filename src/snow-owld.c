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
#include <systemd/sd-daemon.h>
#include <linux/capability.h>

#include "log.h"
#include "server.h"

enum {
	LONG_MAX_WINDOWSIZE = 256,
	LONG_BATCH,
	LONG_RETRIES,
	LONG_READ_ONLY,
	LONG_MAX_TRANSFERS,
	LONG_MAX_PER_CLIENT,
	LONG_QUEUE,
	LONG_RCVBUF,
	LONG_DRAIN_TIMEOUT,
	LONG_SECCOMP_LOG,
	LONG_MAX_UPLOAD,
	LONG_METRICS,
	LONG_METRICS_INTERVAL,
};

static const char usage_text[] =
	"usage: snow-owld [-L|-l] [-a ADDR[:PORT]]... [-46cpsv] [-u USER] [-U UMASK]\n"
	"                 [-B MAX_BLKSIZE] [-T USEC] [-t SECONDS] [-R LOW:HIGH]\n"
	"                 [-r OPTION]... [options] ROOT\n"
	"Without -L or -l the sockets come from systemd (socket activation) or\n"
	"from inetd/xinetd (fd 0, wait mode), whichever started the server.\n"
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
	"  -T, --timeout USEC       timeout before a round trip is measured (default 250000)\n"
	"      --retries N          timeouts in a row before giving up (default 10)\n"
	"  -r, --refuse OPTION      never acknowledge OPTION\n"
	"  -t, --idle-timeout SECS  systemd/inetd modes: exit after SECS idle\n"
	"                           (default 900; 0 never)\n"
	"  -R, --port-range LOW:HIGH  transfer sockets use ports in this range\n"
	"      --max-transfers N    transfers at once (default 1024)\n"
	"      --max-per-client N   transfers at once per client address\n"
	"                           (default 0: no limit)\n"
	"      --queue N            requests waiting for a free slot (default 4096)\n"
	"      --rcvbuf BYTES       receive buffer of listening sockets (default 4 MiB)\n"
	"      --drain-timeout SECS on SIGTERM, time transfers get to finish (default 30)\n"
	"      --seccomp-log        debug: log system calls the filter would kill\n"
	"      --read-only          refuse every upload\n"
	"      --max-upload SIZE    largest upload (bytes, or with K, M, G); default no limit\n"
	"      --batch N            requests read per system call (default 32)\n"
	"      --metrics FILE       write Prometheus metrics to FILE (textfile collector)\n"
	"      --metrics-interval SECS  how often FILE is rewritten (default 5)\n"
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
	{ "idle-timeout", required_argument, NULL, 't' },
	{ "port-range", required_argument, NULL, 'R' },
	{ "max-transfers", required_argument, NULL, LONG_MAX_TRANSFERS },
	{ "max-per-client", required_argument, NULL, LONG_MAX_PER_CLIENT },
	{ "queue", required_argument, NULL, LONG_QUEUE },
	{ "rcvbuf", required_argument, NULL, LONG_RCVBUF },
	{ "drain-timeout", required_argument, NULL, LONG_DRAIN_TIMEOUT },
	{ "seccomp-log", no_argument, NULL, LONG_SECCOMP_LOG },
	{ "max-upload", required_argument, NULL, LONG_MAX_UPLOAD },
	{ "metrics", required_argument, NULL, LONG_METRICS },
	{ "metrics-interval", required_argument, NULL, LONG_METRICS_INTERVAL },
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

/* A size: digits with an optional K, M or G (binary multiples). */
static uint64_t size_arg(const char *opt, const char *s)
{
	char num[24];
	size_t n = strlen(s);
	unsigned shift = 0;

	if (n && strchr("kKmMgG", s[n - 1])) {
		shift = strchr("kK", s[n - 1]) ? 10 : strchr("mM", s[n - 1]) ? 20 : 30;
		n--;
	}
	if (n == 0 || n >= sizeof(num)) {
		fprintf(stderr, "snow-owld: %s: '%s' is not a size\n", opt, s);
		exit(2);
	}
	memcpy(num, s, n);
	num[n] = '\0';
	return number(opt, num, 1, UINT64_MAX >> 30) << shift;
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

static void port_range(struct server_conf *c, const char *arg)
{
	char low[8];
	const char *colon = strchr(arg, ':');

	if (!colon || (size_t)(colon - arg) >= sizeof(low)) {
		fprintf(stderr, "snow-owld: -R: expected LOW:HIGH, got '%s'\n", arg);
		exit(2);
	}
	memcpy(low, arg, (size_t)(colon - arg));
	low[colon - arg] = '\0';
	c->port_low = (unsigned)number("-R", low, 1, 65535);
	c->port_high = (unsigned)number("-R", colon + 1, c->port_low, 65535);
}

/*
 * No -L/-l: take the sockets systemd passed, or the one inetd put on fd 0.
 * Returns 0, or -1 when there are none.
 */
static int inherit_sockets(struct server_conf *c)
{
	int n = sd_listen_fds(1);

	if (n > 0) {
		if (n > SERVER_LISTEN_MAX) {
			fprintf(stderr, "snow-owld: at most %d sockets from systemd\n", SERVER_LISTEN_MAX);
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			int fd = SD_LISTEN_FDS_START + i;

			if (sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) <= 0) {
				fprintf(stderr, "snow-owld: systemd fd %d is not a datagram socket\n", fd);
				exit(1);
			}
			c->inherited[c->ninherited++] = fd;
		}
		c->mode = SERVER_SYSTEMD;
		return 0;
	}
	if (sd_is_socket(STDIN_FILENO, AF_UNSPEC, SOCK_DGRAM, -1) > 0) {
		/* inetd puts the socket on 0, 1 and 2: move it away so that
		 * nothing is ever written to a client by accident. */
		int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		int null = open("/dev/null", O_RDWR);

		if (fd < 0 || null < 0)
			return -1;
		for (int i = 0; i < 3; i++)
			dup2(null, i);
		if (null > 2)
			close(null);
		c->inherited[c->ninherited++] = fd;
		c->mode = SERVER_INETD;
		return 0;
	}
	return -1;
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

	setproctitle_init(argc, argv, environ);	/* before anything reads argv */
	server_conf_init(&c);
	c.xfer.allow_write = true;
	while ((opt = getopt_long(argc, argv, "Lla:46scpu:U:B:T:t:R:r:vVh", long_opts, NULL)) != -1) {
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
		case 't':
			c.idle_timeout_s = (unsigned)number("-t", optarg, 0, 86400 * 365);
			break;
		case 'R':
			port_range(&c, optarg);
			break;
		case LONG_MAX_TRANSFERS:
			c.max_transfers = (unsigned)number("--max-transfers", optarg, 1, 1000000);
			break;
		case LONG_MAX_PER_CLIENT:
			c.max_per_client = (unsigned)number("--max-per-client", optarg, 0, 1000000);
			break;
		case LONG_QUEUE:
			c.queue_max = (unsigned)number("--queue", optarg, 0, 1000000);
			break;
		case LONG_RCVBUF:
			c.rcvbuf = (int)number("--rcvbuf", optarg, 0, 1u << 30);
			break;
		case LONG_MAX_UPLOAD:
			c.xfer.upload_max = size_arg("--max-upload", optarg);
			break;
		case LONG_SECCOMP_LOG:
			c.sandbox.seccomp_log = true;
			break;
		case LONG_DRAIN_TIMEOUT:
			c.drain_timeout_s = (unsigned)number("--drain-timeout", optarg, 0, 86400);
			break;
		case LONG_READ_ONLY:
			c.xfer.allow_write = false;
			break;
		case LONG_BATCH:
			c.batch = (unsigned)number("--batch", optarg, 1, 256);
			break;
		case LONG_METRICS:
			c.metrics_path = optarg;
			break;
		case LONG_METRICS_INTERVAL:
			c.metrics_interval_s = (unsigned)number("--metrics-interval", optarg, 1, 86400);
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
	log_init("snow-owld", verbose >= 2 ? LOG_DEBUG : verbose ? LOG_INFO : LOG_NOTICE);
	if (!standalone && inherit_sockets(&c) < 0) {
		fprintf(stderr, "snow-owld: no sockets: give -L (foreground) or -l (daemon), or start\n"
				"from systemd (snow-owl.socket) or inetd (wait mode)\n");
		return 2;
	}
	/* inetd leaves no usable stderr; daemon() closes it. */
	if (c.mode == SERVER_INETD || c.daemonize)
		log_use_syslog();
	else
		log_use_journal();	/* when standard error is the journal's */
	if (c.mode != SERVER_STANDALONE && naddrs)
		log_warn("-a is ignored: the sockets come from %s", c.mode == SERVER_SYSTEMD ? "systemd" : "inetd");
	/* Absolute, so SIGHUP can reopen it after daemon() left the cwd. */
	c.root = realpath(argv[optind], NULL);
	if (!c.root) {
		log_err("cannot open %s: %m", argv[optind]);
		return 1;
	}

	/* Addresses are parsed after -4/-6, which change their meaning. */
	for (int i = 0; i < naddrs && c.mode == SERVER_STANDALONE; i++)
		add_address(&c, addrs[i]);
	if (!c.nlisten && c.mode == SERVER_STANDALONE) {
		if (c.family != AF_INET6)
			add_address(&c, "0.0.0.0");
		if (c.family != AF_INET)
			add_address(&c, "[::]");
	}

	c.sandbox.writable = c.xfer.allow_write;
	c.sandbox.fsize_max = c.xfer.upload_max;
	c.rootfd = open(c.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.rootfd < 0) {
		log_err("cannot open %s: %m", c.root);
		return 1;
	}
	r = sandbox_resolve_user(&c.sandbox, c.user);
	if (r < 0) {
		log_err("user %s: %s", c.user, r == -ENOENT ? "no such user" : strerror(-r));
		return 1;
	}
	if (c.sandbox.chroot && geteuid() != 0 && !sandbox_have_cap(CAP_SYS_CHROOT)) {
		log_err("-s needs root or CAP_SYS_CHROOT to chroot");
		return 1;
	}
	return dispatch_run(&c);
}
