/*
 * window.h - block number arithmetic for windowed transfers (RFC 7440).
 *
 * Blocks are counted in 64 bits inside the server and sent as 16 bits on
 * the wire.  After 65535 the wire number wraps to 0, or to 1 when the
 * client negotiated "rollover 1".  Pure inline functions.
 */
#ifndef SNOW_OWL_WINDOW_H
#define SNOW_OWL_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

/* Wire number of internal block b. */
static inline uint16_t win_wire(uint64_t b, unsigned rollover)
{
	if (rollover == 1 && b > 0)
		return (uint16_t)((b - 1) % 65535 + 1);
	return (uint16_t)b;
}

/*
 * The internal block at or after base whose wire number is w: the result
 * is base + d, with d the forward distance on the wire.  A number from
 * behind base therefore maps far ahead, where callers treat it as stale.
 */
static inline uint64_t win_unwrap(uint64_t base, uint16_t w, unsigned rollover)
{
	uint16_t bw = win_wire(base, rollover);

	if (rollover == 1) {
		if (w == 0)	/* only block 0 is numbered 0 */
			return base == 0 ? 0 : base + 65535;
		if (base == 0)
			return w;
		return base + (uint64_t)((w + 65535 - bw) % 65535);
	}
	return base + (uint16_t)(w - bw);
}

/*
 * How far back from base the block numbered w lies (0 for base itself),
 * for telling a duplicate of a recent block from a gap ahead.
 */
static inline uint64_t win_back(uint64_t base, uint16_t w, unsigned rollover)
{
	uint16_t bw = win_wire(base, rollover);

	if (rollover == 1) {
		if (w == 0 || bw == 0)
			return w == bw ? 0 : UINT64_MAX;
		return (uint64_t)((bw + 65535 - w) % 65535);
	}
	return (uint16_t)(bw - w);
}

enum win_ack {
	WIN_ACK_NEW,		/* acknowledges new blocks: slide to it */
	WIN_ACK_DUPLICATE,	/* the last acknowledged block again: ignore */
	WIN_ACK_OUTSIDE,	/* stale or never sent: ignore */
};

/*
 * Classify an ACK carrying wire number w for a sender that has had
 * everything up to 'acked' acknowledged and has sent up to 'sent'.
 * On WIN_ACK_NEW, *block is the internal number acknowledged.
 */
static inline enum win_ack win_classify_ack(uint64_t acked, uint64_t sent, uint16_t w,
					    unsigned rollover, uint64_t *block)
{
	uint64_t k = win_unwrap(acked, w, rollover);

	if (k == acked)
		return WIN_ACK_DUPLICATE;
	if (k > sent)
		return WIN_ACK_OUTSIDE;
	*block = k;
	return WIN_ACK_NEW;
}

/*
 * A receiver's memory of the DATA it dropped since its last in-order
 * block (blocks are taken strictly in order; the rest is dropped).
 */
struct win_repeats {
	uint64_t last;			/* the last repeated block seen */
	unsigned dups;			/* repeats ignored since the last new block */
	bool gap_acked;			/* the current gap was answered */
};

/* An in-order block arrived (or a timeout re-sent our ACK): forget. */
static inline void win_repeats_reset(struct win_repeats *r)
{
	r->last = 0;
	r->dups = 0;
	r->gap_acked = false;
}

/*
 * DATA numbered w arrived that is not the block after 'received'; the
 * receiver's last ACK named 'ack_sent'.  Returns true when the receiver
 * should ACK 'received' now, which happens at most once per gap:
 *  - a repeat of a block not acknowledged yet is the tail of a window the
 *    sender has already rewound, and an ACK would make it rewind again,
 *    unless a whole window of such repeats says our answer was lost;
 *  - a repeat of an acknowledged block means our ACK was lost;
 *  - repeats counting up again mean the sender started its window over,
 *    so the last answer may have been lost too;
 *  - anything else (a gap ahead, a stale block) gets the one ACK that
 *    says where to resume; more would only multiply the sender's resends.
 */
static inline bool win_stray_data(struct win_repeats *r, uint64_t received, uint64_t ack_sent,
				  uint16_t w, unsigned rollover, unsigned windowsize)
{
	uint64_t back = win_back(received, w, rollover);

	if (back <= windowsize) {
		uint64_t repeat = received - back;

		if (repeat <= r->last)
			r->gap_acked = false;
		r->last = repeat;
		if (repeat > ack_sent && ++r->dups < windowsize)
			return false;
	}
	if (r->gap_acked)
		return false;
	r->gap_acked = true;
	return true;
}

#endif
