/*
 * worker.h - pre-forked workers: many transfers per sandboxed process.
 *
 * The dispatcher and each worker share a SOCK_SEQPACKET socket pair.
 *
 * Dispatcher -> worker, one message per transfer: struct worker_handoff
 * followed by the request's bytes, with the transfer socket (bound to
 * the request's local address and connected to the client) attached as
 * SCM_RIGHTS.  The worker owns the socket from then on.
 *
 * Worker -> dispatcher: arrays of struct worker_done, one entry per
 * transfer that has ended (or was replaced on its socket), with its report (report.h, encoded), so the
 * dispatcher can free the client's slot and count the transfer.
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
	uint32_t id;
	/* 1: a new request from the client replaced the transfer (single-port
	 * mode), which goes on under the same id; 0: it has ended. */
	uint32_t more;
	uint8_t report[REPORT_SIZE];	/* report_encode() */
};

/* Hand a transfer to the worker on ctl without blocking.  Returns 0 or
 * -errno (-EAGAIN: the worker's queue is full). */
int worker_handoff(int ctl, uint32_t id, int sock, const void *req, size_t len,
		   const union sockaddr_any *peer);

/*
 * Run transfers handed over on ctl until the dispatcher closes its end and
 * the last transfer has ended.  The caller has entered the sandbox.
 * Returns the process exit status.
 */
int worker_run(const struct xfer_conf *conf, int ctl, int rootfd);

#endif
