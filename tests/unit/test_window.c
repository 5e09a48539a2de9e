/* Unit tests for src/window.h: 16-bit wire block numbers, unwrapping and ACK classification. */
#include "config.h"

#include <stdint.h>

#include "tap.h"
#include "options.h"
#include "window.h"

#define G32 ((uint64_t)1 << 32)

static const char *const ack_names[] = { "NEW", "DUPLICATE", "OUTSIDE" };

static void check_wire(uint64_t b, unsigned rollover, uint16_t want)
{
	is_int(win_wire(b, rollover), want, "rollover %u: block %" PRIu64 " is wire %u",
	       rollover, b, want);
}

static void check_unwrap(uint64_t base, uint16_t w, unsigned rollover, uint64_t want)
{
	is_int(win_unwrap(base, w, rollover), want,
	       "rollover %u: base %" PRIu64 ", wire %u -> %" PRIu64, rollover, base, w, want);
}

/* Classify and compare with want (and the block for WIN_ACK_NEW). */
static void check_ack(uint64_t acked, uint64_t sent, uint16_t w, unsigned rollover,
		      enum win_ack want, uint64_t want_block)
{
	uint64_t block = UINT64_MAX;
	enum win_ack got = win_classify_ack(acked, sent, w, rollover, &block);

	ok(got == want && (want != WIN_ACK_NEW || block == want_block),
	   "rollover %u, acked %" PRIu64 ", sent %" PRIu64 ", wire %u: %s %" PRIu64,
	   rollover, acked, sent, w, ack_names[want], want == WIN_ACK_NEW ? want_block : 0);
	if (got != want || (want == WIN_ACK_NEW && block != want_block))
		printf("#   got %s, block %" PRIu64 "\n", ack_names[got], block);
}

static void test_wire(void)
{
	check_wire(0, 0, 0);
	check_wire(1, 0, 1);
	check_wire(65535, 0, 65535);
	check_wire(65536, 0, 0);
	check_wire(65537, 0, 1);
	check_wire(G32 + 5, 0, 5);

	check_wire(0, 1, 0);
	check_wire(1, 1, 1);
	check_wire(65535, 1, 65535);
	check_wire(65536, 1, 1);
	check_wire(65537, 1, 2);
	check_wire(131070, 1, 65535);
	check_wire(131071, 1, 1);
	check_wire(65535 * G32, 1, 65535);	/* a multiple of 65535 */
	check_wire(65535 * G32 + 1, 1, 1);

	/* Rollover 1 never yields wire 0 after block 0. */
	int zeros = 0;
	for (uint64_t b = 1; b <= 3 * 65536; b++)
		zeros += win_wire(b, 1) == 0;
	is_int(zeros, 0, "rollover 1: no block in 1..196608 is wire 0");
}

static void test_unwrap(void)
{
	check_unwrap(0, 0, 0, 0);
	check_unwrap(0, 7, 0, 7);
	check_unwrap(10, 10, 0, 10);
	check_unwrap(10, 12, 0, 12);
	check_unwrap(65530, 65535, 0, 65535);
	check_unwrap(65530, 0, 0, 65536);
	check_unwrap(65530, 3, 0, 65539);
	check_unwrap(65530, 65529, 0, 65530 + 65535);	/* behind: far ahead */
	check_unwrap(G32 + 65530, 3, 0, G32 + 65539);

	check_unwrap(0, 0, 1, 0);
	check_unwrap(0, 9, 1, 9);
	check_unwrap(0, 65535, 1, 65535);
	check_unwrap(65530, 65535, 1, 65535);
	check_unwrap(65530, 1, 1, 65536);
	check_unwrap(65530, 3, 1, 65538);
	check_unwrap(65535, 65535, 1, 65535);
	check_unwrap(65535, 1, 1, 65536);
	check_unwrap(65530, 0, 1, 65530 + 65535);	/* 0 only for block 0 */
	check_unwrap(65530, 65529, 1, 65530 + 65534);
	check_unwrap(131070, 5, 1, 131075);
	check_unwrap(G32 + 65530, 3, 1, G32 + 65530 + (3 + 65535 - win_wire(G32 + 65530, 1)) % 65535);
}

