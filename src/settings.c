/*
 * settings.c - the settings table, the configuration file and the
 * command line of snow-owld.
 *
 * One row per setting says everything about it: its key (also its long
 * option), its tftpd-hpa short option, its type and range, where it is
 * stored, its help text.  getopt_long's tables, --help, the file parser
 * and --print-config are all made from it.
 *
 * The file is read with libinih.  It has no sections: one daemon, one
 * flat list of keys.  Its lines are fed to inih by a reader here, which
 * numbers them (for "FILE:LINE: reason"), refuses section headers and
 * over-long lines, and strips leading blanks so that an indented line is
 * a line of its own, not inih's continuation of the previous value.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "acl.h"
#include "options.h"
#include "settings.h"

#ifndef SNOW_OWL_CONF
#define SNOW_OWL_CONF "/etc/snow-owl/snow-owl.conf"
#endif

enum setting_type {
	T_BOOL,		/* yes/no; a flag without a value sets it */
	T_UINT,		/* decimal in min..max */
	T_SIZE,		/* decimal with K/M/G in min..max */
	T_OCTAL,	/* up to four octal digits */
	T_STRING,	/* any text; empty: the default */
	T_COUNT,	/* a number; a flag without a value adds one */
	T_CUSTOM,	/* parse and print below */
};

struct setting {
	const char *name;
	const char *alias;	/* tftpd-hpa's long name, if different */
	int flag;		/* short option, 0 for none */
	enum setting_type type;
	size_t offset, size;	/* the field in struct settings */
	uint64_t min, max;
	const char *arg;	/* for --help */
	const char *help;
	bool list;		/* repeatable: each use adds one */
	/* T_CUSTOM: parse one value ("" clears), print every value. */
	int (*parse)(struct settings *s, const char *v, char *why, size_t size);
	void (*print)(const struct settings *s, const struct setting *st, FILE *f);
};

/* Where a setting is stored, and its type and range. */
#define AT(f) .offset = offsetof(struct settings, f), .size = sizeof(((struct settings *)0)->f)
#define BOOL(f) .type = T_BOOL, AT(f)
#define STRING(f) .type = T_STRING, AT(f)
#define UINT(f, lo, hi) .type = T_UINT, AT(f), .min = (lo), .max = (hi)
#define SIZE(f, lo, hi) .type = T_SIZE, AT(f), .min = (lo), .max = (hi)
#define CUSTOM(fn) .type = T_CUSTOM, .parse = parse_##fn, .print = print_##fn

static int parse_address(struct settings *s, const char *v, char *why, size_t size);
static int parse_refuse(struct settings *s, const char *v, char *why, size_t size);
static int parse_port_range(struct settings *s, const char *v, char *why, size_t size);
static int parse_workers(struct settings *s, const char *v, char *why, size_t size);
static int parse_max_transfers(struct settings *s, const char *v, char *why, size_t size);
static void print_max_transfers(const struct settings *s, const struct setting *st, FILE *f);
static int parse_max_transfers(struct settings *s, const char *v, char *why, size_t size)
{
	uint64_t n;

	if (!*v || strcmp(v, "auto") == 0) {
		s->srv.max_transfers = SERVER_TRANSFERS_AUTO;
		return 0;
	}
	if (opt_parse_range(v, 1, 1000000, &n) < 0) {
		snprintf(why, size, "'%s' is not auto or a number from 1 to 1000000", v);
		return -EINVAL;
	}
	s->srv.max_transfers = (unsigned)n;
	return 0;
}

static void print_max_transfers(const struct settings *s, const struct setting *st, FILE *f)
{
	if (s->srv.max_transfers == SERVER_TRANSFERS_AUTO)
		fprintf(f, "%s = auto\n", st->name);
	else
		fprintf(f, "%s = %u\n", st->name, s->srv.max_transfers);
}

static void print_workers(const struct settings *s, const struct setting *st, FILE *f);
static int parse_client_root(struct settings *s, const char *v, char *why, size_t size);
static void print_address(const struct settings *s, const struct setting *st, FILE *f);
static void print_refuse(const struct settings *s, const struct setting *st, FILE *f);
static void print_port_range(const struct settings *s, const struct setting *st, FILE *f);
static void print_client_root(const struct settings *s, const struct setting *st, FILE *f);
static int parse_allow(struct settings *s, const char *v, char *why, size_t size);
static int parse_upload_path(struct settings *s, const char *v, char *why, size_t size);
static void print_upload_path(const struct settings *s, const struct setting *st, FILE *f);
static int parse_deny(struct settings *s, const char *v, char *why, size_t size);
static void print_allow(const struct settings *s, const struct setting *st, FILE *f);
static void print_deny(const struct settings *s, const struct setting *st, FILE *f);

