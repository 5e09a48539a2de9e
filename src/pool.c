/*
 * pool.c - the pre-forked workers (--workers): each runs many transfers
 * in one sandboxed process (worker.h).  The dispatcher makes every
 * transfer's socket, as for a forked child, and hands it over on the
 * worker's control socket; the worker's done messages free the client's
 * slot and count the transfer.  A worker that dies takes its transfers
 * with it: their clients are told from the transfers' own ports.
 *
 * It uses child.h (transfer socket, sandbox entry) and the engine's
 * worker.h; admission, the listener and dispatch.c are above it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "pool.h"
#include "report.h"
#include "worker.h"

#define RESPAWN_DELAY_US 1000000ull	/* after a worker died young */

static struct pollfd *wk_pfd(struct pool *p, int i)
{
	return &p->pfd[i];
}

/* Close every descriptor a new process must not keep, but keep. */
static void close_inherited(struct pool *p, int keep)
{
	child_close_polled(p->ch, keep);
	/* Also those no longer polled (exiting workers): a worker sees its
	 * dispatcher gone only when no one else holds its end. */
	for (int i = 0; i < POOL_SLOTS; i++)
		if (p->wk[i].ctl >= 0 && p->wk[i].ctl != keep && p->wk[i].ctl != wk_pfd(p, i)->fd)
			close(p->wk[i].ctl);
	close(p->ch->report_wr);	/* workers report on their control socket */
}