static void test_classify(void)
{
	/* Window of 4 after block 10. */
	check_ack(10, 14, 12, 0, WIN_ACK_NEW, 12);
	check_ack(10, 14, 14, 0, WIN_ACK_NEW, 14);
	check_ack(10, 14, 11, 0, WIN_ACK_NEW, 11);
	check_ack(10, 14, 10, 0, WIN_ACK_DUPLICATE, 0);
	check_ack(10, 14, 9, 0, WIN_ACK_OUTSIDE, 0);
	check_ack(10, 14, 15, 0, WIN_ACK_OUTSIDE, 0);
	check_ack(0, 1, 0, 0, WIN_ACK_DUPLICATE, 0);
	check_ack(0, 1, 1, 0, WIN_ACK_NEW, 1);

	/* Across the wrap, rollover 0: 65533..65537 are wires 65533..65535, 0, 1. */
	check_ack(65533, 65537, 0, 0, WIN_ACK_NEW, 65536);
	check_ack(65533, 65537, 1, 0, WIN_ACK_NEW, 65537);
	check_ack(65533, 65537, 65535, 0, WIN_ACK_NEW, 65535);
	check_ack(65533, 65537, 65533, 0, WIN_ACK_DUPLICATE, 0);
	check_ack(65533, 65537, 65532, 0, WIN_ACK_OUTSIDE, 0);
	check_ack(65533, 65537, 2, 0, WIN_ACK_OUTSIDE, 0);
	check_ack(65536, 65540, 0, 0, WIN_ACK_DUPLICATE, 0);
	check_ack(65536, 65540, 65535, 0, WIN_ACK_OUTSIDE, 0);

	/* Rollover 1: 65533..65537 are wires 65533..65535, 1, 2. */
	check_ack(65533, 65537, 1, 1, WIN_ACK_NEW, 65536);
	check_ack(65533, 65537, 2, 1, WIN_ACK_NEW, 65537);
	check_ack(65533, 65537, 0, 1, WIN_ACK_OUTSIDE, 0);
	check_ack(65533, 65537, 65533, 1, WIN_ACK_DUPLICATE, 0);
	check_ack(65533, 65537, 3, 1, WIN_ACK_OUTSIDE, 0);
	check_ack(65535, 65536, 65535, 1, WIN_ACK_DUPLICATE, 0);
	check_ack(65535, 65536, 1, 1, WIN_ACK_NEW, 65536);
	check_ack(0, 2, 0, 1, WIN_ACK_DUPLICATE, 0);
	check_ack(0, 2, 2, 1, WIN_ACK_NEW, 2);

	/* 64-bit counters: bases above 2^32. */
	check_ack(G32 + 65533, G32 + 65537, 0, 0, WIN_ACK_NEW, G32 + 65536);
	check_ack(G32 + 65533, G32 + 65537, 65533, 0, WIN_ACK_DUPLICATE, 0);
	check_ack(G32 + 65533, G32 + 65537, 65532, 0, WIN_ACK_OUTSIDE, 0);
	check_ack(G32 + 65533, G32 + 65537, 2, 0, WIN_ACK_OUTSIDE, 0);
	uint64_t a = 3 * G32 + 7;	/* rollover 1: use its own wire numbers */
	check_ack(a, a + 4, win_wire(a + 3, 1), 1, WIN_ACK_NEW, a + 3);
	check_ack(a, a + 4, win_wire(a, 1), 1, WIN_ACK_DUPLICATE, 0);
	check_ack(a, a + 4, win_wire(a - 1, 1), 1, WIN_ACK_OUTSIDE, 0);
	check_ack(a, a + 4, win_wire(a + 5, 1), 1, WIN_ACK_OUTSIDE, 0);

	/* The largest window: the ACK of its last block.  Rollover 1 has
	 * 65535 wire numbers, so negotiation caps its window at 65534. */
	check_ack(65530, 65530 + 65535, win_wire(65530 + 65535, 0), 0, WIN_ACK_NEW, 65530 + 65535);
	check_ack(65530, 65530 + 65534, win_wire(65530 + 65534, 1), 1, WIN_ACK_NEW, 65530 + 65534);
}

/*
 * The model of what a sender can hear with everything up to acked
 * acknowledged and up to sent = acked + win sent: a wire number naming
 * acked is a duplicate; one naming a later block up to sent acknowledges
 * it; one naming a block of the window before (acked - win .. acked - 1,
 * a late or repeated ACK) is stale and must be ignored, as must anything
 * else.  Returns false when the model itself is ambiguous: some wire
 * number names both a stale block and one in the window.
 */
static bool model(uint64_t acked, uint64_t win, unsigned rollover, enum win_ack *want,
		  uint64_t *want_block)
{
	static bool stale[65536];
	uint64_t sent = acked + win;
	bool clean = true;

	for (unsigned w = 0; w < 65536; w++) {
		want[w] = WIN_ACK_OUTSIDE;
		stale[w] = false;
	}
	for (uint64_t k = acked > win ? acked - win : 0; k < acked; k++)
		stale[win_wire(k, rollover)] = true;
	for (uint64_t k = acked; k <= sent; k++) {
		uint16_t w = win_wire(k, rollover);

		clean &= !stale[w];
		want[w] = k == acked ? WIN_ACK_DUPLICATE : WIN_ACK_NEW;
		want_block[w] = k;
	}
	return clean;
}

