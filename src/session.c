/*
 * session.c - the core of one transfer (session.h): windows, the
 * receiver, timers.  No system calls.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "session.h"

/* See sess_seed_us(): per process, like TCP's per-route metrics. */
static uint64_t seed_us, seed_at_us;

/*
 * What the sessions of this process sent and had answered, for telling a
 * queue from a loss (sess_on_timeout): the latest first send, whose it
 * was, the latest by any other session; the latest first send that an
 * answer came for (since the queue last fell silent), and when the
 * latest answer came; and the session whose resend probes a silent
 * queue, when that resend went out, and the prober's next timeout (then
 * another session's timer may probe in its place, should the prober's
 * peer be gone).
 */
static struct {
	uint64_t sent_us;
	const struct session *sender;
	uint64_t other_us;
	uint64_t answered_us;
	uint64_t answer_at_us;
	const struct session *prober;
	uint64_t probe_sent_us, probe_until_us;
} shared;

/* A queue that answered nothing for a round trip and this long is silent:
 * the clock's granularity, as in the timeout (rto.c). */
#define QUEUE_GRAIN_US 1000

/* Nothing answered for a round trip of s (and the grain), or ever. */
static bool queue_quiet(const struct session *s, uint64_t now)
{
	return !shared.answer_at_us || now - shared.answer_at_us >= s->rto.srtt_us + QUEUE_GRAIN_US;
}

/*
 * The core's invariants, checked after every event in the sanitizer and
 * fuzzing builds and in test_session; a broken one aborts with its text.
 * Other builds leave them out: a worker that aborted would end all of
 * its transfers, not just the one in doubt.
 */
#if defined(SNOW_OWL_SANITIZERS) || defined(SNOW_OWL_SESSION_CHECKS)
#define CHECK(c) do { if (!(c)) check_failed(#c, __LINE__); } while (0)
static void check_failed(const char *what, int line)
{
	fprintf(stderr, "session.c:%d: invariant broken: %s\n", line, what);
	abort();
}
#else
#define CHECK(c) do { } while (0)
#endif

static void check(const struct session *s)
{
	CHECK(s->windowsize >= 1);
	/* The sender: what is acknowledged was sent, a window at most. */
	CHECK(s->acked <= s->sent);
	CHECK(s->sent <= s->acked + s->windowsize);
	CHECK(!s->eof || s->sent <= s->last);
	/* The receiver: never an ACK ahead of what was taken. */
	CHECK(s->ack_sent <= s->received);
	CHECK(s->fixed_us || rto_current(&s->rto) <= s->rto.max_us);
}

uint64_t sess_seed_us(uint64_t now)
{
	uint64_t halvings = now > seed_at_us ? (now - seed_at_us) / 1000000 : 0;

	return halvings >= 64 ? 0 : seed_us >> halvings;
}

void sess_init(struct session *s, uint64_t initial_us, uint64_t min_us, uint64_t max_us, uint64_t now)
{
	uint64_t seed = sess_seed_us(now);

	memset(s, 0, sizeof(*s));
	s->blksize = OPT_BLKSIZE_DEFAULT;
	s->windowsize = 1;
	s->deadline_us = UINT64_MAX;
	s->progress_us = now;
	rto_init(&s->rto, seed > initial_us ? seed : initial_us, min_us, max_us);
}

uint64_t sess_timeout_us(const struct session *s)
{
	return s->fixed_us ? s->fixed_us : rto_current(&s->rto);
}

void sess_shared_reset(void)
{
	memset(&shared, 0, sizeof(shared));
}

void sess_sent(struct session *s, uint64_t now)
{
	s->first_sent_us = now;
	if (shared.sender != s) {
		shared.other_us = shared.sent_us;
		shared.sender = s;
	}
	shared.sent_us = now;
}

/* The transfer moved forward: measure, reset the backoff and the tries. */
static void progress(struct session *s, uint64_t now)
{
	/* An answer to what went out then, or (a window answered in part)
	 * to something before it.  The first after a silence starts the
	 * count anew: what the queue answered before it fell silent says
	 * nothing about the order it answers in now (a client that stops
	 * may have answered some late packets before some early ones). */
	if (queue_quiet(s, now) || s->first_sent_us > shared.answered_us)
		shared.answered_us = s->first_sent_us;
	shared.answer_at_us = now;
	if (shared.prober == s)
		shared.prober = NULL;
	if (s->probe_valid) {
		rto_sample(&s->rto, now - s->probe_us);
		if (s->rto.base_us > sess_seed_us(now)) {
			seed_us = s->rto.base_us;
			seed_at_us = now;
		}
	}
	s->probe_valid = false;
	rto_progress(&s->rto);
	s->tries = 0;
	s->progress_us = now;
}

