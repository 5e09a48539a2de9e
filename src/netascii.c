/*
 * netascii.c - netascii encoder and decoder with state across calls.
 */
#include "config.h"

#include "netascii.h"

size_t netascii_encode(struct netascii_enc *e, const uint8_t *in, size_t inlen,
		       size_t *consumed, uint8_t *out, size_t outsize)
{
	size_t i = 0, o = 0;

	if (e->pending >= 0 && o < outsize) {
		out[o++] = (uint8_t)e->pending;
		e->pending = -1;
	}
	while (i < inlen && o < outsize && e->pending < 0) {
		uint8_t c = in[i++];

		if (c == '\n') {
			out[o++] = '\r';
			e->pending = '\n';
		} else if (c == '\r') {
			out[o++] = '\r';
			e->pending = '\0';
		} else {
			out[o++] = c;
			continue;
		}
		if (o < outsize) {
			out[o++] = (uint8_t)e->pending;
			e->pending = -1;
		}
	}
	*consumed = i;
	return o;
}

size_t netascii_decode(struct netascii_dec *d, const uint8_t *in, size_t inlen, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < inlen; i++) {
		uint8_t c = in[i];

		if (d->cr) {
			d->cr = false;
			if (c == '\n') {
				out[o++] = '\n';
				continue;
			}
			/* CR NUL is a bare CR; CR before anything else is
			 * kept as sent (lenient: RFC 764 forbids it). */
			out[o++] = '\r';
			if (c == '\0')
				continue;
		}
		if (c == '\r')
			d->cr = true;
		else
			out[o++] = c;
	}
	return o;
}

size_t netascii_decode_finish(struct netascii_dec *d, uint8_t *out)
{
	if (!d->cr)
		return 0;
	d->cr = false;
	out[0] = '\r';
	return 1;
}
