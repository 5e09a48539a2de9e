/*
 * Unit tests for src/session.c, the transfer core shared by the server
 * and the client, driven by scripted event sequences on a virtual clock:
 * a sender session and a receiver session joined by a simulated link
 * that loses, duplicates, delays and reorders datagrams as a script says.
 */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "options.h"
#include "packet.h"
#include "session.h"

/* ---- A simulated link ---- */

enum kind { K_DATA, K_ACK };

struct pkt {
	uint64_t at;		/* delivery time */
	enum kind kind;
	uint16_t w;		/* wire block number */
	uint32_t len;		/* DATA payload */
	uint64_t seq;		/* order of sending */
};

struct link {
	struct pkt *q;
	size_t n, cap;
	uint64_t seq;
	uint64_t rng;
	unsigned loss_ppm, dup_ppm;	/* per datagram */
	uint64_t delay_us;		/* one way */
	unsigned late_ppm;		/* datagrams held back ... */
	uint64_t jitter_us;		/* ... by up to this much (reorders) */
	unsigned spike_every;		/* one sending moment in this many ... */
	uint64_t spike_us;		/* ... is spike_us to 2 * spike_us later */
	unsigned sends;
	uint64_t spike_at, spike_extra;
	uint64_t lost, duplicated;
};

static uint64_t rnd(struct link *l)
{
	/* xorshift64*: deterministic per seed */
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	return l->rng * 2685821657736338717ull;
}

/* The link is a heap by delivery time, then by order of sending. */
static bool before(const struct pkt *a, const struct pkt *b)
{
	return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void push(struct link *l, struct pkt p)
{
	size_t i;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->q = realloc(l->q, l->cap * sizeof(*l->q));
		if (!l->q)
			abort();
	}
	p.seq = l->seq++;
	for (i = l->n++; i > 0 && before(&p, &l->q[(i - 1) / 2]); i = (i - 1) / 2)
		l->q[i] = l->q[(i - 1) / 2];
	l->q[i] = p;
}

static void transmit(struct link *l, uint64_t now, enum kind kind, uint16_t w, uint32_t len)
{
	unsigned copies = 1;

	if (l->loss_ppm && rnd(l) % 1000000 < l->loss_ppm) {
		l->lost++;
		return;
	}
	if (l->dup_ppm && rnd(l) % 1000000 < l->dup_ppm) {
		copies = 2;
		l->duplicated++;
	}
	for (unsigned i = 0; i < copies; i++) {
		uint64_t at = now + l->delay_us;

		if (l->late_ppm && rnd(l) % 1000000 < l->late_ppm)
			at += 1 + rnd(l) % l->jitter_us;

		/* A spike holds back what was sent at one moment (a window)
		 * together: the sender itself was late. */
		if (l->spike_every && now != l->spike_at) {
			l->spike_at = now;
			l->spike_extra = ++l->sends % l->spike_every == 0 ? l->spike_us + rnd(l) % (l->spike_us + 1) : 0;
		}
		at += l->spike_extra;
		push(l, (struct pkt){ .at = at, .kind = kind, .w = w, .len = len });
	}
}

/* The earliest datagram due by now, taken off the link. */
static bool take(struct link *l, uint64_t now, struct pkt *out)
{
	struct pkt last;
	size_t i = 0;

	if (!l->n || l->q[0].at > now)
		return false;
	*out = l->q[0];
	last = l->q[--l->n];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->n)
			break;
		if (c + 1 < l->n && before(&l->q[c + 1], &l->q[c]))
			c++;
		if (!before(&l->q[c], &last))
			break;
		l->q[i] = l->q[c];
		i = c;
	}
	if (l->n)
		l->q[i] = last;
	return true;
}

static uint64_t next_at(const struct link *l)
{
	return l->n ? l->q[0].at : UINT64_MAX;
}

/* ---- A transfer: a sender and a receiver session ---- */

struct run {
	unsigned blksize, windowsize, rollover;
	uint64_t size;			/* file bytes */
	bool upload;			/* the client sends: its timer is fixed, the
					 * server's (the receiver's) adaptive */
	struct link to_rx, to_tx;	/* DATA, ACKs */
	/* results */
	bool complete, gave_up, broken;
	uint64_t taken, bytes_in, end_us;
	uint64_t tx_resent, rx_resent;
	char why[400];
};

