/* test_rto.c - adaptive retransmission timeout (RFC 6298), backoff, the
 * learnt floor, the quiet floor and undo of spurious resends (RFC 4015). */
#include "config.h"

#include "tap.h"
#include "rto.h"

/* A clean path at 50 us with one late answer of spike_us now and then. */
static void steady(struct rto *r, unsigned n, uint64_t rtt)
{
	for (unsigned i = 0; i < n; i++)
		rto_sample(r, rtt);
}

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

	/* Huge samples: the ceiling. */
	rto_sample(&r, 60000000);
	is_int(rto_current(&r), 5000000, "huge round trip: the ceiling");
	for (int i = 0; i < 200; i++)
		rto_backoff(&r);
	is_int(rto_current(&r), 5000000, "200 backoffs stay at the ceiling");

	/* A clean path: tiny round trips settle at the quiet floor, which
	 * outlasts a firmware's rare ACK delays of several ms. */
	rto_init(&r, 250000, 2000, 5000000);
	steady(&r, 2000, 50);
	is_int(rto_current(&r), RTO_QUIET_FLOOR_US, "clean path, 50 us: the quiet floor (40 ms)");
	rto_sample(&r, 4700);
	steady(&r, 500, 50);
	is_int(rto_current(&r), RTO_QUIET_FLOOR_US, "a 4.7 ms spike stays under the quiet floor");

	/* Loss seen: down to the learnt floor, the minimum or the peak. */
	rto_init(&r, 250000, 2000, 5000000);
	steady(&r, 2000, 50);
	rto_loss(&r);
	is_int(rto_current(&r), 2000, "after a loss, 50 us round trips: the 2 ms minimum");
	rto_sample(&r, 8000);
	ok(rto_current(&r) >= 8000, "a 8 ms round trip raises the floor to it (%llu us)",
	   (unsigned long long)rto_current(&r));
	steady(&r, 50, 50);
	ok(rto_current(&r) > 6000, "the peak is remembered for a while (%llu us after 50 fast samples)",
	   (unsigned long long)rto_current(&r));
	steady(&r, 5000, 50);
	is_int(rto_current(&r), 2000, "and forgotten after thousands");

	/* Steady 2 ms on a lossy path: SRTT + G, over the peak (2 ms) that
	 * keeps no margin once a loss is seen; the same on a clean path
	 * would wait the peak plus a quarter and G, under the quiet floor. */
	rto_init(&r, 1000000, 1000, 5000000);
	rto_loss(&r);
	steady(&r, 100, 2000);
	is_int(rto_current(&r), 3000, "steady 2 ms, lossy: SRTT 2 ms + G");
	rto_init(&r, 1000000, 1000, 5000000);
	rto_loss(&r);
	steady(&r, 100, 2000);
	rto_sample(&r, 6000);
	steady(&r, 1, 2000);
	ok(rto_current(&r) >= 5900 && rto_current(&r) <= 6000,
	   "a 6 ms answer among them: the floor is the peak itself, less its decay (%llu us)",
	   (unsigned long long)rto_current(&r));

	/* A spurious resend, proved by a repeated answer: the delay that
	 * caused it becomes the floor, and the quiet floor stays. */
	rto_init(&r, 250000, 2000, 5000000);
	steady(&r, 100, 50);
	rto_timeout(&r, 1000000 + 40000, 1000000);
	is_int(r.backoff, 1, "a timeout backs off");
	ok(!rto_answer(&r, 1000000 + 45000, 7, true), "a late answer gives no verdict yet");
	ok(!rto_repeat(&r, 6), "a repeat of another block proves nothing");
	ok(rto_repeat(&r, 7), "a repeat of the answered block proves the resend needless");
	is_int(r.spurious, 1, "counted");
	is_int(r.backoff, 0, "the backoff is undone");
	ok(!r.lossy, "a spurious resend is no loss");
	ok(rto_current(&r) >= 45000 + 45000 / 4, "the 45 ms delay raises the floor (%llu us)",
	   (unsigned long long)rto_current(&r));
	ok(!rto_repeat(&r, 7), "one verdict per resend");

	/* An answer sooner than half the fastest round trip is the original's. */
	rto_init(&r, 250000, 2000, 5000000);
	steady(&r, 100, 2000);
	rto_timeout(&r, 500000, 460000);
	ok(rto_answer(&r, 500000 + 500, 3, true), "an answer 0.5 ms after the resend, round trips 2 ms: spurious");
	ok(rto_current(&r) >= 40000, "the 40 ms it took is learnt (%llu us)", (unsigned long long)rto_current(&r));

	/* A real loss: the answer comes a round trip after the resend and the
	 * peer moves on without repeating it. */
	rto_init(&r, 250000, 2000, 5000000);
	steady(&r, 100, 50);
	rto_timeout(&r, 1000000 + 40000, 1000000);
	ok(!rto_answer(&r, 1000000 + 40100, 9, true), "the resend answered a round trip later");
	ok(!r.lossy, "no verdict yet");
	ok(!rto_answer(&r, 1000000 + 40200, 10, true), "the next block answered with no repeat");
	ok(r.lossy, "proves the loss");
	rto_progress(&r);
	is_int(rto_current(&r), 2000, "and the quiet floor is gone");
	is_int(r.spurious, 0, "nothing counted spurious");

	/* A receiver's peer never repeats: a late answer leaves no verdict. */
	rto_init(&r, 250000, 2000, 5000000);
	steady(&r, 100, 50);
	rto_timeout(&r, 1000000 + 40000, 1000000);
	ok(!rto_answer(&r, 1000000 + 50000, 4, false), "receiver: a late answer");
	ok(!rto_answer(&r, 1000000 + 50100, 5, false), "and the next");
	ok(!r.lossy && r.spurious == 0, "leave the estimate as it was");

	/* Repeated timeouts keep the first resend's original time. */
	rto_init(&r, 250000, 2000, 5000000);
	steady(&r, 100, 50);
	rto_timeout(&r, 1040000, 1000000);
	rto_timeout(&r, 1120000, 1040000);
	is_int(r.orig_us, 1000000, "a second timeout keeps the original send time");
	is_int(r.backoff, 2, "and backs off again");
	return tap_done();
}
