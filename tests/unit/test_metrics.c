/* test_metrics.c - counters and their Prometheus text (src/metrics.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "metrics.h"
#include "packet.h"

static char text[METRICS_TEXT_MAX];

static const struct metrics_gauges gauges = {
	.active = 3, .queued = 1, .stalled = 2, .dropped_busy = 9, .overflowed = 7, .version = "1.2.3", .root = "/srv/tftp",
};

static void account(struct metrics *m, unsigned op, unsigned outcome, unsigned error, uint64_t bytes,
		    uint64_t us)
{
	struct xfer_report r = { .pid = 1, .op = (uint8_t)op, .outcome = (uint8_t)outcome,
				 .error = (uint16_t)error, .bytes = bytes, .duration_us = us,
				 .retransmits = 2, .held = 3 };

	metrics_account(m, &r);
}

/* The line of the text that starts with prefix, or NULL. */
static const char *line(const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0)
			return p;
	return NULL;
}

/* The sample value of metric (name with labels), or -1. */
static long long value(const char *metric)
{
	char prefix[256];
	const char *p;

	snprintf(prefix, sizeof(prefix), "%s ", metric);
	p = line(prefix);
	return p ? strtoll(p + strlen(prefix), NULL, 10) : -1;
}

static void render(const struct metrics *m)
{
	int n = metrics_render(m, &gauges, text, sizeof(text));

	ok(n > 0 && (size_t)n == strlen(text), "rendered, length %d", n);
}

static void test_buckets(void)
{
	struct metrics m = { 0 };
	/* Durations on, just above and far past the bounds. */
	static const uint64_t us[] = { 0, 10000, 10001, 25000, 999999, 1000000, 60000000, 60000001,
				       3600000000ull };

	for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++)
		account(&m, OP_RRQ, XO_COMPLETE, 0, 100, us[i]);
	account(&m, OP_WRQ, XO_COMPLETE, 0, 7, 30000);
	render(&m);
	is_int(value("snowowl_transfer_duration_seconds_bucket{op=\"rrq\",le=\"0.01\"}"), 2,
	       "le 0.01: 0 and exactly 10 ms");
	is_int(value("snowowl_transfer_duration_seconds_bucket{op=\"rrq\",le=\"0.025\"}"), 4,
	       "le 0.025: cumulative, with 10.001 ms and 25 ms");
	is_int(value("snowowl_transfer_duration_seconds_bucket{op=\"rrq\",le=\"0.5\"}"), 4, "le 0.5: nothing new");
	is_int(value("snowowl_transfer_duration_seconds_bucket{op=\"rrq\",le=\"1\"}"), 6,
	       "le 1: 0.999999 s and exactly 1 s");
	is_int(value("snowowl_transfer_duration_seconds_bucket{op=\"rrq\",le=\"60\"}"), 7, "le 60: exactly 60 s");
	is_int(value("snowowl_transfer_duration_seconds_bucket{op=\"rrq\",le=\"+Inf\"}"), 9,
	       "+Inf: everything, past 60 s too");
	is_int(value("snowowl_transfer_duration_seconds_count{op=\"rrq\"}"), 9, "_count equals +Inf");
	ok(line("snowowl_transfer_duration_seconds_sum{op=\"rrq\"} 3722.045001\n"),
	   "_sum in seconds, to the microsecond");
	is_int(value("snowowl_transfer_duration_seconds_bucket{op=\"wrq\",le=\"0.025\"}"), 0, "wrq: 30 ms not in 0.025");
	is_int(value("snowowl_transfer_duration_seconds_bucket{op=\"wrq\",le=\"0.05\"}"), 1, "wrq: 30 ms in 0.05");
	is_int(value("snowowl_transfer_duration_seconds_count{op=\"wrq\"}"), 1, "wrq: its own count");
}