static void broken(struct run *r, const char *why)
{
	if (!r->broken)
		snprintf(r->why, sizeof(r->why), "%s", why);
	r->broken = true;
}

static void tx_window(struct session *tx, struct run *r, uint64_t now)
{
	uint64_t first, upto, end = sess_window_end(tx), blocks = r->size / r->blksize + 1;

	while (tx->filled < end && !tx->eof) {
		uint64_t b = tx->filled + 1, off = (b - 1) * r->blksize;
		uint64_t len = r->size - off < r->blksize ? r->size - off : r->blksize;

		*sess_slot_len(tx, b) = (uint32_t)len;
		tx->filled = b;
		if (b == blocks)
			sess_mark_last(tx, b);
	}
	sess_window(tx, now, &first, &upto);
	if (first > upto + 1 || upto > tx->filled)
		broken(r, "window beyond the ring");
	for (uint64_t b = first; b <= upto; b++)
		transmit(&r->to_rx, now, K_DATA, win_wire(b, r->rollover), *sess_slot_len(tx, b));
}

static void check_invariants(const struct session *tx, const struct session *rx, struct run *r)
{
	if (!(tx->acked <= tx->sent && tx->sent <= tx->filled && tx->sent <= tx->acked + tx->windowsize))
		broken(r, "sender: acked <= sent <= filled, sent within the window");
	if (tx->eof && tx->sent > tx->last)
		broken(r, "sender: nothing beyond the last block");
	if (rx->ack_sent > rx->received || rx->received > tx->sent)
		broken(r, "receiver: ACKs only what it took, takes only what was sent");
	if (tx->acked > rx->received)
		broken(r, "sender: acknowledged only what the receiver took");
}

