/* test_rto.c - adaptive retransmission timeout (RFC 6298) and backoff. */
#include "config.h"

#include "tap.h"
#include "rto.h"

int main(void)
{
	struct rto r;

	rto_init(&r, 1000000, 10000, 5000000);
	is_int(rto_current(&r), 1000000, "before any sample: the initial timeout");
	rto_backoff(&r);
	is_int(rto_current(&r), 2000000, "one backoff doubles it");
	rto_backoff(&r);
	rto_backoff(&r);
	is_int(rto_current(&r), 5000000, "backoff is capped at the maximum");
	rto_progress(&r);
	is_int(rto_current(&r), 1000000, "progress ends the backoff");

	/* First sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 * RTTVAR. */
	rto_sample(&r, 40000);
	is_int(r.srtt_us, 40000, "first sample sets SRTT");
	is_int(r.rttvar_us, 20000, "first sample sets RTTVAR to half");
	is_int(rto_current(&r), 120000, "RTO = 40 ms + 4 * 20 ms");

	/* Second: RTTVAR = 3/4 * 20 + 1/4 * |40 - 60| = 20; SRTT = 7/8 * 40 + 1/8 * 60 = 42.5. */
	rto_sample(&r, 60000);
	is_int(r.rttvar_us, 20000, "RTTVAR follows beta = 1/4");
	is_int(r.srtt_us, 42500, "SRTT follows alpha = 1/8");
	is_int(rto_current(&r), 122500, "RTO from both");

	/* Many tiny samples settle at the floor. */
	for (int i = 0; i < 100; i++)
		rto_sample(&r, 50);
	is_int(rto_current(&r), 10000, "tiny round trips: the floor");
	rto_backoff(&r);
	is_int(rto_current(&r), 20000, "backoff from the floor");
	rto_sample(&r, 50);
	is_int(rto_current(&r), 10000, "a sample ends the backoff");

	/* Huge samples: the ceiling. */
	rto_sample(&r, 60000000);
	is_int(rto_current(&r), 5000000, "huge round trip: the ceiling");

	/* Backoff never overflows. */
	for (int i = 0; i < 200; i++)
		rto_backoff(&r);
	is_int(rto_current(&r), 5000000, "200 backoffs stay at the ceiling");

	/* The clock granularity bounds the variance term: steady 2 ms. */
	rto_init(&r, 1000000, 1000, 5000000);
	for (int i = 0; i < 100; i++)
		rto_sample(&r, 2000);
	is_int(rto_current(&r), 3000, "steady 2 ms: SRTT + G (1 ms)");
	return tap_done();
}
