/*
 * session.h - the core of one transfer, shared by the server's engine
 * (xfer.c: workers and forked children) and the client (client.c: the
 * snow-owl tool and its load generator).
 *
 * It holds what both ends of a windowed transfer (RFC 1350, 7440) must
 * agree on: the sender's window and its ring of header|data slots, the
 * receiver's position, the negotiated window values, the retransmission
 * timer (RFC 6298 with Karn's rule and the RFC 4015 undo, rto.h), and
 * the handling of strays and duplicates (window.h).
 *
 * It makes no system call and reads no clock: the caller feeds it events
 * (an ACK or a DATA arrived, the timer fired) with the time, and it
 * answers with what to do (send this window, ACK that block, give up).
 * Sockets, files, logs and the wait stay with the caller, so the unit
 * tests drive it with scripted event sequences.
 */
#ifndef SNOW_OWL_SESSION_H
#define SNOW_OWL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rto.h"
#include "window.h"

struct session {
	/* Negotiated (defaults until then: 512, 1, rollover 0). */
	unsigned blksize, windowsize, rollover;
	uint64_t fixed_us;		/* a timeout fixed by the timeout option or
					 * the client tool; 0: adaptive (rto) */
	unsigned max_retries;		/* timeouts in a row before giving up */
	uint64_t giveup_us;		/* ... or this long without progress; 0: no limit */
	unsigned quiet_after;		/* resends to an unverified peer; 0: no limit */
	bool verified;			/* the peer has answered on the transfer's port */
	bool shares_queue;		/* waits in one queue with this process's other
					 * sessions (sess_on_timeout); a server's, not a
					 * client's: its peers are one machine each */

	/* Timers, in microseconds of the caller's clock. */
	struct rto rto;
	bool probe_valid;		/* the packet being timed went out once (Karn) */
	uint64_t probe_us;		/* when it was sent */
	uint64_t first_sent_us;		/* when the last new packet first went out */
	uint64_t held;			/* timeouts that sent nothing (the queue's) */
	unsigned tries;			/* timeouts since the last progress */
	uint64_t deadline_us;		/* UINT64_MAX: none */
	uint64_t progress_us;		/* the last move forward */
	uint64_t retransmits;		/* packets sent again */

	/* Sender: blocks 1..last; the window [acked + 1, acked + windowsize]
	 * lives in nslots slots (the window, or more to read ahead). */
	bool opening;			/* an OACK waits for its ACK 0 */
	bool eof;			/* last is known */
	uint64_t acked;			/* highest block acknowledged */
	uint64_t sent;			/* highest block sent */
	uint64_t filled;		/* highest block put in the ring */
	uint64_t last;			/* the final block, once known */
	uint64_t wire_acked;		/* DATA payload bytes acknowledged */
	uint32_t last_len;		/* the final block's payload, once known */
	uint8_t *ring;
	uint32_t *slot_len;		/* payload bytes of each slot */
	size_t slot_size;		/* header + blksize */
	unsigned nslots;

	/* Receiver: blocks are taken strictly in order. */
	bool dally;			/* the final block was taken and ACKed */
	uint64_t received;		/* highest block taken */
	uint64_t ack_sent;		/* the block our last ACK named */
	unsigned win_count;		/* blocks since our last ACK */
	struct win_repeats repeats;	/* DATA dropped since the last new block */
};

/*
 * Start: no options yet, an adaptive timeout starting at initial_us
 * within [min_us, max_us] (or the process's recent one when larger, see
 * sess_seed_us), and nothing armed.
 */
void sess_init(struct session *s, uint64_t initial_us, uint64_t min_us, uint64_t max_us, uint64_t now);

/*
 * The largest timeout this process's sessions measured lately, halved for
 * every second since: a new transfer may start from it when it is above
 * the configured one (RFC 6298 lets a sender start from cached estimates),
 * so that in a boot storm a busy client is not sent its first reply twice.
 */
uint64_t sess_seed_us(uint64_t now);

/* The timeout to arm now, and arming it. */
uint64_t sess_timeout_us(const struct session *s);
static inline void sess_arm(struct session *s, uint64_t now) { s->deadline_us = now + sess_timeout_us(s); }

