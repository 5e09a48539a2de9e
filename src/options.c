/*
 * options.c - option negotiation.
 *
 * A bad value makes an option unacknowledged, never the request fail
 * (RFC 2347 lets the server ignore what it cannot honour).  The one
 * exception is rollover: a client that asks for a wrap we cannot do would
 * misnumber blocks, so that request is refused with ERROR 8.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

void opt_limits_init(struct opt_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->blksize_max = PACKET_BLKSIZE_MAX;
	lim->windowsize_max = 64;
	lim->window_bytes_max = 4u << 20;
}

int opt_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool overflow = false;

	if (!*s)
		return -EINVAL;
	/* Scan to the end even after an overflow: "999...9x" is not a
	 * number at all, which matters more than its size. */
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	if (overflow || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int opt_parse_range(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int r = opt_parse_uint(s, max, &v);

	if (r < 0)
		return r;
	if (v < min)
		return -ERANGE;
	*out = v;
	return 0;
}

static void ack(struct opt_result *res, enum opt_id id, uint64_t v)
{
	res->acked |= 1u << id;
	snprintf(res->value[id], sizeof(res->value[id]), "%" PRIu64, v);
}

/* Parse a requested value; clamp values above max to max when clamp is set. */
static bool value_in(const char *s, uint64_t min, uint64_t max, bool clamp, uint64_t *v)
{
	int r = opt_parse_uint(s, clamp ? UINT64_MAX : max, v);

	if (r == -ERANGE && clamp) {
		*v = max;
		return true;
	}
	if (r < 0 || *v < min)
		return false;
	if (*v > max)
		*v = max;
	return true;
}

int opt_negotiate(const struct packet_request *req, const struct opt_limits *lim,
		  const uint64_t *file_size, struct opt_result *res)
{
	const char *const *o = req->opt;
	uint64_t v = 0;

	memset(res, 0, sizeof(*res));
	res->blksize = OPT_BLKSIZE_DEFAULT;
	res->windowsize = 1;

#define WANT(id) (o[id] && !lim->refuse[id])

	if (WANT(OPT_BLKSIZE)) {
		unsigned max = lim->blksize_max;

		if (max > PACKET_BLKSIZE_MAX)
			max = PACKET_BLKSIZE_MAX;
		if (max < OPT_BLKSIZE_MIN)
			max = OPT_BLKSIZE_MIN;
		if (value_in(o[OPT_BLKSIZE], OPT_BLKSIZE_MIN, max, true, &v)) {
			res->blksize = (unsigned)v;
			ack(res, OPT_BLKSIZE, v);
		}
	}

	if (WANT(OPT_WINDOWSIZE)) {
		uint64_t max = lim->windowsize_max ? lim->windowsize_max : 1;
		uint64_t by_bytes = lim->window_bytes_max / res->blksize;

		if (max > OPT_WINDOWSIZE_SAFE)
			max = OPT_WINDOWSIZE_SAFE;
		if (by_bytes < max)
			max = by_bytes ? by_bytes : 1;
		if (value_in(o[OPT_WINDOWSIZE], 1, max, true, &v)) {
			res->windowsize = (unsigned)v;
			ack(res, OPT_WINDOWSIZE, v);
		}
	}

	/* timeout and utimeout are echoed exactly or not at all. */
	if (WANT(OPT_TIMEOUT) &&
	    opt_parse_uint(o[OPT_TIMEOUT], OPT_TIMEOUT_MAX, &v) == 0 && v >= OPT_TIMEOUT_MIN) {
		res->timeout_us = v * 1000000u;
		ack(res, OPT_TIMEOUT, v);
	}
	if (WANT(OPT_UTIMEOUT) &&
	    opt_parse_uint(o[OPT_UTIMEOUT], OPT_UTIMEOUT_MAX, &v) == 0 && v >= OPT_UTIMEOUT_MIN) {
		res->timeout_us = v;	/* the finer one wins when both are sent */
		ack(res, OPT_UTIMEOUT, v);
	}

	if (WANT(OPT_TSIZE) && opt_parse_uint(o[OPT_TSIZE], UINT64_MAX, &v) == 0) {
		if (req->op == OP_WRQ) {
			res->tsize = v;
			res->tsize_known = true;
			ack(res, OPT_TSIZE, v);
		} else if (file_size) {
			res->tsize = *file_size;
			res->tsize_known = true;
			ack(res, OPT_TSIZE, *file_size);
		}
	}

	if (WANT(OPT_ROLLOVER)) {
		if (strcmp(o[OPT_ROLLOVER], "0") == 0)
			res->rollover = 0;
		else if (strcmp(o[OPT_ROLLOVER], "1") == 0)
			res->rollover = 1;
		else
			return -EINVAL;
		ack(res, OPT_ROLLOVER, res->rollover);
	}
#undef WANT
	return 0;
}

int opt_build_oack(const struct opt_result *res, void *buf, size_t size)
{
	const char *names[OPT_MAX], *values[OPT_MAX];
	size_t n = 0;

	for (int id = 0; id < OPT_MAX; id++) {
		if (!(res->acked & (1u << id)))
			continue;
		names[n] = opt_name(id);
		values[n] = res->value[id];
		n++;
	}
	if (!n)
		return 0;
	return packet_build_oack(buf, size, names, values, n);
}