/* Classify every wire number and compare with the model; count misses. */
static unsigned long long against_model(uint64_t acked, uint64_t win, unsigned rollover,
					unsigned long long *checked)
{
	static enum win_ack want[65536];
	static uint64_t want_block[65536];
	unsigned long long bad = 0;

	if (!model(acked, win, rollover, want, want_block)) {
		printf("#   acked %" PRIu64 " window %" PRIu64 ": stale and new ACKs share a number\n",
		       acked, win);
		return 1;
	}
	for (unsigned w = 0; w < 65536; w++) {
		uint64_t block = 0;
		enum win_ack got = win_classify_ack(acked, acked + win, (uint16_t)w, rollover, &block);

		++*checked;
		if (got != want[w] || (got == WIN_ACK_NEW && block != want_block[w])) {
			if (bad++ < 5)
				printf("#   acked %" PRIu64 " sent %" PRIu64 " wire %u: got %s, want %s\n",
				       acked, acked + win, w, ack_names[got], ack_names[want[w]]);
		}
	}
	return bad;
}

/* Every acked in [lo, hi], windows 1..64 and the largest granted. */
static void exhaustive(uint64_t lo, uint64_t hi, unsigned rollover)
{
	static const uint64_t large[] = { OPT_WINDOWSIZE_SAFE - 1, OPT_WINDOWSIZE_SAFE };
	unsigned long long checked = 0, bad = 0;

	for (uint64_t acked = lo; acked <= hi; acked++) {
		for (uint64_t win = 1; win <= 64; win++)
			bad += against_model(acked, win, rollover, &checked);
		for (size_t i = 0; i < sizeof(large) / sizeof(large[0]); i++)
			bad += against_model(acked, large[i], rollover, &checked);
	}
	ok(bad == 0, "rollover %u, acked %" PRIu64 "..%" PRIu64 ", windows 1..64 and %u..%u: "
	   "%llu classifications, stale ACKs included, match the model", rollover, lo, hi,
	   OPT_WINDOWSIZE_SAFE - 1, OPT_WINDOWSIZE_SAFE, checked);
}

static void test_exhaustive(void)
{
	/* Wrap points: where the wire number goes back to 0 (or 1). */
	const uint64_t high[2] = { G32 - 1, 65535 * (G32 / 65535 + 1) };

	for (unsigned rollover = 0; rollover <= 1; rollover++) {
		exhaustive(65535 - 66, 65535 + 2, rollover);
		exhaustive(131070 - 66, 131070 + 2, rollover);
		exhaustive(high[rollover] - 66, high[rollover] + 2, rollover);
	}
}

/*
 * Every window the server grants, at the wrap points: the ACKs at the
 * edges (the oldest stale one, the last stale one, the duplicate, the
 * first and the last new one, the first never sent) are classified as
 * the model says.  And the bound is tight: one more block and the model
 * itself is ambiguous.
 */
static void test_every_window(void)
{
	static enum win_ack want[65536];
	static uint64_t want_block[65536];
	const uint64_t bases[] = { 65535 - 3, 65535, 131070 + 1, G32 - 2, 65535 * (G32 / 65535 + 1) };

	for (unsigned rollover = 0; rollover <= 1; rollover++) {
		unsigned long long bad = 0, checked = 0;

		for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
			for (uint64_t win = 1; win <= OPT_WINDOWSIZE_SAFE; win++) {
				uint64_t acked = bases[i] + win, sent = acked + win;
				const uint64_t edge[] = { acked - win, acked - 1, acked, acked + 1, sent, sent + 1 };

				for (size_t e = 0; e < sizeof(edge) / sizeof(edge[0]); e++) {
					uint64_t k = edge[e], block = 0;
					uint16_t w = win_wire(k, rollover);
					enum win_ack expect = k == acked ? WIN_ACK_DUPLICATE
							      : k > acked && k <= sent ? WIN_ACK_NEW : WIN_ACK_OUTSIDE;
					enum win_ack got = win_classify_ack(acked, sent, w, rollover, &block);

					checked++;
					if (got != expect || (got == WIN_ACK_NEW && block != k)) {
						if (bad++ < 5)
							printf("#   acked %" PRIu64 " window %" PRIu64 " block %" PRIu64
							       ": got %s, want %s\n", acked, win, k, ack_names[got],
							       ack_names[expect]);
					}
				}
			}
		}
		ok(bad == 0, "rollover %u: every window 1..%u at 5 wrap points, %llu edge ACKs, stale ones "
		   "included, classified right", rollover, OPT_WINDOWSIZE_SAFE, checked);
		ok(model(65535, OPT_WINDOWSIZE_SAFE, rollover, want, want_block),
		   "rollover %u: window %u leaves stale and new ACKs apart", rollover, OPT_WINDOWSIZE_SAFE);
		ok(!model(65535, OPT_WINDOWSIZE_SAFE + 1, rollover, want, want_block),
		   "rollover %u: window %u would not (the cap is tight)", rollover, OPT_WINDOWSIZE_SAFE + 1);
	}
}