/* ---- Sender ---- */

int sess_ring_alloc(struct session *s, unsigned nslots, size_t slot_size)
{
	s->nslots = nslots;
	s->slot_size = slot_size;
	s->ring = malloc(slot_size * nslots);
	s->slot_len = calloc(nslots, sizeof(*s->slot_len));
	if (!s->ring || !s->slot_len) {
		sess_ring_free(s);
		return -ENOMEM;
	}
	return 0;
}

void sess_ring_free(struct session *s)
{
	free(s->ring);
	free(s->slot_len);
	s->ring = NULL;
	s->slot_len = NULL;
}

void sess_window(struct session *s, uint64_t now, uint64_t *first, uint64_t *upto)
{
	uint64_t f = s->acked + 1, u = s->acked + s->windowsize;

	if (s->eof && u > s->last)
		u = s->last;
	if (f <= s->sent) {
		/* A resend: its answer must not be timed (Karn). */
		s->retransmits += (s->sent < u ? s->sent : u) - f + 1;
		s->probe_valid = false;
	} else {
		sess_probe(s, now);
	}
	if (u > s->sent)
		s->sent = u;
	sess_arm(s, now);
	*first = f;
	*upto = u;
	check(s);
}

enum sess_ack sess_on_ack(struct session *s, uint16_t w, uint64_t now, uint64_t *prev)
{
	uint64_t k;

	if (s->opening) {
		if (w != 0)
			return SESS_ACK_IGNORE;	/* not the ACK of our OACK */
		s->opening = false;
		rto_answer(&s->rto, now, 0, true);
		progress(s, now);
		*prev = s->acked;
		return SESS_ACK_SLIDE;
	}
	switch (win_classify_ack(s->acked, s->sent, w, s->rollover, &k)) {
	case WIN_ACK_DUPLICATE:	/* never resend on it (Sorcerer's Apprentice) */
		rto_repeat(&s->rto, s->acked);
		return SESS_ACK_IGNORE;
	case WIN_ACK_OUTSIDE:
		return SESS_ACK_IGNORE;
	case WIN_ACK_NEW:
		/* Whatever the window and the wrap: a new ACK is for a
		 * block sent and not yet acknowledged. */
		CHECK(k > s->acked && k <= s->sent);
		break;
	}
	/* Short of what was sent: the receiver missed k + 1, and the next
	 * window starts right there (RFC 7440 section 4). */
	if (k < s->sent)
		rto_loss(&s->rto);
	rto_answer(&s->rto, now, k, true);
	/* Every block but the final one is full: counted without reading
	 * the ring (a cache miss per ACK in a worker's thousands). */
	s->wire_acked += (k - s->acked) * s->blksize;
	if (s->eof && k == s->last)
		s->wire_acked -= s->blksize - s->last_len;
	*prev = s->acked;
	s->acked = k;
	progress(s, now);
	check(s);
	return s->eof && k == s->last ? SESS_ACK_DONE : SESS_ACK_SLIDE;
}

/* ---- Receiver ---- */

enum sess_data sess_on_data(struct session *s, uint16_t w, uint64_t now, uint64_t *block)
{
	uint64_t k = win_unwrap(s->received, w, s->rollover);

	(void)now;
	if (s->dally)	/* our final ACK was lost: the sender repeats its last block */
		return k == s->received ? SESS_DATA_ACK : SESS_DATA_DROP;
	if (k != s->received + 1) {
		/* A block from ahead in the window: one before it was lost. */
		if (k > s->received + 1 && k - s->received <= s->windowsize)
			rto_loss(&s->rto);
		/* Dropped (see win_stray_data for when it is answered). */
		if (win_stray_data(&s->repeats, s->received, s->ack_sent, w, s->rollover, s->windowsize)) {
			s->win_count = 0;
			return SESS_DATA_ACK;
		}
		return SESS_DATA_DROP;
	}
	CHECK(k == s->received + 1);
	*block = k;
	return SESS_DATA_NEW;
}

