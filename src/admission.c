/*
 * admission.c - which requests start a transfer, and when.
 *
 * Admission, in order: a request the --allow/--deny rules refuse is
 * dropped (or answered with ERROR 2 under --deny-error) before any file
 * is looked at; one from a peer (address and port) that already has a
 * live or queued transfer is a retransmission and is dropped; a new one
 * whose source network has spent its budget of unverified bytes is
 * dropped; when the global cap (--max-transfers) or the client's cap
 * (--max-per-client) is reached the request waits in a short FIFO queue
 * (--queue) and starts as soon as a slot frees.  A full queue drops the
 * request silently: the client retransmits it, and an ERROR would abort
 * a PXE boot for good.  Below the caps, once the workers run --pace
 * transfers each, a new request waits in the same queue for one of them
 * to end, but never longer than --pace-wait: a boot storm is then served
 * in the order it asked, from sockets and transfers that stay in the
 * processor's caches, and no client waits past its first retry.  Pacing
 * never drops a request: one that finds the queue full starts at once;
 * and a storm too large to pace (PACE_WAITING) is served unpaced.  (The listener has already dropped what is not an
 * RRQ/WRQ and what was sent to a broadcast or multicast address.)
 *
 * In single-port mode (--single-port, reuseport.h) a request that
 * reaches the listener from a client whose transfer is live either came
 * before that transfer's socket existed (a retransmission: dropped, as
 * above) or after the socket was closed (the client reuses its port for
 * its next file: it waits in the queue until the old transfer has been
 * reaped).  The kernel's receive time of each request tells which.
 *
 * It hands admitted requests to the pool (pool.h) or forks a child
 * (child.h); it knows nothing of the listener or dispatch.c.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acl.h"
#include "admission.h"
#include "child.h"
#include "log.h"
#include "netbudget.h"
#include "packet.h"
#include "pool.h"
#include "xfer.h"

#define QUEUE_AGE_US (10 * 1000000ull)	/* the client gave up long ago */
/* Requests that wait their turn under --pace: at most this many times the
 * pace.  They all start together when their wait is over, and so many
 * start within some tens of milliseconds, well before their clients
 * retry.  A larger storm is not paced: the waiting start at once, and so
 * does every request until the running transfers are under the pace
 * again (those of a storm that large start together anyway). */
#define PACE_WAITING 8
#define DENY_LOG_PER_S 5	/* denial lines a second; the rest are counted */
#define NETBUDGET_NETWORKS 16384	/* source networks whose budget is kept */

int admission_init(struct admission *a, const struct server_conf *conf, struct counters *count,
		   struct pool *pool, struct children *ch, struct peers *live)
{
	const struct server_conf *c = conf;

	a->conf = conf;
	a->count = count;
	a->pool = pool;
	a->ch = ch;
	a->live = live;
	a->queued = peers_new(c->queue_max ? c->queue_max : 1);
	a->queue = calloc(c->queue_max ? c->queue_max : 1, sizeof(*a->queue));
	if (!a->queued || !a->queue)
		return -ENOMEM;
	if (c->unverified_rate) {
		a->unverified = netbudget_new(NETBUDGET_NETWORKS, c->unverified_rate, c->unverified_burst);
		if (!a->unverified)
			return -ENOMEM;
	}
	return 0;
}

/* Start the transfer of an admitted request: in a worker, or in a child
 * of its own.  Returns 0 or -errno (-EAGAIN: the workers are busy). */
static int spawn(struct admission *a, const struct peer_key *key, const void *req, size_t len,
		 const union sockaddr_any *peer, union sockaddr_any *local)
{
	if (a->conf->workers)
		return pool_spawn(a->pool, key, req, len, peer, local);
	return child_spawn(a->ch, key, req, len, peer, local);
}

static bool has_room(const struct admission *a, const struct peer_key *key)
{
	const struct server_conf *c = a->conf;

	return peers_count(a->live) < c->max_transfers &&
	       (!c->max_per_client || peers_client_count(a->live, key) < c->max_per_client);
}

/* The transfers all workers run before new requests wait their turn:
 * --pace each; in the fork model (--workers 0), --pace in all. */
static uint64_t pace_limit(const struct server_conf *c)
{
	return (uint64_t)c->pace * (c->workers ? c->workers : 1);
}

/* Under --pace: fewer transfers than pace_limit(), leaving out those the
 * workers call stalled (worker.h); in the fork model every transfer
 * counts. */
static bool has_pace(struct admission *a)
{
	const struct server_conf *c = a->conf;
	uint64_t limit = pace_limit(c);
	unsigned live = peers_count(a->live), stalled = a->count->stalled;

	if (!c->pace || live - (stalled < live ? stalled : live) < limit) {
		a->unpaced = false;	/* the storm that overflowed is over */
		return true;
	}
	return a->unpaced;
}