static const struct setting table[] = {
	{ .name = "root", STRING(root), .arg = "DIR",
	  .help = "directory served (the ROOT argument overrides it)" },
	{ .name = "foreground", .flag = 'L', BOOL(foreground),
	  .help = "run standalone, in the foreground" },
	{ .name = "listen", .flag = 'l', BOOL(listen),
	  .help = "run standalone, as a background daemon" },
	{ .name = "address", .flag = 'a', CUSTOM(address), .list = true, .arg = "ADDR[:PORT]",
	  .help = "listen here (repeatable; default port 69,\n"
		  "IPv6 as [::1]:6969; default every address)" },
	{ .name = "ipv4", .flag = '4', BOOL(ipv4), .help = "only IPv4" },
	{ .name = "ipv6", .flag = '6', BOOL(ipv6), .help = "only IPv6" },
	{ .name = "secure", .flag = 's', BOOL(srv.sandbox.chroot),
	  .help = "transfers chroot into their root directory" },
	{ .name = "create", .flag = 'c', BOOL(srv.xfer.upload.allow_create),
	  .help = "allow uploads to create new files" },
	{ .name = "permissive", .flag = 'p', BOOL(srv.xfer.upload.plain_perms),
	  .help = "only the kernel's permission checks" },
	{ .name = "read-only", BOOL(read_only), .help = "refuse every upload" },
	{ .name = "user", .flag = 'u', STRING(srv.user), .arg = "USER",
	  .help = "run transfers as USER" },
	{ .name = "umask", .flag = 'U', .type = T_OCTAL, AT(srv.xfer.upload.umask), .max = 0777,
	  .arg = "UMASK", .help = "mode mask for created files, octal" },
	{ .name = "upload-path", CUSTOM(upload_path), .list = true, .arg = "PATTERN",
	  .help = "uploads may only land where PATTERN matches, '*' never\n"
		  "crossing a '/' (repeatable; default anywhere)" },
	{ .name = "max-upload", SIZE(srv.xfer.upload_max, 0, UINT64_MAX >> 30), .arg = "SIZE",
	  .help = "largest upload, bytes or with K, M, G; 0: no limit" },
	{ .name = "file-cache", SIZE(srv.xfer.file_cache, 0, 1ull << 40), .arg = "SIZE",
	  .help = "each worker's copies of the files it serves, files up to\n"
		  "a quarter of SIZE each; 0: off" },
	{ .name = "max-blksize", .alias = "blocksize", .flag = 'B',
	  UINT(srv.xfer.lim.blksize_max, OPT_BLKSIZE_MIN, PACKET_BLKSIZE_MAX), .arg = "N",
	  .help = "largest blksize granted" },
	{ .name = "mtu-clamp", BOOL(srv.xfer.mtu_clamp),
	  .help = "blksize fits the MTU of the route to the client" },
	{ .name = "mtu", UINT(srv.xfer.mtu_max, 0, 65535), .arg = "N",
	  .help = "blksize fits this MTU too (overlays, tunnels); 0: none" },
	{ .name = "max-windowsize", UINT(srv.xfer.lim.windowsize_max, 1, OPT_WINDOWSIZE_MAX), .arg = "N",
	  .help = "largest windowsize granted" },
	{ .name = "retransmit", .flag = 'T', UINT(srv.xfer.rto_us, OPT_UTIMEOUT_MIN, OPT_UTIMEOUT_MAX),
	  .arg = "USEC", .help = "timeout before a round trip is measured, microseconds" },
	{ .name = "retries", UINT(srv.xfer.max_retries, 1, 100), .arg = "N",
	  .help = "timeouts in a row before giving up" },
	{ .name = "refuse", .flag = 'r', CUSTOM(refuse), .list = true, .arg = "OPTION",
	  .help = "never acknowledge this TFTP option (repeatable)" },
	{ .name = "remap", .alias = "map-file", .flag = 'm', STRING(remap), .arg = "FILE",
	  .help = "file name remapping rules (tftpd-hpa's format)" },
	{ .name = "client-root", CUSTOM(client_root), .list = true, .arg = "CIDR=DIR",
	  .help = "serve clients in CIDR from DIR instead of ROOT (repeatable)" },
	/* allow and deny share one list (AT): their order is kept. */
	{ .name = "allow", CUSTOM(allow), AT(srv.acl), .list = true, .arg = "[OP:]NET",
	  .help = "allow requests from NET (ADDR/PREFIX, ADDR or any); OP:\n"
		  "read or write, else both; the first allow or deny\n"
		  "that matches decides; none matches: allowed (repeatable)" },
	{ .name = "deny", CUSTOM(deny), AT(srv.acl), .list = true, .arg = "[OP:]NET",
	  .help = "deny requests from NET, as allow (repeatable)" },
	{ .name = "deny-error", BOOL(srv.deny_error),
	  .help = "answer a denied request with ERROR 2 (default: no reply)" },
	{ .name = "port-range", .flag = 'R', CUSTOM(port_range), .arg = "LOW:HIGH",
	  .help = "transfer sockets use ports in this range" },
	{ .name = "single-port", BOOL(srv.single_port),
	  .help = "every transfer answers from the address and port its\n"
		  "request came to (NAT, containers, load balancers)" },
	{ .name = "idle-timeout", .alias = "timeout", .flag = 't', UINT(srv.idle_timeout_s, 0, 86400 * 365),
	  .arg = "SECS", .help = "systemd/inetd modes: exit after SECS idle; 0: never" },
	{ .name = "max-transfers", CUSTOM(max_transfers), .arg = "N|auto",
	  .help = "transfers at once; auto: as many as the descriptor\n"
		  "limit allows, up to 16384 (1024 with --workers 0)" },
	{ .name = "max-per-client", UINT(srv.max_per_client, 0, 1000000), .arg = "N",
	  .help = "transfers at once per client address; 0: no limit" },
	{ .name = "transfer-memory", SIZE(srv.transfer_memory, 1u << 20, 1ull << 40), .arg = "SIZE",
	  .help = "buffers of all transfers' windows; a transfer gets a\n"
		  "smaller window when little is left" },
	{ .name = "client-memory", SIZE(srv.client_memory, 0, 1ull << 40), .arg = "SIZE",
	  .help = "of which one client address may hold; 0: no cap" },
	{ .name = "unverified-rate", SIZE(srv.unverified_rate, 0, 1ull << 40), .arg = "SIZE",
	  .help = "bytes a second a source network (/24, /64) may be sent\n"
		  "before its hosts answer; 0: no limit" },
	{ .name = "unverified-burst", SIZE(srv.unverified_burst, 4096, 1ull << 40), .arg = "SIZE",
	  .help = "... and at once" },
	{ .name = "queue", UINT(srv.queue_max, 0, 1000000), .arg = "N",
	  .help = "requests waiting for a free slot" },
	{ .name = "pace", UINT(srv.pace, 0, 1000000), .arg = "N",
	  .help = "transfers a worker runs at once before new requests\n"
		  "wait their turn (at most --pace-wait); 0: never wait" },
	{ .name = "pace-wait", UINT(srv.pace_wait_ms, 0, 60000), .arg = "MS",
	  .help = "the longest a request waits its turn under --pace" },
	{ .name = "rcvbuf", SIZE(srv.rcvbuf, 0, 1u << 30), .arg = "SIZE",
	  .help = "receive buffer of listening sockets; 0: leave it" },
	{ .name = "drain-timeout", UINT(srv.drain_timeout_s, 0, 86400), .arg = "SECS",
	  .help = "on SIGTERM, time transfers get to finish" },
	{ .name = "batch", UINT(srv.batch, 1, 256), .arg = "N",
	  .help = "requests read per system call" },
	{ .name = "workers", CUSTOM(workers), .arg = "N|auto",
	  .help = "pre-forked workers that run the transfers; auto: one per\n"
		  "CPU; 0: fork one child per transfer" },
	{ .name = "metrics", STRING(srv.metrics_path), .arg = "FILE",
	  .help = "write Prometheus metrics to FILE (textfile collector)" },
	{ .name = "metrics-interval", UINT(srv.metrics_interval_s, 1, 86400), .arg = "SECS",
	  .help = "how often the metrics file is rewritten" },
	{ .name = "pid-file", .alias = "pidfile", .flag = 'P', STRING(srv.pid_file), .arg = "FILE",
	  .help = "write the dispatcher's pid here, remove it at exit" },
	{ .name = "seccomp-log", BOOL(srv.sandbox.seccomp_log),
	  .help = "debug: log system calls the filter would kill" },
	{ .name = "verbose", .flag = 'v', .type = T_COUNT, AT(verbose), .max = 4,
	  .help = "more log detail (repeatable; 1 info, 2 debug)" },
};