static void run(struct run *r)
{
	struct session tx, rx;
	uint64_t now = 1000000, prev, k;
	bool rx_done = false;

	/* The server as snow-owld's defaults set it, the client as the
	 * snow-owl tool's (a fixed timeout of 1 s, 5 retries). */
	struct session *srv = r->upload ? &rx : &tx, *cli = r->upload ? &tx : &rx;

	sess_init(srv, 250000, 2000, 5000000, now);
	srv->max_retries = 10;
	srv->giveup_us = 30000000;
	sess_init(cli, 1000000, 1000000, 1000000, now);
	cli->fixed_us = 1000000;
	cli->max_retries = 5;
	tx.blksize = rx.blksize = r->blksize;
	tx.windowsize = rx.windowsize = r->windowsize;
	tx.rollover = rx.rollover = r->rollover;
	tx.verified = rx.verified = true;
	if (sess_ring_alloc(&tx, r->windowsize, PACKET_HDR + r->blksize) < 0)
		abort();
	/* The receiver's ACK 0 (a WRQ's answer, or an RRQ's ACK of its OACK) */
	tx.opening = true;
	sess_ack_sent(&rx, 0);
	sess_arm(&rx, now);
	transmit(&r->to_tx, now, K_ACK, 0, 0);

	for (int steps = 0; !r->complete && !r->gave_up && !r->broken; steps++) {
		struct pkt p;
		uint64_t t;

		if (steps > 50000000) {
			broken(r, "no end");
			break;
		}
		if (take(&r->to_rx, now, &p)) {
			if (rx_done)
				continue;	/* the receiver has gone */
			switch (sess_on_data(&rx, p.w, now, &k)) {
			case SESS_DATA_DROP:
				break;
			case SESS_DATA_ACK:
				sess_ack_sent(&rx, rx.received);
				transmit(&r->to_tx, now, K_ACK, win_wire(rx.received, r->rollover), 0);
				break;
			case SESS_DATA_NEW:
				if (k != rx.received + 1)
					broken(r, "a block taken out of order");
				r->taken++;
				r->bytes_in += p.len;
				if (sess_data_taken(&rx, k, p.len < r->blksize, now)) {
					sess_ack_sent(&rx, k);
					transmit(&r->to_tx, now, K_ACK, win_wire(k, r->rollover), 0);
				}
				break;
			}
		} else if (take(&r->to_tx, now, &p)) {
			switch (sess_on_ack(&tx, p.w, now, &prev)) {
			case SESS_ACK_IGNORE:
				break;
			case SESS_ACK_DONE:
				r->complete = true;
				r->end_us = now;
				break;
			case SESS_ACK_SLIDE:
				tx_window(&tx, r, now);
				break;
			}
		} else {
			/* Nothing due: the clock jumps to the next event. */
			t = next_at(&r->to_rx);
			if (next_at(&r->to_tx) < t)
				t = next_at(&r->to_tx);
			if (tx.deadline_us < t)
				t = tx.deadline_us;
			if (!rx_done && rx.deadline_us < t)
				t = rx.deadline_us;
			if (t == UINT64_MAX) {
				broken(r, "stalled: nothing in flight and no timer");
				break;
			}
			now = t;
			switch (sess_on_timeout(&tx, now)) {
			case SESS_T_RESEND:
				if (tx.opening)
					break;	/* the OACK would go again: not modelled */
				tx_window(&tx, r, now);
				break;
			case SESS_T_GIVEUP:
				r->gave_up = true;
				snprintf(r->why, sizeof(r->why), "sender at %" PRIu64 ": acked %" PRIu64 " sent %" PRIu64
					 " tries %u timeout %" PRIu64 " us; receiver took %" PRIu64 ", ACKed %" PRIu64,
					 now, tx.acked, tx.sent, tx.tries, sess_timeout_us(&tx), rx.received, rx.ack_sent);
				break;
			default:
				break;
			}
			if (!rx_done) {
				switch (sess_on_timeout(&rx, now)) {
				case SESS_T_RESEND:
					k = sess_resend_ack(&rx, now);
					sess_ack_sent(&rx, k);
					transmit(&r->to_tx, now, K_ACK, win_wire(k, r->rollover), 0);
					break;
				case SESS_T_DALLY_END:
					rx_done = true;
					break;
				case SESS_T_GIVEUP:
					r->gave_up = true;
					snprintf(r->why, sizeof(r->why), "receiver at %" PRIu64 ": took %" PRIu64 " ACKed %" PRIu64
						 " tries %u timeout %" PRIu64 " us; sender acked %" PRIu64 " sent %" PRIu64
						 " deadline %" PRIu64 " tries %u timeout %" PRIu64 " backoff %u",
						 now, rx.received, rx.ack_sent, rx.tries, sess_timeout_us(&rx), tx.acked, tx.sent,
						 tx.deadline_us, tx.tries, sess_timeout_us(&tx), tx.rto.backoff);
					break;
				default:
					break;
				}
			}
		}
		check_invariants(&tx, &rx, r);
	}
	if (r->complete && (tx.wire_acked != r->size || rx.received != r->size / r->blksize + 1))
		broken(r, "complete, but not every byte acknowledged and taken");
	r->tx_resent = tx.retransmits;
	r->rx_resent = rx.retransmits;
	sess_ring_free(&tx);
	free(r->to_rx.q);
	free(r->to_tx.q);
}

static void setup(struct run *r, unsigned blksize, unsigned windowsize, unsigned rollover, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->blksize = blksize;
	r->windowsize = windowsize;
	r->rollover = rollover;
	r->size = size;
	r->to_rx.rng = 0x9e3779b97f4a7c15ull ^ (size * 31 + windowsize);
	r->to_tx.rng = 0xd1b54a32d192ed03ull ^ (size * 17 + windowsize * 7 + rollover);
	r->to_rx.delay_us = r->to_tx.delay_us = 25;
}

static void report(struct run *r, const char *what)
{
	ok(r->complete && !r->broken && !r->gave_up && r->bytes_in == r->size,
	   "%s: complete, %" PRIu64 " blocks taken in order (resent %" PRIu64 " DATA, %" PRIu64 " ACK)",
	   what, r->taken, r->tx_resent, r->rx_resent);
	if (r->broken || r->gave_up || !r->complete)
		printf("#   %s%s\n", r->gave_up ? "gave up; " : "", r->why);
}

