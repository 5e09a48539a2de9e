/*
 * packet-fuzzer.c - libFuzzer target for the packet codec.
 *
 * Every parser runs on the raw input; a parsed request or OACK is built
 * again and must parse back to the same fields.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OACK_PAIRS_MAX 64

struct oack_pairs {
	const char *names[OACK_PAIRS_MAX];
	const char *values[OACK_PAIRS_MAX];
	size_t n;
	size_t bytes;	/* sum of string lengths with NULs */
};

static int collect(const char *name, const char *value, void *arg)
{
	struct oack_pairs *p = arg;

	if (p->n == OACK_PAIRS_MAX)
		return -1;	/* enough: stop the parse */
	p->names[p->n] = name;
	p->values[p->n] = value;
	p->bytes += strlen(name) + strlen(value) + 2;
	p->n++;
	return 0;
}

static void request_round_trip(const struct packet_request *req, int r)
{
	static uint8_t out[PACKET_MAX * 2];
	const char *names[OPT_MAX], *values[OPT_MAX];
	struct packet_request again;
	size_t n = 0;
	int len;

	for (int id = 0; id < OPT_MAX; id++) {
		if (!req->opt[id])
			continue;
		names[n] = opt_name(id);
		values[n] = req->opt[id];
		n++;
	}
	len = packet_build_request(out, sizeof(out), req->op, req->filename,
				   req->mode_str, names, values, n);
	if (len < 0)
		abort();
	if (packet_parse_request(out, (size_t)len, &again) != r)
		abort();
	if (again.op != req->op || again.mode != req->mode ||
	    again.filename_len != req->filename_len ||
	    strcmp(again.filename, req->filename) != 0 ||
	    strcmp(again.mode_str, req->mode_str) != 0 || again.n_unknown != 0)
		abort();
	for (int id = 0; id < OPT_MAX; id++) {
		if (!req->opt[id] != !again.opt[id])
			abort();
		if (req->opt[id] && strcmp(req->opt[id], again.opt[id]) != 0)
			abort();
	}
	/* A buffer one byte short must be refused, never overrun. */
	if (len > 0 && packet_build_request(out, (size_t)len - 1, req->op, req->filename,
					    req->mode_str, names, values, n) != -ENOSPC)
		abort();
}

static int compare_pair(const char *name, const char *value, void *arg)
{
	struct oack_pairs *p = arg;

	if (p->n >= OACK_PAIRS_MAX || strcmp(name, p->names[p->n]) != 0 ||
	    strcmp(value, p->values[p->n]) != 0)
		abort();
	p->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[PACKET_MAX * 2];
	struct packet_request req;
	struct packet_data d;
	struct packet_errmsg e;
	struct oack_pairs pairs = { .n = 0 };
	uint16_t block;
	unsigned op = packet_opcode(data, size);
	int r, len;

	r = packet_parse_request(data, size, &req);
	if (r == 0 || r == -EPROTONOSUPPORT) {
		if ((op != OP_RRQ && op != OP_WRQ) || req.filename_len != strlen(req.filename) ||
		    (const uint8_t *)req.filename < data ||
		    (const uint8_t *)req.filename + req.filename_len >= data + size)
			abort();
		request_round_trip(&req, r);
	} else if (r != -EINVAL) {
		abort();
	}

	if (packet_parse_data(data, size, &d) == 0) {
		if (op != OP_DATA || d.len != size - PACKET_HDR || d.data != data + PACKET_HDR)
			abort();
		len = packet_build_data_header(out, sizeof(out), d.block);
		if (len != PACKET_HDR || memcmp(out, data, PACKET_HDR) != 0)
			abort();
	}

	if (packet_parse_ack(data, size, &block) == 0) {
		len = packet_build_ack(out, sizeof(out), block);
		if (len != PACKET_HDR || memcmp(out, data, PACKET_HDR) != 0)
			abort();
	}

	if (packet_parse_error(data, size, &e) == 0) {
		struct packet_errmsg again;

		if (e.msg_len != strlen(e.msg))
			abort();
		len = packet_build_error(out, sizeof(out), e.code, e.msg);
		if (len != (int)(PACKET_HDR + e.msg_len + 1))
			abort();
		if (packet_parse_error(out, (size_t)len, &again) != 0 || again.code != e.code ||
		    strcmp(again.msg, e.msg) != 0)
			abort();
		(void)packet_error_string(e.code);
	}

	if (packet_parse_oack(data, size, collect, &pairs) == 0) {
		size_t n = pairs.n;

		/* A complete parse consumed exactly the pairs after the opcode. */
		if (pairs.bytes != size - 2)
			abort();
		len = packet_build_oack(out, sizeof(out), pairs.names, pairs.values, n);
		if (len != (int)size || memcmp(out, data, size) != 0)
			abort();
		pairs.n = 0;
		if (packet_parse_oack(out, (size_t)len, compare_pair, &pairs) != 0 || pairs.n != n)
			abort();
	}
	return 0;
}