/*
 * Something went out for the first time now, untimed (an OACK, whose
 * answer may come after the client's own timer): the timer waits for its
 * answer.
 */
void sess_sent(struct session *s, uint64_t now);

/* Something went out for the first time now: time its answer. */
static inline void sess_probe(struct session *s, uint64_t now)
{
	sess_sent(s, now);
	s->probe_us = now;
	s->probe_valid = true;
}

/* Forget what this process's sessions sent and had answered (tests). */
void sess_shared_reset(void);

/* ---- Sender ---- */

/* The ring: nslots slots of slot_size bytes.  0 or -ENOMEM. */
int sess_ring_alloc(struct session *s, unsigned nslots, size_t slot_size);
void sess_ring_free(struct session *s);

static inline uint8_t *sess_slot(const struct session *s, uint64_t block)
{
	return s->ring + (size_t)(block % s->nslots) * s->slot_size;
}

static inline uint32_t *sess_slot_len(const struct session *s, uint64_t block)
{
	return &s->slot_len[block % s->nslots];
}

/* The last block of the window that the next send covers: blocks up to
 * it must be in the ring (or the file's end known) before sess_window(). */
static inline uint64_t sess_window_end(const struct session *s) { return s->acked + s->windowsize; }

/* The final block is in the ring: every block before it is full. */
static inline void sess_mark_last(struct session *s, uint64_t block)
{
	s->last = block;
	s->last_len = *sess_slot_len(s, block);
	s->eof = true;
}

/*
 * The window after the last ACK is in the ring: *first..*upto is what to
 * send now.  Counts what goes out again, times what goes out first
 * (Karn), and arms the timer.
 */
void sess_window(struct session *s, uint64_t now, uint64_t *first, uint64_t *upto);

enum sess_ack {
	SESS_ACK_IGNORE,	/* a duplicate or stale ACK: only the timer resends */
	SESS_ACK_SLIDE,		/* new blocks acknowledged (or the OACK): send the next window */
	SESS_ACK_DONE,		/* the final block acknowledged: complete */
};

/*
 * An ACK numbered w arrived.  On SLIDE and DONE, *prev is the highest
 * block acknowledged before it (the caller counts blocks prev + 1 ..
 * acked as delivered).
 */
enum sess_ack sess_on_ack(struct session *s, uint16_t w, uint64_t now, uint64_t *prev);

/* ---- Receiver ---- */

enum sess_data {
	SESS_DATA_DROP,		/* not taken, nothing to answer */
	SESS_DATA_ACK,		/* not taken: ACK s->received (where to resume) */
	SESS_DATA_NEW,		/* the next block in order: the caller takes it,
				 * then calls sess_data_taken() */
};

/* A DATA numbered w arrived; on SESS_DATA_NEW *block is its number. */
enum sess_data sess_on_data(struct session *s, uint16_t w, uint64_t now, uint64_t *block);

/*
 * The caller took block (final: shorter than blksize).  Returns true when
 * the block must be ACKed now: the window is complete, or it is the
 * final one (then the session dallies: a repeat of it is ACKed again).
 * Arms the timer.
 */
bool sess_data_taken(struct session *s, uint64_t block, bool final, uint64_t now);

/* An ACK of block was sent (after SESS_DATA_ACK, sess_data_taken, or a
 * timeout). */
static inline void sess_ack_sent(struct session *s, uint64_t block) { s->ack_sent = block; }

/* ---- Timer ---- */

enum sess_timer {
	SESS_T_NONE,		/* not due, or quiet towards an unverified peer */
	SESS_T_RESEND,		/* resend what waits for an answer: the request or
				 * OACK, the window (sess_window), or the ACK
				 * (sess_resend_ack) */
	SESS_T_GIVEUP,		/* too many timeouts, or too long without progress */
	SESS_T_DALLY_END,	/* the dally after the final ACK is over */
};

enum sess_timer sess_on_timeout(struct session *s, uint64_t now);

/* A receiver's timeout: the block to ACK again (the sender resumes after
 * it); counts the resend and arms the timer. */
uint64_t sess_resend_ack(struct session *s, uint64_t now);

/* A resend of a single packet (the request, the OACK): count, arm. */
static inline void sess_resent(struct session *s, uint64_t now)
{
	s->retransmits++;
	sess_arm(s, now);
}

#endif
