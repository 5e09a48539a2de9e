/*
 * rto.c - RFC 6298 round-trip estimation, with a floor learnt from the
 * peer's slowest recent answers and undo of spurious timeouts (rto.h).
 *
 * The RFC's 1 s lower bound is for the Internet; a TFTP server mostly
 * talks to its own LAN, so the bound is the caller's (min_us).
 */
#include "config.h"

#include "rto.h"

#define CLOCK_GRANULARITY_US 1000	/* G in RFC 6298 */
/* The peak decays by 1/PEAK_DECAY of its excess per sample, so a spike
 * is remembered for some hundreds of round trips. */
#define PEAK_DECAY 256

static void rto_update(struct rto *r)
{
	uint64_t var = 4 * r->rttvar_us, floor = r->min_us, peak;

	if (!r->sampled)
		return;
	if (var < CLOCK_GRANULARITY_US)
		var = CLOCK_GRANULARITY_US;
	r->base_us = r->srtt_us + var;
	/* A quarter and a clock tick of margin over the peak until the path
	 * has shown a loss; after that a timeout that waits for the slowest
	 * recent answer has waited enough, and one that waits longer only
	 * delays each recovery (SRTT + 4 RTTVAR still adds its own). */
	peak = r->lossy ? r->peak_us : r->peak_us + r->peak_us / 4 + CLOCK_GRANULARITY_US;
	if (floor < peak)
		floor = peak;
	if (!r->lossy && floor < RTO_QUIET_FLOOR_US)
		floor = RTO_QUIET_FLOOR_US;
	if (r->base_us < floor)
		r->base_us = floor;
	if (r->base_us > r->max_us)
		r->base_us = r->max_us;
}

void rto_init(struct rto *r, uint64_t initial_us, uint64_t min_us, uint64_t max_us)
{
	*r = (struct rto){ .min_us = min_us, .max_us = max_us, .base_us = initial_us,
			   .min_rtt_us = UINT64_MAX };
}

/* A round trip, measured or proved by a spurious resend, for the peak. */
static void peak_take(struct rto *r, uint64_t rtt)
{
	if (rtt >= r->peak_us)
		r->peak_us = rtt;
	else
		r->peak_us -= (r->peak_us - rtt) / PEAK_DECAY;
}

void rto_sample(struct rto *r, uint64_t rtt)
{
	if (!r->sampled) {
		r->srtt_us = rtt;			/* (2.2) */
		r->rttvar_us = rtt / 2;
		r->sampled = true;
	} else {
		uint64_t diff = r->srtt_us > rtt ? r->srtt_us - rtt : rtt - r->srtt_us;

		r->rttvar_us = (3 * r->rttvar_us + diff) / 4;	/* beta 1/4 (2.3) */
		r->srtt_us = (7 * r->srtt_us + rtt) / 8;	/* alpha 1/8 */
	}
	if (rtt < r->min_rtt_us)
		r->min_rtt_us = rtt;
	peak_take(r, rtt);
	r->backoff = 0;
	rto_update(r);
}

uint64_t rto_current(const struct rto *r)
{
	uint64_t t = r->base_us;

	for (unsigned i = 0; i < r->backoff && t < r->max_us; i++)
		t *= 2;
	return t > r->max_us ? r->max_us : t;
}

void rto_loss(struct rto *r)
{
	if (r->lossy)
		return;
	r->lossy = true;
	rto_update(r);
}

void rto_timeout(struct rto *r, uint64_t now, uint64_t orig_us)
{
	rto_backoff(r);
	/* Repeated timeouts keep the first resend's original time. */
	if (r->undo != RTO_UNDO_ARMED)
		r->orig_us = orig_us;
	r->undo = RTO_UNDO_ARMED;
	r->resent_us = now;
}

/* The resend was needless: the original's answer took this long, and
 * that is how late this peer can be. */
static bool spurious(struct rto *r, uint64_t answered_us)
{
	r->undo = RTO_UNDO_NONE;
	r->spurious++;
	r->backoff = 0;
	if (answered_us > r->orig_us)
		peak_take(r, answered_us - r->orig_us);
	rto_update(r);
	return true;
}

bool rto_answer(struct rto *r, uint64_t now, uint64_t block, bool repeats)
{
	switch (r->undo) {
	case RTO_UNDO_ARMED:
		/* Sooner than half the fastest round trip: the original's. */
		if (r->min_rtt_us != UINT64_MAX && now - r->resent_us < r->min_rtt_us / 2)
			return spurious(r, now);
		r->undo = repeats ? RTO_UNDO_CHECK : RTO_UNDO_NONE;
		r->answer_us = now;
		r->answer_block = block;
		return false;
	case RTO_UNDO_CHECK:
		/* The path moved on with no repeat of the answer: the resend
		 * replaced a packet that was lost. */
		r->undo = RTO_UNDO_NONE;
		rto_loss(r);
		return false;
	case RTO_UNDO_NONE:
		break;
	}
	return false;
}

bool rto_repeat(struct rto *r, uint64_t block)
{
	if (r->undo != RTO_UNDO_CHECK || block != r->answer_block)
		return false;
	return spurious(r, r->answer_us);
}
