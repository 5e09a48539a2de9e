/*
 * pool.h - the pre-forked workers (--workers): starting them, handing
 * them admitted transfers, reading their done messages, and losing or
 * retiring them.  The protocol on a worker's control socket is worker.h.
 *
 * Below admission and the main loop (dispatch.c), whose headers it does
 * not include; it uses the transfer socket and the sandbox entry of
 * child.h, and the engine's worker.h.
 */
#ifndef SNOW_OWL_POOL_H
#define SNOW_OWL_POOL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "counters.h"
#include "peers.h"
#include "sandbox.h"
#include "server.h"

#define POOL_SLOTS 64		/* workers, with those retiring after SIGHUP */

struct children;

/* A pre-forked worker (--workers). */
struct wproc {
	pid_t pid;			/* 0: slot free */
	int ctl;			/* our end of its control socket */
	unsigned fds;			/* descriptors its transfers may hold */
	bool retiring;			/* takes no more (SIGHUP) */
	bool extra;			/* started while the others were full */
	struct worker_batch *batch;	/* handoffs not sent yet (pool_flush) */
	unsigned stalled;		/* of its transfers, as it told (worker.h) */
	uint64_t started_us;
};

/* A transfer running in a worker, by id - 1.  The addresses let the
 * dispatcher tell the client when its worker died. */
struct wxfer {
	int worker;			/* -1: free */
	unsigned fds;			/* counted in its worker's fds */
	union sockaddr_any peer, local;
};

struct pool {
	const struct server_conf *conf;
	struct counters *count;
	struct children *ch;		/* transfer sockets, sandbox, roots */
	struct peers *live;		/* transfers, by peer and id */
	struct pollfd *pfd;		/* POOL_SLOTS entries of the dispatcher's poll array */
	struct wproc wk[POOL_SLOTS];
	struct wxfer *wx;		/* max_transfers entries */
	uint32_t *wx_free;		/* free ids */
	unsigned wx_nfree;
	struct sandbox_conf wsandbox;	/* the workers' sandbox */
	uint64_t respawn_us;		/* when to replace workers that died */
	bool stopping;			/* the server stops: set by the dispatcher */
};

/* The pool and the table of its transfers (none with --workers 0).
 * Returns 0 or -ENOMEM. */
int pool_init(struct pool *p, const struct server_conf *conf, struct counters *count,
	      struct children *ch, struct peers *live);

/* Where the workers' control sockets are polled: POOL_SLOTS entries,
 * all unused until workers start. */
void pool_watch(struct pool *p, struct pollfd *pfd);

/* How many of those entries to poll: up to the last one in use (poll()
 * refuses more entries than the descriptor limit). */
unsigned pool_polled(const struct pool *p);

/* Start workers until --workers of them take transfers. */
void pool_fill(struct pool *p, uint64_t now);

/* Hand an admitted request to a worker and record it in p->live.
 * Returns 0 or -errno (-EAGAIN: every worker is busy taking handoffs;
 * try again later). */
int pool_spawn(struct pool *p, const struct peer_key *key, const void *req, size_t len,
	       const union sockaddr_any *peer, union sockaddr_any *local);

/* Send the handoffs of this pass, before the dispatcher waits again; a
 * worker whose queue is full is polled for room. */
void pool_flush(struct pool *p);

/* After poll(): read the done messages of the workers that have some. */
void pool_read(struct pool *p, uint64_t now);

/* The slot of the worker pid, or -1. */
int pool_worker_of(const struct pool *p, pid_t pid);

/* The worker in slot i exited with status: its transfers ended with it.
 * Replaced unless it was retiring or the server is stopping. */
void pool_lost(struct pool *p, int i, int status, uint64_t now);

/* SIGHUP: new workers for new transfers (with the new root); the old
 * ones finish theirs and exit. */
void pool_retire(struct pool *p, uint64_t now);

/* Close every worker's control socket: each ends what it still runs
 * with an ERROR to its client, and exits. */
void pool_close(struct pool *p);

/* Send sig to every worker. */
void pool_signal(const struct pool *p, int sig);

/* Workers not yet reaped. */
unsigned pool_processes(const struct pool *p);

#endif
