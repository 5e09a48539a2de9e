/*
 * worker.c - a pre-forked worker: many transfers in one sandboxed process.
 *
 * The same engine as a forked child (xfer.c), driven by one epoll loop:
 * every transfer socket is in the epoll set with its transfer as the
 * event's data, and the retransmission deadlines are kept in a binary
 * min-heap, so the wait ends at the earliest one.  The heap is lazy: a
 * transfer's key may be earlier than its deadline (every ACK pushes the
 * deadline later, and re-sorting on each would cost more than it saves);
 * when such a key comes due the transfer is re-sorted under its real
 * deadline, and only a deadline that moved earlier is re-sorted at once.
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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define EVENTS_MAX 256
#define DONE_MAX 128
/* Handoffs taken before serving sockets again.  A new transfer's first
 * reply comes before more data for the running ones: its client times
 * its request, and in a boot storm thousands of running transfers are
 * ready at once, so the control socket's turn in the ready list comes
 * seldom (64 a turn: 2560 new transfers a second for two workers, and
 * a third of 10,000 clients resent their request).  Starting one costs
 * about as much as serving one window. */
#define CTL_PER_WAKE 1024

struct wx {
	struct transfer t;
	uint32_t id;
	unsigned heap;			/* index in the deadline heap */
	bool out;			/* watched for send room (EPOLLOUT) */
};

/* A heap entry keeps its key beside the pointer: sorting compares keys
 * without touching the transfers. */
struct heap_entry {
	uint64_t key;			/* at or before x->t.s.deadline_us */
	struct wx *x;
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
	struct tp_rx rx;
	struct worker_done done[DONE_MAX];
	unsigned ndone;
	unsigned ntransfers;
	unsigned shown;			/* transfers in the process title, or UINT_MAX */
	bool shown_retiring;
};

