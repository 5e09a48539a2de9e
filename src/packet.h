/*
 * packet.h - TFTP packet codec (RFC 1350, 2347).
 *
 * Pure functions over caller-owned buffers: no sockets, clocks or globals.
 * Parsers never read past buf + len; builders never write past buf + size.
 */
#ifndef SNOW_OWL_PACKET_H
#define SNOW_OWL_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum packet_opcode {
	OP_RRQ = 1,
	OP_WRQ = 2,
	OP_DATA = 3,
	OP_ACK = 4,
	OP_ERROR = 5,
	OP_OACK = 6,
};

enum packet_error {
	ERR_UNDEFINED = 0,
	ERR_NOT_FOUND = 1,
	ERR_ACCESS = 2,
	ERR_DISK_FULL = 3,
	ERR_ILLEGAL_OP = 4,
	ERR_UNKNOWN_TID = 5,
	ERR_EXISTS = 6,
	ERR_NO_USER = 7,
	ERR_OPTION = 8,
};

enum packet_mode {
	MODE_OCTET,
	MODE_NETASCII,
	MODE_MAIL,
};

/* Options the server understands, indexed for table lookups. */
enum opt_id {
	OPT_BLKSIZE,
	OPT_TSIZE,
	OPT_TIMEOUT,
	OPT_UTIMEOUT,
	OPT_WINDOWSIZE,
	OPT_ROLLOVER,
	OPT_MAX
};

/* Largest datagram we ever build or accept: 4-byte header + max blksize. */
#define PACKET_HDR 4
#define PACKET_BLKSIZE_MAX 65464
#define PACKET_MAX (PACKET_HDR + PACKET_BLKSIZE_MAX)
/* Longest file name accepted (bytes, without the NUL). */
#define PACKET_FILENAME_MAX 1024

struct packet_request {
	enum packet_opcode op;		/* OP_RRQ or OP_WRQ */
	const char *filename;		/* NUL-terminated, inside the buffer */
	size_t filename_len;
	enum packet_mode mode;
	const char *mode_str;		/* as sent, for logging */
	const char *opt[OPT_MAX];	/* value strings; NULL if not requested */
	unsigned n_unknown;		/* options seen but not understood */
};

/* Return the opcode of a datagram, or 0 when it has none. */
unsigned packet_opcode(const void *buf, size_t len);

/*
 * Parse an RRQ/WRQ.  Returns 0, or -EINVAL for a malformed request, or
 * -EPROTONOSUPPORT for a well-formed request in an unknown mode.  The
 * returned pointers point into buf, which must stay alive.
 */
int packet_parse_request(const void *buf, size_t len, struct packet_request *req);

/* Canonical lower-case name of an option. */
const char *opt_name(enum opt_id id);

struct packet_data {
	uint16_t block;
	const uint8_t *data;
	size_t len;
};
int packet_parse_data(const void *buf, size_t len, struct packet_data *d);
int packet_parse_ack(const void *buf, size_t len, uint16_t *block);

struct packet_errmsg {
	uint16_t code;
	const char *msg;	/* NUL-terminated inside buf, or "" */
	size_t msg_len;
};
int packet_parse_error(const void *buf, size_t len, struct packet_errmsg *e);

/*
 * OACK: name/value pairs.  The parser reports each pair through the
 * callback, for clients; returns -EINVAL when malformed.
 */
int packet_parse_oack(const void *buf, size_t len,
		      int (*cb)(const char *name, const char *value, void *arg), void *arg);

/* Builders return the packet length, or -ENOSPC when size is too small. */
int packet_build_request(void *buf, size_t size, enum packet_opcode op,
			 const char *filename, const char *mode,
			 const char *const *names, const char *const *values, size_t n);
int packet_build_ack(void *buf, size_t size, uint16_t block);
int packet_build_data_header(void *buf, size_t size, uint16_t block);
int packet_build_error(void *buf, size_t size, uint16_t code, const char *msg);
int packet_build_oack(void *buf, size_t size,
		      const char *const *names, const char *const *values, size_t n);

/* Standard message for an error code. */
const char *packet_error_string(uint16_t code);

#endif
