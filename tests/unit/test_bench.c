/* Unit tests for the pure parts of src/bench.c: the streaming hash, the
 * percentiles and the summary line. */
#include "config.h"

#include <stdlib.h>

#include "bench.h"
#include "tap.h"

static uint64_t hash_of(const uint8_t *p, size_t len)
{
	struct bench_hash h;

	bench_hash_init(&h);
	bench_hash_update(&h, p, len);
	return bench_hash_final(&h);
}

static void test_hash(void)
{
	static uint8_t buf[4096];
	bool same = true, differ = true;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);

	/* Every split of every length gives the one-shot value. */
	for (size_t len = 0; len <= 200 && same; len++) {
		uint64_t want = hash_of(buf, len);

		for (size_t cut = 0; cut <= len; cut++) {
			struct bench_hash h;

			bench_hash_init(&h);
			bench_hash_update(&h, buf, cut);
			bench_hash_update(&h, buf + cut, len - cut);
			if (bench_hash_final(&h) != want) {
				same = false;
				printf("#   len %zu cut %zu\n", len, cut);
				break;
			}
		}
	}
	ok(same, "any split into two updates gives the same hash");

	struct bench_hash h;
	bench_hash_init(&h);
	for (size_t off = 0; off < sizeof(buf); off += 13)
		bench_hash_update(&h, buf + off, sizeof(buf) - off < 13 ? sizeof(buf) - off : 13);
	ok(bench_hash_final(&h) == hash_of(buf, sizeof(buf)), "13-byte pieces of 4 KiB: same hash");

	/* One flipped bit anywhere, or one byte more or less, changes it. */
	uint64_t base = hash_of(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf) && differ; i += 97) {
		buf[i] ^= 0x10;
		differ = hash_of(buf, sizeof(buf)) != base;
		buf[i] ^= 0x10;
	}
	ok(differ, "a flipped bit changes the hash");
	ok(hash_of(buf, sizeof(buf) - 1) != base && hash_of(buf, 0) != hash_of((const uint8_t *)"", 1),
	   "the length counts");
	ok(hash_of(buf, 0) == hash_of(NULL, 0), "the empty input hashes the same every time");
}

static void test_percentile(void)
{
	uint64_t v[100];

	for (int i = 0; i < 100; i++)
		v[i] = (uint64_t)i + 1;
	is_int(bench_percentile(v, 100, 500), 50, "p50 of 1..100");
	is_int(bench_percentile(v, 100, 990), 99, "p99 of 1..100");
	is_int(bench_percentile(v, 100, 1000), 100, "p100 is the maximum");
	is_int(bench_percentile(v, 10, 500), 5, "p50 of 1..10");
	is_int(bench_percentile(v, 10, 990), 10, "p99 of 1..10 is the maximum");
	is_int(bench_percentile(v, 1, 500), 1, "one value is every percentile");
	is_int(bench_percentile(v, 0, 500), 0, "no values: 0");
	is_int(bench_percentile(v, 3, 0), 1, "p0 is the minimum");
}

static void test_summary(void)
{
	struct bench_stats st = { 0 };
	char line[512];

	for (int i = 0; i < 40; i++)
		bench_stats_add(&st, CLIENT_OK, 102400, i == 3 ? 2 : 0, i == 3, (uint64_t)(40 - i) * 1000);
	bench_stats_add(&st, CLIENT_EREMOTE, 0, 0, false, 500);
	bench_stats_add(&st, CLIENT_ETIMEOUT, 512, 5, true, 6000000);
	st.elapsed_us = 2000000;
	bench_summary(&st, line, sizeof(line));
	is_str(line, "sessions=42 completed=40 failed=2 bytes=4096512 seconds=2.000 MiBps=1.95 tps=20.0"
		     " p50_ms=20.000 p99_ms=40.000 max_ms=40.000 retransmits=7 first_try=39"
		     " timeouts=1 server_errors=1 verify_failed=0",
	       "summary of 40 good and 2 failed sessions");
	free(st.latency_us);

	struct bench_stats none = { 0 };
	bench_summary(&none, line, sizeof(line));
	is_str(line, "sessions=0 completed=0 failed=0 bytes=0 seconds=0.000 MiBps=0.00 tps=0.0"
		     " p50_ms=0.000 p99_ms=0.000 max_ms=0.000 retransmits=0 first_try=0"
		     " timeouts=0 server_errors=0 verify_failed=0",
	       "summary of nothing has zeros, no division by zero");

	/* Latencies beyond the first allocation. */
	struct bench_stats many = { 0 };
	for (uint64_t i = 5000; i > 0; i--)
		bench_stats_add(&many, CLIENT_OK, 1, 0, false, i);
	many.elapsed_us = 1000000;
	bench_summary(&many, line, sizeof(line));
	ok(strstr(line, " p50_ms=2.500 p99_ms=4.950 max_ms=5.000 ") != NULL, "percentiles of 5000 sessions: %s", line);
	free(many.latency_us);
}

int main(void)
{
	test_hash();
	test_percentile();
	test_summary();
	return tap_done();
}
