/*
 * worker.c - a pre-forked worker: many transfers in one sandboxed process.
 *
 * The same engine as a forked child (xfer.c), driven by one epoll loop:
 * every transfer socket is in the epoll set with its transfer as the
 * event's data, and the retransmission deadlines are kept in a 4-ary
 * min-heap, so the wait ends at the earliest one.  The heap is lazy: a
 * transfer's key may be earlier than its deadline (every ACK pushes the
 * deadline later, and re-sorting on each would cost more than it saves);
 * when such a key comes due the transfer is re-sorted under its real
 * deadline, and only a deadline that moved earlier gets an entry at once.
 * Entries name their transfer by its slot in the table of live ones and
 * a sequence number, and sorting never touches the transfers: an entry
 * whose transfer ended, or that a newer one of its transfer replaced, is
 * dropped when it comes due.  In a boot storm each transfer's key comes
 * due every few ACKs; with an index kept in each transfer, every level
 * of each re-sort wrote to another transfer, a cache miss each.
 * The dispatcher makes the sockets non-blocking (epoll on a blocking UDP
 * socket re-checks the queue's first datagram every time); a send that
 * finds the buffer full waits for room, briefly, as a blocking one would
 * (xfer.c).  Handed-over transfers arrive on the control socket; ended
 * ones are reported back in batches, once per loop.
 *
 * End of file on the control socket retires the worker: it takes no more
 * transfers and exits as soon as its last one ends, however that ends.
 * A hangup (the dispatcher's end closed while transfers run: it died)
 * ends every transfer with ERROR 0 "Server stopped" and the worker.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define EVENTS_MAX 256
#define DONE_MAX 128
/* Handoffs taken before serving sockets again (whole messages).  A new
 * transfer's first reply comes before more data for the running ones:
 * its client times its request, and in a boot storm thousands of running
 * transfers are ready at once, so the control socket's turn in the ready
 * list comes seldom (64 a turn: 2560 new transfers a second for two
 * workers, and a third of 10,000 clients resent their request).
 * Starting one costs about as much as serving one window. */
#define CTL_PER_WAKE 1024

struct wx {
	uint64_t key;			/* of its live heap entry: at or before its deadline */
	uint32_t seq;			/* that entry's */
	uint32_t slot;			/* in the table of live transfers */
	uint32_t id;
	bool out;			/* watched for send room (EPOLLOUT) */
	bool stalled;			/* counted in nstalled (note_stalled) */
	struct transfer t;
};

/* A heap entry: live while its transfer's slot holds a transfer with the
 * same sequence number. */
struct heap_entry {
	uint64_t key;			/* at or before that transfer's deadline */
	uint32_t slot, seq;
};

struct worker {
	const struct xfer_conf *conf;	/* own_conf */
	struct xfer_conf own_conf;
	struct xmem mem;		/* the rings of all its transfers */
	int ctl, ep, rootfd;
	int tfd;			/* retransmission timer, or -1 */
	uint64_t armed_us;		/* when tfd fires (0: not armed) */
	bool retiring;			/* the dispatcher closed its end */
	struct heap_entry *heap;	/* by deadline, earliest first */
	unsigned nheap, cap;
	uint32_t seq;			/* of the newest entry */
	struct wx **live;		/* transfers by slot; NULL: free */
	uint32_t *free_slots;
	unsigned nlive, nfree;		/* slots made, slots free */
	struct tp_rx rx;
	struct worker_done done[DONE_MAX];
	unsigned ndone;
	unsigned ntransfers;
	unsigned nstalled, told_stalled;	/* transfers stalled; as last told */
	unsigned shown;			/* transfers in the process title, or UINT_MAX */
	bool shown_retiring;
};

int worker_batch_add(struct worker_batch *b, uint32_t id, int sock, const void *req, size_t len,
		     const union sockaddr_any *peer)
{
	struct worker_handoff h = { .id = id, .len = (uint32_t)len, .peer = *peer };

	if (len > WORKER_REQUEST_MAX)
		return -EMSGSIZE;
	if (b->n == WORKER_BATCH || b->len + sizeof(h) + len > sizeof(b->buf))
		return -ENOSPC;
	memcpy(b->buf + b->len, &h, sizeof(h));
	memcpy(b->buf + b->len + sizeof(h), req, len);
	b->len += sizeof(h) + len;
	b->id[b->n] = id;
	b->fd[b->n++] = sock;
	return 0;
}

void worker_batch_drop(struct worker_batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		close(b->fd[i]);
	b->n = 0;
	b->len = 0;
}