bool sess_data_taken(struct session *s, uint64_t block, bool final, uint64_t now)
{
	CHECK(block == s->received + 1 && !s->dally);
	s->received = block;
	win_repeats_reset(&s->repeats);
	rto_answer(&s->rto, now, block, false);
	progress(s, now);
	if (final) {
		s->dally = true;
		sess_arm(s, now);
		return true;
	}
	if (++s->win_count >= s->windowsize) {
		s->win_count = 0;
		sess_probe(s, now);	/* our ACK is timed by the next DATA */
		sess_arm(s, now);
		return true;
	}
	sess_arm(s, now);
	return false;
}

/* ---- Timer ---- */

/*
 * The timer of a session that shares its process's queue expired: is the
 * silence the queue's?  Other sessions sent since this one's packet (in
 * the same pass or later), and either the queue answered nothing for a
 * round trip, or nothing that went out more than a round trip after this
 * packet was answered: the clients of a worker answer roughly in the
 * order they were sent to, but only roughly, since a client (or the one
 * process behind many) takes them in its own order.
 *
 * In a storm the worker and its clients serve thousands of transfers in
 * turn, and the round trip is mostly the wait for that turn.  When the
 * wait grows at once (a burst of new transfers, a client that stalls),
 * the timers set from the old one fire together, and each of their
 * resends is needless.  So in a silent queue one resend probes, and the
 * others' timeouts send nothing: they back off as if they had resent,
 * until an answer comes after the probe went out, or the probe's time is
 * over and the next timer to expire probes in turn (the path was lost as
 * a whole: one resend a timeout tells when it is back).  A packet lost
 * on its own, while the queue goes on answering, is told apart as RACK
 * (RFC 8985) does, with a round trip for the reordering window:
 * something sent after it was answered, so its timer resends as usual.
 * An answer that came before the queue fell silent proves no loss: the
 * silence may have cut the client off halfway through its answers.
 * Every session still gives up after as many timeouts as before.
 */
static bool silent_queue(const struct session *s, uint64_t now)
{
	uint64_t others = shared.sender != s ? shared.sent_us : shared.other_us;

	if (!s->shares_queue || s->fixed_us || !s->first_sent_us || others < s->first_sent_us)
		return false;
	return shared.answered_us <= s->first_sent_us + s->rto.srtt_us || queue_quiet(s, now);
}

/* Another session's resend probes the silent queue, unanswered yet. */
static bool probed(const struct session *s, uint64_t now)
{
	return shared.prober && shared.prober != s && shared.answer_at_us <= shared.probe_sent_us &&
	       now < shared.probe_until_us;
}

enum sess_timer sess_on_timeout(struct session *s, uint64_t now)
{
	bool silent;

	if (now < s->deadline_us)
		return SESS_T_NONE;
	if (s->dally) {
		s->deadline_us = UINT64_MAX;
		return SESS_T_DALLY_END;
	}
	/* Give up after too many timeouts in a row, or too long without
	 * progress (duplicates from a confused peer do not count). */
	if (++s->tries > s->max_retries || (s->giveup_us && now - s->progress_us >= s->giveup_us)) {
		s->deadline_us = UINT64_MAX;
		if (shared.prober == s)
			shared.prober = NULL;
		return SESS_T_GIVEUP;
	}
	silent = silent_queue(s, now);
	if (silent && probed(s, now)) {
		rto_backoff(&s->rto);
		s->held++;
		sess_arm(s, now);
		check(s);
		return SESS_T_NONE;
	}
	/* Exponential backoff (unused where the timeout is fixed), and a
	 * note for telling later whether this resend was needed. */
	rto_timeout(&s->rto, now, s->first_sent_us);
	/* A peer that never answered may be a forged address: no more than
	 * quiet_after resends go to it, and the session waits silently. */
	if (s->quiet_after && !s->verified && s->tries > s->quiet_after) {
		sess_arm(s, now);
		return SESS_T_NONE;
	}
	if (silent) {
		shared.prober = s;
		shared.probe_sent_us = now;
		shared.probe_until_us = now + sess_timeout_us(s);
	}
	s->probe_valid = false;
	check(s);
	return SESS_T_RESEND;
}

uint64_t sess_resend_ack(struct session *s, uint64_t now)
{
	s->retransmits++;
	s->win_count = 0;
	/* Said again where we are: a stray may be answered anew. */
	win_repeats_reset(&s->repeats);
	sess_arm(s, now);
	return s->received;
}
