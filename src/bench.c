/*
 * bench.c - the load generator: N get sessions at once in one epoll loop.
 *
 * Timers need no heap: every session re-arms with the same timeout, so a
 * deadline set now is never earlier than one set before, and a list kept
 * in arming order is sorted (the insertion still walks back from the tail,
 * so the list stays sorted even if that ever changes).  Delayed sends are
 * a FIFO for the same reason.  A session that finished keeps its socket
 * until its delayed datagrams (its final ACK) have gone out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* ---- Hash ---------------------------------------------------------------- */

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

/* Host byte order: values are only compared within one process. */
static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t mix_round(uint64_t acc, uint64_t in)
{
	return rotl(acc + in * P2, 31) * P1;
}

static void stripe(struct bench_hash *h, const uint8_t *p)
{
	for (int i = 0; i < 4; i++)
		h->lane[i] = mix_round(h->lane[i], rd64(p + 8 * i));
}

void bench_hash_init(struct bench_hash *h)
{
	memset(h, 0, sizeof(*h));
	h->lane[0] = P1 + P2;
	h->lane[1] = P2;
	h->lane[2] = 0;
	h->lane[3] = -P1;
}

void bench_hash_update(struct bench_hash *h, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!len)
		return;	/* data may be NULL then */
	h->total += len;
	if (h->tail_len) {
		size_t take = 32 - h->tail_len < len ? 32 - h->tail_len : len;

		memcpy(h->tail + h->tail_len, p, take);
		h->tail_len += (unsigned)take;
		p += take;
		len -= take;
		if (h->tail_len < 32)
			return;
		stripe(h, h->tail);
		h->tail_len = 0;
	}
	for (; len >= 32; p += 32, len -= 32)
		stripe(h, p);
	memcpy(h->tail, p, len);
	h->tail_len = (unsigned)len;
}

uint64_t bench_hash_final(const struct bench_hash *h)
{
	const uint8_t *p = h->tail, *end = p + h->tail_len;
	uint64_t v;

	if (h->total >= 32) {
		v = rotl(h->lane[0], 1) + rotl(h->lane[1], 7) + rotl(h->lane[2], 12) + rotl(h->lane[3], 18);
		for (int i = 0; i < 4; i++)
			v = (v ^ mix_round(0, h->lane[i])) * P1 + P4;
	} else {
		v = P5;
	}
	v += h->total;
	for (; end - p >= 8; p += 8)
		v = rotl(v ^ mix_round(0, rd64(p)), 27) * P1 + P4;
	if (end - p >= 4) {
		v = rotl(v ^ (uint64_t)rd32(p) * P1, 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++)
		v = rotl(v ^ *p * P5, 11) * P1;
	v ^= v >> 33;
	v *= P2;
	v ^= v >> 29;
	v *= P3;
	return v ^ v >> 32;
}

/* ---- Statistics ---------------------------------------------------------- */

uint64_t bench_percentile(const uint64_t *sorted, size_t n, unsigned permille)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (size_t)(((uint64_t)permille * n + 999) / 1000);
	if (rank < 1)
		rank = 1;
	return sorted[(rank > n ? n : rank) - 1];
}