/* win_back: how far behind base a repeated block lies, across the wrap. */
static void test_back(void)
{
	is_int(win_back(100, 100, 0), 0, "back: the base itself is 0 behind");
	is_int(win_back(100, 85, 0), 15, "back: 15 behind");
	is_int(win_back(65540, win_wire(65530, 0), 0), 10, "back: across the wrap to 0");
	is_int(win_back(65540, win_wire(65540 + 1, 0), 0), 65535, "back: a block ahead looks far behind");
	is_int(win_back(65540, win_wire(65530, 1), 1), 10, "back: across the wrap to 1");
	is_int(win_back(65536, 65535, 1), 1, "back: rollover 1, 65535 is just before 65536");
	ok(win_back(65536, 0, 1) > 65535, "back: rollover 1, wire 0 is never a recent block");
	uint64_t bad = 0;
	for (uint64_t base = 65500; base < 65600; base++)
		for (unsigned r = 0; r < 2; r++)
			for (uint64_t d = 0; d <= 64; d++)
				if (win_back(base, win_wire(base - d, r), r) != d)
					bad++;
	is_int(bad, 0, "back: every distance 0..64 around the wrap, both rollovers");
}

/* A receiver at block 100, windowsize 8, whose last ACK named 100. */
static void test_stray(void)
{
	struct win_repeats r;
	int acks = 0;

	/* A gap ahead: one ACK for the gap, however many blocks follow it. */
	win_repeats_reset(&r);
	for (unsigned w = 102; w <= 108; w++)
		acks += win_stray_data(&r, 100, 100, (uint16_t)w, 0, 8);
	is_int(acks, 1, "stray: blocks after a gap get one ACK between them");

	/* A repeat of an acknowledged block: our ACK was lost, answer it. */
	win_repeats_reset(&r);
	ok(win_stray_data(&r, 100, 100, 100, 0, 8), "stray: a repeat of the acknowledged block is answered");
	ok(!win_stray_data(&r, 100, 100, 104, 0, 8), "stray: ... and a gap right after it is not answered again");
	ok(win_stray_data(&r, 100, 100, 100, 0, 8), "stray: the same block repeated again (a new round) is");

	/* Repeats of blocks received but not yet acknowledged (ACK named 96):
	 * the tail of a window the sender has rewound; silence until a whole
	 * window of them says our answer was lost. */
	win_repeats_reset(&r);
	acks = 0;
	for (unsigned w = 97; w <= 100; w++)
		acks += win_stray_data(&r, 100, 96, (uint16_t)w, 0, 8);
	is_int(acks, 0, "stray: repeats of unacknowledged blocks are not answered");
	for (unsigned w = 97; w <= 100; w++)
		acks += win_stray_data(&r, 100, 96, (uint16_t)w, 0, 8);
	is_int(acks, 1, "stray: ... until a window of them (8) has come");

	/* Repeats counting up again after an answer: answered again. */
	win_repeats_reset(&r);
	ok(win_stray_data(&r, 100, 100, 99, 0, 8), "stray: repeat of 99 answered");
	ok(!win_stray_data(&r, 100, 100, 100, 0, 8), "stray: 100 right after it is not");
	ok(win_stray_data(&r, 100, 100, 99, 0, 8), "stray: 99 again (the window started over) is");

	/* After an in-order block the memory is clear. */
	win_repeats_reset(&r);
	is_int(r.dups, 0, "stray: reset clears the repeat count");
	ok(!r.gap_acked, "stray: reset clears the answered gap");

	/* Across the wrap with rollover 0: 65536 internal is wire 0. */
	win_repeats_reset(&r);
	ok(win_stray_data(&r, 65536, 65536, 0, 0, 8), "stray: a repeat across the wrap is recognised");
}

int main(void)
{
	test_stray();
	test_back();
	test_wire();
	test_unwrap();
	test_classify();
	test_exhaustive();
	test_every_window();
	return tap_done();
}
