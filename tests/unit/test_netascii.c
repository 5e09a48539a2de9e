/* Unit tests for src/netascii.c: netascii encoder/decoder and their state across calls. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "netascii.h"

#define LIT(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

/* Encode all of in with one large call; returns the output length. */
static size_t encode_once(const uint8_t *in, size_t inlen, uint8_t *out)
{
	struct netascii_enc e;
	size_t consumed, n;

	netascii_enc_init(&e);
	n = netascii_encode(&e, in, inlen, &consumed, out, 2 * inlen + 1);
	if (consumed != inlen || netascii_enc_pending(&e))
		printf("#   one-shot encode left input or a pending byte\n");
	return n;
}

/*
 * Encode in input chunks of chunk bytes into output buffers of osize bytes
 * (like blocks of a transfer), flushing a pending byte at the end with
 * inlen 0.  Returns the total length, or (size_t)-1 when a call returned a
 * short buffer although input or a pending byte was left.
 */
static size_t encode_split(const uint8_t *in, size_t inlen, size_t chunk, size_t osize,
			   uint8_t *out)
{
	struct netascii_enc e;
	size_t pos = 0, total = 0;

	netascii_enc_init(&e);
	for (;;) {
		size_t avail = inlen - pos < chunk ? inlen - pos : chunk;
		size_t consumed, n;

		n = netascii_encode(&e, in + pos, avail, &consumed, out + total, osize);
		pos += consumed;
		total += n;
		if (n < osize && (consumed < avail || netascii_enc_pending(&e)))
			return (size_t)-1;	/* short output with work left */
		if (pos == inlen && !netascii_enc_pending(&e))
			return total;
		if (n == 0 && consumed == 0 && avail == 0)
			return (size_t)-1;	/* no progress on a pending byte */
	}
}

/* Decode in as two calls split at k, then finish. */
static size_t decode_split(const uint8_t *in, size_t inlen, size_t k, uint8_t *out)
{
	struct netascii_dec d;
	size_t n;

	netascii_dec_init(&d);
	n = netascii_decode(&d, in, k, out);
	n += netascii_decode(&d, in + k, inlen - k, out + n);
	n += netascii_decode_finish(&d, out + n);
	return n;
}

static void check_encode(const uint8_t *in, size_t inlen, const char *want, size_t wlen,
			 const char *what)
{
	uint8_t out[64];
	size_t n = encode_once(in, inlen, out);

	is_mem(out, n, want, wlen, "encode %s", what);
}

static void check_decode(const uint8_t *in, size_t inlen, const char *want, size_t wlen,
			 const char *what)
{
	uint8_t out[64];
	size_t n = decode_split(in, inlen, inlen, out);

	is_mem(out, n, want, wlen, "decode %s", what);
}

/* in and want are string literals (they may hold NULs). */
#define CHECK_ENC(in, want, what) check_encode(LIT(in), want, sizeof(want) - 1, what)
#define CHECK_DEC(in, want, what) check_decode(LIT(in), want, sizeof(want) - 1, what)

static void test_encode_basic(void)
{
	struct netascii_enc e;
	uint8_t out[16];
	size_t consumed = 99;

	CHECK_ENC("a\nb\rc", "a\r\nb\r\0c", "\"a\\nb\\rc\"");
	CHECK_ENC("\r\n", "\r\0\r\n", "local CR LF");
	CHECK_ENC("\n\n", "\r\n\r\n", "two LFs");
	CHECK_ENC("x\0y", "x\0y", "NUL passes through");
	CHECK_ENC("\xff\x80", "\xff\x80", "high bytes pass through");
	CHECK_ENC("", "", "empty input");

	netascii_enc_init(&e);
	is_int(netascii_encode(&e, LIT("abc"), &consumed, out, 0), 0, "outsize 0 writes nothing");
	is_int(consumed, 0, "outsize 0 consumes nothing");

	is_int(netascii_encode(&e, LIT("ab\ncd"), &consumed, out, 3), 3, "LF at the buffer end");
	is_int(consumed, 3, "the LF is consumed");
	is_mem(out, 3, "ab\r", 3, "CR of the pair written");
	ok(netascii_enc_pending(&e), "LF pending");

	memset(out, 0xa5, sizeof(out));
	is_int(netascii_encode(&e, (const uint8_t *)"", 0, &consumed, out, 0), 0, "pending kept with outsize 0");
	ok(netascii_enc_pending(&e), "still pending");
	is_int(out[0], 0xa5, "outsize 0: nothing written");
	is_int(netascii_encode(&e, (const uint8_t *)"", 0, &consumed, out, sizeof(out)), 1,
	       "pending LF flushed with inlen 0");
	is_int(out[0], '\n', "flushed byte is LF");
	is_int(consumed, 0, "flush consumes nothing");
	ok(!netascii_enc_pending(&e), "nothing pending after the flush");

	is_int(netascii_encode(&e, LIT("\r"), &consumed, out, 1), 1, "CR at the buffer end");
	ok(netascii_enc_pending(&e), "NUL pending after a local CR");
	is_int(netascii_encode(&e, LIT("z"), &consumed, out, sizeof(out)), 2,
	       "pending NUL written before new input");
	is_mem(out, 2, "\0z", 2, "NUL then z");
}

