/*
 * metrics.h - the dispatcher's counters and their Prometheus text
 * (node_exporter's textfile collector format), written with --metrics.
 *
 * The counters are fed by the transfer reports (report.h); rendering is
 * a pure function, and metrics_write() replaces the file atomically.
 * Like report.h it needs nothing of the transfer engine (xfer.h).
 */
#ifndef SNOW_OWL_METRICS_H
#define SNOW_OWL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define METRICS_OPS 2			/* RRQ, WRQ */
#define METRICS_CODES 9			/* TFTP error codes 0..8 */
#define METRICS_BUCKETS 12		/* finite histogram buckets */

/* Upper bounds of the duration buckets, in microseconds (10 ms .. 60 s). */
extern const uint64_t metrics_bucket_us[METRICS_BUCKETS];

struct metrics {
	uint64_t transfers[METRICS_OPS][XO_MAX];	/* by op and outcome */
	uint64_t refusals[METRICS_OPS][METRICS_CODES];	/* by op and error code */
	uint64_t bytes[METRICS_OPS];			/* sent (RRQ), received (WRQ) */
	uint64_t retransmits[METRICS_OPS];
	uint64_t held[METRICS_OPS];			/* timeouts held back */
	/* Durations: per bucket (not cumulative), the rest past the last
	 * bound is count minus their sum. */
	uint64_t bucket[METRICS_OPS][METRICS_BUCKETS];
	uint64_t count[METRICS_OPS];
	uint64_t sum_us[METRICS_OPS];
	uint64_t lost;			/* transfer processes gone without a report */
	uint64_t denied[METRICS_OPS];	/* requests refused by --allow/--deny */
	uint64_t limited[METRICS_OPS];	/* dropped: the network's unverified bytes spent */
};

/* What the dispatcher knows beside the counters. */
struct metrics_gauges {
	unsigned active;		/* transfers running */
	unsigned queued;		/* requests waiting for a slot */
	unsigned stalled;		/* running transfers the workers call stalled */
	uint64_t dropped_busy;		/* requests dropped, queue full */
	uint64_t overflowed;		/* requests the kernel dropped, listening buffer full */
	uint64_t rescued;		/* single-port: requests read from a transfer socket */
	const char *version;
	const char *root;		/* directory served */
};

/* Count one ended transfer.  r has been through report_decode(). */
void metrics_account(struct metrics *m, const struct xfer_report *r);

/* Requests refused with ERROR 1, both ops. */
uint64_t metrics_not_found(const struct metrics *m);

/*
 * The exposition text of m and g into buf.  Returns its length, or
 * -ENOSPC when buf is too small (METRICS_TEXT_MAX always suffices for
 * a root of up to 4096 bytes).
 */
#define METRICS_TEXT_MAX 65536
int metrics_render(const struct metrics *m, const struct metrics_gauges *g, char *buf, size_t size);

/*
 * A label value as the text format wants it: backslash, double quote and
 * newline escaped.  Returns the length written, or -ENOSPC.
 */
int metrics_escape_label(const char *s, char *out, size_t size);

/*
 * Replace the file at path with text: written to path.tmp-PID in the same
 * directory, then renamed over it, so a reader never sees part of it.
 * Returns 0 or -errno.
 */
int metrics_write(const char *path, const char *text, size_t len);

#endif
