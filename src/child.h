/*
 * child.h - the per-transfer child (--workers 0) and what every process
 * that runs transfers needs of the dispatcher: the transfer socket, the
 * sandbox entry and its data limit, and the word to a client whose
 * transfer's process died.
 *
 * The lowest module of the dispatcher: it uses the engine (xfer.h) and
 * the shared tables (peers.h, replypath.h), and nothing of the pool,
 * admission, the listener or the main loop (dispatch.c).
 */
#ifndef SNOW_OWL_CHILD_H
#define SNOW_OWL_CHILD_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "counters.h"
#include "peers.h"
#include "replypath.h"
#include "server.h"

/* A request that reached a shared-port transfer socket instead of the
 * listener (rescue_strays), waiting to be admitted. */
struct stray {
	uint8_t *buf;
	uint16_t len;
	union sockaddr_any peer, local;
};

struct children {
	const struct server_conf *conf;
	struct counters *count;
	struct peers *live;		/* transfers, by peer and pid */
	int rootfd;			/* reopened on SIGHUP */
	int client_rootfd[SERVER_ROOTS_MAX];	/* --client-root, likewise */
	int report_rd, report_wr;	/* the reports (report.h) */
	/* The dispatcher's poll array (listeners, signalfd, reports, the
	 * workers' control sockets): none of it stays open in a new process. */
	const struct pollfd *polled;
	int npolled;
	sigset_t oldmask;		/* a new process's signal mask */
	bool cut;			/* the drain timeout has passed */
	struct replypaths paths;	/* --workers 0: each child's addresses */
	struct stray *strays;		/* single-port: requests to admit (rescue_strays) */
	unsigned nstrays, strays_cap;
};

/* The roots as configured; with --workers 0 the table of reply paths.
 * Returns 0 or -ENOMEM. */
int child_init(struct children *ch, const struct server_conf *conf, struct counters *count,
	       struct peers *live);

/*
 * Socket for one transfer: from the request's local address, to the
 * peer; on a port in low..high when low is set, else on local's port
 * (0: any; in single-port mode, shared, the listener's).  flags:
 * SOCK_NONBLOCK for a worker.  Returns the descriptor or -errno.
 * In single-port mode what other clients sent it first is kept in
 * ch->strays, to be admitted.
 */
int child_socket(struct children *ch, union sockaddr_any *local, const union sockaddr_any *peer,
		 unsigned low, unsigned high, int flags, bool shared);

/* When a transfer socket was made, on the clock of SO_TIMESTAMPNS. */
uint64_t child_realtime_ns(void);

/*
 * The socket of an admitted request, on the configured port range: as
 * child_socket(), and a failure is logged; *made_ns is when it was made
 * and local its address.  For child_spawn() and pool_spawn().
 */
int child_transfer_socket(struct children *ch, union sockaddr_any *local, const union sockaddr_any *peer,
			  int flags, uint64_t *made_ns);

/* sb's RLIMIT_DATA for a process with a ring budget of budget bytes
 * that runs up to transfers transfers, measured now, before the fork. */
void child_limit_data(struct sandbox_conf *sb, uint64_t budget, unsigned transfers);

/* In a new process: close every descriptor the dispatcher polls but keep. */
void child_close_polled(const struct children *ch, int keep);

/* In a new process, once it has closed what it must not keep: default
 * signal handling, then its sandbox, or it exits. */
void child_enter_sandbox(const struct children *ch, const struct sandbox_conf *sb, int rootfd);

/* Fork the child for an admitted request and record it in ch->live.
 * Returns 0 or -errno. */
int child_spawn(struct children *ch, const struct peer_key *key, const void *req, size_t len,
		const union sockaddr_any *peer, union sockaddr_any *local);

/* Tell the client of a transfer whose process died, from the transfer's
 * own address and port. */
void child_abort_orphan(struct children *ch, const union sockaddr_any *local,
			const union sockaddr_any *peer);

#endif
