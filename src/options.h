/*
 * options.h - option negotiation (RFC 2347, 2348, 2349, 7440; utimeout and
 * rollover as tftpd-hpa and the rollover drafts define them).
 *
 * Pure: takes a parsed request and the server's limits, returns what is
 * acknowledged and the values the transfer will use.
 */
#ifndef SNOW_OWL_OPTIONS_H
#define SNOW_OWL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "packet.h"

#define OPT_BLKSIZE_MIN 8
#define OPT_BLKSIZE_DEFAULT 512
#define OPT_WINDOWSIZE_MAX 65535	/* what the option may say (RFC 7440) */
/*
 * The largest window granted.  An ACK carries 16 bits, so a sender tells
 * a new ACK from a stale one (from the window before, at most a window
 * back) only while both windows together span fewer wire numbers than
 * exist: 2 * 32767 + 1 = 65535, which fits rollover 1's 65535 numbers
 * too.  test_window checks this bound against a model with stale ACKs.
 */
#define OPT_WINDOWSIZE_SAFE 32767
#define OPT_TIMEOUT_MIN 1
#define OPT_TIMEOUT_MAX 255
#define OPT_UTIMEOUT_MIN 10000UL	/* microseconds, as tftpd-hpa */
#define OPT_UTIMEOUT_MAX 255000000UL

struct opt_limits {
	unsigned blksize_max;		/* -B and the path MTU */
	unsigned windowsize_max;	/* blocks per window */
	uint64_t window_bytes_max;	/* blksize * windowsize cap */
	bool refuse[OPT_MAX];		/* -r: never acknowledge */
};

struct opt_result {
	unsigned blksize;
	unsigned windowsize;
	uint64_t timeout_us;		/* 0: the client asked for none */
	unsigned rollover;		/* block number after 65535: 0 or 1 */
	uint64_t tsize;			/* RRQ: file size; WRQ: announced size */
	bool tsize_known;
	unsigned acked;			/* bit (1 << OPT_x) for each echoed option */
	char value[OPT_MAX][24];	/* echoed values, decimal */
};

/* Default limits: blksize 65464, windowsize 64, 4 MiB per window. */
void opt_limits_init(struct opt_limits *lim);

/*
 * Negotiate.  file_size is the size to announce for tsize on an RRQ, or
 * NULL when it is not known (netascii: the converted size is not exact).
 * Returns 0, or -EINVAL when an option value must be refused with ERROR 8.
 */
int opt_negotiate(const struct packet_request *req, const struct opt_limits *lim,
		  const uint64_t *file_size, struct opt_result *res);

/* Build the OACK for res; returns its length, 0 when nothing is acked. */
int opt_build_oack(const struct opt_result *res, void *buf, size_t size);

/*
 * Strict unsigned decimal: digits only, no sign, no blanks, <= max.
 * Returns 0 or -EINVAL / -ERANGE.
 */
int opt_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* The same within min..max (-ERANGE below min too). */
int opt_parse_range(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
