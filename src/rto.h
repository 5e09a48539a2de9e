/*
 * rto.h - retransmission timeout from measured round trips (RFC 6298),
 * with exponential backoff, a floor that remembers how late a healthy
 * peer's ACKs can be, and undo of a backoff proved spurious (RFC 4015).
 * Pure: the caller measures and supplies times.
 *
 * Boot firmware ACKs most blocks in 50 us but now and then takes several
 * milliseconds; a timeout set from the smoothed round trip alone resends
 * to such a client on every spike.  So the timeout never goes below:
 *  - a slowly decaying maximum of recent round trips, plus a quarter and
 *    a clock tick until the path has shown a real loss (the role of RFC
 *    9002's max_ack_delay, learnt rather than announced);
 *  - until the path has shown a real loss, RTO_QUIET_FLOOR_US: RFC 9002's
 *    default max_ack_delay (25 ms) and room for the scheduling delays of
 *    a loaded host.  On a clean path a resend can only be spurious; once
 *    loss is seen, fast recovery matters more.
 * A resend that the peer's answers show was not needed teaches the floor
 * the delay that caused it.
 */
#ifndef SNOW_OWL_RTO_H
#define SNOW_OWL_RTO_H

#include <stdbool.h>
#include <stdint.h>

#define RTO_QUIET_FLOOR_US 40000

enum rto_undo {
	RTO_UNDO_NONE,		/* no timer resend awaiting its verdict */
	RTO_UNDO_ARMED,		/* resent on timeout, no answer yet */
	RTO_UNDO_CHECK,		/* answered late: a duplicate answer would
				 * prove the resend needless */
};

struct rto {
	uint64_t srtt_us, rttvar_us;	/* smoothed round trip and variation */
	bool sampled;			/* srtt/rttvar hold a measurement */
	uint64_t base_us;		/* timeout before backoff */
	unsigned backoff;		/* doublings since the last progress */
	uint64_t min_us, max_us;
	uint64_t peak_us;		/* decaying maximum of recent round trips */
	uint64_t min_rtt_us;		/* smallest round trip seen */
	bool lossy;			/* the path has lost a packet */
	/* The last timer resend, for telling a spurious one (RFC 4015). */
	enum rto_undo undo;
	uint64_t orig_us;		/* when the resent packets first went out */
	uint64_t resent_us;		/* when the timer resent them */
	uint64_t answer_us;		/* when the first answer after it came */
	uint64_t answer_block;		/* what that answer acknowledged */
	unsigned spurious;		/* timer resends proved needless */
};

/* Before the first measurement the timeout is initial_us. */
void rto_init(struct rto *r, uint64_t initial_us, uint64_t min_us, uint64_t max_us);

/*
 * Take a round-trip measurement.  Karn's rule is the caller's: never
 * measure a round trip whose packets were retransmitted.
 */
void rto_sample(struct rto *r, uint64_t rtt_us);

/* The timeout to arm now: base doubled once per backoff, capped. */
uint64_t rto_current(const struct rto *r);

/* A timer expired: double the timeout.  Progress resets it. */
static inline void rto_backoff(struct rto *r) { if (r->backoff < 32) r->backoff++; }
static inline void rto_progress(struct rto *r) { r->backoff = 0; }

/* The peer showed a real loss (a gap): the quiet floor no longer holds. */
void rto_loss(struct rto *r);

/*
 * The timer expired and the caller resends, now, what it first sent at
 * orig_us: backs off and remembers the resend for its verdict.
 */
void rto_timeout(struct rto *r, uint64_t now, uint64_t orig_us);

/*
 * An answer acknowledged new data up to block, now.  Returns true when it
 * proves the last timer resend needless: it came sooner after the resend
 * than any round trip could, so it answers the original.  repeats: the
 * peer answers again a copy of what it already has (a receiver of DATA
 * does), so a repeat can still prove it (rto_repeat), and an answer that
 * moves on without one proves a loss; without, a late answer leaves no
 * verdict.
 */
bool rto_answer(struct rto *r, uint64_t now, uint64_t block, bool repeats);

/*
 * An answer repeated block, the last one acknowledged.  Returns true when
 * it proves the last timer resend needless: the peer had the original
 * and answered the copy again.
 */
bool rto_repeat(struct rto *r, uint64_t block);

#endif
