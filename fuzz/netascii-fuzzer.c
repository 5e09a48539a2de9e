/*
 * netascii-fuzzer.c - libFuzzer target for the netascii codec.
 *
 * The first bytes of the input pick output buffer sizes and chunk sizes;
 * the rest is the text.  Encoding in pieces then decoding must give the
 * text back, and decoding arbitrary wire bytes in pieces must equal
 * decoding them in one go.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netascii.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 8192

/* Sizes from a small pseudo-random sequence seeded by the input. */
static size_t next_size(uint32_t *s, size_t max)
{
	*s = *s * 1103515245u + 12345u;
	return 1 + (*s >> 16) % max;
}

static void encode_decode(const uint8_t *text, size_t len, uint32_t seed)
{
	static uint8_t wire[2 * TEXT_MAX + 1], back[2 * TEXT_MAX + 2];
	struct netascii_enc e;
	struct netascii_dec d;
	size_t in = 0, w = 0, b = 0, chunk_left = 0, chunk_end = 0;

	netascii_enc_init(&e);
	while (in < len || netascii_enc_pending(&e)) {
		size_t outsize = next_size(&seed, 7), consumed = 0, o;

		if (chunk_left == 0) {
			chunk_left = next_size(&seed, 64);
			chunk_end = in + chunk_left > len ? len : in + chunk_left;
		}
		o = netascii_encode(&e, text + in, chunk_end - in, &consumed, wire + w, outsize);
		if (o > outsize || consumed > chunk_end - in)
			abort();
		/* Short output only when this piece of input ran out. */
		if (o < outsize && (in + consumed < chunk_end || netascii_enc_pending(&e)))
			abort();
		if (o == 0 && consumed == 0 && !netascii_enc_pending(&e) && in < chunk_end)
			abort();	/* no progress */
		in += consumed;
		w += o;
		if (in == chunk_end)
			chunk_left = 0;
		if (w > 2 * len)
			abort();
	}
	/* Every CR on the wire is followed by LF or NUL. */
	for (size_t i = 0; i < w; i++)
		if (wire[i] == '\r' && (i + 1 == w || (wire[i + 1] != '\n' && wire[i + 1] != '\0')))
			abort();

	netascii_dec_init(&d);
	for (size_t i = 0; i < w;) {
		size_t n = next_size(&seed, 32);

		if (n > w - i)
			n = w - i;
		b += netascii_decode(&d, wire + i, n, back + b);
		i += n;
	}
	b += netascii_decode_finish(&d, back + b);
	if (b != len || memcmp(back, text, len) != 0)
		abort();
}

static void decode_split(const uint8_t *wire, size_t len, uint32_t seed)
{
	static uint8_t whole[TEXT_MAX + 1], parts[TEXT_MAX + 2];
	struct netascii_dec d;
	size_t a, b = 0;

	netascii_dec_init(&d);
	a = netascii_decode(&d, wire, len, whole);
	if (a > len)
		abort();
	a += netascii_decode_finish(&d, whole + a);

	netascii_dec_init(&d);
	for (size_t i = 0; i < len;) {
		size_t n = next_size(&seed, 16);

		if (n > len - i)
			n = len - i;
		/* Room for exactly n + 1 bytes, as the contract says. */
		size_t o = netascii_decode(&d, wire + i, n, parts + b);
		if (o > n + 1)
			abort();
		b += o;
		i += n;
	}
	b += netascii_decode_finish(&d, parts + b);
	if (a != b || memcmp(whole, parts, a) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed;

	if (size < 4)
		return 0;
	memcpy(&seed, data, 4);
	data += 4;
	size -= 4;
	if (size > TEXT_MAX)
		size = TEXT_MAX;
	encode_decode(data, size, seed);
	decode_split(data, size, seed ^ 0x9e3779b9u);
	return 0;
}