/* How many may wait their turn under the pace (PACE_WAITING). */
static unsigned pace_waiting_max(const struct admission *a)
{
	const struct server_conf *c = a->conf;
	uint64_t n = pace_limit(c) * PACE_WAITING;

	return n < c->queue_max ? (unsigned)n : c->queue_max;
}

/* A request received at since_us that has waited its turn long enough. */
static bool waited_enough(const struct admission *a, uint64_t since_us, uint64_t now)
{
	return now >= since_us && now - since_us >= a->conf->pace_wait_ms * 1000ull;
}

static void enqueue(struct admission *a, const struct peer_key *key, const void *req, size_t len,
		    const union sockaddr_any *peer, const union sockaddr_any *local, uint64_t now)
{
	unsigned qmax = a->conf->queue_max, slot;
	struct pending *p;

	if (a->q_len >= qmax) {
		a->count->dropped_busy++;
		return;
	}
	slot = (a->q_head + a->q_len) % qmax;
	p = &a->queue[slot];
	p->buf = malloc(len);
	if (!p->buf) {
		a->count->dropped_busy++;
		return;
	}
	memcpy(p->buf, req, len);
	p->len = (uint16_t)len;
	p->key = *key;
	p->peer = *peer;
	p->local = *local;
	p->since_us = now;
	p->used = true;
	peers_add(a->queued, key, (pid_t)slot + 1);
	a->q_len++;
	a->count->status_dirty = true;
}

/* Start queued requests that have room, oldest first. */
static void run_queue(struct admission *a, uint64_t now)
{
	unsigned qmax = a->conf->queue_max;

	for (unsigned i = 0; i < a->q_len; i++) {
		unsigned slot = (a->q_head + i) % qmax;
		struct pending *p = &a->queue[slot];
		/* since_us may be a little after now (taken later in the batch). */
		bool stale = now > p->since_us && now - p->since_us > QUEUE_AGE_US;

		/* A client's next request waits for its last transfer to end
		 * (single-port mode: admission_request()). */
		if (!p->used || (!stale && (!has_room(a, &p->key) || peers_has(a->live, &p->key))))
			continue;
		/* Those behind it came later: none has waited longer. */
		if (!stale && !has_pace(a) && !waited_enough(a, p->since_us, now))
			break;
		if (!stale && spawn(a, &p->key, p->buf, p->len, &p->peer, &p->local) == -EAGAIN)
			break;	/* the workers are saturated: later, in order */
		peers_remove_pid(a->queued, (pid_t)slot + 1);
		free(p->buf);
		p->buf = NULL;
		p->used = false;
		a->count->status_dirty = true;
	}
	/* Skip the holes at the head. */
	while (a->q_len && !a->queue[a->q_head].used) {
		a->q_head = (a->q_head + 1) % qmax;
		a->q_len--;
	}
}

void admission_run_queue(struct admission *a, uint64_t now)
{
	/* Too many waiting their turn: a storm too large to pace. */
	if (a->q_len > pace_waiting_max(a))
		a->unpaced = true;
	run_queue(a, now);
}

/*
 * A request the --allow/--deny rules refuse: counted, logged (at most
 * DENY_LOG_PER_S lines a second, so that a flood cannot fill the log),
 * and dropped, or answered with ERROR 2 from a socket of its own, as a
 * transfer's first reply would be.
 */
static void deny(struct admission *a, unsigned op, const union sockaddr_any *peer,
		 union sockaddr_any *local, uint64_t now)
{
	char pbuf[ADDR_STR_MAX];

	a->count->metrics.denied[op == OP_WRQ ? 1 : 0]++;
	if (now - a->deny_log_us >= 1000000) {
		a->deny_log_us = now;
		a->deny_logged = 0;
	}
	if (a->deny_logged < DENY_LOG_PER_S) {
		a->deny_logged++;
		if (a->deny_unlogged)
			log_notice("denied %s from %s (and %llu more not logged)", op == OP_WRQ ? "WRQ" : "RRQ",
				   addr_format(&peer->sa, pbuf, sizeof(pbuf)),
				   (unsigned long long)a->deny_unlogged);
		else
			log_notice("denied %s from %s", op == OP_WRQ ? "WRQ" : "RRQ",
				   addr_format(&peer->sa, pbuf, sizeof(pbuf)));
		a->deny_unlogged = 0;
	} else {
		a->deny_unlogged++;
	}
	if (a->conf->deny_error) {
		uint8_t buf[64];
		int n = packet_build_error(buf, sizeof(buf), ERR_ACCESS, "Access violation");
		int fd = child_socket(a->ch, local, peer, a->conf->port_low, a->conf->port_high, 0, a->conf->single_port);

		if (fd < 0)
			return;
		if (n > 0)
			(void)!send(fd, buf, (size_t)n, 0);
		close(fd);
	}
}

/*
 * A request whose source network has spent its budget of unverified
 * bytes (netbudget.h): dropped, counted, and logged as denials are, at
 * most DENY_LOG_PER_S lines a second.
 */