/* Every output size and input chunk size gives the one-shot output. */
static void test_encode_split(void)
{
	static const uint8_t in[] = "ab\r\ncd\n\n\r\rx\ny\r\nz\n\r";
	const size_t inlen = sizeof(in) - 1;
	uint8_t want[128], got[128];
	size_t wlen = encode_once(in, inlen, want);

	for (size_t osize = 1; osize <= wlen + 1; osize++) {
		int bad = 0;

		for (size_t chunk = 1; chunk <= inlen; chunk++) {
			size_t n = encode_split(in, inlen, chunk, osize, got);

			if (n != wlen || memcmp(got, want, wlen) != 0) {
				printf("#   osize %zu chunk %zu: length %zu\n", osize, chunk, n);
				bad++;
			}
		}
		is_int(bad, 0, "encode into %zu-byte buffers, every chunk size: same bytes", osize);
	}
}

static void test_decode_basic(void)
{
	struct netascii_dec d;
	uint8_t out[8];

	CHECK_DEC("\r\n", "\n", "CR LF -> LF");
	CHECK_DEC("\r\0", "\r", "CR NUL -> CR");
	CHECK_DEC("\rx", "\rx", "lone CR before x kept");
	CHECK_DEC("a\r\nb\r\0c", "a\nb\rc", "mixed line");
	CHECK_DEC("\r\r\n", "\r\n", "CR CR LF -> CR LF");
	CHECK_DEC("\r\r\0", "\r\r", "CR CR NUL -> CR CR");
	CHECK_DEC("\n\0", "\n\0", "bare LF and NUL kept");
	CHECK_DEC("ab\r", "ab\r", "trailing CR flushed by finish");

	netascii_dec_init(&d);
	is_int(netascii_decode(&d, LIT("a\r"), out), 1, "CR held back at the end of a call");
	is_int(netascii_decode(&d, LIT("x"), out), 2, "held CR and x: inlen + 1 bytes");
	is_mem(out, 2, "\rx", 2, "held CR is written first");
	is_int(netascii_decode_finish(&d, out), 0, "finish without a held CR writes nothing");

	netascii_dec_init(&d);
	is_int(netascii_decode(&d, LIT("\r"), out), 0, "CR alone: nothing yet");
	is_int(netascii_decode_finish(&d, out), 1, "finish flushes the CR");
	is_int(out[0], '\r', "flushed byte is CR");
	is_int(netascii_decode_finish(&d, out), 0, "second finish writes nothing");
}

/* Splitting the wire stream anywhere must not change the output. */
static void test_decode_split(void)
{
	static const uint8_t in[] = "\r\nab\r\0\r\r\nx\rz\r\0\r\n\n\r";
	const size_t inlen = sizeof(in) - 1;
	uint8_t want[64], got[64];
	size_t wlen = decode_split(in, inlen, inlen, want);
	int bad = 0;

	is_mem(want, wlen, "\nab\r\r\nx\rz\r\n\n\r", 13, "reference decode");
	for (size_t k = 0; k <= inlen; k++) {
		size_t n = decode_split(in, inlen, k, got);

		if (n != wlen || memcmp(got, want, wlen) != 0) {
			printf("#   split at %zu differs\n", k);
			bad++;
		}
	}
	is_int(bad, 0, "decode split at each of %zu positions: same bytes", inlen + 1);
}

/* Deterministic PRNG (xorshift32) so the data is the same everywhere. */
static uint32_t rng = 2463534242u;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Every wire CR is followed by LF or NUL. */
static int valid_netascii(const uint8_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] == '\r' && (i + 1 == n || (w[i + 1] != '\n' && w[i + 1] != '\0')))
			return 0;
	return 1;
}

static void test_round_trip(void)
{
	enum { LEN = 64 * 1024, BLOCK = 512 };
	uint8_t *data = malloc(LEN), *wire = malloc(2 * LEN + BLOCK), *back = malloc(2 * LEN + 1);
	size_t crlf = 0, wlen, blen = 0;
	struct netascii_dec d;

	for (size_t i = 0; i < LEN; i++) {
		uint32_t r = next_rand();

		data[i] = (r & 3) == 0 ? '\r' : (r & 3) == 1 ? '\n' : (uint8_t)(r >> 8);
		crlf += data[i] == '\r' || data[i] == '\n';
	}
	wlen = encode_split(data, LEN, 1000, BLOCK, wire);
	is_int(wlen, LEN + crlf, "encoded size is input + one byte per CR and LF");
	ok(wlen != (size_t)-1 && valid_netascii(wire, wlen), "encoded stream has no bare CR");

	netascii_dec_init(&d);
	for (size_t off = 0; wlen != (size_t)-1 && off < wlen; off += BLOCK) {
		size_t n = wlen - off < BLOCK ? wlen - off : BLOCK;

		blen += netascii_decode(&d, wire + off, n, back + blen);
	}
	blen += netascii_decode_finish(&d, back + blen);
	is_mem(back, blen, data, LEN, "64 KiB of random data survives encode + decode");
	free(data);
	free(wire);
	free(back);
}

int main(void)
{
	test_encode_basic();
	test_encode_split();
	test_decode_basic();
	test_decode_split();
	test_round_trip();
	return tap_done();
}
