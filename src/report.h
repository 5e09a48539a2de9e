/*
 * report.h - what a transfer process tells the dispatcher when a
 * transfer ends, for the counters of STATUS= and of --metrics.
 *
 * Contract of a forked transfer child (a worker, which runs many
 * transfers, sends the same encoded record inside its done messages on
 * its control socket instead; see worker.h):
 *  - The dispatcher makes one AF_UNIX SOCK_DGRAM socketpair at start-up
 *    (datagrams keep each report whole, from any number of senders).
 *    It reads from one end, nonblocking, in its poll loop; every
 *    transfer process inherits the other end (across fork only: both
 *    ends are close-on-exec) and closes the read end.
 *  - A process sends exactly one report, one datagram of REPORT_SIZE
 *    bytes, per finished transfer, after the transfer's log line and
 *    before it takes up other work or exits.  The dispatcher does not
 *    rely on the order of reports.
 *  - pid names the process that ran the transfer.  A forked child exits
 *    with status 0 only when its report went out, so the dispatcher
 *    counts a child that ends otherwise (killed, or no sandbox) as lost
 *    without waiting for a report that will not come.  A process that
 *    runs many transfers and dies takes the reports of its running ones
 *    with it: the dispatcher counts those as lost from what it handed it.
 *  - The sender may be a compromised process: the dispatcher decodes a
 *    fixed-size record with report_decode(), which checks every field,
 *    and uses the numbers only for counting.
 *
 * It sits below the engine, beside the protocol core: xfer.h includes
 * this header for the outcome and the record, never the other way round,
 * so that the dispatcher's counters (metrics.h) need nothing of the engine.
 */
#ifndef SNOW_OWL_REPORT_H
#define SNOW_OWL_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define REPORT_VERSION 2
#define REPORT_SIZE 40		/* bytes on the socket */

/* How a transfer ended: the engine sets it (xfer.h), the report carries
 * it, the counters are kept by it (metrics.h). */
enum xfer_outcome {
	XO_NONE,
	XO_COMPLETE,
	XO_PROBE,	/* ERROR 0/8 right after our OACK: a size probe */
	XO_ABORTED,	/* the client sent an ERROR or went away */
	XO_TIMEOUT,
	XO_REFUSED,	/* we answered the request with an ERROR */
	XO_FAILED,	/* local error during the transfer */
	XO_CHANGED,	/* the file changed while it was read (filestamp.h) */
	XO_MAX
};

struct xfer_report {
	uint32_t pid;			/* the process that ran the transfer */
	uint8_t op;			/* OP_RRQ or OP_WRQ */
	uint8_t outcome;		/* enum xfer_outcome, never XO_NONE */
	uint16_t error;			/* TFTP error code sent to the client, if any */
	uint64_t bytes;			/* file bytes moved */
	uint64_t duration_us;
	uint64_t retransmits;
	uint32_t held;			/* timeouts held back (sess_on_timeout), at most
					 * UINT32_MAX */
};

/* Fixed little-endian layout: version, op, outcome, 0 (8 bits), error,
 * 0 (16 bits), pid, held (32 bits), bytes, duration_us, retransmits.  buf
 * holds REPORT_SIZE bytes. */
void report_encode(const struct xfer_report *r, uint8_t *buf);

/* Returns 0, or -EINVAL for a wrong size, version or field value. */
int report_decode(const uint8_t *buf, size_t len, struct xfer_report *r);

/* Send r on the report socket fd.  Returns 0 or -errno. */
int report_send(int fd, const struct xfer_report *r);

/* The outcome's name in logs and in the metrics' labels. */
const char *xfer_outcome_name(enum xfer_outcome o);

#endif
