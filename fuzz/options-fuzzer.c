/*
 * options-fuzzer.c - libFuzzer target for option negotiation.
 *
 * The input is a request datagram.  It is negotiated under a few server
 * limits, and the result and its OACK are checked against the request.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct oack_check {
	const struct packet_request *req;
	const struct opt_result *res;
	unsigned seen;
};

static int check_pair(const char *name, const char *value, void *arg)
{
	struct oack_check *c = arg;
	int id;

	for (id = 0; id < OPT_MAX; id++)
		if (strcmp(name, opt_name(id)) == 0)
			break;
	if (id == OPT_MAX)
		abort();			/* not an option we know */
	if (c->seen & (1u << id))
		abort();			/* echoed twice */
	if (!c->req->opt[id] || !(c->res->acked & (1u << id)))
		abort();			/* never requested, or not acked */
	if (strcmp(value, c->res->value[id]) != 0)
		abort();
	c->seen |= 1u << id;
	return 0;
}

static void negotiate(const struct packet_request *req, const struct opt_limits *lim,
		      const uint64_t *file_size)
{
	static uint8_t oack[PACKET_MAX];
	struct opt_result res;
	struct oack_check c = { .req = req, .res = &res, .seen = 0 };
	unsigned blk_lim = lim->blksize_max, win_lim = lim->windowsize_max;
	int len;

	if (blk_lim > PACKET_BLKSIZE_MAX)
		blk_lim = PACKET_BLKSIZE_MAX;
	if (blk_lim < OPT_BLKSIZE_MIN)
		blk_lim = OPT_BLKSIZE_MIN;
	if (win_lim == 0)
		win_lim = 1;
	if (win_lim > OPT_WINDOWSIZE_MAX)
		win_lim = OPT_WINDOWSIZE_MAX;

	if (opt_negotiate(req, lim, file_size, &res) < 0) {
		/* Only a bad rollover refuses the request. */
		if (!req->opt[OPT_ROLLOVER] || lim->refuse[OPT_ROLLOVER] ||
		    !strcmp(req->opt[OPT_ROLLOVER], "0") || !strcmp(req->opt[OPT_ROLLOVER], "1"))
			abort();
		return;
	}
	if (res.blksize < OPT_BLKSIZE_MIN || res.blksize > PACKET_BLKSIZE_MAX)
		abort();
	if ((res.acked & (1u << OPT_BLKSIZE)) ? res.blksize > blk_lim
					      : res.blksize != OPT_BLKSIZE_DEFAULT)
		abort();
	if (res.windowsize < 1 || res.windowsize > win_lim)
		abort();
	if (!(res.acked & (1u << OPT_WINDOWSIZE)) && res.windowsize != 1)
		abort();
	if (res.windowsize > 1 &&
	    (uint64_t)res.windowsize * res.blksize > lim->window_bytes_max)
		abort();
	if (res.rollover > 1)
		abort();
	if (res.acked & ~((1u << OPT_MAX) - 1))
		abort();
	for (int id = 0; id < OPT_MAX; id++)
		if ((res.acked & (1u << id)) && (!req->opt[id] || lim->refuse[id]))
			abort();

	len = opt_build_oack(&res, oack, sizeof(oack));
	if (len < 0)
		abort();
	if (len == 0) {
		if (res.acked)
			abort();
		return;
	}
	if (packet_parse_oack(oack, (size_t)len, check_pair, &c) != 0 || c.seen != res.acked)
		abort();
	/* A buffer that is too small is refused, not overrun. */
	if (opt_build_oack(&res, oack, (size_t)len - 1) != -ENOSPC)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		unsigned blksize, windowsize;
		uint64_t window_bytes;
	} limits[] = {
		{ PACKET_BLKSIZE_MAX, 64, 4u << 20 },	/* the defaults */
		{ 1468, 16, 1u << 20 },			/* path MTU */
		{ 512, 1, 512 },
		{ 8, OPT_WINDOWSIZE_MAX, UINT64_MAX },
		{ 0, 0, 0 },				/* nonsense: clamped */
		{ 100000, 100000, 7 },
	};
	struct packet_request req;
	struct opt_limits lim;
	uint64_t file_size;
	int r;

	r = packet_parse_request(data, size, &req);
	if (r != 0 && r != -EPROTONOSUPPORT)
		return 0;
	/* The file size comes from the first bytes, as any uint64_t. */
	file_size = 0;
	memcpy(&file_size, data, size < 8 ? size : 8);

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		opt_limits_init(&lim);
		lim.blksize_max = limits[i].blksize;
		lim.windowsize_max = limits[i].windowsize;
		lim.window_bytes_max = limits[i].window_bytes;
		negotiate(&req, &lim, i & 1 ? NULL : &file_size);
	}
	/* Every option refused by -r: nothing may be acknowledged. */
	opt_limits_init(&lim);
	for (int id = 0; id < OPT_MAX; id++)
		lim.refuse[id] = true;
	negotiate(&req, &lim, &file_size);
	return 0;
}