int worker_batch_send(int ctl, struct worker_batch *b)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * WORKER_BATCH)];
		struct cmsghdr align;
	} ctlbuf;
	struct iovec iov = { b->buf, b->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctlbuf.buf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * b->n) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	if (b->n == 0)
		return 0;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * b->n);
	memcpy(CMSG_DATA(cm), b->fd, sizeof(int) * b->n);
	if (sendmsg(ctl, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	worker_batch_drop(b);	/* the worker has its own copies */
	return 0;
}

/* ---- The deadline heap ------------------------------------------------ */

#define HEAP_ARITY 4	/* a node's children share one or two cache lines */

static void sift_up(struct worker *w, unsigned i)
{
	struct heap_entry e = w->heap[i];

	while (i > 0) {
		unsigned parent = (i - 1) / HEAP_ARITY;

		if (w->heap[parent].key <= e.key)
			break;
		w->heap[i] = w->heap[parent];
		i = parent;
	}
	w->heap[i] = e;
}

static void sift_down(struct worker *w, unsigned i)
{
	struct heap_entry e = w->heap[i];

	for (;;) {
		unsigned first = HEAP_ARITY * i + 1, m = i, end;
		uint64_t key = e.key;

		if (first >= w->nheap)
			break;
		end = first + HEAP_ARITY < w->nheap ? first + HEAP_ARITY : w->nheap;
		for (unsigned c = first; c < end; c++)
			if (w->heap[c].key < key) {
				key = w->heap[c].key;
				m = c;
			}
		if (m == i)
			break;
		w->heap[i] = w->heap[m];
		i = m;
	}
	w->heap[i] = e;
}

/* A new entry for x under its deadline; the older ones go stale. */
static int heap_push(struct worker *w, struct wx *x)
{
	if (w->nheap == w->cap) {
		unsigned cap = w->cap ? 2 * w->cap : 64;
		struct heap_entry *h = realloc(w->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		w->heap = h;
		w->cap = cap;
	}
	x->seq = ++w->seq;
	x->key = x->t.s.deadline_us;
	w->heap[w->nheap] = (struct heap_entry){ x->key, x->slot, x->seq };
	sift_up(w, w->nheap++);
	return 0;
}

static void heap_pop(struct worker *w)
{
	w->heap[0] = w->heap[--w->nheap];
	if (w->nheap)
		sift_down(w, 0);
}

/* The transfer of a live entry, or NULL. */
static struct wx *heap_owner(const struct worker *w, const struct heap_entry *e)
{
	struct wx *x = w->live[e->slot];

	return x && x->seq == e->seq ? x : NULL;
}

/* ---- The table of live transfers ------------------------------------- */

static int live_add(struct worker *w, struct wx *x)
{
	if (w->nfree == 0) {
		unsigned n = w->nlive ? 2 * w->nlive : 64;
		struct wx **live = realloc(w->live, n * sizeof(*live));
		uint32_t *slots;

		if (!live)
			return -ENOMEM;
		w->live = live;
		slots = realloc(w->free_slots, n * sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		w->free_slots = slots;
		for (unsigned k = n; k-- > w->nlive;) {
			w->live[k] = NULL;
			w->free_slots[w->nfree++] = k;
		}
		w->nlive = n;
	}
	x->slot = w->free_slots[--w->nfree];
	w->live[x->slot] = x;
	return 0;
}

static void live_remove(struct worker *w, struct wx *x)
{
	w->live[x->slot] = NULL;
	w->free_slots[w->nfree++] = x->slot;
}

/* ---- Memory ------------------------------------------------------------ */

#define HUGE_PAGE ((uintptr_t)2 << 20)

/* The heap below this is advised already. */
static uintptr_t heap_advised;

/*
 * The heap in huge pages where the kernel gives them on request
 * (transparent huge pages in "madvise" mode, Debian's default): a storm's
 * thousands of transfers and their rings fill tens of MiB of it, and in a
 * virtual machine each 4 KiB page's first touch costs some 10 us, about
 * as much as serving a block.  The heap grows in steps of 8 MiB, and each
 * step is advised before it is used (the kernel falls back to small pages
 * where it has no huge one); freed memory stays for the next storm.
 */
static void heap_init(void)
{
	mallopt(M_TOP_PAD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	heap_advised = ((uintptr_t)sbrk(0) + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/* Advise what the heap grew by since (sbrk(0) makes no system call). */
static void heap_grown(void)
{
	uintptr_t top = (uintptr_t)sbrk(0) & ~(HUGE_PAGE - 1);

	if (top < heap_advised && top)
		heap_advised = top;	/* trimmed after all */
	if (top > heap_advised) {
		(void)madvise((void *)heap_advised, top - heap_advised, MADV_HUGEPAGE);
		heap_advised = top;
	}
}

/* ---- Transfers ---------------------------------------------------------- */

static void flush_done(struct worker *w)
{
	if (w->ndone == 0)
		return;
	/* The dispatcher reads these promptly; if it cannot keep up the
	 * entries wait in the socket buffer (the send blocks). */
	if (send(w->ctl, w->done, w->ndone * sizeof(w->done[0]), MSG_NOSIGNAL) < 0)
		log_err("worker: cannot report ended transfers: %m");
	w->ndone = 0;
}

static void watch_room(struct worker *w, struct wx *x);

/* The next entry of the done message (sent first if it is full). */
static struct worker_done *next_done(struct worker *w)
{
	if (w->ndone == DONE_MAX)
		flush_done(w);
	return &w->done[w->ndone++];
}

static void add_done(struct worker *w, uint32_t id, const struct xfer_report *r, uint32_t more)
{
	struct worker_done *d = next_done(w);

	d->id = id;
	d->more = more;
	report_encode(r, d->report);
}

/*
 * A transfer whose client has let two timeouts in a row pass is stalled:
 * it waits for a vanished, stopped or very lossy client, and costs the
 * worker little.  The dispatcher's pace counts only the others
 * (tell_stalled()), so that stalled transfers do not make new clients
 * wait their turn.  One timeout is not enough: a client that answers
 * late now and then is still running.
 */
#define STALLED_TRIES 2

static void note_stalled(struct worker *w, struct wx *x)
{
	bool stalled = !xfer_done(&x->t) && x->t.s.tries >= STALLED_TRIES;

	if (stalled == x->stalled)
		return;
	x->stalled = stalled;
	if (stalled)
		w->nstalled++;
	else
		w->nstalled--;
}

/* The number of stalled transfers, whenever it has changed (worker.h). */
static void tell_stalled(struct worker *w)
{
	if (w->nstalled == w->told_stalled)
		return;
	*next_done(w) = (struct worker_done){ .id = 0, .more = w->nstalled };
	w->told_stalled = w->nstalled;
}

static void finish(struct worker *w, struct wx *x, uint64_t now)
{
	struct xfer_report r;

	note_stalled(w, x);	/* done: no longer stalled */
	/* Single-port mode: the client sent a new request on the transfer's
	 * socket; it runs in the old one's place, under the same id. */
	xfer_drain(&x->t, &w->rx);
	if (xfer_restart_pending(&x->t)) {
		/* The replaced transfer counts as one of its own. */
		xfer_report(&x->t, now, &r);
		add_done(w, x->id, &r, 1);
	}
	if (xfer_restart_pending(&x->t) && xfer_restart(&x->t, w->rootfd, now) == 0) {
		if (heap_push(w, x) == 0) {
			watch_room(w, x);
			return;
		}
		log_err("worker: cannot watch a transfer: %m");
		x->t.state = XS_DONE;
		x->t.outcome = XO_FAILED;
	}

	/* Closed at once after the last look at it: in single-port mode the
	 * client's next request reaches the listener from then on. */
	close(x->t.sock);	/* also leaves the epoll set */
	xfer_finish(&x->t, now);
	xfer_report(&x->t, now, &r);
	add_done(w, x->id, &r, 0);
	w->ntransfers--;
	live_remove(w, x);	/* its heap entries go stale */
	free(x);
}

/* Watch for send room while part of a window waits for it. */
static void watch_room(struct worker *w, struct wx *x)
{
	bool want = xfer_wants_write(&x->t);
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = x };

	if (want != x->out && epoll_ctl(w->ep, EPOLL_CTL_MOD, x->t.sock, &ev) == 0)
		x->out = want;
}

/* After an event: end the transfer, or give it a new heap entry if its
 * deadline came earlier than its key. */
static void settle(struct worker *w, struct wx *x, uint64_t now)
{
	if (xfer_done(&x->t)) {
		finish(w, x, now);
		return;
	}
	note_stalled(w, x);
	watch_room(w, x);
	/* On ENOMEM the old entry stays: the timer comes late, not never. */
	if (x->t.s.deadline_us < x->key)
		(void)heap_push(w, x);
}

/* A handoff that cannot run: the dispatcher frees its slot. */
static void handoff_failed(struct worker *w, uint32_t id)
{
	struct xfer_report r = { .pid = (uint32_t)log_pid(), .op = OP_RRQ, .outcome = XO_FAILED };

	add_done(w, id, &r, 0);
}

static void start(struct worker *w, const struct worker_handoff *h, const uint8_t *req, int sock)
{
	struct wx *x = malloc(sizeof(*x));
	uint64_t now = xfer_now_us();
	struct epoll_event ev = { .events = EPOLLIN };

	heap_grown();

	if (!x || live_add(w, x) < 0) {
		free(x);
		close(sock);
		handoff_failed(w, h->id);
		return;
	}
	w->ntransfers++;
	x->id = h->id;
	x->out = false;
	x->stalled = false;
	x->seq = 0;	/* no entry yet */
	x->key = UINT64_MAX;
	xfer_start(&x->t, w->conf, sock, w->rootfd, req, h->len, &h->peer.sa, now);
	if (xfer_done(&x->t)) {
		finish(w, x, now);
		return;
	}
	ev.data.ptr = x;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, sock, &ev) < 0 || heap_push(w, x) < 0) {
		log_err("worker: cannot watch a transfer: %m");
		x->t.state = XS_DONE;
		x->t.outcome = XO_FAILED;
		finish(w, x, now);
		return;
	}
	watch_room(w, x);
}

/* The handoffs of one message (worker.h): each record with the next
 * socket.  A record without one (the kernel drops what our descriptor
 * table has no room for) is reported failed, so the dispatcher frees its
 * slot; its client asks again. */
static unsigned take_batch(struct worker *w, const uint8_t *buf, size_t n, const int *fds, unsigned nfd)
{
	size_t off = 0;
	unsigned used = 0, taken = 0;

	while (n - off >= sizeof(struct worker_handoff)) {
		struct worker_handoff h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.len > n - off - sizeof(h))
			break;
		if (w->ndone == DONE_MAX)
			flush_done(w);
		if (used < nfd) {
			start(w, &h, buf + off + sizeof(h), fds[used++]);
		} else {
			log_err("worker: a handoff came without its socket");
			handoff_failed(w, h.id);
		}
		off += sizeof(h) + h.len;
		taken++;
	}
	if (off != n)
		log_err("worker: malformed handoff dropped");
	while (used < nfd)
		close(fds[used++]);
	return taken;
}

/* Take the transfers the dispatcher handed over. */
static void take_handoffs(struct worker *w)
{
	static uint8_t buf[WORKER_BATCH_BYTES];

	for (unsigned k = 0; k < CTL_PER_WAKE;) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * WORKER_BATCH)];
			struct cmsghdr align;
		} ctlbuf;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctlbuf.buf, .msg_controllen = sizeof(ctlbuf.buf) };
		int fds[WORKER_BATCH];
		unsigned nfd = 0;
		ssize_t n = recvmsg(w->ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			/* The dispatcher retires us, or is gone: from now on
			 * only a hangup is reported (see worker_run). */
			struct epoll_event ev = { .events = 0, .data.ptr = NULL };

			w->retiring = true;
			epoll_ctl(w->ep, EPOLL_CTL_MOD, w->ctl, &ev);
			return;
		}
		if (n < 0)
			return;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t k2;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			k2 = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t j = 0; j < k2; j++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
				if (nfd < WORKER_BATCH)
					fds[nfd++] = fd;
				else
					close(fd);
			}
		}
		k += take_batch(w, buf, (size_t)n, fds, nfd);
	}
}