/* A clean link, every window size class, across the wrap of block numbers. */
static void test_clean(void)
{
	static const unsigned wins[] = { 1, 4, 16, 64, 1024, OPT_WINDOWSIZE_SAFE };

	for (unsigned ro = 0; ro <= 1; ro++)
		for (size_t i = 0; i < sizeof(wins) / sizeof(wins[0]); i++) {
			struct run r;
			char what[96];

			/* 140000 blocks of 8 bytes: past block 65535 twice */
			setup(&r, 8, wins[i], ro, 140000ull * 8 + 3);
			r.upload = ro;
			run(&r);
			snprintf(what, sizeof(what), "clean %s, w%u, rollover %u, two wraps", ro ? "upload" : "download",
				 wins[i], ro);
			report(&r, what);
			is_int(r.tx_resent + r.rx_resent, 0, "%s: nothing resent", what);
		}
}

/* Loss, duplicates and reordering, in both directions, downloads and uploads. */
static void test_impaired(void)
{
	static const struct { unsigned loss, dup, late; } cases[] = {
		{ 10000, 0, 0 },		/* 1% lost */
		{ 100000, 0, 0 },		/* 10% lost */
		{ 0, 50000, 0 },		/* 5% duplicated */
		{ 0, 0, 10000 },		/* 1% late by up to 200 us: reordered */
		{ 20000, 20000, 20000 },	/* all at once */
	};
	static const unsigned wins[] = { 1, 16, 64, 1024 };

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t i = 0; i < sizeof(wins) / sizeof(wins[0]); i++)
			for (unsigned up = 0; up <= 1; up++) {
				struct run r;
				char what[128];
				unsigned ro = (unsigned)(c + i) & 1;

				/* past the wrap of block numbers when the window is large */
				setup(&r, 16, wins[i], ro, (wins[i] >= 64 ? 70000ull : 3000ull) * 16 + 5);
				r.upload = up;
				r.to_rx.loss_ppm = r.to_tx.loss_ppm = cases[c].loss;
				r.to_rx.dup_ppm = r.to_tx.dup_ppm = cases[c].dup;
				r.to_rx.late_ppm = r.to_tx.late_ppm = cases[c].late;
				r.to_rx.jitter_us = r.to_tx.jitter_us = 200;
				run(&r);
				snprintf(what, sizeof(what), "%s, lost %.0f%%, dup %.0f%%, late %.0f%%, w%u, rollover %u",
					 up ? "upload" : "download", cases[c].loss / 1e4, cases[c].dup / 1e4,
					 cases[c].late / 1e4, wins[i], ro);
				report(&r, what);
				if (!cases[c].loss && !cases[c].late)
					is_int(r.tx_resent + r.rx_resent, 0, "%s: a duplicate never causes a resend", what);
			}
}

/*
 * A receiver whose ACKs are late now and then (boot firmware: one in 500
 * by 5-20 ms, the rest in 50 us) is never resent to; real loss on such a
 * path is still recovered within a few round trips.
 */
static void test_slow_acks(void)
{
	static const unsigned wins[] = { 1, 16 };

	for (size_t i = 0; i < 2; i++) {
		struct run r;
		char what[96];

		setup(&r, 1468, wins[i], 0, 8u << 20);
		r.to_tx.spike_every = 500;
		r.to_tx.spike_us = 10000;	/* 10-20 ms */
		run(&r);
		snprintf(what, sizeof(what), "8 MiB, w%u, 1 ACK in 500 late by 10-20 ms", wins[i]);
		report(&r, what);
		is_int(r.tx_resent + r.rx_resent, 0, "%s: nothing resent", what);

		/* an upload: the server's ACKs are prompt, the client's DATA
		 * comes late now and then */
		setup(&r, 1468, wins[i], 0, 8u << 20);
		r.upload = true;
		r.to_rx.spike_every = 500;
		r.to_rx.spike_us = 10000;
		run(&r);
		snprintf(what, sizeof(what), "8 MiB upload, w%u, 1 window in 500 late by 10-20 ms", wins[i]);
		report(&r, what);
		is_int(r.tx_resent + r.rx_resent, 0, "%s: nothing resent", what);
	}
	{
		struct run r;
		uint64_t clean_us;

		/* 10 MiB, w16, 2 ms round trip: without loss, then 1% both ways */
		setup(&r, 1468, 16, 0, 10u << 20);
		r.to_rx.delay_us = r.to_tx.delay_us = 1000;
		run(&r);
		clean_us = r.end_us - 1000000;
		report(&r, "10 MiB, w16, 2 ms round trip");
		setup(&r, 1468, 16, 0, 10u << 20);
		r.to_rx.delay_us = r.to_tx.delay_us = 1000;
		r.to_rx.loss_ppm = r.to_tx.loss_ppm = 10000;
		run(&r);
		report(&r, "10 MiB, w16, 1% loss, 2 ms round trip");
		ok(r.end_us - 1000000 <= 1200000, "... in %.3f s of link time, at most 1.2 s (%.3f s without loss)",
		   (r.end_us - 1000000) / 1e6, clean_us / 1e6);
	}
}