static int start_worker(struct pool *p, int i, uint64_t now)
{
	int sv[2], big = 4 << 20;
	struct worker_batch *batch = malloc(sizeof(*batch));
	pid_t pid;

	if (!batch) {
		log_err("workers: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	batch->n = 0;
	batch->len = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("workers: socketpair: %m");
		free(batch);
		return -errno;
	}
	/* Room for a storm's handoffs in flight (root may exceed wmem_max). */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	pid = fork();
	if (pid < 0) {
		log_err("workers: fork: %m");
		close(sv[0]);
		close(sv[1]);
		free(batch);
		return -errno;
	}
	if (pid == 0) {
		struct sandbox_conf sb = p->wsandbox;

		close(sv[0]);
		close_inherited(p, sv[1]);
		unsigned most = server_worker_capacity(sb.nofile);

		/* Its transfers' memory: as many as it may hold at once. */
		child_limit_data(&sb, p->conf->xfer.mem_budget,
				 most < p->conf->max_transfers ? most : p->conf->max_transfers);
		child_enter_sandbox(p->ch, &sb, p->ch->rootfd);
		_exit(worker_run(&p->conf->xfer, sv[1], p->ch->rootfd));
	}
	close(sv[1]);
	p->wk[i] = (struct wproc){ .pid = pid, .ctl = sv[0], .started_us = now, .batch = batch };
	*wk_pfd(p, i) = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	return 0;
}

/* Workers that take transfers: those of --workers, or the extra ones. */
static unsigned running(const struct pool *p, bool extra)
{
	unsigned n = 0;

	for (int i = 0; i < POOL_SLOTS; i++)
		if (p->wk[i].pid && !p->wk[i].retiring && p->wk[i].extra == extra)
			n++;
	return n;
}

/* A worker started in a free slot: the slot, or -1. */
static int start_free(struct pool *p, uint64_t now)
{
	for (int i = 0; i < POOL_SLOTS; i++)
		if (!p->wk[i].pid)
			return start_worker(p, i, now) < 0 ? -1 : i;
	return -1;
}

void pool_fill(struct pool *p, uint64_t now)
{
	for (unsigned n = running(p, false); n < p->conf->workers; n++)
		if (start_free(p, now) < 0)
			break;
}

/* The least loaded of the workers (extra ones or not) that take
 * transfers and have room for fds more descriptors, or -1. */
static int pick_among(const struct pool *p, unsigned fds, bool extra)
{
	int best = -1;

	for (int i = 0; i < POOL_SLOTS; i++) {
		const struct wproc *w = &p->wk[i];

		/* A worker holds no more than its descriptor limit allows. */
		if (w->pid && w->ctl >= 0 && !w->retiring && w->extra == extra &&
		    w->fds + fds + SERVER_FDS_SPARE <= p->wsandbox.nofile &&
		    (best < 0 || w->fds < p->wk[best].fds))
			best = i;
	}
	return best;
}

/*
 * The worker for a transfer that holds fds descriptors, or -1: one of
 * --workers, else an extra one (server_extra_workers), started now if
 * all are full and there may be more.  Extra ones take transfers only
 * while the others are full: workers that share a CPU cost more in
 * switching between them than the transfers they run.
 */
static int pick_worker(struct pool *p, unsigned fds)
{
	int w = pick_among(p, fds, false);

	if (w >= 0 || (w = pick_among(p, fds, true)) >= 0)
		return w;
	if (running(p, true) >= p->conf->workers_extra || (w = start_free(p, xfer_now_us())) < 0)
		return -1;
	p->wk[w].extra = true;
	log_info("worker %ld started: the others are full", (long)p->wk[w].pid);
	return w;
}

/*
 * Send worker i's batch of handoffs: 0, or -errno with the batch kept.
 * A full queue (-EAGAIN) has the worker polled for room; a worker that
 * is gone (-EPIPE) is reaped soon, and its batch dropped then.
 */
static int send_batch(struct pool *p, int i)
{
	int r = worker_batch_send(p->wk[i].ctl, p->wk[i].batch);
	struct pollfd *pfd = wk_pfd(p, i);

	if (pfd->fd >= 0)
		pfd->events = POLLIN | (r == -EAGAIN ? POLLOUT : 0);
	if (r < 0 && r != -EAGAIN)
		log_warn("handoff to worker %ld: %s", (long)p->wk[i].pid, strerror(-r));
	return r;
}

/* A worker's transfer ended, with its report, or without one (NULL): the
 * worker died with it. */
static void forget_transfer(struct pool *p, uint32_t id, const struct xfer_report *r, bool more)
{
	struct wxfer *x = &p->wx[id - 1];

	/* more: a new request replaced the transfer, which goes on. */
	if (!more) {
		struct wproc *w = &p->wk[x->worker];

		w->fds -= x->fds;
		/* An extra worker leaves with its last transfer: the storm
		 * that needed it is over (another starts one again). */
		if (w->extra && w->fds == 0 && !w->retiring && w->ctl >= 0) {
			log_info("worker %ld retires: the others have room again", (long)w->pid);
			w->retiring = true;
			shutdown(w->ctl, SHUT_WR);
		}
		x->worker = -1;
		p->wx_free[p->wx_nfree++] = id;
		peers_remove_pid(p->live, (pid_t)id);
	}
	if (r)
		metrics_account(&p->count->metrics, r);
	else
		p->count->metrics.lost++;
	if (r && (r->outcome == XO_COMPLETE || r->outcome == XO_PROBE))
		p->count->served++;
	else
		p->count->failed++;
	p->count->status_dirty = true;
}

/* How many of worker i's transfers are stalled, as it tells (worker.h);
 * the pace leaves them out (admission.c). */
static void set_stalled(struct pool *p, int i, uint32_t n)
{
	struct wproc *w = &p->wk[i];

	if (n > p->conf->max_transfers)
		n = p->conf->max_transfers;
	p->count->stalled = p->count->stalled - w->stalled + n;
	w->stalled = n;
}

/* Read the worker's reports of ended transfers. */
static void read_done(struct pool *p, int i, uint64_t now)
{
	struct worker_done done[128];
	ssize_t n;

	if (p->wk[i].ctl < 0)
		return;
	while ((n = recv(p->wk[i].ctl, done, sizeof(done), MSG_DONTWAIT)) > 0) {
		for (size_t k = 0; k < (size_t)n / sizeof(done[0]); k++) {
			uint32_t id = done[k].id;
			struct xfer_report r;

			if (id == 0) {
				set_stalled(p, i, done[k].more);
				continue;
			}
			if (id > p->conf->max_transfers || p->wx[id - 1].worker != i) {
				log_err("worker %ld reported an unknown transfer", (long)p->wk[i].pid);
				continue;
			}
			if (report_decode(done[k].report, REPORT_SIZE, &r) < 0) {
				log_warn("worker %ld sent a malformed transfer report", (long)p->wk[i].pid);
				forget_transfer(p, id, NULL, false);
				continue;
			}
			forget_transfer(p, id, &r, done[k].more != 0);
		}
		p->count->last_activity_us = now;
	}
}

void pool_lost(struct pool *p, int i, int status, uint64_t now)
{
	struct wproc *w = &p->wk[i];
	unsigned lost = 0;

	/* Cut by the drain timeout, a worker tells its clients itself and
	 * exits with 0; else the client hears it from the transfer's own
	 * port (free again: the socket died with the worker). */
	bool told = p->ch->cut && WIFEXITED(status) && WEXITSTATUS(status) == 0;

	read_done(p, i, now);
	/* Handoffs it never got: their ports are free for the ERROR too. */
	if (w->batch)
		worker_batch_drop(w->batch);
	for (unsigned k = 0; k < p->conf->max_transfers; k++) {
		if (p->wx[k].worker != i)
			continue;
		if (!told)
			child_abort_orphan(p->ch, &p->wx[k].local, &p->wx[k].peer);
		forget_transfer(p, k + 1, NULL, false);
		lost++;
	}
	/* A worker that leaves while the server stops (a terminal's ^C
	 * reaches the whole process group) with nothing running is routine;
	 * so is one the drain timeout ended. */
	if (p->stopping && !lost)
		log_info("worker %ld ended while stopping", (long)w->pid);
	else if (p->ch->cut)
		log_notice("worker %ld ended at the drain timeout; %u transfers cut", (long)w->pid, lost);
	else if (!w->retiring || lost || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			log_err("worker %ld killed by signal %d; %u transfers lost", (long)w->pid,
				WTERMSIG(status), lost);
		else
			log_err("worker %ld exited with status %d; %u transfers lost", (long)w->pid,
				WEXITSTATUS(status), lost);
	}
	if (w->ctl >= 0)
		close(w->ctl);
	*wk_pfd(p, i) = (struct pollfd){ .fd = -1 };
	/* One that died young would likely die again at once: wait. */
	if (!w->retiring && now - w->started_us < RESPAWN_DELAY_US)
		p->respawn_us = now + RESPAWN_DELAY_US;
	else if (!w->retiring && !p->respawn_us)
		p->respawn_us = now;
	free(w->batch);
	set_stalled(p, i, 0);
	*w = (struct wproc){ .ctl = -1 };
	p->count->status_dirty = true;
}

int pool_worker_of(const struct pool *p, pid_t pid)
{
	for (int i = 0; i < POOL_SLOTS; i++)
		if (p->wk[i].pid == pid)
			return i;
	return -1;
}

/* The workers hold the old root. */
void pool_retire(struct pool *p, uint64_t now)
{
	unsigned free_slots = 0;

	for (int i = 0; i < POOL_SLOTS; i++)
		if (!p->wk[i].pid)
			free_slots++;
	if (free_slots < p->conf->workers) {
		log_warn("reload: workers still retiring; the running ones keep the old root");
		return;
	}
	for (int i = 0; i < POOL_SLOTS; i++) {
		struct worker_batch *b = p->wk[i].batch;

		if (!p->wk[i].pid || p->wk[i].retiring)
			continue;
		/* What it could not take now never reaches it: those
		 * clients ask again. */
		if (send_batch(p, i) < 0) {
			for (unsigned k = 0; k < b->n; k++)
				forget_transfer(p, b->id[k], NULL, false);
			worker_batch_drop(b);
		}
		p->wk[i].retiring = true;
		shutdown(p->wk[i].ctl, SHUT_WR);	/* end of file: take no more */
	}
	pool_fill(p, now);
}

int pool_spawn(struct pool *p, const struct peer_key *key, const void *req, size_t len,
	       const union sockaddr_any *peer, union sockaddr_any *local)
{
	/* In single-port mode a transfer may go on with the client's next
	 * request, an upload after a download (xfer_restart). */
	unsigned fds = packet_opcode(req, len) == OP_WRQ || p->conf->single_port ? SERVER_FDS_WRITE : SERVER_FDS_READ;
	int w = pick_worker(p, fds), sock, r;
	uint64_t made_ns;
	uint32_t id;

	if (w < 0 || p->wx_nfree == 0)
		return -EAGAIN;
	sock = child_transfer_socket(p->ch, local, peer, SOCK_NONBLOCK, &made_ns);
	if (sock < 0)
		return sock;
	id = p->wx_free[p->wx_nfree - 1];
	/* Sent with the others of this pass (pool_flush), or now when
	 * their message is full. */
	r = worker_batch_add(p->wk[w].batch, id, sock, req, len, peer);
	if (r == -ENOSPC && send_batch(p, w) == 0)
		r = worker_batch_add(p->wk[w].batch, id, sock, req, len, peer);
	if (r < 0) {
		close(sock);
		if (r == -EMSGSIZE)
			log_warn("handoff to worker %ld: %s", (long)p->wk[w].pid, strerror(-r));
		return -EAGAIN;
	}
	p->wx_nfree--;
	p->wx[id - 1] = (struct wxfer){ .worker = w, .fds = fds, .peer = *peer, .local = *local };
	p->wk[w].fds += fds;
	peers_add(p->live, key, (pid_t)id);
	peers_set_stamp(p->live, key, made_ns);
	p->count->status_dirty = true;
	return 0;
}

void pool_flush(struct pool *p)
{
	for (int i = 0; i < POOL_SLOTS; i++)
		if (p->wk[i].pid && p->wk[i].batch && p->wk[i].batch->n)
			(void)send_batch(p, i);
}

/* Closing a worker's control socket is a hangup for it. */
void pool_close(struct pool *p)
{
	for (int i = 0; i < POOL_SLOTS; i++)
		if (p->wk[i].pid && p->wk[i].ctl >= 0) {
			if (p->wk[i].batch)
				worker_batch_drop(p->wk[i].batch);
			close(p->wk[i].ctl);
			p->wk[i].ctl = -1;
			*wk_pfd(p, i) = (struct pollfd){ .fd = -1 };
		}
}

int pool_init(struct pool *p, const struct server_conf *conf, struct counters *count,
	      struct children *ch, struct peers *live)
{
	const struct server_conf *c = conf;
	struct rlimit rl;

	p->conf = conf;
	p->count = count;
	p->ch = ch;
	p->live = live;

	for (int i = 0; i < POOL_SLOTS; i++)
		p->wk[i].ctl = -1;
	if (!c->workers)
		return 0;
	p->wx = calloc(c->max_transfers, sizeof(*p->wx));
	p->wx_free = calloc(c->max_transfers, sizeof(*p->wx_free));
	if (!p->wx || !p->wx_free)
		return -ENOMEM;
	for (unsigned k = 0; k < c->max_transfers; k++) {
		p->wx[k].worker = -1;
		p->wx_free[k] = c->max_transfers - k;	/* low ids first */
	}
	p->wx_nfree = c->max_transfers;
	/* Sockets in flight to a worker count against our descriptor limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	p->wsandbox = c->sandbox;
	p->wsandbox.worker = true;
	/* Room for all transfers in one worker, within the hard limit that
	 * a worker no longer root cannot raise (pick_worker). */
	p->wsandbox.nofile = SERVER_FDS_WRITE * c->max_transfers + SERVER_FDS_SPARE;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    p->wsandbox.nofile > rl.rlim_max)
		p->wsandbox.nofile = (unsigned)rl.rlim_max;
	return 0;
}

