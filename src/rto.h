/*
 * rto.h - retransmission timeout from measured round trips (RFC 6298),
 * with exponential backoff.  Pure: the caller measures and supplies times.
 */
#ifndef SNOW_OWL_RTO_H
#define SNOW_OWL_RTO_H

#include <stdbool.h>
#include <stdint.h>

struct rto {
	uint64_t srtt_us, rttvar_us;	/* smoothed round trip and variation */
	bool sampled;			/* srtt/rttvar hold a measurement */
	uint64_t base_us;		/* timeout before backoff */
	unsigned backoff;		/* doublings since the last progress */
	uint64_t min_us, max_us;
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

#endif
