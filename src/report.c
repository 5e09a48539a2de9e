/*
 * report.c - the record a transfer process sends to the dispatcher.
 */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include "packet.h"
#include "report.h"

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void report_encode(const struct xfer_report *r, uint8_t *buf)
{
	buf[0] = REPORT_VERSION;
	buf[1] = r->op;
	buf[2] = r->outcome;
	buf[3] = 0;
	put_le(buf + 4, r->error, 2);
	put_le(buf + 6, 0, 2);
	put_le(buf + 8, r->pid, 4);
	put_le(buf + 12, r->held, 4);
	put_le(buf + 16, r->bytes, 8);
	put_le(buf + 24, r->duration_us, 8);
	put_le(buf + 32, r->retransmits, 8);
}

int report_decode(const uint8_t *buf, size_t len, struct xfer_report *r)
{
	if (len != REPORT_SIZE || buf[0] != REPORT_VERSION)
		return -EINVAL;
	if ((buf[1] != OP_RRQ && buf[1] != OP_WRQ) || buf[2] == XO_NONE || buf[2] >= XO_MAX)
		return -EINVAL;
	if (buf[3] || get_le(buf + 4, 2) > ERR_OPTION || get_le(buf + 6, 2))
		return -EINVAL;
	r->op = buf[1];
	r->outcome = buf[2];
	r->error = (uint16_t)get_le(buf + 4, 2);
	r->pid = (uint32_t)get_le(buf + 8, 4);
	r->held = (uint32_t)get_le(buf + 12, 4);
	r->bytes = get_le(buf + 16, 8);
	r->duration_us = get_le(buf + 24, 8);
	r->retransmits = get_le(buf + 32, 8);
	return 0;
}

int report_send(int fd, const struct xfer_report *r)
{
	uint8_t buf[REPORT_SIZE];

	report_encode(r, buf);
	/* Blocking, bounded by the SO_SNDTIMEO the dispatcher set on the
	 * socket; MSG_NOSIGNAL: a gone dispatcher must not kill us. */
	ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(buf) ? 0 : -EMSGSIZE;
}

const char *xfer_outcome_name(enum xfer_outcome o)
{
	static const char *const names[] = {
		[XO_NONE] = "none", [XO_COMPLETE] = "complete", [XO_PROBE] = "probe",
		[XO_ABORTED] = "aborted", [XO_TIMEOUT] = "timeout", [XO_REFUSED] = "refused",
		[XO_FAILED] = "failed", [XO_CHANGED] = "changed",
	};
	return names[o];
}