void pool_watch(struct pool *p, struct pollfd *pfd)
{
	p->pfd = pfd;
	for (int i = 0; i < POOL_SLOTS; i++)
		*wk_pfd(p, i) = (struct pollfd){ .fd = -1 };
}

unsigned pool_polled(const struct pool *p)
{
	unsigned n = 0;

	if (!p->pfd)
		return 0;
	for (unsigned i = 0; i < POOL_SLOTS; i++)
		if (p->pfd[i].fd >= 0)
			n = i + 1;
	return n;
}

void pool_read(struct pool *p, uint64_t now)
{
	for (int i = 0; i < POOL_SLOTS; i++) {
		struct pollfd *w = wk_pfd(p, i);

		if (w->fd < 0 || !w->revents)
			continue;
		read_done(p, i, now);
		/* The worker is exiting: wait for SIGCHLD, not spin. */
		if (w->revents & (POLLHUP | POLLERR))
			w->fd = -1;
	}
}

void pool_signal(const struct pool *p, int sig)
{
	for (int i = 0; i < POOL_SLOTS; i++)
		if (p->wk[i].pid)
			kill(p->wk[i].pid, sig);
}

unsigned pool_processes(const struct pool *p)
{
	unsigned n = 0;

	for (int i = 0; i < POOL_SLOTS; i++)
		if (p->wk[i].pid)
			n++;
	return n;
}