#define NSETTINGS (sizeof(table) / sizeof(table[0]))

/* Command line actions, beyond the settings. */
enum {
	ACT_CONFIG = 0x1000,
	ACT_CHECK,
	ACT_PRINT,
	ACT_MAP_TEST,
	ACT_MAP_CLIENT,
	ACT_MAP_OP,
	ACT_SETTING,		/* + index, for settings without a short flag */
};

static const struct option actions[] = {
	{ "config", required_argument, NULL, ACT_CONFIG },
	{ "check-config", no_argument, NULL, ACT_CHECK },
	{ "print-config", no_argument, NULL, ACT_PRINT },
	{ "map-test", required_argument, NULL, ACT_MAP_TEST },
	{ "map-test-client", required_argument, NULL, ACT_MAP_CLIENT },
	{ "map-test-op", required_argument, NULL, ACT_MAP_OP },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};

#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

/* ---- Values ------------------------------------------------------------ */

static void *field(struct settings *s, const struct setting *st)
{
	return (char *)s + st->offset;
}

static const void *cfield(const struct settings *s, const struct setting *st)
{
	return (const char *)s + st->offset;
}

static void store(void *p, size_t size, uint64_t v)
{
	if (size == 8) {
		uint64_t x = v;

		memcpy(p, &x, 8);
	} else {
		uint32_t x = (uint32_t)v;

		memcpy(p, &x, 4);
	}
}

