/*
 * client.c - URIs and the client session state machine (get and put).
 *
 * Receiver (get): blocks are taken strictly in order.  An ACK goes out at
 * the end of each window and for the final block; a block out of order
 * (a gap, or a duplicate of one already taken) is dropped and answered
 * once with an ACK of the last in-order block, which makes the server
 * resume right after it (RFC 7440 section 4).
 *
 * Sender (put): a window is sent as a whole; an ACK inside it slides the
 * window and sends from the block after it.  A duplicate ACK never causes
 * a resend (Sorcerer's Apprentice, RFC 1123 4.2.3.1); only the timer does.
 *
 * Both: the first reply from the server's address fixes the transfer port
 * (TID); a datagram from any other port gets ERROR 5 and changes nothing.
 * The timeout is fixed (the user's -t): a client talks to one server and
 * its user chose how patient to be.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "options.h"
#include "window.h"

#define RD_SIZE 65536	/* put: local read-ahead */

const char *client_status_name(enum client_status st)
{
	static const char *const names[CLIENT_STATUS_MAX] = {
		[CLIENT_OK] = "ok", [CLIENT_EUSAGE] = "usage", [CLIENT_EREMOTE] = "error",
		[CLIENT_ETIMEOUT] = "timeout", [CLIENT_ELOCAL] = "local", [CLIENT_EVERIFY] = "verify",
	};
	return (unsigned)st < CLIENT_STATUS_MAX ? names[st] : "?";
}

