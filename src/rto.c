/*
 * rto.c - RFC 6298 round-trip estimation.
 *
 * The RFC's 1 s lower bound is for the Internet; a TFTP server mostly
 * talks to its own LAN, so the bound is the caller's (min_us).
 */
#include "config.h"

#include "rto.h"

#define CLOCK_GRANULARITY_US 1000	/* G in RFC 6298 */

void rto_init(struct rto *r, uint64_t initial_us, uint64_t min_us, uint64_t max_us)
{
	r->srtt_us = r->rttvar_us = 0;
	r->sampled = false;
	r->backoff = 0;
	r->min_us = min_us;
	r->max_us = max_us;
	r->base_us = initial_us;
}

void rto_sample(struct rto *r, uint64_t rtt)
{
	uint64_t var;

	if (!r->sampled) {
		r->srtt_us = rtt;			/* (2.2) */
		r->rttvar_us = rtt / 2;
		r->sampled = true;
	} else {
		uint64_t diff = r->srtt_us > rtt ? r->srtt_us - rtt : rtt - r->srtt_us;

		r->rttvar_us = (3 * r->rttvar_us + diff) / 4;	/* beta 1/4 (2.3) */
		r->srtt_us = (7 * r->srtt_us + rtt) / 8;	/* alpha 1/8 */
	}
	var = 4 * r->rttvar_us;
	if (var < CLOCK_GRANULARITY_US)
		var = CLOCK_GRANULARITY_US;
	r->base_us = r->srtt_us + var;
	if (r->base_us < r->min_us)
		r->base_us = r->min_us;
	if (r->base_us > r->max_us)
		r->base_us = r->max_us;
	r->backoff = 0;
}

uint64_t rto_current(const struct rto *r)
{
	uint64_t t = r->base_us;

	for (unsigned i = 0; i < r->backoff && t < r->max_us; i++)
		t *= 2;
	return t > r->max_us ? r->max_us : t;
}