/* Fire the timers that are due; keys that were early get the real
 * deadline, and stale entries are dropped. */
static void run_timers(struct worker *w, uint64_t now)
{
	while (w->nheap && w->heap[0].key <= now) {
		struct wx *x = heap_owner(w, &w->heap[0]);

		if (!x) {
			heap_pop(w);
			continue;
		}
		if (x->t.s.deadline_us <= now) {
			/* What is queued first: it may be the ACK that makes
			 * the resend needless (a busy worker reads late). */
			xfer_receive(&x->t, &w->rx, xfer_rx_want(&x->t), MSG_DONTWAIT, now);
			if (!xfer_done(&x->t) && x->t.s.deadline_us <= now)
				xfer_on_timeout(&x->t, now);
			if (xfer_done(&x->t)) {
				heap_pop(w);
				finish(w, x, now);
				continue;
			}
			note_stalled(w, x);
			watch_room(w, x);
		}
		/* The same entry, under the real deadline. */
		w->heap[0].key = x->key = x->t.s.deadline_us;
		sift_down(w, 0);
	}
}

/*
 * The retransmission timer is a timerfd in the epoll set, armed at the
 * heap's earliest key and set again only when that key changes.  Passing
 * a timeout to every wait instead sets a kernel timer and cancels it once
 * per window, and in a virtual machine each of those reprograms the
 * clock through the hypervisor: about 8% of a worker's CPU at windowsize
 * 64.  The lazy heap keeps its earliest key still while ACKs come in.
 */