static void over_budget(struct admission *a, unsigned op, const union sockaddr_any *peer, uint64_t now)
{
	char pbuf[ADDR_STR_MAX];

	a->count->metrics.limited[op == OP_WRQ ? 1 : 0]++;
	if (now - a->limit_log_us >= 1000000) {
		a->limit_log_us = now;
		a->limit_logged = 0;
	}
	if (a->limit_logged >= DENY_LOG_PER_S) {
		a->limit_unlogged++;
		return;
	}
	a->limit_logged++;
	if (a->limit_unlogged)
		log_notice("dropped %s from %s: its network's unverified bytes are spent (and %llu more not logged)",
			   op == OP_WRQ ? "WRQ" : "RRQ", addr_format(&peer->sa, pbuf, sizeof(pbuf)),
			   (unsigned long long)a->limit_unlogged);
	else
		log_notice("dropped %s from %s: its network's unverified bytes are spent",
			   op == OP_WRQ ? "WRQ" : "RRQ", addr_format(&peer->sa, pbuf, sizeof(pbuf)));
	a->limit_unlogged = 0;
}

void admission_request(struct admission *a, const void *req, size_t len, const union sockaddr_any *peer,
		       union sockaddr_any *local, uint64_t rx_ns, unsigned op, uint64_t now)
{
	struct peer_key key;
	char pbuf[ADDR_STR_MAX];

	a->count->last_activity_us = now;
	if (!acl_permits(&a->conf->acl, &peer->sa, op == OP_WRQ ? ACL_WRITE : ACL_READ)) {
		deny(a, op, peer, local, now);
		return;
	}
	peers_key(&peer->sa, &key);
	if (peers_has(a->queued, &key))
		return;
	if (peers_has(a->live, &key)) {
		/* Single-port mode: received after the transfer's socket was
		 * made, so that socket is closed and this is the client's next
		 * request from the same port: it starts once the old transfer
		 * is reaped.  Otherwise a retransmitted request of a live
		 * transfer. */
		if (a->conf->single_port && rx_ns && rx_ns > peers_stamp(a->live, &key)) {
			log_debug("%s: next request waits for the last transfer to end",
				  addr_format(&peer->sa, pbuf, sizeof(pbuf)));
			enqueue(a, &key, req, len, peer, local, now);
		}
		return;
	}
	/* A new request: what its replies may cost a network that never
	 * asked for them (a forged source).  Loopback cannot be forged from
	 * outside this host. */
	if (a->unverified && !netbudget_local(&peer->sa) &&
	    !netbudget_charge(a->unverified, &peer->sa,
			      netbudget_cost(&peer->sa, len, XFER_UNVERIFIED_RESENDS), now)) {
		over_budget(a, op, peer, now);
		return;
	}
	/* Queued requests that could start have started (the queue runs
	 * after every reap), so a request with room goes first; one over
	 * the pace waits its turn, unless the queue has no room for it. */
	if (has_room(a, &key) && !has_pace(a) && a->q_len < a->conf->queue_max) {
		/* Its wait counts from its arrival: in a storm the last
		 * requests are read some time after they came. */
		uint64_t real = rx_ns ? child_realtime_ns() : 0, since = now;

		if (real > rx_ns && (real - rx_ns) / 1000 < now)
			since = now - (real - rx_ns) / 1000;
		if (!waited_enough(a, since, now)) {
			enqueue(a, &key, req, len, peer, local, since);
			if (a->q_len > pace_waiting_max(a))
				admission_run_queue(a, now);
			return;
		}
	}
	if (!has_room(a, &key) || spawn(a, &key, req, len, peer, local) == -EAGAIN)
		enqueue(a, &key, req, len, peer, local, now);
}

uint64_t admission_deadline(const struct admission *a, uint64_t now)
{
	const struct server_conf *c = a->conf;

	if (!c->pace || !c->pace_wait_ms)
		return UINT64_MAX;
	/* The oldest request still short of its wait; those before it have
	 * waited theirs and wait for a cap, which a reap ends. */
	for (unsigned i = 0; i < a->q_len; i++) {
		const struct pending *p = &a->queue[(a->q_head + i) % c->queue_max];
		uint64_t due = p->since_us + c->pace_wait_ms * 1000ull;

		if (p->used && due > now)
			return due;
	}
	return UINT64_MAX;
}

/* In the order they came; admitting one may rescue more. */
void admission_strays(struct admission *a, uint64_t now)
{
	for (unsigned i = 0; i < a->ch->nstrays; i++) {
		struct stray s = a->ch->strays[i];
		uint64_t rx_ns = child_realtime_ns();
		unsigned op = packet_opcode(s.buf, s.len);

		if (op == OP_RRQ || op == OP_WRQ)
			admission_request(a, s.buf, s.len, &s.peer, &s.local, rx_ns, op, now);
		free(s.buf);
	}
	a->ch->nstrays = 0;
}
