/*
 * packet.c - TFTP packet codec.
 *
 * Every scan is bounded by buf + len.  Requests may be longer than the
 * 512 bytes of RFC 1350 (option lists and long names need it).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "packet.h"

static const char *const opt_names[OPT_MAX] = {
	[OPT_BLKSIZE] = "blksize",
	[OPT_TSIZE] = "tsize",
	[OPT_TIMEOUT] = "timeout",
	[OPT_UTIMEOUT] = "utimeout",
	[OPT_WINDOWSIZE] = "windowsize",
	[OPT_ROLLOVER] = "rollover",
};

const char *opt_name(enum opt_id id)
{
	return (unsigned)id < OPT_MAX ? opt_names[id] : NULL;
}

static int opt_lookup(const char *name)
{
	for (int i = 0; i < OPT_MAX; i++)
		if (strcasecmp(name, opt_names[i]) == 0)
			return i;
	return -1;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

unsigned packet_opcode(const void *buf, size_t len)
{
	if (len < 2)
		return 0;
	return get16(buf);
}

/*
 * Take the NUL-terminated string starting at *pos.  Returns NULL when no
 * NUL is found before end (the string is then incomplete).
 */
static const char *take_string(const uint8_t **pos, const uint8_t *end, size_t *lenp)
{
	const uint8_t *start = *pos;
	const uint8_t *nul;

	if (start >= end)
		return NULL;
	nul = memchr(start, '\0', (size_t)(end - start));
	if (!nul)
		return NULL;
	if (lenp)
		*lenp = (size_t)(nul - start);
	*pos = nul + 1;
	return (const char *)start;
}

int packet_parse_request(const void *buf, size_t len, struct packet_request *req)
{
	const uint8_t *p = buf, *end = p + len;
	const char *name, *value;
	unsigned op = packet_opcode(buf, len);

	memset(req, 0, sizeof(*req));
	if (op != OP_RRQ && op != OP_WRQ)
		return -EINVAL;
	req->op = op;
	p += 2;

	req->filename = take_string(&p, end, &req->filename_len);
	if (!req->filename)
		return -EINVAL;
	/* A mode without its terminating NUL makes the request malformed. */
	req->mode_str = take_string(&p, end, NULL);
	if (!req->mode_str)
		return -EINVAL;

	/*
	 * Options.  Deliberate leniency: a trailing fragment that is not a
	 * complete name/value pair is ignored (some ROMs pad requests).
	 * A repeated option counts once: the first occurrence wins.
	 */
	while ((name = take_string(&p, end, NULL)) != NULL) {
		int id;

		value = take_string(&p, end, NULL);
		if (!value)
			break;
		id = opt_lookup(name);
		if (id < 0) {
			req->n_unknown++;
			continue;
		}
		if (!req->opt[id])
			req->opt[id] = value;
	}

	if (strcasecmp(req->mode_str, "octet") == 0)
		req->mode = MODE_OCTET;
	else if (strcasecmp(req->mode_str, "netascii") == 0)
		req->mode = MODE_NETASCII;
	else if (strcasecmp(req->mode_str, "mail") == 0)
		req->mode = MODE_MAIL;
	else
		return -EPROTONOSUPPORT;
	return 0;
}

int packet_parse_data(const void *buf, size_t len, struct packet_data *d)
{
	if (len < PACKET_HDR || packet_opcode(buf, len) != OP_DATA)
		return -EINVAL;
	d->block = get16((const uint8_t *)buf + 2);
	d->data = (const uint8_t *)buf + PACKET_HDR;
	d->len = len - PACKET_HDR;
	return 0;
}

int packet_parse_ack(const void *buf, size_t len, uint16_t *block)
{
	/* Trailing bytes after an ACK are tolerated, as most servers do. */
	if (len < PACKET_HDR || packet_opcode(buf, len) != OP_ACK)
		return -EINVAL;
	*block = get16((const uint8_t *)buf + 2);
	return 0;
}

