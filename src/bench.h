/*
 * bench.h - load generator: many concurrent get sessions in one process.
 *
 * Each session has its own UDP socket; one epoll loop drives them all.
 * Received data is hashed, never stored.  Optional impairment on the
 * client side (loss of DATA and ACKs, a delay before every send) shows
 * window and retransmission behaviour without netem.
 */
#ifndef SNOW_OWL_BENCH_H
#define SNOW_OWL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

struct bench_conf {
	struct client_conf conf;	/* a get; conf.file points into uri.file */
	struct client_uri uri;
	unsigned concurrency;		/* -c: sessions at once */
	uint64_t sessions;		/* -n: in all; 0 with -d: no limit */
	uint64_t duration_us;		/* -d: start sessions this long; 0: no limit */
	const char *verify_file;	/* compare the content with this file */
	bool expect_size_set;
	uint64_t expect_size;		/* compare the size only */
	double loss;			/* probability of dropping a DATA or an ACK */
	uint64_t delay_us;		/* hold every outgoing datagram this long */
	bool seed_set;
	uint64_t seed;
	const char *csv;		/* one line per session */
	bool quiet;
};

/* Run; prints the summary line on standard output.  Returns the exit
 * status: 0 when every session completed, else that of the first failure. */
int bench_run(struct bench_conf *bc);

/* ---- Pure parts, for the tests ------------------------------------------ */

/*
 * A streaming 64-bit hash in the style of xxHash64: four lanes over
 * 32-byte stripes, then a final mix.  Any split of the input into
 * updates gives the same value.  Not cryptographic: it tells a good copy
 * from a damaged one.
 */
struct bench_hash {
	uint64_t lane[4];
	uint64_t total;
	uint8_t tail[32];
	unsigned tail_len;
};

void bench_hash_init(struct bench_hash *h);
void bench_hash_update(struct bench_hash *h, const void *data, size_t len);
uint64_t bench_hash_final(const struct bench_hash *h);

/* Nearest-rank percentile (permille: 500 = p50, 990 = p99) of n sorted
 * values; 0 when n is 0. */
uint64_t bench_percentile(const uint64_t *sorted, size_t n, unsigned permille);

struct bench_stats {
	uint64_t sessions, completed, failed;
	uint64_t by_status[CLIENT_STATUS_MAX];
	uint64_t bytes;			/* file bytes received by all sessions */
	uint64_t retransmits;
	uint64_t first_try;		/* completed without resending the request */
	uint64_t elapsed_us;
	uint64_t *latency_us;		/* of completed sessions */
	size_t n_latency, cap_latency;
};

/* Record one finished session; 0 or -ENOMEM. */
int bench_stats_add(struct bench_stats *st, enum client_status status, uint64_t bytes,
		    uint64_t retransmits, bool request_resent, uint64_t latency_us);

/* The summary line (sorts the latencies).  Returns buf. */
char *bench_summary(struct bench_stats *st, char *buf, size_t size);

#endif
