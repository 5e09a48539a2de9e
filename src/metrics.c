/*
 * metrics.c - counters of ended transfers as a Prometheus textfile.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "packet.h"

const uint64_t metrics_bucket_us[METRICS_BUCKETS] = {
	10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};

static const char *const op_label[METRICS_OPS] = { "rrq", "wrq" };

static unsigned op_index(unsigned op)
{
	return op == OP_WRQ ? 1 : 0;
}

void metrics_account(struct metrics *m, const struct xfer_report *r)
{
	unsigned op = op_index(r->op), b = 0;

	m->transfers[op][r->outcome]++;
	if (r->outcome == XO_REFUSED && r->error < METRICS_CODES)
		m->refusals[op][r->error]++;
	m->bytes[op] += r->bytes;
	m->retransmits[op] += r->retransmits;
	m->held[op] += r->held;
	while (b < METRICS_BUCKETS && r->duration_us > metrics_bucket_us[b])
		b++;
	if (b < METRICS_BUCKETS)
		m->bucket[op][b]++;
	m->count[op]++;
	m->sum_us[op] += r->duration_us;
}

uint64_t metrics_not_found(const struct metrics *m)
{
	return m->refusals[0][ERR_NOT_FOUND] + m->refusals[1][ERR_NOT_FOUND];
}

int metrics_escape_label(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
		size_t n = esc ? 2 : 1;

		if (o + n >= size)
			return -ENOSPC;
		if (esc)
			memcpy(out + o, esc, 2);
		else
			out[o] = *s;
		o += n;
	}
	if (size == 0)
		return -ENOSPC;
	out[o] = '\0';
	return (int)o;
}

/* Appends to a fixed buffer; the first overflow sticks. */
struct text {
	char *buf;
	size_t size, len;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->size - t->len)
		t->full = true;
	else
		t->len += (size_t)n;
}

static void head(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per op of a per-op counter. */
static void per_op(struct text *t, const char *name, const uint64_t v[METRICS_OPS])
{
	for (unsigned op = 0; op < METRICS_OPS; op++)
		put(t, "%s{op=\"%s\"} %" PRIu64 "\n", name, op_label[op], v[op]);
}

static void histogram(struct text *t, const struct metrics *m)
{
	static const char *const le[METRICS_BUCKETS] = {
		"0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
	};
	const char *name = "snowowl_transfer_duration_seconds";

	head(t, name, "histogram", "Duration of ended transfers, from the request to the last block.");
	for (unsigned op = 0; op < METRICS_OPS; op++) {
		uint64_t cum = 0;

		for (unsigned b = 0; b < METRICS_BUCKETS; b++) {
			cum += m->bucket[op][b];
			put(t, "%s_bucket{op=\"%s\",le=\"%s\"} %" PRIu64 "\n", name, op_label[op], le[b], cum);
		}
		put(t, "%s_bucket{op=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name, op_label[op], m->count[op]);
		put(t, "%s_sum{op=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", name, op_label[op],
		    m->sum_us[op] / 1000000, m->sum_us[op] % 1000000);
		put(t, "%s_count{op=\"%s\"} %" PRIu64 "\n", name, op_label[op], m->count[op]);
	}
}

int metrics_render(const struct metrics *m, const struct metrics_gauges *g, char *buf, size_t size)
{
	struct text t = { buf, size, 0, size == 0 };
	char root[8200];

	head(&t, "snowowl_transfers_total", "counter", "Transfers ended, by request and outcome.");
	for (unsigned op = 0; op < METRICS_OPS; op++)
		for (unsigned o = XO_NONE + 1; o < XO_MAX; o++)
			put(&t, "snowowl_transfers_total{op=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
			    op_label[op], xfer_outcome_name(o), m->transfers[op][o]);
	head(&t, "snowowl_refusals_total", "counter",
	     "Requests refused, by request and TFTP error code sent (1: file not found).");
	for (unsigned op = 0; op < METRICS_OPS; op++)
		for (unsigned c = 0; c < METRICS_CODES; c++)
			put(&t, "snowowl_refusals_total{op=\"%s\",code=\"%u\"} %" PRIu64 "\n",
			    op_label[op], c, m->refusals[op][c]);
	head(&t, "snowowl_sent_bytes_total", "counter", "File bytes sent and acknowledged (RRQ).");
	put(&t, "snowowl_sent_bytes_total %" PRIu64 "\n", m->bytes[0]);
	head(&t, "snowowl_received_bytes_total", "counter", "File bytes received (WRQ).");
	put(&t, "snowowl_received_bytes_total %" PRIu64 "\n", m->bytes[1]);
	head(&t, "snowowl_retransmits_total", "counter", "Packets sent again, by request.");
	per_op(&t, "snowowl_retransmits_total", m->retransmits);
	head(&t, "snowowl_timeouts_held_total", "counter",
	     "Timeouts that sent nothing: the worker's queue was silent, and another transfer's resend probed it.");
	per_op(&t, "snowowl_timeouts_held_total", m->held);
	head(&t, "snowowl_transfers_lost_total", "counter",
	     "Transfer processes that ended without a report (killed, or no sandbox).");
	put(&t, "snowowl_transfers_lost_total %" PRIu64 "\n", m->lost);
	head(&t, "snowowl_requests_denied_total", "counter",
	     "Requests refused by the allow and deny rules, by request.");
	per_op(&t, "snowowl_requests_denied_total", m->denied);
	head(&t, "snowowl_requests_unverified_limited_total", "counter",
	     "Requests dropped because their source network's budget of unverified bytes was spent, by request.");
	per_op(&t, "snowowl_requests_unverified_limited_total", m->limited);
	head(&t, "snowowl_requests_dropped_total", "counter", "Requests dropped because the queue was full.");
	put(&t, "snowowl_requests_dropped_total %" PRIu64 "\n", g->dropped_busy);
	head(&t, "snowowl_requests_overflowed_total", "counter",
	     "Requests the kernel dropped because a listening socket's buffer was full.");
	put(&t, "snowowl_requests_overflowed_total %" PRIu64 "\n", g->overflowed);
	head(&t, "snowowl_requests_rescued_total", "counter",
	     "Single-port mode: requests that reached a transfer socket before it was connected, admitted from there.");
	put(&t, "snowowl_requests_rescued_total %" PRIu64 "\n", g->rescued);
	head(&t, "snowowl_transfers_active", "gauge", "Transfers running.");
	put(&t, "snowowl_transfers_active %u\n", g->active);
	head(&t, "snowowl_transfers_queued", "gauge", "Requests waiting for a free slot.");
	put(&t, "snowowl_transfers_queued %u\n", g->queued);
	head(&t, "snowowl_transfers_stalled", "gauge",
	     "Running transfers whose client let two timeouts in a row pass (workers).");
	put(&t, "snowowl_transfers_stalled %u\n", g->stalled);
	histogram(&t, m);
	head(&t, "snowowl_info", "gauge", "Version and root directory of the server.");
	if (metrics_escape_label(g->root, root, sizeof(root)) < 0)
		return -ENOSPC;
	put(&t, "snowowl_info{version=\"%s\",root=\"%s\"} 1\n", g->version, root);
	return t.full ? -ENOSPC : (int)t.len;
}

int metrics_write(const char *path, const char *text, size_t len)
{
	char tmp[4200];
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* O_EXCL after unlink: never write through a planted link. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* Readable by the exporter whatever our umask (the unit's is 077). */
	if (fchmod(fd, 0644) < 0)
		r = -errno;
	while (r == 0 && len) {
		ssize_t n = write(fd, text, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}