int packet_parse_error(const void *buf, size_t len, struct packet_errmsg *e)
{
	const uint8_t *p = buf, *end = p + len;

	if (len < PACKET_HDR || packet_opcode(buf, len) != OP_ERROR)
		return -EINVAL;
	e->code = get16(p + 2);
	p += PACKET_HDR;
	/* A message without its NUL is reported as empty, not trusted. */
	e->msg = take_string(&p, end, &e->msg_len);
	if (!e->msg) {
		e->msg = "";
		e->msg_len = 0;
	}
	return 0;
}

int packet_parse_oack(const void *buf, size_t len,
		      int (*cb)(const char *name, const char *value, void *arg), void *arg)
{
	const uint8_t *p = buf, *end = p + len;
	const char *name, *value;

	if (packet_opcode(buf, len) != OP_OACK)
		return -EINVAL;
	p += 2;
	while (p < end) {
		name = take_string(&p, end, NULL);
		if (!name)
			return -EINVAL;
		value = take_string(&p, end, NULL);
		if (!value)
			return -EINVAL;
		int r = cb(name, value, arg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Append a NUL-terminated string; returns the new offset or -ENOSPC. */
static int put_string(uint8_t *buf, size_t size, size_t off, const char *s)
{
	size_t n = strlen(s) + 1;

	if (off > size || n > size - off)
		return -ENOSPC;
	memcpy(buf + off, s, n);
	return (int)(off + n);
}

static int put_pairs(uint8_t *buf, size_t size, int off,
		     const char *const *names, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n && off >= 0; i++) {
		off = put_string(buf, size, (size_t)off, names[i]);
		if (off >= 0)
			off = put_string(buf, size, (size_t)off, values[i]);
	}
	return off;
}

int packet_build_request(void *buf, size_t size, enum packet_opcode op,
			 const char *filename, const char *mode,
			 const char *const *names, const char *const *values, size_t n)
{
	int off;

	if (size < 2)
		return -ENOSPC;
	put16(buf, (uint16_t)op);
	off = put_string(buf, size, 2, filename);
	if (off >= 0)
		off = put_string(buf, size, (size_t)off, mode);
	if (off >= 0)
		off = put_pairs(buf, size, off, names, values, n);
	return off;
}

int packet_build_ack(void *buf, size_t size, uint16_t block)
{
	if (size < PACKET_HDR)
		return -ENOSPC;
	put16(buf, OP_ACK);
	put16((uint8_t *)buf + 2, block);
	return PACKET_HDR;
}

int packet_build_data_header(void *buf, size_t size, uint16_t block)
{
	if (size < PACKET_HDR)
		return -ENOSPC;
	put16(buf, OP_DATA);
	put16((uint8_t *)buf + 2, block);
	return PACKET_HDR;
}

int packet_build_error(void *buf, size_t size, uint16_t code, const char *msg)
{
	if (size < PACKET_HDR)
		return -ENOSPC;
	put16(buf, OP_ERROR);
	put16((uint8_t *)buf + 2, code);
	if (!msg)
		msg = packet_error_string(code);
	return put_string(buf, size, PACKET_HDR, msg);
}

int packet_build_oack(void *buf, size_t size,
		      const char *const *names, const char *const *values, size_t n)
{
	if (size < 2)
		return -ENOSPC;
	put16(buf, OP_OACK);
	return put_pairs(buf, size, 2, names, values, n);
}

const char *packet_error_string(uint16_t code)
{
	static const char *const msgs[] = {
		[ERR_UNDEFINED] = "Undefined error",
		[ERR_NOT_FOUND] = "File not found",
		[ERR_ACCESS] = "Access violation",
		[ERR_DISK_FULL] = "Disk full or allocation exceeded",
		[ERR_ILLEGAL_OP] = "Illegal TFTP operation",
		[ERR_UNKNOWN_TID] = "Unknown transfer ID",
		[ERR_EXISTS] = "File already exists",
		[ERR_NO_USER] = "No such user",
		[ERR_OPTION] = "Option negotiation failed",
	};
	return code < sizeof(msgs) / sizeof(msgs[0]) ? msgs[code] : "Unknown error";
}