static uint64_t load(const void *p, size_t size)
{
	uint64_t x8;
	uint32_t x4;

	if (size == 8) {
		memcpy(&x8, p, 8);
		return x8;
	}
	memcpy(&x4, p, 4);
	return x4;
}

static const struct settings *defaults(void)
{
	static struct settings d;
	static bool done;

	if (!done) {
		settings_init(&d);
		done = true;
	}
	return &d;
}

void settings_init(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	server_conf_init(&s->srv);
	s->srv.xfer.allow_write = true;
}

int settings_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char suffix[] = "KMG";
	char num[24];
	size_t n = strlen(s);
	const char *unit = n ? strchr(suffix, s[n - 1] & ~0x20) : NULL;
	unsigned shift = 0;
	uint64_t v;
	int r;

	if (unit && *unit) {
		shift = 10 * (unsigned)(unit - suffix + 1);
		n--;
	}
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	r = opt_parse_uint(num, max >> shift, &v);
	if (r < 0)
		return r;
	v <<= shift;
	if (v < min)
		return -ERANGE;
	*out = v;
	return 0;
}

/* yes/no and their synonyms; NULL (a bare flag) is yes. */
static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

	if (!v) {
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*out = strcasecmp(v, yes[i]) == 0;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_number(struct settings *s, const struct setting *st, const char *v, char *why, size_t size)
{
	uint64_t n;
	int r;

	if (st->type == T_SIZE)
		r = settings_parse_size(v, st->min, st->max, &n);
	else
		r = opt_parse_range(v, st->min, st->max, &n);
	if (r < 0) {
		snprintf(why, size, "'%s' is not a %s in %llu..%llu%s", v, st->type == T_SIZE ? "size" : "number",
			 (unsigned long long)st->min, (unsigned long long)st->max,
			 st->type == T_SIZE ? " (bytes, or with K, M, G)" : "");
		return -EINVAL;
	}
	store(field(s, st), st->size, n);
	return 0;
}

static int set_value(struct settings *s, const struct setting *st, const char *v, char *why, size_t size)
{
	void *p = field(s, st);
	uint64_t n;
	char *copy;

	if (v && !*v && st->type != T_CUSTOM) {
		memcpy(p, (const char *)defaults() + st->offset, st->size);
		return 0;
	}
	switch (st->type) {
	case T_BOOL:
		if (parse_bool(v, p) < 0) {
			snprintf(why, size, "'%s' is not yes or no", v);
			return -EINVAL;
		}
		return 0;
	case T_COUNT:
		if (!v) {
			n = load(p, st->size);
			store(p, st->size, n < st->max ? n + 1 : n);
			return 0;
		}
		return set_number(s, st, v, why, size);
	case T_UINT:
	case T_SIZE:
		return set_number(s, st, v, why, size);
	case T_OCTAL:
		if (strlen(v) > 4 || strspn(v, "01234567") != strlen(v)) {
			snprintf(why, size, "'%s' is not an octal mask", v);
			return -EINVAL;
		}
		store(p, st->size, strtoul(v, NULL, 8) & st->max);
		return 0;
	case T_STRING:
		copy = strdup(v);
		if (!copy)
			return -ENOMEM;
		memcpy(p, &copy, sizeof(copy));
		return 0;
	case T_CUSTOM:
		return st->parse(s, v, why, size);
	}
	return -EINVAL;
}

static const struct setting *find(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(name, table[i].name) == 0)
			return &table[i];
	return NULL;
}

int settings_set(struct settings *s, const char *name, const char *value, char *why, size_t size)
{
	const struct setting *st = find(name);

	if (!st) {
		snprintf(why, size, "unknown key '%s'", name);
		return -ENOENT;
	}
	if (!value && st->type != T_BOOL && st->type != T_COUNT) {
		snprintf(why, size, "a value is needed");
		return -EINVAL;
	}
	return set_value(s, st, value, why, size);
}

/* ---- The custom settings ----------------------------------------------- */

static int parse_address(struct settings *s, const char *v, char *why, size_t size)
{
	if (!*v) {
		s->naddress = 0;
		return 0;
	}
	if (s->naddress == SERVER_LISTEN_MAX) {
		snprintf(why, size, "at most %d addresses", SERVER_LISTEN_MAX);
		return -EINVAL;
	}
	s->address[s->naddress] = strdup(v);
	if (!s->address[s->naddress])
		return -ENOMEM;
	s->naddress++;
	return 0;
}