int worker_handoff(int ctl, uint32_t id, int sock, const void *req, size_t len,
		   const union sockaddr_any *peer)
{
	struct worker_handoff h = { .id = id, .len = (uint32_t)len, .peer = *peer };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)req, len } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctlbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2,
			     .msg_control = ctlbuf.buf, .msg_controllen = sizeof(ctlbuf.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	if (len > WORKER_REQUEST_MAX)
		return -EMSGSIZE;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sock, sizeof(int));
	return sendmsg(ctl, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* ---- The deadline heap ------------------------------------------------ */

static bool earlier(const struct worker *w, unsigned a, unsigned b)
{
	return w->heap[a].key < w->heap[b].key;
}

static void swap(struct worker *w, unsigned a, unsigned b)
{
	struct heap_entry e = w->heap[a];

	w->heap[a] = w->heap[b];
	w->heap[b] = e;
	w->heap[a].x->heap = a;
	w->heap[b].x->heap = b;
}

/* Restore the heap order around index i after its deadline changed. */
static void heap_fix(struct worker *w, unsigned i)
{
	while (i > 0 && earlier(w, i, (i - 1) / 2)) {
		swap(w, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		unsigned l = 2 * i + 1, m = i;

		if (l < w->nheap && earlier(w, l, m))
			m = l;
		if (l + 1 < w->nheap && earlier(w, l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		swap(w, i, m);
		i = m;
	}
}

static int heap_add(struct worker *w, struct wx *x)
{
	if (w->nheap == w->cap) {
		unsigned cap = w->cap ? 2 * w->cap : 64;
		struct heap_entry *h = realloc(w->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		w->heap = h;
		w->cap = cap;
	}
	x->heap = w->nheap;
	w->heap[w->nheap++] = (struct heap_entry){ x->t.s.deadline_us, x };
	heap_fix(w, x->heap);
	return 0;
}

static void heap_remove(struct worker *w, struct wx *x)
{
	unsigned i = x->heap;

	w->nheap--;
	if (i == w->nheap)
		return;
	w->heap[i] = w->heap[w->nheap];
	w->heap[i].x->heap = i;
	heap_fix(w, i);
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

static void add_done(struct worker *w, uint32_t id, const struct xfer_report *r, uint32_t more)
{
	if (w->ndone == DONE_MAX)
		flush_done(w);
	w->done[w->ndone].id = id;
	w->done[w->ndone].more = more;
	report_encode(r, w->done[w->ndone++].report);
}

static void finish(struct worker *w, struct wx *x, uint64_t now)
{
	struct xfer_report r;

	/* Single-port mode: the client sent a new request on the transfer's
	 * socket; it runs in the old one's place, under the same id. */
	xfer_drain(&x->t, &w->rx);
	if (xfer_restart_pending(&x->t)) {
		/* The replaced transfer counts as one of its own. */
		xfer_report(&x->t, now, &r);
		add_done(w, x->id, &r, 1);
	}
	if (xfer_restart_pending(&x->t) && xfer_restart(&x->t, w->rootfd, now) == 0) {
		if (heap_add(w, x) == 0) {
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

/* After an event: end the transfer, or move it up in the heap if its
 * deadline came earlier than its key. */
static void settle(struct worker *w, struct wx *x, uint64_t now)
{
	if (xfer_done(&x->t)) {
		heap_remove(w, x);
		finish(w, x, now);
		return;
	}
	watch_room(w, x);
	if (x->t.s.deadline_us < w->heap[x->heap].key) {
		w->heap[x->heap].key = x->t.s.deadline_us;
		heap_fix(w, x->heap);
	}
}

static void start(struct worker *w, const struct worker_handoff *h, const uint8_t *req, int sock)
{
	struct wx *x = malloc(sizeof(*x));
	uint64_t now = xfer_now_us();
	struct epoll_event ev = { .events = EPOLLIN };

	if (!x) {
		struct xfer_report r = { .pid = (uint32_t)getpid(), .op = OP_RRQ, .outcome = XO_FAILED };

		close(sock);
		add_done(w, h->id, &r, 0);
		return;
	}
	w->ntransfers++;
	x->id = h->id;
	x->out = false;
	xfer_start(&x->t, w->conf, sock, w->rootfd, req, h->len, &h->peer.sa, now);
	if (xfer_done(&x->t)) {
		finish(w, x, now);
		return;
	}
	ev.data.ptr = x;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, sock, &ev) < 0 || heap_add(w, x) < 0) {
		log_err("worker: cannot watch a transfer: %m");
		x->t.state = XS_DONE;
		x->t.outcome = XO_FAILED;
		finish(w, x, now);
		return;
	}
	watch_room(w, x);
}

/* Take the transfers the dispatcher handed over. */
static void take_handoffs(struct worker *w)
{
	static uint8_t buf[sizeof(struct worker_handoff) + WORKER_REQUEST_MAX];

	for (int k = 0; k < CTL_PER_WAKE; k++) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctlbuf;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctlbuf.buf, .msg_controllen = sizeof(ctlbuf.buf) };
		struct cmsghdr *cm;
		struct worker_handoff h;
		int sock = -1;
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
		cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&sock, CMSG_DATA(cm), sizeof(int));
		memcpy(&h, buf, sizeof(h));
		if (sock < 0 || (size_t)n < sizeof(h) || h.len != (size_t)n - sizeof(h)) {
			log_err("worker: malformed handoff dropped");
			if (sock >= 0)
				close(sock);
			continue;
		}
		if (w->ndone == DONE_MAX)
			flush_done(w);
		start(w, &h, buf + sizeof(h), sock);
	}
}

/* Fire the timers that are due; keys that were early get the real
 * deadline. */
static void run_timers(struct worker *w, uint64_t now)
{
	while (w->nheap && w->heap[0].key <= now) {
		struct wx *x = w->heap[0].x;

		if (x->t.s.deadline_us <= now) {
			/* What is queued first: it may be the ACK that makes
			 * the resend needless (a busy worker reads late). */
			xfer_receive(&x->t, &w->rx, xfer_rx_want(&x->t), MSG_DONTWAIT);
			if (!xfer_done(&x->t) && x->t.s.deadline_us <= now)
				xfer_on_timeout(&x->t, now);
			if (xfer_done(&x->t)) {
				heap_remove(w, x);
				finish(w, x, now);
				continue;
			}
			watch_room(w, x);
		}
		w->heap[0].key = x->t.s.deadline_us;
		heap_fix(w, 0);
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

	while (w->nheap) {
		struct wx *x = w->heap[w->nheap - 1].x;

		xfer_cancel(&x->t, "Server stopped");
		heap_remove(w, x);
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
	for (;;) {
		uint64_t now = xfer_now_us();
		int n;

		run_timers(w, now);
		flush_done(w);
		/* Retiring, with the last transfer ended (by a packet, a
		 * timer, or on start): nothing will wake us again. */
		if (w->retiring && !w->nheap)
			break;
		show_title(w);
		arm_timer(w);
		n = epoll_wait(w->ep, ev, EVENTS_MAX, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("worker: epoll: %m");
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
				xfer_receive(&x->t, &w->rx, xfer_rx_want(&x->t), MSG_DONTWAIT);
			settle(w, x, now);
		}
	}
	flush_done(w);
	return 0;
}
