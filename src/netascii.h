/*
 * netascii.h - netascii (RFC 764 NVT ASCII as used by RFC 1350) codec.
 *
 * Local text uses LF; on the wire a line ends in CR LF and a bare CR is
 * sent as CR NUL.  Both directions keep their state across calls, so a
 * CR LF pair may be split across blocks or windows.
 */
#ifndef SNOW_OWL_NETASCII_H
#define SNOW_OWL_NETASCII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netascii_enc {
	int pending;	/* second byte of a pair still to emit, or -1 */
};

struct netascii_dec {
	bool cr;	/* the previous wire byte was a CR */
};

static inline void netascii_enc_init(struct netascii_enc *e) { e->pending = -1; }
static inline void netascii_dec_init(struct netascii_dec *d) { d->cr = false; }

/*
 * Encode local bytes into at most outsize wire bytes.  Sets *consumed to
 * the input used and returns the output length.  Output is short only when
 * the input ran out (a pending byte is written first on the next call).
 */
size_t netascii_encode(struct netascii_enc *e, const uint8_t *in, size_t inlen,
		       size_t *consumed, uint8_t *out, size_t outsize);

/* True when the encoder holds a byte that still has to be sent. */
static inline bool netascii_enc_pending(const struct netascii_enc *e) { return e->pending >= 0; }

/*
 * Decode wire bytes; out must have room for inlen + 1 bytes.  Returns the
 * output length.  netascii_decode_finish() flushes a trailing CR.
 */
size_t netascii_decode(struct netascii_dec *d, const uint8_t *in, size_t inlen, uint8_t *out);
size_t netascii_decode_finish(struct netascii_dec *d, uint8_t *out);

#endif