/* ---- URIs ---------------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode [s, end) into out (size bytes).  No NUL may result. */
static int pct_decode(const char *s, const char *end, char *out, size_t size)
{
	size_t o = 0;

	for (; s < end; s++) {
		int c = (unsigned char)*s;

		if (c == '%') {
			int hi = end - s > 2 ? hexval(s[1]) : -1, lo = end - s > 2 ? hexval(s[2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = hi << 4 | lo;
			s += 2;
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int client_parse_uri(const char *s, struct client_uri *u, const char **why)
{
	static const char scheme[] = "tftp://";
	const char *host, *host_end, *p, *path, *end, *semi;
	uint64_t port = 69;
	const char *dummy;

	if (!why)
		why = &dummy;
	memset(u, 0, sizeof(*u));
	u->mode = MODE_OCTET;
	if (strncasecmp(s, scheme, sizeof(scheme) - 1) != 0) {
		*why = "the URI does not start with tftp://";
		return -EINVAL;
	}
	host = s + sizeof(scheme) - 1;
	if (*host == '[') {
		host_end = strchr(++host, ']');
		if (!host_end) {
			*why = "no ']' after the IPv6 address";
			return -EINVAL;
		}
		p = host_end + 1;
	} else {
		host_end = host + strcspn(host, ":/");
		p = host_end;
	}
	if (host_end == host) {
		*why = "no host";
		return -EINVAL;
	}
	/* An IPv6 zone is written %25eth0 (RFC 6874). */
	if (pct_decode(host, host_end, u->host, sizeof(u->host)) < 0) {
		*why = "bad host";
		return -EINVAL;
	}
	if (*p == ':') {
		char num[8];
		size_t n = strcspn(++p, "/");

		if (n == 0 || n >= sizeof(num)) {
			*why = "bad port";
			return -EINVAL;
		}
		memcpy(num, p, n);
		num[n] = '\0';
		if (opt_parse_uint(num, 65535, &port) < 0 || port == 0) {
			*why = "bad port";
			return -EINVAL;
		}
		p += n;
	}
	if (*p != '/') {
		*why = "no /FILE after the host";
		return -EINVAL;
	}
	path = p + 1;
	end = path + strlen(path);
	/* ";mode=" ends the URI; a ';' elsewhere belongs to the name. */
	semi = strrchr(path, ';');
	if (semi && strncasecmp(semi, ";mode=", 6) == 0) {
		if (strcasecmp(semi + 6, "octet") == 0)
			u->mode = MODE_OCTET;
		else if (strcasecmp(semi + 6, "netascii") == 0)
			u->mode = MODE_NETASCII;
		else {
			*why = "mode must be octet or netascii";
			return -EINVAL;
		}
		u->mode_set = true;
		end = semi;
	}
	if (end == path) {
		*why = "no file name";
		return -EINVAL;
	}
	if (pct_decode(path, end, u->file, sizeof(u->file)) < 0) {
		*why = "bad file name (%-escape or length)";
		return -EINVAL;
	}
	u->port = (unsigned short)port;
	return 0;
}

int client_resolve(const struct client_uri *u, union sockaddr_any *addr, socklen_t *len)
{
	char buf[CLIENT_HOST_MAX + 16];

	snprintf(buf, sizeof(buf), strchr(u->host, ':') ? "[%s]:%u" : "%s:%u", u->host, u->port);
	return addr_parse(buf, u->port, AF_UNSPEC, addr, len);
}

int client_parse_seconds(const char *s, uint64_t *us)
{
	uint64_t whole = 0, frac = 0, scale = 1000000;
	const char *dot = strchr(s, '.');
	char ipart[16];
	size_t n = dot ? (size_t)(dot - s) : strlen(s);

	if (n >= sizeof(ipart) || (n == 0 && !dot))
		return -EINVAL;
	memcpy(ipart, s, n);
	ipart[n] = '\0';
	if (n && opt_parse_uint(ipart, 3600, &whole) < 0)
		return -EINVAL;
	if (dot) {
		const char *f = dot + 1;

		if (!*f)
			return -EINVAL;
		for (; *f; f++) {
			if (*f < '0' || *f > '9')
				return -EINVAL;
			scale /= 10;	/* digits below a microsecond are ignored */
			frac += (uint64_t)(*f - '0') * scale;
		}
	}
	*us = whole * 1000000 + frac;
	if (*us < 1000 || *us > 3600 * 1000000ull)
		return -EINVAL;
	return 0;
}

/* ---- Sessions ------------------------------------------------------------ */

void client_conf_init(struct client_conf *c, enum client_op op, const char *file)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->file = file;
	c->mode = MODE_OCTET;
	c->rollover = -1;
	c->tsize = true;
	c->timeout_us = 1000000;
	c->retries = 5;
}

size_t client_rx_size(const struct client_conf *c)
{
	unsigned bs = c->blksize > OPT_BLKSIZE_DEFAULT ? c->blksize : OPT_BLKSIZE_DEFAULT;

	return PACKET_HDR + bs + 1;
}

uint64_t client_window_bytes(const struct client_conf *c)
{
	return (uint64_t)(PACKET_HDR + (c->blksize ? c->blksize : OPT_BLKSIZE_DEFAULT)) *
	       (c->windowsize ? c->windowsize : 1);
}

static void arm(struct client_session *s, uint64_t now)
{
	sess_arm(&s->core, now);
}

static void finish(struct client_session *s, enum client_status st, uint64_t now)
{
	s->state = CS_DONE;
	s->status = st;
	s->core.deadline_us = UINT64_MAX;
	s->end_us = now;
}

static int send_to_peer(struct client_session *s, const void *buf, size_t len)
{
	const union sockaddr_any *to = s->locked ? &s->peer : &s->server;

	return s->io.send(s->io.arg, buf, len, &to->sa, s->locked ? s->peer_len : s->server_len);
}

/*
 * Fail: record why, and tell the server with ERROR code when it has a
 * transfer port to hear it (send_code < 0: the server ended it).
 */
__attribute__((format(printf, 5, 6)))
static void fail(struct client_session *s, enum client_status st, int send_code, const char *wire_msg,
		 const char *fmt, ...)
{
	va_list ap;

	if (s->state == CS_DONE)
		return;
	if (send_code >= 0 && s->locked) {
		uint8_t buf[256];
		int n = packet_build_error(buf, sizeof(buf), (uint16_t)send_code, wire_msg);

		if (n > 0)
			(void)send_to_peer(s, buf, (size_t)n);
	}
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	finish(s, st, s->end_us);
}

void client_abort(struct client_session *s, enum client_status st, const char *why)
{
	fail(s, st, ERR_UNDEFINED, why, "%s", why);
}

static void send_ack(struct client_session *s, uint64_t block)
{
	uint8_t buf[PACKET_HDR];

	sess_ack_sent(&s->core, block);
	packet_build_ack(buf, sizeof(buf), win_wire(block, s->core.rollover));
	(void)send_to_peer(s, buf, sizeof(buf));
}

static int send_request(struct client_session *s)
{
	const struct client_conf *c = s->conf;
	const char *names[OPT_MAX], *values[OPT_MAX];
	char num[4][24];
	uint8_t buf[PACKET_HDR + PACKET_FILENAME_MAX + 256];
	size_t n = 0;
	int len;

#define ADD(id, fmt, v) do { \
		snprintf(num[n], sizeof(num[n]), fmt, v); \
		names[n] = opt_name(id); \
		values[n] = num[n]; \
		n++; \
	} while (0)
	if (c->blksize)
		ADD(OPT_BLKSIZE, "%u", c->blksize);
	if (c->windowsize)
		ADD(OPT_WINDOWSIZE, "%u", c->windowsize);
	/* tsize is a size on the wire in octet mode only; in netascii it is
	 * neither checked nor announced (tftpd-hpa refuses a netascii
	 * request whose only option is tsize with ERROR 8). */
	if (c->tsize && c->mode == MODE_OCTET && c->op == CLIENT_GET)
		ADD(OPT_TSIZE, "%u", 0u);
	else if (c->tsize && c->mode == MODE_OCTET && c->put_size_known)
		ADD(OPT_TSIZE, "%" PRIu64, c->put_size);
	if (c->rollover >= 0)
		ADD(OPT_ROLLOVER, "%d", c->rollover);
#undef ADD
	len = packet_build_request(buf, sizeof(buf), c->op == CLIENT_GET ? OP_RRQ : OP_WRQ, c->file,
				   c->mode == MODE_NETASCII ? "netascii" : "octet", names, values, n);
	if (len < 0)
		return len;
	return send_to_peer(s, buf, (size_t)len);
}

/* ---- Receiver ---- */

static int deliver(struct client_session *s, const uint8_t *data, size_t len, bool final)
{
	if (s->conf->mode == MODE_NETASCII) {
		size_t n = netascii_decode(&s->dec, data, len, s->decoded);

		if (final)
			n += netascii_decode_finish(&s->dec, s->decoded + n);
		data = s->decoded;
		len = n;
	}
	s->bytes += len;
	return len ? s->io.write(s->io.arg, data, len) : 0;
}

static void receive_data(struct client_session *s, const struct packet_data *d, uint64_t now)
{
	unsigned blksize = s->core.blksize;
	uint64_t k;
	bool final;
	int r;

	switch (sess_on_data(&s->core, d->block, now, &k)) {
	case SESS_DATA_DROP:
		return;
	case SESS_DATA_ACK:	/* see win_stray_data for when */
		send_ack(s, s->core.received);
		return;
	case SESS_DATA_NEW:
		break;
	}
	if (d->len > blksize) {
		fail(s, CLIENT_EREMOTE, ERR_ILLEGAL_OP, "Block larger than blksize",
		     "block %" PRIu64 " has %zu bytes, more than blksize %u", k, d->len, blksize);
		return;
	}
	final = d->len < blksize;
	r = deliver(s, d->data, d->len, final);
	if (r < 0) {
		fail(s, CLIENT_ELOCAL, r == -ENOSPC ? ERR_DISK_FULL : ERR_UNDEFINED,
		     r == -ENOSPC ? "Disk full" : "Write error", "cannot write: %s", strerror(-r));
		return;
	}
	s->wire_bytes += d->len;
	if (sess_data_taken(&s->core, k, final, now))
		send_ack(s, k);
	if (!final)
		return;
	/* tsize is the file's size in octet mode only: in netascii servers
	 * differ on what they count. */
	if (s->tsize_known && s->conf->mode == MODE_OCTET && s->wire_bytes != s->tsize) {
		snprintf(s->error, sizeof(s->error), "received %" PRIu64 " bytes, the server announced %" PRIu64,
			 s->wire_bytes, s->tsize);
		finish(s, CLIENT_EVERIFY, now);
		return;
	}
	finish(s, CLIENT_OK, now);
}

/* ---- Sender ---- */

static uint8_t *slot(struct client_session *s, uint64_t block)
{
	return sess_slot(&s->core, block);
}

/* Fill the next block from the local file: up to blksize wire bytes. */
static int fill_block(struct client_session *s)
{
	uint64_t b = s->core.filled + 1;
	uint8_t *out = slot(s, b) + PACKET_HDR;
	size_t o = 0, src = 0, bs = s->core.blksize;

	while (o < bs) {
		size_t used, avail;

		if (s->rd_off == s->rd_len && !s->rd_eof) {
			ssize_t got = s->io.read(s->io.arg, s->rd, RD_SIZE);

			if (got < 0)
				return (int)got;
			s->rd_len = (size_t)got;
			s->rd_off = 0;
			s->rd_eof = got == 0;
		}
		avail = s->rd_len - s->rd_off;
		if (!avail && !netascii_enc_pending(&s->enc))
			break;	/* end of file, nothing held back */
		if (s->conf->mode == MODE_NETASCII) {
			o += netascii_encode(&s->enc, s->rd + s->rd_off, avail, &used, out + o, bs - o);
		} else {
			used = avail < bs - o ? avail : bs - o;
			memcpy(out + o, s->rd + s->rd_off, used);
			o += used;
		}
		s->rd_off += used;
		src += used;
	}
	*sess_slot_len(&s->core, b) = (uint32_t)o;
	s->slot_src[b % s->core.nslots] = (uint32_t)src;
	s->core.filled = b;
	if (o < bs)
		sess_mark_last(&s->core, b);
	return 0;
}

/* Send the window that starts after the last ACK. */
static void send_window(struct client_session *s, uint64_t now)
{
	uint64_t first, upto = sess_window_end(&s->core);

	while (s->core.filled < upto && !s->core.eof) {
		int r = fill_block(s);

		if (r < 0) {
			fail(s, CLIENT_ELOCAL, ERR_UNDEFINED, "Read error", "cannot read: %s", strerror(-r));
			return;
		}
	}
	sess_window(&s->core, now, &first, &upto);
	for (uint64_t b = first; b <= upto; b++) {
		uint8_t *p = slot(s, b);

		packet_build_data_header(p, PACKET_HDR, win_wire(b, s->core.rollover));
		(void)send_to_peer(s, p, PACKET_HDR + *sess_slot_len(&s->core, b));
	}
}

static void receive_ack(struct client_session *s, uint16_t w, uint64_t now)
{
	uint64_t prev;
	enum sess_ack a = sess_on_ack(&s->core, w, now, &prev);

	if (a == SESS_ACK_IGNORE)
		return;	/* duplicate or stale: only the timer resends */
	for (uint64_t b = prev + 1; b <= s->core.acked; b++) {
		s->bytes += s->slot_src[b % s->core.nslots];
		s->wire_bytes += *sess_slot_len(&s->core, b);
	}
	if (a == SESS_ACK_DONE) {
		finish(s, CLIENT_OK, now);
		return;
	}
	/* Acknowledged short of what was sent: the server lost the next
	 * block; the window goes on from there. */
	send_window(s, now);
}

/* ---- Negotiation ---- */

struct oack_check {
	struct client_session *s;
	char *why;
	size_t why_size;
};

/* Check one acknowledged option against what was asked and adopt it. */
static int oack_option(const char *name, const char *value, void *arg)
{
	struct oack_check *c = arg;
	struct client_session *s = c->s;
	const struct client_conf *conf = s->conf;
	uint64_t v;

	if (strcasecmp(name, opt_name(OPT_BLKSIZE)) == 0) {
		unsigned asked = conf->blksize ? conf->blksize : OPT_BLKSIZE_DEFAULT;

		if (opt_parse_uint(value, asked, &v) < 0 || v < OPT_BLKSIZE_MIN)
			goto bad;
		s->core.blksize = (unsigned)v;
	} else if (strcasecmp(name, opt_name(OPT_WINDOWSIZE)) == 0) {
		unsigned asked = conf->windowsize ? conf->windowsize : 1;

		if (opt_parse_uint(value, asked, &v) < 0 || v < 1)
			goto bad;
		s->core.windowsize = (unsigned)v;
	} else if (strcasecmp(name, opt_name(OPT_TSIZE)) == 0) {
		if (opt_parse_uint(value, UINT64_MAX, &v) < 0)
			goto bad;
		s->tsize = v;
		s->tsize_known = conf->op == CLIENT_GET;
	} else if (strcasecmp(name, opt_name(OPT_ROLLOVER)) == 0) {
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
			goto bad;
		s->core.rollover = (unsigned)(value[0] - '0');
	}
	/* Anything else (timeout, unknown extensions) changes nothing here. */
	return 0;
bad:
	snprintf(c->why, c->why_size, "the server acknowledged %.32s=%.32s, which was not asked for",
		 name, value);
	return -EINVAL;
}

/* The first reply came from 'from': it is the server's transfer port. */
static void lock_peer(struct client_session *s, const struct sockaddr *from, socklen_t fromlen)
{
	memcpy(&s->peer, from, fromlen);
	s->peer_len = fromlen;
	s->locked = true;
}

/* Buffers whose size depends on the negotiated values. */
static int alloc_buffers(struct client_session *s)
{
	if (s->conf->op == CLIENT_PUT) {
		if (sess_ring_alloc(&s->core, s->core.windowsize, PACKET_HDR + s->core.blksize) < 0)
			return -ENOMEM;
		s->slot_src = calloc(s->core.windowsize, sizeof(*s->slot_src));
		s->rd = malloc(RD_SIZE);
		if (!s->slot_src || !s->rd)
			return -ENOMEM;
	} else if (s->conf->mode == MODE_NETASCII) {
		s->decoded = malloc(s->core.blksize + 1);
		if (!s->decoded)
			return -ENOMEM;
	}
	return 0;
}

/* First reply: an OACK, DATA 1 (get) or ACK 0 (put).  Returns 0 when the
 * transfer can go on. */
static int begin_transfer(struct client_session *s, const uint8_t *buf, size_t len, uint64_t now)
{
	if (packet_opcode(buf, len) == OP_OACK) {
		char why[128] = "malformed OACK";
		struct oack_check c = { s, why, sizeof(why) };

		s->oack = true;
		if (packet_parse_oack(buf, len, oack_option, &c) < 0) {
			fail(s, CLIENT_EREMOTE, ERR_OPTION, "Bad option acknowledgement", "%s", why);
			return -1;
		}
	}
	if (alloc_buffers(s) < 0) {
		fail(s, CLIENT_ELOCAL, ERR_UNDEFINED, "Out of memory", "out of memory");
		return -1;
	}
	s->core.tries = 0;
	s->state = s->conf->op == CLIENT_GET ? CS_RECV : CS_SEND;
	return 0;
}

int client_start(struct client_session *s, const struct client_conf *conf, const struct client_io *io,
		 const struct sockaddr *server, socklen_t server_len, uint64_t now)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->io = *io;
	s->state = CS_REQUEST;
	memcpy(&s->server, server, server_len);
	s->server_len = server_len;
	sess_init(&s->core, conf->timeout_us, conf->timeout_us, conf->timeout_us, now);
	s->core.fixed_us = conf->timeout_us;
	s->core.max_retries = conf->retries;
	s->core.verified = true;	/* no quiet: the server is the one asked */
	netascii_dec_init(&s->dec);
	netascii_enc_init(&s->enc);
	s->start_us = s->end_us = now;
	r = send_request(s);
	if (r < 0) {
		fail(s, CLIENT_ELOCAL, -1, NULL, "cannot send the request: %s",
		     r == -ENOSPC ? "file name too long" : strerror(-r));
		return -1;
	}
	arm(s, now);
	return 0;
}

static bool same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
	       ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
}

/* Answer a datagram from a stranger without touching the transfer. */
static void reject_stranger(struct client_session *s, const uint8_t *buf, size_t len,
			    const struct sockaddr *from, socklen_t fromlen)
{
	uint8_t out[64];
	int n;

	if (packet_opcode(buf, len) == OP_ERROR)
		return;	/* never answer an ERROR */
	n = packet_build_error(out, sizeof(out), ERR_UNKNOWN_TID, NULL);
	if (n > 0)
		(void)s->io.send(s->io.arg, out, (size_t)n, from, fromlen);
}

void client_on_packet(struct client_session *s, const uint8_t *buf, size_t len,
		      const struct sockaddr *from, socklen_t fromlen, uint64_t now)
{
	unsigned op = packet_opcode(buf, len);

	if (s->state == CS_DONE)
		return;
	s->end_us = now;
	if (!s->locked) {
		if (!same_host(from, &s->server.sa))
			return;	/* not from the server we asked */
	} else if (fromlen != s->peer_len || !same_host(from, &s->peer.sa) ||
		   addr_port(from) != addr_port(&s->peer.sa)) {
		reject_stranger(s, buf, len, from, fromlen);
		return;
	}

	if (op == OP_ERROR) {
		struct packet_errmsg e;
		char msg[128];

		if (packet_parse_error(buf, len, &e) < 0)
			return;
		log_sanitize(e.msg, e.msg_len, msg, sizeof(msg));
		fail(s, CLIENT_EREMOTE, -1, NULL, "server error %u: %s", e.code,
		     msg[0] ? msg : packet_error_string(e.code));
		return;
	}

	if (s->state == CS_REQUEST) {
		struct packet_data d;
		uint16_t w;

		/* Anything but a valid first reply is ignored: the request
		 * may still be answered properly. */
		if (op == OP_OACK)
			;
		else if (s->conf->op == CLIENT_GET && packet_parse_data(buf, len, &d) == 0 && d.block == 1)
			;
		else if (s->conf->op == CLIENT_PUT && packet_parse_ack(buf, len, &w) == 0 && w == 0)
			;
		else
			return;
		lock_peer(s, from, fromlen);
		if (begin_transfer(s, buf, len, now) < 0)
			return;
		if (s->conf->op == CLIENT_PUT) {
			send_window(s, now);
		} else if (op == OP_OACK) {
			send_ack(s, 0);
			arm(s, now);
		} else {
			receive_data(s, &d, now);
		}
		return;
	}

	if (s->state == CS_RECV) {
		struct packet_data d;

		if (op == OP_OACK && s->core.received == 0 && s->oack)
			send_ack(s, 0);	/* our ACK of the OACK was lost */
		else if (packet_parse_data(buf, len, &d) == 0)
			receive_data(s, &d, now);
	} else if (s->state == CS_SEND) {
		uint16_t w;

		if (packet_parse_ack(buf, len, &w) == 0)
			receive_ack(s, w, now);
	}
}

void client_on_timeout(struct client_session *s, uint64_t now)
{
	if (s->state == CS_DONE)
		return;
	switch (sess_on_timeout(&s->core, now)) {
	case SESS_T_NONE:
	case SESS_T_DALLY_END:
		return;
	case SESS_T_GIVEUP:
		s->end_us = now;
		fail(s, CLIENT_ETIMEOUT, ERR_UNDEFINED, "Timeout", "timed out after %u retransmissions",
		     s->conf->retries);
		return;
	case SESS_T_RESEND:
		break;
	}
	s->end_us = now;
	switch (s->state) {
	case CS_REQUEST:
		s->request_resent = true;
		sess_resent(&s->core, now);
		(void)send_request(s);
		break;
	case CS_RECV:
		/* Say again where we are: the sender resumes after it. */
		send_ack(s, sess_resend_ack(&s->core, now));
		break;
	case CS_SEND:
		send_window(s, now);	/* from the last ACK + 1 */
		break;
	case CS_DONE:
		break;
	}
}

void client_free(struct client_session *s)
{
	sess_ring_free(&s->core);
	free(s->slot_src);
	free(s->rd);
	free(s->decoded);
	s->rd = s->decoded = NULL;
	s->slot_src = NULL;
}

int client_socket(int family, int rcvbuf)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int cur = 0;
	socklen_t len = sizeof(cur);

	if (fd < 0)
		return -errno;
	/* Whole windows must fit in the receive buffer, or they are dropped
	 * in the kernel and resent; root may go beyond net.core.rmem_max.
	 * The kernel reports twice what was set; never shrink it. */
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &len) < 0 || rcvbuf <= cur / 2)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}
