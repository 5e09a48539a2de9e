/*
 * worker.h - pre-forked workers: many transfers per sandboxed process.
 *
 * The dispatcher and each worker share a SOCK_SEQPACKET socket pair.
 *
 * Dispatcher -> worker: messages of up to WORKER_BATCH handoffs, each a
 * struct worker_handoff followed by the request's bytes, with their
 * transfer sockets (bound to the request's local address and connected
 * to the client) attached as SCM_RIGHTS in the same order.  The worker
 * owns the sockets from then on.  One message for all the requests the
 * dispatcher admitted in a pass: in a storm, two system calls less a
 * transfer.
 *
 * Worker -> dispatcher: arrays of struct worker_done, one entry per
 * transfer that has ended (or was replaced on its socket), with its report (report.h, encoded), so the
 * dispatcher can free the client's slot and count the transfer.  An
 * entry with id 0 is no transfer's: its `more` is how many of the
 * worker's transfers are stalled (their client has let two timeouts in
 * a row pass), sent whenever that number changes;
 * the dispatcher's pace (--pace) does not count them.
 *
 * End of file on the worker's side means "take no more transfers": the
 * worker finishes the ones it has and exits.
 */
#ifndef SNOW_OWL_WORKER_H
#define SNOW_OWL_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "report.h"
#include "xfer.h"

#define WORKER_REQUEST_MAX 4096	/* the dispatcher drops larger requests */

struct worker_handoff {
	uint32_t id;			/* the dispatcher's name for the transfer */
	uint32_t len;			/* request bytes that follow */
	union sockaddr_any peer;	/* the client */
};

struct worker_done {
	uint32_t id;			/* 0: the count of stalled transfers */
	/* 1: a new request from the client replaced the transfer (single-port
	 * mode), which goes on under the same id; 0: it has ended. */
	uint32_t more;
	uint8_t report[REPORT_SIZE];	/* report_encode() */
};

#define WORKER_BATCH 32			/* handoffs in one message, at most */
#define WORKER_BATCH_BYTES (64u << 10)	/* ... and bytes */

/* Handoffs not sent yet, and their sockets. */
struct worker_batch {
	unsigned n;
	size_t len;			/* bytes in buf */
	uint32_t id[WORKER_BATCH];
	int fd[WORKER_BATCH];
	uint8_t buf[WORKER_BATCH_BYTES];
};

/* Add a transfer to the batch; its socket stays open until the batch is
 * sent or dropped.  Returns 0, -ENOSPC (full: send it first), or
 * -EMSGSIZE (a request larger than WORKER_REQUEST_MAX). */
int worker_batch_add(struct worker_batch *b, uint32_t id, int sock, const void *req, size_t len,
		     const union sockaddr_any *peer);

/* Send the batch to the worker on ctl without blocking, and close its
 * sockets.  Returns 0 (also when empty) or -errno (-EAGAIN: the
 * worker's queue is full; the batch is kept). */
int worker_batch_send(int ctl, struct worker_batch *b);

/* Close the batch's sockets, unsent. */
void worker_batch_drop(struct worker_batch *b);

/*
 * Run transfers handed over on ctl until the dispatcher closes its end and
 * the last transfer has ended.  The caller has entered the sandbox.
 * Returns the process exit status.
 */
int worker_run(const struct xfer_conf *conf, int ctl, int rootfd);

#endif
