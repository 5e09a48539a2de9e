/*
 * admission.h - which requests start a transfer, and when: the
 * --allow/--deny rules, the per-network budget of unverified bytes, the
 * global and per-client caps, the pace, and the queue in arrival order.
 *
 * Below the listener and the main loop (dispatch.c), whose headers it does
 * not include; an admitted request goes to the pool (pool.h) or to a
 * forked child (child.h).
 */
#ifndef SNOW_OWL_ADMISSION_H
#define SNOW_OWL_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "counters.h"
#include "peers.h"
#include "server.h"

struct children;
struct pool;

/* A request waiting for a free slot. */
struct pending {
	struct peer_key key;
	union sockaddr_any peer, local;
	uint64_t since_us;
	uint16_t len;
	bool used;
	uint8_t *buf;
};

struct admission {
	const struct server_conf *conf;
	struct counters *count;
	struct pool *pool;		/* --workers */
	struct children *ch;		/* --workers 0, and the strays */
	struct peers *live;		/* transfers, by peer */
	struct peers *queued;		/* pending requests, "pid" = slot + 1 */
	struct pending *queue;		/* ring of queue_max slots */
	bool unpaced;			/* a storm too large to pace runs */
	unsigned q_head, q_len;		/* q_len counts holes up to the tail */
	uint64_t deny_log_us;		/* start of the second denials are logged in */
	unsigned deny_logged;		/* lines in that second */
	uint64_t deny_unlogged;		/* denials not logged since the last line */
	struct netbudget *unverified;	/* --unverified-rate; NULL: no limit */
	uint64_t limit_log_us;		/* as deny_*, for requests over that budget */
	unsigned limit_logged;
	uint64_t limit_unlogged;
};

/* The queue and the budget table.  Returns 0 or -ENOMEM. */
int admission_init(struct admission *a, const struct server_conf *conf, struct counters *count,
		   struct pool *pool, struct children *ch, struct peers *live);

/*
 * Admission of a request (op OP_RRQ or OP_WRQ) from peer, sent to local
 * (the address and port to reply from) and received at rx_ns
 * (CLOCK_REALTIME; 0: unknown): refused, dropped as a retransmission,
 * started, or queued.
 */
void admission_request(struct admission *a, const void *req, size_t len, const union sockaddr_any *peer,
		       union sockaddr_any *local, uint64_t rx_ns, unsigned op, uint64_t now);

/* Start queued requests that have room, oldest first; forget those that
 * waited so long that their client has given up. */
void admission_run_queue(struct admission *a, uint64_t now);

/* When the oldest queued request that has not waited its turn under
 * --pace yet will have (it then starts if the caps allow), after now;
 * UINT64_MAX when none. */
uint64_t admission_deadline(const struct admission *a, uint64_t now);

/* Admit what the transfer sockets took in single-port mode (child.h). */
void admission_strays(struct admission *a, uint64_t now);

#endif