/*
 * Stale ACKs at and around every wrap point: a sender at acked A with
 * a full window out takes a stale ACK (any block before A still within
 * reach of the 16-bit number) as nothing, the last ACK again as a
 * duplicate, and moves only on a block it has sent.
 */
static void test_stale_acks(void)
{
	static const unsigned wins[] = { 1, 2, 16, 1024, 16384, OPT_WINDOWSIZE_SAFE };
	static const uint64_t around[] = { 1, 65534, 65535, 65536, 65537, 131070, 131071, 131072, 196605 };
	unsigned bad = 0, checked = 0;

	for (unsigned ro = 0; ro <= 1; ro++)
		for (size_t i = 0; i < sizeof(wins) / sizeof(wins[0]); i++)
			for (size_t j = 0; j < sizeof(around) / sizeof(around[0]); j++)
				for (int64_t d = -3; d <= 3; d++) {
					unsigned win = wins[i];
					uint64_t a = around[j] + (uint64_t)d, prev;
					struct session s;

					if ((int64_t)around[j] + d < (int64_t)win)
						continue;
					sess_init(&s, 100000, 2000, 1000000, 0);
					s.windowsize = win;
					s.rollover = ro;
					if (sess_ring_alloc(&s, win, PACKET_HDR + 8) < 0)
						abort();
					memset(s.slot_len, 0, win * sizeof(*s.slot_len));
					s.acked = a;
					s.sent = s.filled = a + win;
					/* every block from a - (65535 - win) .. a - 1 is stale */
					for (uint64_t back = 1; back + win < 65535 && back <= a; back++) {
						checked++;
						if (sess_on_ack(&s, win_wire(a - back, ro), 1000, &prev) != SESS_ACK_IGNORE ||
						    s.acked != a || s.sent != a + win)
							bad++;
					}
					{
						struct session c = s;

						checked++;
						if (sess_on_ack(&c, win_wire(a, ro), 1000, &prev) != SESS_ACK_IGNORE)
							bad++;
					}
					/* each block of the window (the first and last
					 * 64 of a larger one: the slide counts its bytes) */
					for (uint64_t fwd = 1; fwd <= win; fwd = fwd == 64 && win > 128 ? win - 63 : fwd + 1) {
						struct session c = s;

						checked++;
						if (sess_on_ack(&c, win_wire(a + fwd, ro), 1000, &prev) != SESS_ACK_SLIDE ||
						    c.acked != a + fwd || prev != a)
							bad++;
					}
					{
						struct session c = s;

						checked++;
						if (win + 1 < 65535 - (ro == 1) &&
						    sess_on_ack(&c, win_wire(a + win + 1, ro), 1000, &prev) != SESS_ACK_IGNORE)
							bad++;
					}
					sess_ring_free(&s);
				}
	is_int(bad, 0, "stale, duplicate, new and unsent ACKs around every wrap, windows 1..%u (%u cases)",
	       OPT_WINDOWSIZE_SAFE, checked);
}

