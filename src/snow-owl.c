/*
 * snow-owl.c - command line of the TFTP client: get, put and bench.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "client.h"
#include "getput.h"
#include "options.h"

static const char usage_text[] =
	"usage: snow-owl get [options] tftp://HOST[:PORT]/FILE [LOCAL]\n"
	"       snow-owl put [options] LOCAL tftp://HOST[:PORT]/FILE\n"
	"       snow-owl bench [options] [bench options] tftp://HOST[:PORT]/FILE\n"
	"       snow-owl --help | --version\n"
	"URIs as in RFC 3617: an IPv6 HOST goes in brackets (tftp://[::1]:6969/x),\n"
	"a \";mode=netascii\" suffix selects netascii, the default PORT is 69.\n"
	"get replaces LOCAL (default: the last part of FILE) only once the whole\n"
	"file has arrived; LOCAL \"-\" is standard output (get) or input (put).\n"
	"Options:\n"
	"  -b, --blksize N         ask for N-byte blocks (8..65464; default 512)\n"
	"  -w, --windowsize N      ask for windows of N blocks (1..65535; default 1)\n"
	"  -t, --timeout SECONDS   retransmission timeout (default 1; 0.2 works)\n"
	"  -r, --retries N         retransmissions in a row before giving up (default 5)\n"
	"      --tsize             ask for the size and check it (default)\n"
	"      --no-tsize          do not\n"
	"  -m, --mode MODE         octet (default) or netascii\n"
	"      --rollover 0|1      ask for block numbers to wrap to 0 or to 1\n"
	"  -q, --quiet             no progress bar, no bench failure details\n"
	"  -v, --verbose           a summary line at the end of a get or put\n"
	"  -h, --help              this help\n"
	"  -V, --version           the version\n"
	"Bench options (bench fetches FILE many times and prints one summary line):\n"
	"  -c, --concurrency N     sessions at once (default 1)\n"
	"  -n, --sessions N        sessions in all (default: the concurrency)\n"
	"  -d, --duration SECONDS  start sessions for this long instead\n"
	"      --verify-file PATH  compare every copy with this local file\n"
	"      --expect-size N     compare the size only (default: with tsize)\n"
	"      --loss PCT          drop this percentage of received DATA and sent ACKs\n"
	"      --delay MS          hold every datagram sent for MS milliseconds\n"
	"      --seed N            make --loss repeatable\n"
	"      --csv FILE          one line per session: id,start_ms,duration_ms,\n"
	"                          bytes,retransmits,outcome\n"
	"Exit status: 0 success, 1 usage, 2 error from the server or a reply that\n"
	"breaks the protocol, 3 timeout, 4 local I/O error, 5 verification failed.\n";

enum {
	LONG_TSIZE = 256,
	LONG_NO_TSIZE,
	LONG_ROLLOVER,
	LONG_VERIFY_FILE,
	LONG_EXPECT_SIZE,
	LONG_LOSS,
	LONG_DELAY,
	LONG_SEED,
	LONG_CSV,
};

static const struct option long_opts[] = {
	{ "blksize", required_argument, NULL, 'b' },
	{ "windowsize", required_argument, NULL, 'w' },
	{ "timeout", required_argument, NULL, 't' },
	{ "retries", required_argument, NULL, 'r' },
	{ "tsize", no_argument, NULL, LONG_TSIZE },
	{ "no-tsize", no_argument, NULL, LONG_NO_TSIZE },
	{ "mode", required_argument, NULL, 'm' },
	{ "rollover", required_argument, NULL, LONG_ROLLOVER },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "concurrency", required_argument, NULL, 'c' },
	{ "sessions", required_argument, NULL, 'n' },
	{ "duration", required_argument, NULL, 'd' },
	{ "verify-file", required_argument, NULL, LONG_VERIFY_FILE },
	{ "expect-size", required_argument, NULL, LONG_EXPECT_SIZE },
	{ "loss", required_argument, NULL, LONG_LOSS },
	{ "delay", required_argument, NULL, LONG_DELAY },
	{ "seed", required_argument, NULL, LONG_SEED },
	{ "csv", required_argument, NULL, LONG_CSV },
	{ NULL, 0, NULL, 0 },
};

__attribute__((format(printf, 1, 2), noreturn))
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("snow-owl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'snow-owl --help'.\n", stderr);
	exit(CLIENT_EUSAGE);
}

static uint64_t number(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (opt_parse_range(s, min, max, &v) < 0) {
		fprintf(stderr, "snow-owl: %s: '%s' is not a number in %llu..%llu\n", opt, s,
			(unsigned long long)min, (unsigned long long)max);
		exit(CLIENT_EUSAGE);
	}
	return v;
}

static uint64_t seconds(const char *opt, const char *s)
{
	uint64_t us;

	if (client_parse_seconds(s, &us) < 0) {
		fprintf(stderr, "snow-owl: %s: '%s' is not a time in 0.001..3600 seconds\n", opt, s);
		exit(CLIENT_EUSAGE);
	}
	return us;
}

static double percent(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 100))
		usage_error("--loss: '%s' is not a percentage in 0..100", s);
	return v;
}

static enum packet_mode mode_arg(const char *s)
{
	if (strcmp(s, "octet") == 0 || strcmp(s, "binary") == 0)
		return MODE_OCTET;
	if (strcmp(s, "netascii") == 0 || strcmp(s, "ascii") == 0)
		return MODE_NETASCII;
	usage_error("-m: '%s' is neither octet nor netascii", s);
}

static void parse_uri(const char *s, struct client_uri *u)
{
	const char *why;

	if (client_parse_uri(s, u, &why) < 0) {
		fprintf(stderr, "snow-owl: %s: %s\nTry 'snow-owl --help'.\n", s, why);
		exit(CLIENT_EUSAGE);
	}
}

int main(int argc, char **argv)
{
	/* Static: they hold URIs of a few KiB. */
	static struct bench_conf bc;
	static struct getput_opts gp;
	struct client_conf conf;
	enum { CMD_GET, CMD_PUT, CMD_BENCH } cmd;
	const char *bench_only = NULL;
	bool mode_given = false;
	enum packet_mode mode = MODE_OCTET;
	int opt, nargs;
	char **args;

	if (argc < 2)
		usage_error("no command: get, put or bench");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("snow-owl %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "get") == 0)
		cmd = CMD_GET;
	else if (strcmp(argv[1], "put") == 0)
		cmd = CMD_PUT;
	else if (strcmp(argv[1], "bench") == 0)
		cmd = CMD_BENCH;
	else
		usage_error("unknown command '%s': get, put or bench", argv[1]);

	client_conf_init(&conf, cmd == CMD_PUT ? CLIENT_PUT : CLIENT_GET, NULL);
	bc.concurrency = 1;
	argv++;
	argc--;
	while ((opt = getopt_long(argc, argv, "b:w:t:r:m:qvhVc:n:d:", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			conf.blksize = (unsigned)number("-b", optarg, OPT_BLKSIZE_MIN, PACKET_BLKSIZE_MAX);
			break;
		case 'w':
			conf.windowsize = (unsigned)number("-w", optarg, 1, OPT_WINDOWSIZE_SAFE);
			break;
		case 't':
			conf.timeout_us = seconds("-t", optarg);
			break;
		case 'r':
			conf.retries = (unsigned)number("-r", optarg, 0, 1000);
			break;
		case LONG_TSIZE:
			conf.tsize = true;
			break;
		case LONG_NO_TSIZE:
			conf.tsize = false;
			break;
		case 'm':
			mode = mode_arg(optarg);
			mode_given = true;
			break;
		case LONG_ROLLOVER:
			conf.rollover = (int)number("--rollover", optarg, 0, 1);
			break;
		case 'q':
			gp.quiet = bc.quiet = true;
			break;
		case 'v':
			gp.verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("snow-owl %s\n", PACKAGE_VERSION);
			return 0;
		case 'c':
			bench_only = "-c";
			bc.concurrency = (unsigned)number("-c", optarg, 1, 1000000);
			break;
		case 'n':
			bench_only = "-n";
			bc.sessions = number("-n", optarg, 1, UINT64_MAX);
			break;
		case 'd':
			bench_only = "-d";
			bc.duration_us = seconds("-d", optarg);
			break;
		case LONG_VERIFY_FILE:
			bench_only = "--verify-file";
			bc.verify_file = optarg;
			break;
		case LONG_EXPECT_SIZE:
			bench_only = "--expect-size";
			bc.expect_size = number("--expect-size", optarg, 0, UINT64_MAX);
			bc.expect_size_set = true;
			break;
		case LONG_LOSS:
			bench_only = "--loss";
			bc.loss = percent(optarg) / 100.0;
			break;
		case LONG_DELAY:
			bench_only = "--delay";
			bc.delay_us = number("--delay", optarg, 0, 60000) * 1000;
			break;
		case LONG_SEED:
			bench_only = "--seed";
			bc.seed = number("--seed", optarg, 0, UINT64_MAX);
			bc.seed_set = true;
			break;
		case LONG_CSV:
			bench_only = "--csv";
			bc.csv = optarg;
			break;
		default:
			fputs("Try 'snow-owl --help'.\n", stderr);
			return CLIENT_EUSAGE;
		}
	}
	args = argv + optind;
	nargs = argc - optind;
	if (cmd != CMD_BENCH && bench_only)
		usage_error("%s is a bench option", bench_only);

	switch (cmd) {
	case CMD_GET:
		if (nargs < 1 || nargs > 2)
			usage_error("get takes a URI and maybe a LOCAL name");
		parse_uri(args[0], &gp.uri);
		gp.local = nargs == 2 ? args[1] : NULL;
		break;
	case CMD_PUT:
		if (nargs != 2)
			usage_error("put takes a LOCAL file and a URI");
		gp.local = args[0];
		parse_uri(args[1], &gp.uri);
		break;
	case CMD_BENCH:
		if (nargs != 1)
			usage_error("bench takes one URI");
		if (bc.verify_file && bc.expect_size_set)
			usage_error("--verify-file and --expect-size exclude each other");
		parse_uri(args[0], &bc.uri);
		break;
	}

	/* A mode in the URI and a different -m contradict each other. */
	const struct client_uri *uri = cmd == CMD_BENCH ? &bc.uri : &gp.uri;
	if (uri->mode_set && mode_given && uri->mode != mode)
		usage_error("-m and the URI's ;mode= differ");
	conf.mode = uri->mode_set ? uri->mode : mode;
	if (cmd == CMD_BENCH) {
		bc.conf = conf;
		return bench_run(&bc);
	}
	gp.conf = conf;
	return getput_run(&gp);
}