static void test_counters(void)
{
	struct metrics m = { 0 };

	account(&m, OP_RRQ, XO_COMPLETE, 0, 1000, 5000);
	account(&m, OP_RRQ, XO_COMPLETE, 0, 24, 5000);
	account(&m, OP_RRQ, XO_REFUSED, ERR_NOT_FOUND, 0, 100);
	account(&m, OP_RRQ, XO_REFUSED, ERR_NOT_FOUND, 0, 100);
	account(&m, OP_RRQ, XO_REFUSED, ERR_ACCESS, 0, 100);
	account(&m, OP_RRQ, XO_PROBE, 0, 0, 100);
	account(&m, OP_WRQ, XO_COMPLETE, 0, 333, 100);
	account(&m, OP_WRQ, XO_REFUSED, ERR_NOT_FOUND, 0, 100);
	account(&m, OP_WRQ, XO_TIMEOUT, 0, 512, 100);
	m.lost = 4;
	m.denied[0] = 5;
	m.denied[1] = 6;
	m.limited[0] = 7;
	m.limited[1] = 8;
	render(&m);
	is_int(value("snowowl_transfers_total{op=\"rrq\",outcome=\"complete\"}"), 2, "rrq complete");
	is_int(value("snowowl_transfers_total{op=\"rrq\",outcome=\"refused\"}"), 3, "rrq refused");
	is_int(value("snowowl_transfers_total{op=\"rrq\",outcome=\"probe\"}"), 1, "rrq probe");
	is_int(value("snowowl_transfers_total{op=\"rrq\",outcome=\"aborted\"}"), 0, "rrq aborted, shown as 0");
	is_int(value("snowowl_transfers_total{op=\"wrq\",outcome=\"timeout\"}"), 1, "wrq timeout");
	ok(!line("snowowl_transfers_total{op=\"rrq\",outcome=\"none\"}"), "no outcome none");
	is_int(value("snowowl_refusals_total{op=\"rrq\",code=\"1\"}"), 2, "rrq not found");
	is_int(value("snowowl_refusals_total{op=\"rrq\",code=\"2\"}"), 1, "rrq access violation");
	is_int(value("snowowl_refusals_total{op=\"wrq\",code=\"1\"}"), 1, "wrq not found");
	is_int(value("snowowl_refusals_total{op=\"wrq\",code=\"8\"}"), 0, "code 8 shown as 0");
	is_int(metrics_not_found(&m), 3, "not found over both ops");
	is_int(value("snowowl_sent_bytes_total"), 1024, "bytes sent: RRQ only");
	is_int(value("snowowl_received_bytes_total"), 845, "bytes received: WRQ, complete or not");
	is_int(value("snowowl_retransmits_total{op=\"rrq\"}"), 12, "retransmits by op");
	is_int(value("snowowl_timeouts_held_total{op=\"rrq\"}"), 18, "timeouts held back by op");
	is_int(value("snowowl_transfers_lost_total"), 4, "lost");
	is_int(value("snowowl_requests_denied_total{op=\"rrq\"}"), 5, "denied reads");
	is_int(value("snowowl_requests_denied_total{op=\"wrq\"}"), 6, "denied writes");
	is_int(value("snowowl_requests_unverified_limited_total{op=\"rrq\"}"), 7, "reads over the network's budget");
	is_int(value("snowowl_requests_unverified_limited_total{op=\"wrq\"}"), 8, "writes over it");
	is_int(value("snowowl_requests_dropped_total"), 9, "dropped, from the gauges");
	is_int(value("snowowl_requests_overflowed_total"), 7, "lost to a full listening buffer, from the gauges");
	is_int(value("snowowl_transfers_active"), 3, "active gauge");
	is_int(value("snowowl_transfers_queued"), 1, "queued gauge");
	is_int(value("snowowl_transfers_stalled"), 2, "stalled gauge");
	ok(line("# HELP snowowl_transfers_total ") && line("# TYPE snowowl_transfers_total counter\n"),
	   "HELP and TYPE of a counter");
	ok(line("# TYPE snowowl_transfers_active gauge\n"), "TYPE of a gauge");
	ok(line("# TYPE snowowl_transfer_duration_seconds histogram\n"), "TYPE of the histogram");
	ok(text[strlen(text) - 1] == '\n', "ends with a newline");
}

static void escape(const char *in, const char *want, const char *what)
{
	char out[64];
	int n = metrics_escape_label(in, out, sizeof(out));

	ok(n == (int)strlen(want) && strcmp(out, want) == 0, "escape: %s", what);
}

static void test_escaping(void)
{
	struct metrics m = { 0 };
	struct metrics_gauges g = gauges;
	char out[8];

	escape("/srv/tftp", "/srv/tftp", "plain");
	escape("a\"b", "a\\\"b", "double quote");
	escape("a\\b", "a\\\\b", "backslash");
	escape("a\nb", "a\\nb", "newline");
	escape("", "", "empty");
	escape("x\ty\r", "x\ty\r", "other bytes as they are");
	is_int(metrics_escape_label("1234567", out, sizeof(out)), 7, "exactly fits 8 bytes");
	is_int(metrics_escape_label("12345678", out, sizeof(out)), -ENOSPC, "one too many");
	is_int(metrics_escape_label("123456\"", out, sizeof(out)), -ENOSPC, "an escape that does not fit");
	g.root = "/srv/\"t\\f\"\np";
	metrics_render(&m, &g, text, sizeof(text));
	ok(line("snowowl_info{version=\"1.2.3\",root=\"/srv/\\\"t\\\\f\\\"\\np\"} 1\n"),
	   "the root label escaped in the text");
}

static void test_too_small(void)
{
	struct metrics m = { 0 };
	char small[100];
	int full = metrics_render(&m, &gauges, text, sizeof(text));

	is_int(metrics_render(&m, &gauges, small, sizeof(small)), -ENOSPC, "100 bytes: -ENOSPC");
	is_int(metrics_render(&m, &gauges, text, (size_t)full), -ENOSPC, "one byte short: -ENOSPC");
	is_int(metrics_render(&m, &gauges, text, (size_t)full + 1), full, "exact fit with the NUL");
}

static void test_write(void)
{
	char dir[] = "/tmp/test_metrics.XXXXXX", path[64], tmp[96], buf[16];
	struct stat st;
	FILE *f;

	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	umask(077);
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	is_int(metrics_write(path, "a 1\n", 4), 0, "first write");
	is_int(metrics_write(path, "b 2\n", 4), 0, "second write replaces it");
	f = fopen(path, "r");
	ok(f && fread(buf, 1, sizeof(buf), f) == 4 && memcmp(buf, "b 2\n", 4) == 0, "the file holds the second text");
	if (f)
		fclose(f);
	ok(stat(tmp, &st) < 0 && errno == ENOENT, "no temporary file left");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "mode 0644 whatever the umask");
	/* A planted link at the temporary name is not written through. */
	ok(symlink("/tmp/test_metrics-victim", tmp) == 0, "plant a link");
	is_int(metrics_write(path, "c 3\n", 4), 0, "write with a link at the temporary name");
	ok(lstat("/tmp/test_metrics-victim", &st) < 0, "the link's target was not created");
	unlink(tmp);
	snprintf(tmp, sizeof(tmp), "%s/none/m.prom", dir);
	is_int(metrics_write(tmp, "d\n", 2), -ENOENT, "missing directory: -ENOENT");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_buckets();
	test_counters();
	test_escaping();
	test_too_small();
	test_write();
	return tap_done();
}