int bench_stats_add(struct bench_stats *st, enum client_status status, uint64_t bytes,
		    uint64_t retransmits, bool request_resent, uint64_t latency_us)
{
	st->sessions++;
	st->by_status[status]++;
	st->bytes += bytes;
	st->retransmits += retransmits;
	if (status != CLIENT_OK) {
		st->failed++;
		return 0;
	}
	st->completed++;
	if (!request_resent)
		st->first_try++;
	if (st->n_latency == st->cap_latency) {
		size_t cap = st->cap_latency ? 2 * st->cap_latency : 1024;
		uint64_t *p = realloc(st->latency_us, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		st->latency_us = p;
		st->cap_latency = cap;
	}
	st->latency_us[st->n_latency++] = latency_us;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

char *bench_summary(struct bench_stats *st, char *buf, size_t size)
{
	double secs = (double)st->elapsed_us / 1e6;
	size_t n = st->n_latency;

	if (n)
		qsort(st->latency_us, n, sizeof(*st->latency_us), cmp_u64);
	snprintf(buf, size,
		 "sessions=%" PRIu64 " completed=%" PRIu64 " failed=%" PRIu64 " bytes=%" PRIu64
		 " seconds=%.3f MiBps=%.2f tps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f"
		 " retransmits=%" PRIu64 " first_try=%" PRIu64
		 " timeouts=%" PRIu64 " server_errors=%" PRIu64 " verify_failed=%" PRIu64,
		 st->sessions, st->completed, st->failed, st->bytes, secs,
		 secs > 0 ? (double)st->bytes / 1048576.0 / secs : 0.0,
		 secs > 0 ? (double)st->completed / secs : 0.0,
		 (double)bench_percentile(st->latency_us, n, 500) / 1000.0,
		 (double)bench_percentile(st->latency_us, n, 990) / 1000.0,
		 n ? (double)st->latency_us[n - 1] / 1000.0 : 0.0,
		 st->retransmits, st->first_try, st->by_status[CLIENT_ETIMEOUT],
		 st->by_status[CLIENT_EREMOTE], st->by_status[CLIENT_EVERIFY]);
	return buf;
}

/* ---- The run ------------------------------------------------------------- */

#define RX_BATCH 32
#define EVENTS_MAX 256
#define FAILURES_SHOWN 3

struct bench;

struct slot {
	struct bench *b;
	struct client_session cs;
	int fd;				/* -1: free */
	bool done;			/* counted; waits for its delayed sends */
	unsigned pending;		/* delayed datagrams not sent yet */
	uint64_t id, start_us;
	struct bench_hash hash;
	uint64_t rng;
	struct slot *tprev, *tnext;	/* timer list, by deadline */
	uint64_t tdue;			/* UINT64_MAX: not in the list */
};

struct delayed {
	struct delayed *next;
	uint64_t due;
	struct slot *sl;
	union sockaddr_any to;
	socklen_t tolen;
	size_t len;
	uint8_t buf[];
};

struct bench {
	const struct bench_conf *bc;
	union sockaddr_any server;
	socklen_t server_len;
	int ep;
	struct slot *slots;
	struct slot *thead, *ttail;
	struct delayed *dhead, *dtail;
	uint64_t now, t0;
	uint64_t started;
	unsigned active;		/* slots with a socket */
	bool stop;			/* start no more sessions */
	uint64_t want_size, want_hash;	/* --verify-file */
	int rcvbuf;
	uint8_t *rx;
	size_t rx_size;
	struct mmsghdr msg[RX_BATCH];
	struct iovec iov[RX_BATCH];
	union sockaddr_any from[RX_BATCH];
	struct bench_stats st;
	FILE *csv;
	unsigned shown;			/* failures printed */
	enum client_status first_failure;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* splitmix64: small, fast, and the same sequence for the same seed. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static bool lose(struct slot *sl)
{
	double p = sl->b->bc->loss;

	return p > 0 && (double)(rng_next(&sl->rng) >> 11) * 0x1.0p-53 < p;
}

/* ---- Timers ---- */

static void timer_unlink(struct bench *b, struct slot *sl)
{
	if (sl->tdue == UINT64_MAX)
		return;
	*(sl->tprev ? &sl->tprev->tnext : &b->thead) = sl->tnext;
	*(sl->tnext ? &sl->tnext->tprev : &b->ttail) = sl->tprev;
	sl->tprev = sl->tnext = NULL;
	sl->tdue = UINT64_MAX;
}

/* Put the session where its deadline belongs, walking back from the tail. */
static void timer_update(struct bench *b, struct slot *sl)
{
	uint64_t due = client_deadline(&sl->cs);
	struct slot *after;

	if (due == sl->tdue)
		return;
	timer_unlink(b, sl);
	if (due == UINT64_MAX)
		return;
	for (after = b->ttail; after && after->tdue > due; after = after->tprev)
		;
	sl->tdue = due;
	sl->tprev = after;
	sl->tnext = after ? after->tnext : b->thead;
	*(sl->tnext ? &sl->tnext->tprev : &b->ttail) = sl;
	*(after ? &after->tnext : &b->thead) = sl;
}

/* ---- Session I/O ---- */

static int bench_send(void *arg, const void *buf, size_t len, const struct sockaddr *to, socklen_t tolen)
{
	struct slot *sl = arg;
	struct bench *b = sl->b;
	struct delayed *d;

	if (packet_opcode(buf, len) == OP_ACK && lose(sl))
		return 0;	/* lost on the way */
	if (!b->bc->delay_us)
		return sendto(sl->fd, buf, len, 0, to, tolen) < 0 ? -errno : 0;
	d = malloc(sizeof(*d) + len);
	if (!d)
		return -ENOMEM;
	d->next = NULL;
	d->due = b->now + b->bc->delay_us;
	d->sl = sl;
	memcpy(&d->to, to, tolen);
	d->tolen = tolen;
	d->len = len;
	memcpy(d->buf, buf, len);
	*(b->dtail ? &b->dtail->next : &b->dhead) = d;
	b->dtail = d;
	sl->pending++;
	return 0;
}

static int bench_write(void *arg, const uint8_t *buf, size_t len)
{
	struct slot *sl = arg;

	bench_hash_update(&sl->hash, buf, len);
	return 0;
}

static ssize_t bench_read(void *arg, uint8_t *buf, size_t len)
{
	return -EINVAL;	/* the bench only gets */
}

static const struct client_io bench_io = { bench_send, bench_write, bench_read, NULL };

/* ---- Session life ---- */

static void release(struct bench *b, struct slot *sl)
{
	client_free(&sl->cs);
	close(sl->fd);	/* also leaves the epoll set */
	sl->fd = -1;
	b->active--;
}

/* Check the content of a completed session. */
static void verify(struct bench *b, struct slot *sl)
{
	const struct bench_conf *bc = b->bc;
	struct client_session *cs = &sl->cs;

	if (bc->verify_file) {
		if (cs->bytes != b->want_size)
			snprintf(cs->error, sizeof(cs->error), "received %" PRIu64 " bytes, %s has %" PRIu64,
				 cs->bytes, bc->verify_file, b->want_size);
		else if (bench_hash_final(&sl->hash) != b->want_hash)
			snprintf(cs->error, sizeof(cs->error), "content differs from %s", bc->verify_file);
		else
			return;
	} else if (bc->expect_size_set && cs->bytes != bc->expect_size) {
		snprintf(cs->error, sizeof(cs->error), "received %" PRIu64 " bytes, expected %" PRIu64,
			 cs->bytes, bc->expect_size);
	} else {
		return;
	}
	cs->status = CLIENT_EVERIFY;
}

/* Count a finished session: verify it, add it up, log it. */
static void record(struct bench *b, struct slot *sl)
{
	struct client_session *cs = &sl->cs;
	uint64_t latency = cs->end_us - sl->start_us;

	if (cs->status == CLIENT_OK)
		verify(b, sl);
	if (bench_stats_add(&b->st, cs->status, cs->bytes, client_retransmits(cs), cs->request_resent, latency) < 0)
		b->stop = true;
	if (cs->status != CLIENT_OK) {
		if (b->st.failed == 1)
			b->first_failure = cs->status;
		if (!b->bc->quiet && b->shown++ < FAILURES_SHOWN)
			fprintf(stderr, "snow-owl: bench: session %" PRIu64 ": %s\n", sl->id, cs->error);
	}
	if (b->csv)
		fprintf(b->csv, "%" PRIu64 ",%.3f,%.3f,%" PRIu64 ",%" PRIu64 ",%s\n", sl->id,
			(double)(sl->start_us - b->t0) / 1000.0, (double)latency / 1000.0, cs->bytes,
			client_retransmits(cs), client_status_name(cs->status));
}

static void complete(struct bench *b, struct slot *sl)
{
	record(b, sl);
	sl->done = true;
	timer_unlink(b, sl);
	if (!sl->pending)
		release(b, sl);
}

/* After the session handled an event: finish it or move its timer. */
static void settle(struct bench *b, struct slot *sl)
{
	if (sl->done)
		return;
	if (client_done(&sl->cs))
		complete(b, sl);
	else
		timer_update(b, sl);
}

static bool may_start(struct bench *b)
{
	const struct bench_conf *bc = b->bc;

	if (b->stop || got_signal)
		return false;
	if (bc->sessions && b->started >= bc->sessions)
		return false;
	return !bc->duration_us || b->now - b->t0 < bc->duration_us;
}

static void start(struct bench *b, struct slot *sl, unsigned index)
{
	struct client_io io = bench_io;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = index };

	memset(sl, 0, sizeof(*sl));
	sl->b = b;
	sl->tdue = UINT64_MAX;
	sl->id = b->started++;
	sl->start_us = b->now;
	sl->rng = b->bc->seed ^ rng_next(&(uint64_t){ sl->id });
	bench_hash_init(&sl->hash);
	io.arg = sl;
	sl->fd = client_socket(b->server.sa.sa_family, b->rcvbuf);
	if (sl->fd >= 0 && epoll_ctl(b->ep, EPOLL_CTL_ADD, sl->fd, &ev) < 0) {
		int err = -errno;

		close(sl->fd);
		sl->fd = err;
	}
	if (sl->fd < 0) {
		/* Out of descriptors or memory: count the session as failed
		 * and start no more. */
		sl->cs.status = CLIENT_ELOCAL;
		sl->cs.start_us = sl->cs.end_us = b->now;
		snprintf(sl->cs.error, sizeof(sl->cs.error), "socket: %s", strerror(-sl->fd));
		sl->fd = -1;
		record(b, sl);
		b->stop = true;
		return;
	}
	b->active++;
	client_start(&sl->cs, &b->bc->conf, &io, &b->server.sa, b->server_len, b->now);
	settle(b, sl);
}

static void start_sessions(struct bench *b)
{
	for (unsigned i = 0; i < b->bc->concurrency && may_start(b); i++)
		if (b->slots[i].fd < 0)
			start(b, &b->slots[i], i);
}

static void receive(struct bench *b, struct slot *sl)
{
	while (!sl->done) {
		int n = recvmmsg(sl->fd, b->msg, RX_BATCH, MSG_DONTWAIT, NULL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
				continue;
			client_abort(&sl->cs, CLIENT_ELOCAL, "cannot receive");
			settle(b, sl);
			return;
		}
		b->now = now_us();
		for (int i = 0; i < n && !client_done(&sl->cs); i++) {
			size_t len = b->msg[i].msg_len;

			if (b->msg[i].msg_hdr.msg_flags & MSG_TRUNC)
				len = b->rx_size;	/* longer than any valid datagram */
			if (packet_opcode(b->iov[i].iov_base, len) == OP_DATA && lose(sl))
				continue;
			client_on_packet(&sl->cs, b->iov[i].iov_base, len, &b->from[i].sa,
					 b->msg[i].msg_hdr.msg_namelen, b->now);
		}
		for (int i = 0; i < n; i++)
			b->msg[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
		settle(b, sl);
		if (n < RX_BATCH)
			return;
	}
}

static void run_delayed(struct bench *b)
{
	struct delayed *d;

	while ((d = b->dhead) && d->due <= b->now) {
		struct slot *sl = d->sl;

		b->dhead = d->next;
		if (!b->dhead)
			b->dtail = NULL;
		(void)sendto(sl->fd, d->buf, d->len, 0, &d->to.sa, d->tolen);
		free(d);
		if (--sl->pending == 0 && sl->done)
			release(b, sl);
	}
}

static void run_timers(struct bench *b)
{
	struct slot *sl;

	while ((sl = b->thead) && sl->tdue <= b->now) {
		timer_unlink(b, sl);
		/* What is queued for it first: with thousands of sessions
		 * the load generator falls behind, and the answer may have
		 * come in time, behind other sessions' datagrams that this
		 * loop has not reached yet.  A resend then would measure
		 * this process, not the server. */
		receive(b, sl);
		if (!sl->done && client_deadline(&sl->cs) <= b->now)
			client_on_timeout(&sl->cs, b->now);
		settle(b, sl);
	}
}

/* Milliseconds to the next thing to do, for epoll_wait (-1: none). */
static int next_wait(struct bench *b)
{
	uint64_t next = UINT64_MAX;

	if (b->thead)
		next = b->thead->tdue;
	if (b->dhead && b->dhead->due < next)
		next = b->dhead->due;
	if (b->bc->duration_us && may_start(b) && b->t0 + b->bc->duration_us < next)
		next = b->t0 + b->bc->duration_us;
	if (next == UINT64_MAX)
		return -1;
	if (next <= b->now)
		return 0;
	return (int)((next - b->now + 999) / 1000);
}

static void loop(struct bench *b)
{
	struct epoll_event ev[EVENTS_MAX];
	bool aborted = false;

	for (;;) {
		int n;

		b->now = now_us();
		if (got_signal && !aborted) {
			/* Stop: end every session and report what was done. */
			aborted = true;
			for (unsigned i = 0; i < b->bc->concurrency; i++) {
				struct slot *sl = &b->slots[i];

				if (sl->fd >= 0 && !sl->done) {
					sl->cs.end_us = b->now;
					client_abort(&sl->cs, CLIENT_ELOCAL, "interrupted");
					settle(b, sl);
				}
			}
		}
		start_sessions(b);
		if (!b->active)
			break;
		n = epoll_wait(b->ep, ev, EVENTS_MAX, next_wait(b));
		if (n < 0 && errno != EINTR) {
			perror("snow-owl: epoll_wait");
			b->stop = true;
			got_signal = SIGTERM;
			continue;
		}
		b->now = now_us();
		for (int i = 0; i < n; i++) {
			struct slot *sl = &b->slots[ev[i].data.u32];

			if (sl->fd >= 0 && !sl->done)
				receive(b, sl);
		}
		b->now = now_us();
		run_delayed(b);
		run_timers(b);
	}
}

/* ---- Set-up ---- */

static int hash_file(const char *path, uint64_t *size, uint64_t *hash)
{
	struct bench_hash h;
	uint8_t *buf = malloc(1 << 20);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0 || !buf) {
		err = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	bench_hash_init(&h);
	while ((n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		bench_hash_update(&h, buf, (size_t)n);
	}
	*size = h.total;
	*hash = bench_hash_final(&h);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

/* Every session needs a descriptor at once (a boot storm starts them all
 * together): raise the soft limit, and the hard one when allowed. */
static int raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		struct rlimit hard = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &hard) == 0)
			return 0;
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		return -EMFILE;
	}
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static int setup(struct bench *b, struct bench_conf *bc)
{
	int err;

	bc->conf.file = bc->uri.file;
	if (!bc->sessions && !bc->duration_us)
		bc->sessions = bc->concurrency;
	if (!bc->seed_set && getrandom(&bc->seed, sizeof(bc->seed), 0) != sizeof(bc->seed))
		bc->seed = (uint64_t)now_us();
	b->bc = bc;
	b->ep = -1;
	if (client_resolve(&bc->uri, &b->server, &b->server_len) < 0) {
		fprintf(stderr, "snow-owl: cannot resolve host '%s'\n", bc->uri.host);
		return CLIENT_EUSAGE;
	}
	if (bc->verify_file) {
		err = hash_file(bc->verify_file, &b->want_size, &b->want_hash);
		if (err < 0) {
			fprintf(stderr, "snow-owl: %s: %s\n", bc->verify_file, strerror(-err));
			return CLIENT_ELOCAL;
		}
	}
	if (bc->csv) {
		b->csv = fopen(bc->csv, "we");
		if (!b->csv) {
			fprintf(stderr, "snow-owl: %s: %s\n", bc->csv, strerror(errno));
			return CLIENT_ELOCAL;
		}
	}
	err = raise_nofile((rlim_t)bc->concurrency + 32);
	if (err < 0)
		fprintf(stderr, "snow-owl: cannot raise the open file limit to %u: %s\n",
			bc->concurrency + 32, strerror(-err));
	b->ep = epoll_create1(EPOLL_CLOEXEC);
	b->slots = calloc(bc->concurrency, sizeof(*b->slots));
	b->rx_size = client_rx_size(&bc->conf);
	b->rx = malloc(b->rx_size * RX_BATCH);
	if (b->ep < 0 || !b->slots || !b->rx) {
		fprintf(stderr, "snow-owl: cannot set up: %s\n", strerror(errno));
		return CLIENT_ELOCAL;
	}
	for (unsigned i = 0; i < bc->concurrency; i++)
		b->slots[i].fd = -1;
	for (unsigned i = 0; i < RX_BATCH; i++) {
		b->iov[i] = (struct iovec){ b->rx + i * b->rx_size, b->rx_size };
		b->msg[i].msg_hdr = (struct msghdr){ .msg_name = &b->from[i], .msg_namelen = sizeof(b->from[i]),
						     .msg_iov = &b->iov[i], .msg_iovlen = 1 };
	}
	/* One thread reads every socket: give each room for several windows
	 * while it serves the others (a limit, not memory taken). */
	uint64_t window = 4 * client_window_bytes(&bc->conf);

	b->rcvbuf = window < (1 << 20) ? 1 << 20 : window > (8 << 20) ? 8 << 20 : (int)window;
	return 0;
}

int bench_run(struct bench_conf *bc)
{
	struct bench b = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	char line[512];
	int status;

	status = setup(&b, bc);
	if (status)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	b.t0 = b.now = now_us();
	loop(&b);
	b.st.elapsed_us = now_us() - b.t0;
	printf("%s\n", bench_summary(&b.st, line, sizeof(line)));
	fflush(stdout);
	if (!bc->quiet && b.shown > FAILURES_SHOWN)
		fprintf(stderr, "snow-owl: bench: %u more failed sessions not shown\n", b.shown - FAILURES_SHOWN);
	status = b.st.failed ? (int)b.first_failure : CLIENT_OK;
	if (got_signal && !status)
		status = CLIENT_ELOCAL;
out:
	if (b.csv && fclose(b.csv) != 0 && !status) {
		fprintf(stderr, "snow-owl: %s: %s\n", bc->csv, strerror(errno));
		status = CLIENT_ELOCAL;
	}
	if (b.ep >= 0)
		close(b.ep);
	free(b.slots);
	free(b.rx);
	free(b.st.latency_us);
	return status;
}