/* The receiver: strays are answered once per gap, a dally repeats the final ACK. */
static void test_receiver(void)
{
	struct session s;
	uint64_t k = 0;

	sess_init(&s, 100000, 2000, 1000000, 0);
	s.windowsize = 4;
	s.max_retries = 5;
	sess_ack_sent(&s, 0);
	is_int(sess_on_data(&s, 1, 10, &k), SESS_DATA_NEW, "block 1 in order");
	ok(!sess_data_taken(&s, 1, false, 10), "no ACK before the window is full");
	is_int(sess_on_data(&s, 3, 20, &k), SESS_DATA_ACK, "a gap (3 after 1): ACK where to resume");
	sess_ack_sent(&s, 1);
	is_int(sess_on_data(&s, 4, 21, &k), SESS_DATA_DROP, "the rest of the gap: answered once");
	is_int(sess_on_data(&s, 1, 22, &k), SESS_DATA_DROP, "a repeat of an acknowledged block: already answered");
	is_int(sess_on_data(&s, 2, 30, &k), SESS_DATA_NEW, "the resumed window");
	ok(!sess_data_taken(&s, 2, false, 30) && s.repeats.dups == 0, "taken; the gap is forgotten");
	/* a timeout says again where we are, and a stray may be answered anew */
	s.deadline_us = 40;
	is_int(sess_on_timeout(&s, 40), SESS_T_RESEND, "the timer fires");
	is_int(sess_resend_ack(&s, 40), 2, "ACK 2 again");
	sess_ack_sent(&s, 2);
	is_int(sess_on_data(&s, 5, 50, &k), SESS_DATA_ACK, "a new gap is answered");
	is_int(sess_on_data(&s, 3, 60, &k), SESS_DATA_NEW, "3");
	ok(sess_data_taken(&s, 3, true, 60) && s.dally, "a short block: final, ACKed, dallying");
	is_int(sess_on_data(&s, 3, 70, &k), SESS_DATA_ACK, "the final block again: ACK again");
	is_int(sess_on_data(&s, 4, 71, &k), SESS_DATA_DROP, "anything else: nothing");
	is_int(sess_on_timeout(&s, s.deadline_us), SESS_T_DALLY_END, "the dally ends");
}

/* Timers: give up after the retries or the time limit; an unverified peer gets few resends. */
static void test_timers(void)
{
	struct session s;
	unsigned resends = 0;
	enum sess_timer t;

	sess_init(&s, 100000, 2000, 1000000, 0);
	s.max_retries = 5;
	s.quiet_after = 2;
	sess_arm(&s, 0);
	is_int(sess_on_timeout(&s, s.deadline_us - 1), SESS_T_NONE, "not before the deadline");
	while ((t = sess_on_timeout(&s, s.deadline_us)) != SESS_T_GIVEUP)
		if (t == SESS_T_RESEND) {
			resends++;
			sess_resent(&s, s.deadline_us);
		}
	is_int(resends, 2, "an unverified peer: the first reply and 2 resends");
	is_int(s.tries, 6, "given up after 5 timeouts");

	sess_init(&s, 100000, 2000, 1000000, 0);
	s.max_retries = 100;
	s.giveup_us = 3000000;
	s.verified = true;
	sess_arm(&s, 0);
	resends = 0;
	while ((t = sess_on_timeout(&s, s.deadline_us)) != SESS_T_GIVEUP) {
		resends++;
		sess_resent(&s, s.deadline_us);
	}
	ok(s.deadline_us >= 3000000 && resends >= 3 && resends < 100, "given up after %u resends, once 3 s passed without progress",
	   resends);

	sess_init(&s, 100000, 2000, 1000000, 0);
	s.fixed_us = 250000;
	sess_arm(&s, 0);
	is_int(s.deadline_us, 250000, "a fixed timeout");
	s.max_retries = 5;
	s.verified = true;
	is_int(sess_on_timeout(&s, 250000), SESS_T_RESEND, "fires");
	sess_resent(&s, 250000);
	is_int(s.deadline_us, 500000, "no backoff where the timeout is fixed");
}

/*
 * A server's sessions share a queue.  Each starts as a receiver that sent
 * its ACK 0 at `at` and waits for DATA 1, the answer (sess_sent and the
 * DATA are the only events the shared state learns from).
 */
static void q_start(struct session *s, uint64_t at, bool shares)
{
	sess_init(s, 100000, 2000, 1000000, at);
	s->max_retries = 5;
	s->verified = true;
	s->shares_queue = shares;
	sess_ack_sent(s, 0);
	sess_sent(s, at);
	sess_arm(s, at);
}