static void print_address(const struct settings *s, const struct setting *st, FILE *f)
{
	for (unsigned i = 0; i < s->naddress; i++)
		fprintf(f, "%s = %s\n", st->name, s->address[i]);
	if (!s->naddress)
		fprintf(f, "#%s =\n", st->name);
}

static int parse_refuse(struct settings *s, const char *v, char *why, size_t size)
{
	if (!*v) {
		memset(s->srv.xfer.lim.refuse, 0, sizeof(s->srv.xfer.lim.refuse));
		return 0;
	}
	for (int id = 0; id < OPT_MAX; id++) {
		if (strcasecmp(v, opt_name(id)) == 0) {
			s->srv.xfer.lim.refuse[id] = true;
			return 0;
		}
	}
	snprintf(why, size, "unknown option '%s'", v);
	return -EINVAL;
}

static void print_refuse(const struct settings *s, const struct setting *st, FILE *f)
{
	bool any = false;

	for (int id = 0; id < OPT_MAX; id++) {
		if (s->srv.xfer.lim.refuse[id]) {
			fprintf(f, "%s = %s\n", st->name, opt_name(id));
			any = true;
		}
	}
	if (!any)
		fprintf(f, "#%s =\n", st->name);
}

static int parse_workers(struct settings *s, const char *v, char *why, size_t size)
{
	uint64_t n;

	if (!*v || strcmp(v, "auto") == 0) {
		s->srv.workers = SERVER_WORKERS_AUTO;
		return 0;
	}
	if (opt_parse_range(v, 0, SERVER_WORKERS_MAX, &n) < 0) {
		snprintf(why, size, "'%s' is not auto or a number from 0 to %u", v, SERVER_WORKERS_MAX);
		return -EINVAL;
	}
	s->srv.workers = (unsigned)n;
	return 0;
}

static void print_workers(const struct settings *s, const struct setting *st, FILE *f)
{
	if (s->srv.workers == SERVER_WORKERS_AUTO)
		fprintf(f, "%s = auto\n", st->name);
	else
		fprintf(f, "%s = %u\n", st->name, s->srv.workers);
}

static int parse_port_range(struct settings *s, const char *v, char *why, size_t size)
{
	char low[8];
	const char *colon = strchr(v, ':');
	uint64_t lo, hi;

	if (!*v) {
		s->srv.port_low = s->srv.port_high = 0;
		return 0;
	}
	if (!colon || (size_t)(colon - v) >= sizeof(low))
		goto bad;
	memcpy(low, v, (size_t)(colon - v));
	low[colon - v] = '\0';
	if (opt_parse_range(low, 1, 65535, &lo) < 0 || opt_parse_range(colon + 1, lo, 65535, &hi) < 0)
		goto bad;
	s->srv.port_low = (unsigned)lo;
	s->srv.port_high = (unsigned)hi;
	return 0;
bad:
	snprintf(why, size, "'%s' is not LOW:HIGH with 1 <= LOW <= HIGH <= 65535", v);
	return -EINVAL;
}

static void print_port_range(const struct settings *s, const struct setting *st, FILE *f)
{
	if (s->srv.port_low)
		fprintf(f, "%s = %u:%u\n", st->name, s->srv.port_low, s->srv.port_high);
	else
		fprintf(f, "#%s =\n", st->name);
}

static int parse_client_root(struct settings *s, const char *v, char *why, size_t size)
{
	const char *eq = strchr(v, '=');
	struct server_root *r = &s->srv.roots[s->srv.nroots];
	char net[64];

	if (!*v) {
		s->srv.nroots = 0;
		return 0;
	}
	if (s->srv.nroots == SERVER_ROOTS_MAX) {
		snprintf(why, size, "at most %d client roots", SERVER_ROOTS_MAX);
		return -EINVAL;
	}
	if (!eq || !eq[1] || (size_t)(eq - v) >= sizeof(net)) {
		snprintf(why, size, "'%s' is not CIDR=DIR", v);
		return -EINVAL;
	}
	memcpy(net, v, (size_t)(eq - v));
	net[eq - v] = '\0';
	if (addr_net_parse(net, &r->net) < 0) {
		snprintf(why, size, "'%s' is not a network (ADDR/PREFIX, no host bits set)", net);
		return -EINVAL;
	}
	r->dir = strdup(eq + 1);
	if (!r->dir)
		return -ENOMEM;
	r->fd = -1;
	s->srv.nroots++;
	return 0;
}

static void print_client_root(const struct settings *s, const struct setting *st, FILE *f)
{
	char net[ADDR_STR_MAX];

	for (unsigned i = 0; i < s->srv.nroots; i++)
		fprintf(f, "%s = %s=%s\n", st->name, addr_net_format(&s->srv.roots[i].net, net, sizeof(net)),
			s->srv.roots[i].dir);
	if (!s->srv.nroots)
		fprintf(f, "#%s =\n", st->name);
}