static void arm_timer(struct worker *w)
{
	uint64_t due = w->nheap ? w->heap[0].key : 0;
	struct itimerspec its = { 0 };

	if (due == w->armed_us)
		return;
	its.it_value.tv_sec = (time_t)(due / 1000000u);
	its.it_value.tv_nsec = (long)(due % 1000000u) * 1000;	/* 0: disarm */
	if (timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		w->armed_us = due;
}

/* The dispatcher is gone: tell every client, log every transfer. */
static void orphaned(struct worker *w)
{
	uint64_t now = xfer_now_us();

	for (unsigned k = 0; k < w->nlive; k++) {
		struct wx *x = w->live[k];

		if (!x)
			continue;
		xfer_cancel(&x->t, "Server stopped");
		w->ndone = 0;	/* no one to report to */
		finish(w, x, now);
	}
}

/* The title follows the number of transfers, whenever it changes. */
static void show_title(struct worker *w)
{
	if (w->ntransfers == w->shown && w->retiring == w->shown_retiring)
		return;
	setproctitle("worker, %u transfer%s%s", w->ntransfers, w->ntransfers == 1 ? "" : "s",
		     w->retiring ? ", retiring" : "");
	w->shown = w->ntransfers;
	w->shown_retiring = w->retiring;
}

int worker_run(const struct xfer_conf *conf, int ctl, int rootfd)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct epoll_event ev[EVENTS_MAX];
	struct epoll_event cev = { .events = EPOLLIN, .data.ptr = NULL };
	struct epoll_event tev = { .events = EPOLLIN | EPOLLET };

	if (!w)
		return 1;
	heap_init();
	/* Its transfers' rings share the worker's part of the budget. */
	w->own_conf = *conf;
	if (conf->mem_budget) {
		if (xmem_init(&w->mem, conf->mem_budget, conf->mem_client_cap, conf->mem_clients) < 0) {
			log_err("worker: cannot start: %s", strerror(ENOMEM));
			return 1;
		}
		w->own_conf.mem = &w->mem;
	}
	w->conf = &w->own_conf;
	w->ctl = ctl;
	w->rootfd = rootfd;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	/* The timer is edge-triggered: each expiry is one event, and it is
	 * never read (setting it again clears it). */
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	tev.data.ptr = &w->tfd;
	/* One buffer set for all transfers: a window of the largest DATA. */
	if (w->ep < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, ctl, &cev) < 0 || w->tfd < 0 ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->tfd, &tev) < 0 ||
	    tp_rx_init(&w->rx, 16, PACKET_HDR + conf->lim.blksize_max + 1) < 0) {
		log_err("worker: cannot start: %m");
		return 1;
	}
	w->shown = UINT_MAX;
	xfer_file_cache_init(conf);
	log_hold();
	for (;;) {
		uint64_t now = xfer_now_us();
		int n;

		run_timers(w, now);
		tell_stalled(w);
		flush_done(w);
		/* Retiring, with the last transfer ended (by a packet, a
		 * timer, or on start): nothing will wake us again. */
		if (w->retiring && !w->ntransfers)
			break;
		show_title(w);
		arm_timer(w);
		log_flush();
		heap_grown();	/* the rings of this pass */
		n = epoll_wait(w->ep, ev, EVENTS_MAX, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("worker: epoll: %m");
			log_flush();
			return 1;
		}
		now = xfer_now_us();
		/* New transfers first, wherever the control socket is among
		 * the events (see CTL_PER_WAKE). */
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr)
				continue;
			if (ev[i].events & (EPOLLHUP | EPOLLERR)) {
				/* Whatever is still queued was never counted
				 * by the dispatcher: drop it. */
				orphaned(w);
				log_flush();
				return 0;
			}
			take_handoffs(w);
			now = xfer_now_us();
		}
		for (int i = 0; i < n; i++) {
			struct wx *x = ev[i].data.ptr;

			if (!x)
				continue;
			if (ev[i].data.ptr == &w->tfd) {
				w->armed_us = 0;	/* fired: run_timers() follows */
				continue;
			}
			if (ev[i].events & EPOLLOUT)
				xfer_on_writable(&x->t, now);
			/* EPOLLERR too: the receive takes the pending error
			 * (a port unreachable), or it would be reported again. */
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP) && !xfer_done(&x->t))
				xfer_receive(&x->t, &w->rx, xfer_rx_want(&x->t), MSG_DONTWAIT, now);
			settle(w, x, now);
		}
	}
	flush_done(w);
	log_flush();
	return 0;
}