static void q_answer(struct session *s, uint64_t at)
{
	uint64_t k = 0;

	if (sess_on_data(s, 1, at, &k) == SESS_DATA_NEW)
		sess_data_taken(s, k, false, at);
}

static enum sess_timer q_fire(struct session *s)
{
	enum sess_timer t = sess_on_timeout(s, s->deadline_us);

	if (t == SESS_T_RESEND)
		sess_resend_ack(s, s->deadline_us);
	return t;
}

/* a, b, c and d sent in turn (at 1, 1.2, 4 and 9 ms), the first two
 * with round trips of rtt_a and rtt_b. */
static void q_in_turn(struct session *a, struct session *b, struct session *c, struct session *d,
		      uint64_t rtt_a, uint64_t rtt_b)
{
	sess_shared_reset();
	q_start(a, 1000, true);
	q_start(b, 1200, true);
	q_start(c, 4000, true);
	q_start(d, 9000, true);
	a->rto.srtt_us = rtt_a;
	b->rto.srtt_us = rtt_b;
}

/* Timers in a shared queue: a silence all share is the queue's. */
static void test_queue(void)
{
	struct session a, b, c, d;
	uint64_t due;
	enum sess_timer t;

	sess_shared_reset();
	q_start(&a, 1000, true);
	is_int(q_fire(&a), SESS_T_RESEND, "alone: the timer resends");

	/* a, then b and c, sent; nothing answered since a's packet. */
	sess_shared_reset();
	q_start(&a, 1000, true);
	q_start(&b, 2000, true);
	q_start(&c, 3000, true);
	is_int(q_fire(&a), SESS_T_RESEND, "a silent queue: the first timer to expire resends, a probe");
	due = b.deadline_us;
	is_int(q_fire(&b), SESS_T_NONE, "another's, while the probe is unanswered: sends nothing");
	ok(b.held == 1 && b.tries == 1 && b.retransmits == 0, "counted as a timeout held back (held %llu, tries %u)",
	   (unsigned long long)b.held, b.tries);
	is_int(b.deadline_us - due, 2 * 100000, "and backed off as if it had resent");
	/* c's packet is answered, as the queue goes on: it went out after
	 * b's, so b's was lost. */
	q_answer(&c, b.deadline_us - 500);
	is_int(q_fire(&b), SESS_T_RESEND, "something sent later was answered: b's packet is lost, resent");

	/* The probe's own answer ends it; the next silent timer probes. */
	sess_shared_reset();
	q_start(&a, 1000, true);
	q_start(&b, 2000, true);
	q_start(&c, 3000, true);
	q_start(&d, 4000, true);
	is_int(q_fire(&a), SESS_T_RESEND, "a probes");
	q_answer(&a, b.deadline_us - 500);
	is_int(q_fire(&b), SESS_T_RESEND, "answered, and nothing after it: b probes in turn");
	is_int(q_fire(&c), SESS_T_NONE, "c waits for b's probe");

	/* An answer to a packet sent at the same moment proves nothing. */
	sess_shared_reset();
	q_start(&a, 1000, true);
	q_start(&b, 1000, true);
	q_start(&c, 1500, true);
	q_start(&d, 2000, true);
	is_int(q_fire(&c), SESS_T_RESEND, "c probes");
	q_answer(&b, 2500);
	is_int(q_fire(&a), SESS_T_NONE, "b, sent with a, answered: a still waits for the probe");

	/* Clients answer roughly in order: an answer to a packet sent less
	 * than a round trip later proves nothing; one sent more does. */
	q_in_turn(&a, &b, &c, &d, 5000, 5000);
	q_answer(&c, a.deadline_us - 500);
	is_int(q_fire(&a), SESS_T_RESEND, "c's answer, within a round trip of a's packet: a probes");
	is_int(q_fire(&b), SESS_T_NONE, "and b waits for that probe");
	q_in_turn(&a, &b, &c, &d, 5000, 1000);
	q_answer(&c, a.deadline_us - 500);
	is_int(q_fire(&a), SESS_T_RESEND, "a probes");
	is_int(q_fire(&b), SESS_T_RESEND, "with a round trip of 1 ms, c's answer shows b's packet lost");

	/* The same answer, but the queue has been silent since: the client
	 * may have stopped halfway through its answers, and out of order.
	 * It proves no loss. */
	q_in_turn(&a, &b, &c, &d, 5000, 1000);
	q_answer(&c, 5000);
	is_int(q_fire(&a), SESS_T_RESEND, "a silence after c's answer: a probes");
	is_int(q_fire(&b), SESS_T_NONE, "and b waits for that probe, though c's packet went out after its own");

	/* When the queue answers again, the count of what it answered
	 * starts anew: e, sent between a and b, is not taken for lost
	 * because of c's answer from before the silence. */
	{
		struct session e;

		sess_shared_reset();
		q_start(&a, 1000, true);
		q_start(&e, 1100, true);
		q_start(&b, 1200, true);
		q_start(&c, 4000, true);
		q_start(&d, 9000, true);
		a.rto.srtt_us = b.rto.srtt_us = c.rto.srtt_us = e.rto.srtt_us = 1000;
		q_answer(&c, 5000);
		is_int(q_fire(&a), SESS_T_RESEND, "silent since c's answer: a probes");
		q_answer(&a, e.deadline_us - 50);
		is_int(q_fire(&e), SESS_T_RESEND, "a's answer ends the probe: e probes in turn");
		is_int(q_fire(&b), SESS_T_NONE,
		       "b waits for e's probe: only a's answer counts since the silence, not c's");
	}

	/* A queue that never answers: every session gives up as before,
	 * each timeout sending at most one resend for the queue. */
	sess_shared_reset();
	q_start(&a, 1000, true);
	q_start(&b, 2000, true);
	q_start(&c, 3000, true);
	{
		struct session *all[] = { &a, &b, &c };
		unsigned sent[3] = { 0 }, live = 3;

		while (live) {
			unsigned k = 0;

			for (unsigned i = 1; i < 3; i++)
				if (all[i]->deadline_us < all[k]->deadline_us)
					k = i;
			t = q_fire(all[k]);
			sent[k] += t == SESS_T_RESEND;
			live -= t == SESS_T_GIVEUP;
		}
		ok(a.tries == 6 && b.tries == 6 && c.tries == 6, "all give up after 5 timeouts");
		ok(sent[0] + sent[1] <= 6, "a and b resent %u times in all, not 10 (the probe passes between them)",
		   sent[0] + sent[1]);
		ok(sent[0] == 5 && sent[1] == 0, "a, the first to expire, probes each time; b waits (a %u, b %u)",
		   sent[0], sent[1]);
		is_int(sent[2], 5, "c, the last to send, has nothing after it to wait for: it resends each time");
	}

	/* A prober that goes away (its transfer ended): once its probe's
	 * time is over, the next timer probes in its place. */
	sess_shared_reset();
	q_start(&a, 1000, true);
	q_start(&b, 2000, true);
	q_start(&c, 3000, true);
	is_int(q_fire(&a), SESS_T_RESEND, "a probes, and is gone");
	due = a.deadline_us;
	is_int(q_fire(&b), SESS_T_NONE, "b waits for the probe");
	ok(b.deadline_us > due, "until after the probe's time");
	is_int(q_fire(&b), SESS_T_RESEND, "then b probes in its place");

	/* Not in a shared queue (the client tool's sessions), or a timeout
	 * the client fixed: every timer resends. */
	sess_shared_reset();
	q_start(&a, 1000, false);
	q_start(&b, 2000, false);
	q_fire(&a);
	is_int(q_fire(&b), SESS_T_RESEND, "sessions that do not share a queue: each resends");
	sess_shared_reset();
	q_start(&a, 1000, true);
	q_start(&b, 2000, true);
	b.fixed_us = 100000;
	q_fire(&a);
	is_int(q_fire(&b), SESS_T_RESEND, "a fixed timeout (the timeout option): resends");
	sess_shared_reset();
}

int main(void)
{
	test_queue();
	test_stale_acks();
	test_receiver();
	test_timers();
	test_clean();
	test_impaired();
	test_slow_acks();
	return tap_done();
}