static int parse_upload_path(struct settings *s, const char *v, char *why, size_t size)
{
	struct upload_policy *u = &s->srv.xfer.upload;
	const char *p = v;

	if (!*v) {
		u->npaths = 0;
		return 0;
	}
	if (u->npaths == UPLOAD_PATHS_MAX) {
		snprintf(why, size, "at most %d upload paths", UPLOAD_PATHS_MAX);
		return -EINVAL;
	}
	/* Names are matched as path_check() leaves them: relative. */
	while (*p == '/')
		p++;
	if (!*p) {
		snprintf(why, size, "'%s' matches no file name", v);
		return -EINVAL;
	}
	u->paths[u->npaths] = strdup(p);
	if (!u->paths[u->npaths])
		return -ENOMEM;
	u->npaths++;
	return 0;
}

static void print_upload_path(const struct settings *s, const struct setting *st, FILE *f)
{
	for (unsigned i = 0; i < s->srv.xfer.upload.npaths; i++)
		fprintf(f, "%s = %s\n", st->name, s->srv.xfer.upload.paths[i]);
	if (!s->srv.xfer.upload.npaths)
		fprintf(f, "#%s =\n", st->name);
}

static int parse_rule(struct settings *s, const char *v, bool allow, char *why, size_t size)
{
	struct acl_rule r;

	if (!*v) {
		s->srv.acl.n = 0;
		return 0;
	}
	if (acl_rule_parse(v, allow, &r) < 0) {
		snprintf(why, size, "'%s' is not [read:|write:]NET with NET ADDR/PREFIX (no host bits "
			 "set), ADDR or any", v);
		return -EINVAL;
	}
	if (acl_add(&s->srv.acl, &r) < 0) {
		snprintf(why, size, "at most %d allow and deny rules", ACL_RULES_MAX);
		return -EINVAL;
	}
	return 0;
}

static int parse_allow(struct settings *s, const char *v, char *why, size_t size)
{
	return parse_rule(s, v, true, why, size);
}

static int parse_deny(struct settings *s, const char *v, char *why, size_t size)
{
	return parse_rule(s, v, false, why, size);
}

/* The whole list under allow, in order, so that the file reads back the
 * same; deny then has nothing of its own to print. */
static void print_allow(const struct settings *s, const struct setting *st, FILE *f)
{
	char buf[96];

	(void)st;
	for (unsigned i = 0; i < s->srv.acl.n; i++)
		fprintf(f, "%s = %s\n", s->srv.acl.rule[i].allow ? "allow" : "deny",
			acl_rule_format(&s->srv.acl.rule[i], buf, sizeof(buf)));
	if (!s->srv.acl.n)
		fprintf(f, "#allow =\n");
}

static void print_deny(const struct settings *s, const struct setting *st, FILE *f)
{
	if (!s->srv.acl.n)
		fprintf(f, "#%s =\n", st->name);
	else
		fprintf(f, "# (deny rules are listed with allow, in their order)\n");
}

/* ---- The file ------------------------------------------------------------ */

struct file_reader {
	FILE *f;
	const char *path;
	struct settings *s;
	unsigned line;		/* of the text inih is looking at */
	char err[320];		/* the first error */
};

static void file_error(struct file_reader *r, const char *why)
{
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "%s:%u: %s", r->path, r->line, why);
}

static char *read_line(char *buf, int size, void *stream)
{
	struct file_reader *r = stream;
	char why[256];
	size_t n, skip;

	if (!fgets(buf, size, r->f))
		return NULL;
	r->line++;
	n = strlen(buf);
	if (n && buf[n - 1] != '\n' && !feof(r->f)) {
		snprintf(why, sizeof(why), "line longer than %d bytes", size - 2);
		file_error(r, why);
		/* Skip the rest, so that it is not taken for lines. */
		for (int c = 0; c != '\n' && c != EOF;)
			c = getc(r->f);
		buf[0] = '\0';
		return buf;
	}
	skip = strspn(buf, " \t");
	memmove(buf, buf + skip, n - skip + 1);
	if (buf[0] == '[') {
		snprintf(why, sizeof(why), "sections are not used: '%.*s'", (int)strcspn(buf, "\r\n"), buf);
		file_error(r, why);
	}
	return buf;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct file_reader *r = user;
	char why[256], msg[300];
	int rc;

	rc = settings_set(r->s, name, value, why, sizeof(why));
	if (rc < 0) {
		if (rc == -ENOENT)
			snprintf(msg, sizeof(msg), "%s", why);
		else
			snprintf(msg, sizeof(msg), "%s: %s", name, why);
		file_error(r, msg);
	}
	return rc == 0;
}

int settings_load(struct settings *s, const char *path, char *err, size_t size)
{
	struct file_reader r = { .path = path, .s = s };
	int rc;

	r.f = fopen(path, "re");
	if (!r.f) {
		rc = -errno;
		snprintf(err, size, "%s: %s", path, strerror(errno));
		return rc;
	}
	rc = ini_parse_stream(read_line, &r, on_key, &r);
	fclose(r.f);
	if (rc == 0 && !r.err[0])
		return 0;
	if (r.err[0])
		snprintf(err, size, "%s", r.err);
	else if (rc > 0)
		snprintf(err, size, "%s:%d: expected KEY = VALUE", path, rc);
	else
		snprintf(err, size, "%s: read error", path);
	return -EINVAL;
}

/* ---- The command line ---------------------------------------------------- */

static bool takes_flag(const struct setting *st)
{
	return st->type == T_BOOL || st->type == T_COUNT;
}

static int code_of(size_t i)
{
	return table[i].flag ? table[i].flag : ACT_SETTING + (int)i;
}

/* getopt_long's tables, made from the settings table. */
static void make_options(struct option *longs, char *shorts)
{
	size_t n = 0;
	char *p = shorts;

	for (size_t i = 0; i < NSETTINGS; i++) {
		int has = takes_flag(&table[i]) ? optional_argument : required_argument;

		longs[n++] = (struct option){ table[i].name, has, NULL, code_of(i) };
		if (table[i].alias)
			longs[n++] = (struct option){ table[i].alias, has, NULL, code_of(i) };
		if (table[i].flag) {
			*p++ = (char)table[i].flag;
			if (!takes_flag(&table[i]))
				*p++ = ':';
		}
	}
	memcpy(longs + n, actions, sizeof(actions));
	memset(longs + n + NACTIONS, 0, sizeof(*longs));
	strcpy(p, "hV");
}

static const struct setting *setting_of(int code)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (code_of(i) == code)
			return &table[i];
	return NULL;
}

static void take_action(struct settings_cli *cli, int code)
{
	switch (code) {
	case ACT_CONFIG: cli->config = optarg; break;
	case ACT_CHECK: cli->check = true; break;
	case ACT_PRINT: cli->print = true; break;
	case ACT_MAP_TEST: cli->map_test = optarg; break;
	case ACT_MAP_CLIENT: cli->map_client = optarg; break;
	case ACT_MAP_OP: cli->map_op = optarg; break;
	case 'h': cli->help = true; break;
	case 'V': cli->version = true; break;
	}
}

int settings_parse_args(struct settings *s, struct settings_cli *cli, int argc, char **argv,
			char *err, size_t size)
{
	struct option longs[2 * NSETTINGS + NACTIONS + 1];
	char shorts[3 * NSETTINGS + 3], why[256];
	bool seen[NSETTINGS] = { false };
	const char *path;
	int code, rc;

	memset(cli, 0, sizeof(*cli));
	make_options(longs, shorts);
	/* First the actions, --config above all: the file comes first and
	 * the options go on top of it. */
	opterr = 0;
	optind = 0;
	while ((code = getopt_long(argc, argv, shorts, longs, NULL)) != -1)
		take_action(cli, code);
	if (cli->help || cli->version)
		return 0;
	path = cli->config ? cli->config : SNOW_OWL_CONF;
	if (cli->config || access(path, F_OK) == 0) {
		rc = settings_load(s, path, err, size);
		if (rc < 0)
			return -EINVAL;
	}

	opterr = 1;
	optind = 0;
	while ((code = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct setting *st = setting_of(code);

		if (code == '?' || code == ':') {
			err[0] = '\0';
			return -EINVAL;
		}
		if (!st)
			continue;	/* an action */
		/* A list or count on the command line replaces the file's. */
		if ((st->list || st->type == T_COUNT) && !seen[st - table]) {
			if (st->type == T_COUNT)
				store(field(s, st), st->size, 0);
			else
				st->parse(s, "", why, sizeof(why));
		}
		seen[st - table] = true;
		/* Lists kept in one field are one list (allow and deny). */
		for (size_t i = 0; st->list && i < NSETTINGS; i++)
			if (table[i].list && table[i].size && table[i].offset == st->offset)
				seen[i] = true;
		rc = set_value(s, st, optarg, why, sizeof(why));
		if (rc < 0 && st->flag)
			snprintf(err, size, "-%c/--%s: %s", st->flag, st->name, why);
		else if (rc < 0)
			snprintf(err, size, "--%s: %s", st->name, why);
		if (rc < 0)
			return -EINVAL;
	}
	if (argc - optind > 1) {
		snprintf(err, size, "one ROOT directory at most, got %d", argc - optind);
		return -EINVAL;
	}
	if (optind < argc)
		s->root = argv[optind];
	return 0;
}

/* ---- Derived settings ---------------------------------------------------- */

/* A path made absolute against the current directory: the dispatcher
 * may leave it (daemon() goes to /). */
static const char *absolute(const char *path)
{
	char cwd[PATH_MAX], *abs;

	if (!path || path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return path;
	if (asprintf(&abs, "%s/%s", cwd, path) < 0)
		return path;
	return abs;
}

int settings_finish(struct settings *s, char *err, size_t size)
{
	struct server_conf *c = &s->srv;

	if (s->ipv4 && s->ipv6) {
		snprintf(err, size, "ipv4 and ipv6 exclude each other");
		return -EINVAL;
	}
	c->family = s->ipv4 ? AF_INET : s->ipv6 ? AF_INET6 : AF_UNSPEC;
	c->daemonize = s->listen && !s->foreground;	/* -L implies -l, as in tftpd-hpa */
	c->xfer.allow_write = !s->read_only;
	c->xfer.single_port = c->single_port;
	if (c->single_port && c->port_low) {
		snprintf(err, size, "single-port and port-range exclude each other");
		return -EINVAL;
	}
	if (c->xfer.rto_max_us < c->xfer.rto_us)
		c->xfer.rto_max_us = c->xfer.rto_us;
	c->sandbox.writable = c->xfer.allow_write;
	c->sandbox.fsize_max = c->xfer.upload_max;
	c->pid_file = absolute(c->pid_file);
	return 0;
}

/* ---- Output -------------------------------------------------------------- */

/* A size in the largest unit that divides it. */
static void print_size(FILE *f, uint64_t v)
{
	static const char units[] = "GMK";

	for (int i = 0; i < 3; i++) {
		unsigned shift = 10 * (unsigned)(3 - i);

		if (v && v % (1ull << shift) == 0) {
			fprintf(f, "%llu%c", (unsigned long long)(v >> shift), units[i]);
			return;
		}
	}
	fprintf(f, "%llu", (unsigned long long)v);
}

/* Help text, each line after a prefix (the first line's may differ). */
static void print_help(FILE *f, const char *help, const char *first, const char *prefix)
{
	for (const char *p = help; *p;) {
		size_t n = strcspn(p, "\n");

		fprintf(f, "%s%.*s\n", p == help ? first : prefix, (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static void print_one(const struct settings *s, const struct setting *st, FILE *f)
{
	const void *p = cfield(s, st);
	const char *str;
	bool b;

	if (st->type == T_CUSTOM) {
		st->print(s, st, f);
		return;
	}
	if (st->type == T_STRING) {
		memcpy(&str, p, sizeof(str));
		if (str)
			fprintf(f, "%s = %s\n", st->name, str);
		else
			fprintf(f, "#%s =\n", st->name);
		return;
	}
	fprintf(f, "%s = ", st->name);
	switch (st->type) {
	case T_BOOL:
		memcpy(&b, p, sizeof(b));
		fputs(b ? "yes" : "no", f);
		break;
	case T_SIZE:
		print_size(f, load(p, st->size));
		break;
	case T_OCTAL:
		fprintf(f, "%03llo", (unsigned long long)load(p, st->size));
		break;
	default:
		fprintf(f, "%llu", (unsigned long long)load(p, st->size));
	}
	fputc('\n', f);
}

void settings_print(const struct settings *s, FILE *f)
{
	fputs("# snow-owld settings: see snow-owl.conf(5).  Each key is also the\n"
	      "# command line option --KEY; the command line overrides this file.\n", f);
	for (size_t i = 0; i < NSETTINGS; i++) {
		fputc('\n', f);
		print_help(f, table[i].help, "# ", "# ");
		print_one(s, &table[i], f);
	}
}

void settings_usage(FILE *f)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *st = &table[i];
		char left[64];
		int n = 0;

		if (st->flag)
			n = snprintf(left, sizeof(left), "  -%c, --%s", st->flag, st->name);
		else
			n = snprintf(left, sizeof(left), "      --%s", st->name);
		if (st->arg)
			snprintf(left + n, sizeof(left) - (size_t)n, " %s", st->arg);
		if (strlen(left) > 26) {
			fprintf(f, "%s\n", left);
			left[0] = '\0';
		}
		fprintf(f, "%-27s", left);
		print_help(f, st->help, "", "                           ");
	}
	fputs("      --config FILE        read FILE instead of " SNOW_OWL_CONF "\n"
	      "      --check-config       check the settings and exit\n"
	      "      --print-config       print the settings in the file's format and exit\n"
	      "      --map-test NAME      print what the -m rules make of NAME and exit\n"
	      "      --map-test-client ADDR  ... for a request from ADDR (default 127.0.0.1)\n"
	      "      --map-test-op RRQ|WRQ   ... of this type (default RRQ)\n"
	      "  -V, --version            print the version\n"
	      "  -h, --help               this help\n", f);
}
