/* Unit tests for src/client.c: URIs, times, and the session state machine
 * against a scripted server. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "client.h"
#include "tap.h"

/* ---- URIs ---------------------------------------------------------------- */

static void check_uri(const char *s, const char *host, unsigned port, const char *file,
		      enum packet_mode mode, bool mode_set)
{
	struct client_uri u;
	const char *why = NULL;
	int r = client_parse_uri(s, &u, &why);

	if (!ok(r == 0, "parses %s", s)) {
		printf("#   %s\n", why ? why : "?");
		return;
	}
	is_str(u.host, host, "%s: host", s);
	is_int(u.port, port, "%s: port", s);
	is_str(u.file, file, "%s: file", s);
	ok(u.mode == mode && u.mode_set == mode_set, "%s: mode", s);
}

static void check_bad_uri(const char *s)
{
	struct client_uri u;
	const char *why = NULL;

	int r = client_parse_uri(s, &u, &why);

	ok(r == -EINVAL && why, "refuses %s (%s)", s, why ? why : "-");
}

static void test_uri(void)
{
	char long_uri[PACKET_FILENAME_MAX + 64];

	check_uri("tftp://host/file", "host", 69, "file", MODE_OCTET, false);
	check_uri("tftp://10.0.0.1:6969/boot/pxelinux.0", "10.0.0.1", 6969, "boot/pxelinux.0", MODE_OCTET, false);
	check_uri("TFTP://Host/x", "Host", 69, "x", MODE_OCTET, false);
	check_uri("tftp://[::1]/x", "::1", 69, "x", MODE_OCTET, false);
	check_uri("tftp://[::1]:6969/x", "::1", 6969, "x", MODE_OCTET, false);
	check_uri("tftp://[fe80::1%25eth0]:70/x", "fe80::1%eth0", 70, "x", MODE_OCTET, false);
	check_uri("tftp://h/a.txt;mode=netascii", "h", 69, "a.txt", MODE_NETASCII, true);
	check_uri("tftp://h/a.bin;mode=octet", "h", 69, "a.bin", MODE_OCTET, true);
	check_uri("tftp://h/a;MODE=NetASCII", "h", 69, "a", MODE_NETASCII, true);
	check_uri("tftp://h/a;b", "h", 69, "a;b", MODE_OCTET, false);
	check_uri("tftp://h/my%20file%3bx", "h", 69, "my file;x", MODE_OCTET, false);
	check_uri("tftp://h//abs/path", "h", 69, "/abs/path", MODE_OCTET, false);
	check_uri("tftp://h:65535/x", "h", 65535, "x", MODE_OCTET, false);

	check_bad_uri("http://h/x");
	check_bad_uri("tftp:/h/x");
	check_bad_uri("tftp://h");
	check_bad_uri("tftp://h/");
	check_bad_uri("tftp:///x");
	check_bad_uri("tftp://h:/x");
	check_bad_uri("tftp://h:0/x");
	check_bad_uri("tftp://h:65536/x");
	check_bad_uri("tftp://h:69x/x");
	check_bad_uri("tftp://[::1/x");
	check_bad_uri("tftp://[::1]x/y");
	check_bad_uri("tftp://[]/x");
	check_bad_uri("tftp://h/x;mode=mail");
	check_bad_uri("tftp://h/;mode=octet");
	check_bad_uri("tftp://h/a%2");
	check_bad_uri("tftp://h/a%zz");
	check_bad_uri("tftp://h/a%00b");
	snprintf(long_uri, sizeof(long_uri), "tftp://h/%0*d", PACKET_FILENAME_MAX + 1, 0);
	check_bad_uri(long_uri);
	snprintf(long_uri, sizeof(long_uri), "tftp://h/%0*d", PACKET_FILENAME_MAX, 0);
	struct client_uri u;
	ok(client_parse_uri(long_uri, &u, NULL) == 0, "a name of %d bytes fits", PACKET_FILENAME_MAX);
}

static void test_resolve(void)
{
	struct client_uri u;
	union sockaddr_any a;
	socklen_t len;

	client_parse_uri("tftp://127.0.0.1:6969/x", &u, NULL);
	ok(client_resolve(&u, &a, &len) == 0 && a.sa.sa_family == AF_INET && addr_port(&a.sa) == 6969,
	   "resolves an IPv4 literal with its port");
	client_parse_uri("tftp://[::1]/x", &u, NULL);
	ok(client_resolve(&u, &a, &len) == 0 && a.sa.sa_family == AF_INET6 && addr_port(&a.sa) == 69,
	   "resolves an IPv6 literal with the default port");
}

static void test_seconds(void)
{
	uint64_t us = 0;

	ok(client_parse_seconds("1", &us) == 0 && us == 1000000, "1 s");
	ok(client_parse_seconds("0.2", &us) == 0 && us == 200000, "0.2 s");
	ok(client_parse_seconds(".5", &us) == 0 && us == 500000, ".5 s");
	ok(client_parse_seconds("2.125", &us) == 0 && us == 2125000, "2.125 s");
	ok(client_parse_seconds("0.001", &us) == 0 && us == 1000, "1 ms is the least");
	ok(client_parse_seconds("3600", &us) == 0, "an hour is the most");
	ok(client_parse_seconds("0", &us) < 0, "0 is refused");
	ok(client_parse_seconds("0.0001", &us) < 0, "below 1 ms is refused");
	ok(client_parse_seconds("3601", &us) < 0, "above an hour is refused");
	ok(client_parse_seconds("", &us) < 0 && client_parse_seconds(".", &us) < 0 &&
	   client_parse_seconds("1.", &us) < 0 && client_parse_seconds("-1", &us) < 0 &&
	   client_parse_seconds("1s", &us) < 0 && client_parse_seconds("1.2.3", &us) < 0,
	   "malformed times are refused");
}

/* ---- A scripted server --------------------------------------------------- */

#define SENT_MAX 256

struct sent {
	uint8_t buf[600];
	size_t len;
	unsigned short port;
};

struct fake {
	struct sent sent[SENT_MAX];
	unsigned n_sent;
	uint8_t out[1 << 20];		/* get: what was written */
	size_t out_len;
	const uint8_t *in;		/* put: the local file */
	size_t in_len, in_off;
};

static struct fake fk;

static int fake_send(void *arg, const void *buf, size_t len, const struct sockaddr *to, socklen_t tolen)
{
	struct sent *s = &fk.sent[fk.n_sent++ % SENT_MAX];

	s->len = len < sizeof(s->buf) ? len : sizeof(s->buf);
	memcpy(s->buf, buf, s->len);
	s->port = addr_port(to);
	return 0;
}

static int fake_write(void *arg, const uint8_t *buf, size_t len)
{
	if (fk.out_len + len > sizeof(fk.out))
		return -ENOSPC;
	memcpy(fk.out + fk.out_len, buf, len);
	fk.out_len += len;
	return 0;
}

static ssize_t fake_read(void *arg, uint8_t *buf, size_t len)
{
	size_t n = fk.in_len - fk.in_off;

	if (n > len)
		n = len;
	if (n > 7)
		n = 7;	/* short reads, as from a pipe */
	memcpy(buf, fk.in + fk.in_off, n);
	fk.in_off += n;
	return (ssize_t)n;
}

static const struct client_io fake_io = { fake_send, fake_write, fake_read, NULL };

static struct sockaddr_in server_at(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void reset(void)
{
	memset(&fk, 0, sizeof(fk));
}

static void start(struct client_session *s, const struct client_conf *c)
{
	struct sockaddr_in srv = server_at(69);

	reset();
	client_start(s, c, &fake_io, (struct sockaddr *)&srv, sizeof(srv), 0);
}

/* Deliver a packet from the server's port 'port'. */
static void from(struct client_session *s, unsigned short port, const void *buf, size_t len, uint64_t now)
{
	struct sockaddr_in a = server_at(port);

	client_on_packet(s, buf, len, (struct sockaddr *)&a, sizeof(a), now);
}

static void data(struct client_session *s, unsigned short port, uint16_t block, const void *p, size_t len)
{
	uint8_t buf[PACKET_HDR + 600];

	packet_build_data_header(buf, sizeof(buf), block);
	memcpy(buf + PACKET_HDR, p, len);
	from(s, port, buf, PACKET_HDR + len, 1);
}

static void ack(struct client_session *s, uint16_t block)
{
	uint8_t buf[PACKET_HDR];

	packet_build_ack(buf, sizeof(buf), block);
	from(s, 1000, buf, sizeof(buf), 1);
}

static void oack(struct client_session *s, const char *const *names, const char *const *values, size_t n)
{
	uint8_t buf[256];
	int len = packet_build_oack(buf, sizeof(buf), names, values, n);

	from(s, 1000, buf, (size_t)len, 1);
}

/* The last packet sent is an ACK of block to port. */
/* The i-th packet sent (the last SENT_MAX are kept). */
static const struct sent *sent(unsigned i)
{
	return i < fk.n_sent && fk.n_sent - i <= SENT_MAX ? &fk.sent[i % SENT_MAX] : NULL;
}

static bool sent_ack(unsigned i, uint16_t block, unsigned short port)
{
	const struct sent *p = sent(i);
	uint16_t b;

	return p && packet_parse_ack(p->buf, p->len, &b) == 0 && b == block && p->port == port;
}

static bool sent_data(unsigned i, uint16_t block, size_t len)
{
	const struct sent *p = sent(i);
	struct packet_data d;

	return p && packet_parse_data(p->buf, p->len, &d) == 0 && d.block == block && d.len == len;
}

static uint16_t sent_error(unsigned i)
{
	const struct sent *p = sent(i);
	struct packet_errmsg e;

	return p && packet_parse_error(p->buf, p->len, &e) == 0 ? e.code : 0xffff;
}

static uint8_t pattern[1 << 16];

static void test_get_plain(void)
{
	struct client_conf c;
	struct client_session s;
	struct packet_request req;

	client_conf_init(&c, CLIENT_GET, "boot.img");
	start(&s, &c);
	ok(fk.n_sent == 1 && packet_parse_request(fk.sent[0].buf, fk.sent[0].len, &req) == 0 &&
	   req.op == OP_RRQ && strcmp(req.filename, "boot.img") == 0 && req.mode == MODE_OCTET &&
	   req.opt[OPT_TSIZE] && strcmp(req.opt[OPT_TSIZE], "0") == 0 && !req.opt[OPT_BLKSIZE] &&
	   fk.sent[0].port == 69, "get: RRQ to port 69 asks for tsize only");

	data(&s, 1000, 1, pattern, 512);
	ok(s.locked && addr_port(&s.peer.sa) == 1000, "the first DATA fixes the server's port");
	ok(sent_ack(1, 1, 1000), "DATA 1 is acknowledged to that port");
	data(&s, 1000, 2, pattern + 512, 100);
	ok(sent_ack(2, 2, 1000), "the final block is acknowledged");
	ok(client_done(&s) && s.status == CLIENT_OK && s.core.blksize == 512 && s.core.windowsize == 1,
	   "without an OACK the transfer uses 512-byte blocks and windows of 1");
	is_mem(fk.out, fk.out_len, pattern, 612, "the file arrives whole");
	client_free(&s);
}

static void test_get_window(void)
{
	static const char *const n[] = { "blksize", "windowsize", "tsize" };
	static const char *const v[] = { "8", "4", "44" };
	struct client_conf c;
	struct client_session s;
	unsigned before;

	client_conf_init(&c, CLIENT_GET, "f");
	c.blksize = 16;
	c.windowsize = 8;
	start(&s, &c);
	oack(&s, n, v, 3);
	ok(s.core.blksize == 8 && s.core.windowsize == 4 && s.tsize_known && s.tsize == 44,
	   "the OACK's smaller values are taken");
	ok(sent_ack(1, 0, 1000), "the OACK is acknowledged with ACK 0");
	oack(&s, n, v, 3);
	ok(sent_ack(2, 0, 1000), "a repeated OACK gets ACK 0 again");

	before = fk.n_sent;
	data(&s, 1000, 1, pattern, 8);
	data(&s, 1000, 2, pattern + 8, 8);
	data(&s, 1000, 3, pattern + 16, 8);
	ok(fk.n_sent == before, "no ACK inside a window");
	data(&s, 1000, 4, pattern + 24, 8);
	ok(fk.n_sent == before + 1 && sent_ack(before, 4, 1000), "one ACK at the end of the window");

	/* Block 5 lost: 6 and 7 arrive. */
	before = fk.n_sent;
	data(&s, 1000, 6, pattern + 40, 8);
	ok(fk.n_sent == before + 1 && sent_ack(before, 4, 1000), "a gap is answered with the last in-order block");
	data(&s, 1000, 7, pattern + 48, 8);
	ok(fk.n_sent == before + 1, "... once per gap");
	data(&s, 1000, 5, pattern + 32, 8);
	data(&s, 1000, 6, pattern + 40, 4);
	ok(client_done(&s) && s.status == CLIENT_OK && sent_ack(fk.n_sent - 1, 6, 1000),
	   "the resent blocks complete the file, the final block is acknowledged");
	is_mem(fk.out, fk.out_len, pattern, 44, "the content is in order");
	client_free(&s);
}

static void test_get_stranger(void)
{
	struct client_conf c;
	struct client_session s;
	uint64_t received;

	client_conf_init(&c, CLIENT_GET, "f");
	start(&s, &c);
	data(&s, 1000, 1, pattern, 512);
	received = s.core.received;
	data(&s, 2000, 2, pattern, 100);
	ok(sent_error(fk.n_sent - 1) == ERR_UNKNOWN_TID && fk.sent[fk.n_sent - 1].port == 2000,
	   "a DATA from another port gets ERROR 5 at that port");
	ok(!client_done(&s) && s.core.received == received && s.locked && addr_port(&s.peer.sa) == 1000,
	   "... and the transfer goes on untouched");
	{
		uint8_t err[32];
		unsigned before = fk.n_sent;
		int n = packet_build_error(err, sizeof(err), 5, NULL);

		from(&s, 2000, err, (size_t)n, 1);
		ok(fk.n_sent == before && !client_done(&s), "an ERROR from another port is not answered");
	}
	{
		struct sockaddr_in other = server_at(1000);
		uint8_t buf[PACKET_HDR + 1];

		other.sin_addr.s_addr = htonl(0x7f000002);
		packet_build_data_header(buf, sizeof(buf), 2);
		client_on_packet(&s, buf, sizeof(buf), (struct sockaddr *)&other, sizeof(other), 1);
		ok(!client_done(&s) && sent_error(fk.n_sent - 1) == ERR_UNKNOWN_TID,
		   "nor does DATA from another address with the same port");
	}
	data(&s, 1000, 2, pattern + 512, 100);
	ok(client_done(&s) && s.status == CLIENT_OK && fk.out_len == 612, "the real transfer completes");
	client_free(&s);

	/* Before the first reply, only the server's address counts. */
	start(&s, &c);
	{
		struct sockaddr_in other = server_at(69);
		uint8_t buf[PACKET_HDR + 1];

		other.sin_addr.s_addr = htonl(0x0a000001);
		packet_build_data_header(buf, sizeof(buf), 1);
		client_on_packet(&s, buf, sizeof(buf), (struct sockaddr *)&other, sizeof(other), 1);
		ok(!s.locked && !client_done(&s) && fk.n_sent == 1, "a reply from another host is ignored");
	}
	client_free(&s);
}

static void test_get_errors(void)
{
	static const char *const n[] = { "blksize" };
	static const char *const v[] = { "1024" };
	static const char *const tn[] = { "tsize" };
	static const char *const tv[] = { "10" };
	struct client_conf c;
	struct client_session s;
	uint8_t err[64];
	int len;

	client_conf_init(&c, CLIENT_GET, "f");
	start(&s, &c);
	len = packet_build_error(err, sizeof(err), ERR_NOT_FOUND, "File not found");
	from(&s, 1000, err, (size_t)len, 1);
	ok(client_done(&s) && s.status == CLIENT_EREMOTE && strstr(s.error, "File not found") &&
	   strstr(s.error, "error 1"), "an ERROR ends the transfer with its message (%s)", s.error);
	ok(fk.n_sent == 1, "... and is not answered");
	client_free(&s);

	c.blksize = 512;
	start(&s, &c);
	oack(&s, n, v, 1);
	ok(client_done(&s) && s.status == CLIENT_EREMOTE && sent_error(fk.n_sent - 1) == ERR_OPTION,
	   "a blksize above the one asked for is refused with ERROR 8");
	client_free(&s);

	c.blksize = 0;
	start(&s, &c);
	oack(&s, tn, tv, 1);
	data(&s, 1000, 1, pattern, 12);
	ok(client_done(&s) && s.status == CLIENT_EVERIFY, "a size other than tsize fails verification");
	client_free(&s);

	start(&s, &c);
	data(&s, 1000, 1, pattern, 513);
	ok(client_done(&s) && s.status == CLIENT_EREMOTE && sent_error(fk.n_sent - 1) == ERR_ILLEGAL_OP,
	   "a block larger than blksize is refused with ERROR 4");
	client_free(&s);

	start(&s, &c);
	data(&s, 1000, 2, pattern, 10);
	ok(!s.locked && !client_done(&s) && fk.n_sent == 1, "a first DATA other than block 1 is ignored");
	client_free(&s);
}

static void test_timeouts(void)
{
	struct client_conf c;
	struct client_session s;
	uint64_t t;

	client_conf_init(&c, CLIENT_GET, "f");
	c.retries = 3;
	c.timeout_us = 200000;
	start(&s, &c);
	ok(client_deadline(&s) == 200000, "the timer runs for the timeout");
	client_on_timeout(&s, 100000);
	ok(fk.n_sent == 1, "nothing happens before the deadline");
	for (t = 200000; !client_done(&s); t += 200000)
		client_on_timeout(&s, t);
	ok(fk.n_sent == 4 && client_retransmits(&s) == 3 && s.request_resent, "the request is sent again 3 times");
	ok(s.status == CLIENT_ETIMEOUT && t == 1000000, "then the transfer times out");
	client_free(&s);

	start(&s, &c);
	data(&s, 1000, 1, pattern, 512);
	client_on_timeout(&s, client_deadline(&s));
	ok(sent_ack(fk.n_sent - 1, 1, 1000) && client_retransmits(&s) == 1 && !s.request_resent,
	   "a timeout while receiving sends the last ACK again");
	data(&s, 1000, 2, pattern, 1);
	ok(s.status == CLIENT_OK && s.core.tries == 0, "progress resets the count of timeouts");
	client_free(&s);
}

/* More than 65535 blocks, with rollover 0 and 1. */
static void test_rollover(void)
{
	for (unsigned ro = 0; ro <= 1; ro++) {
		static const char *const n[] = { "blksize", "windowsize", "rollover" };
		const char *v[] = { "8", "16", ro ? "1" : "0" };
		struct client_conf c;
		struct client_session s;
		uint64_t blocks = 65535 + 40, b;
		bool wrapped = false;

		client_conf_init(&c, CLIENT_GET, "big");
		c.blksize = 8;
		c.windowsize = 16;
		c.rollover = (int)ro;
		c.tsize = false;
		start(&s, &c);
		oack(&s, n, v, 3);
		for (b = 1; b <= blocks && !client_done(&s); b++) {
			uint16_t w = ro ? (uint16_t)((b - 1) % 65535 + 1) : (uint16_t)b;

			wrapped |= w == (ro ? 1 : 0) && b > 1;
			data(&s, 1000, w, pattern, b == blocks ? 3 : 8);
		}
		ok(wrapped && client_done(&s) && s.status == CLIENT_OK && s.core.received == blocks &&
		   s.bytes == (blocks - 1) * 8 + 3, "rollover %u: %llu blocks arrive whole", ro,
		   (unsigned long long)blocks);
		ok(sent_ack(fk.n_sent - 1, ro ? (uint16_t)((blocks - 1) % 65535 + 1) : (uint16_t)blocks, 1000),
		   "rollover %u: the final ACK carries the wrapped number", ro);
		client_free(&s);
	}
}

static void test_get_netascii(void)
{
	struct client_conf c;
	struct client_session s;

	client_conf_init(&c, CLIENT_GET, "t");
	c.mode = MODE_NETASCII;
	c.blksize = 8;
	start(&s, &c);
	{
		struct packet_request req;

		ok(packet_parse_request(fk.sent[0].buf, fk.sent[0].len, &req) == 0 && req.mode == MODE_NETASCII &&
		   !req.opt[OPT_TSIZE] && req.opt[OPT_BLKSIZE], "netascii get: no tsize asked for");
	}
	{
		static const char *const n[] = { "blksize" };
		static const char *const v[] = { "8" };

		oack(&s, n, v, 1);
	}
	data(&s, 1000, 1, "abc\r\nde\r", 8);
	data(&s, 1000, 2, "\nx\r\0y\r", 6);
	is_mem(fk.out, fk.out_len, "abc\nde\nx\ry\r", 11, "netascii: CR LF split across blocks becomes LF");
	ok(s.status == CLIENT_OK && s.wire_bytes == 14 && s.bytes == 11, "netascii: wire and local sizes");
	client_free(&s);
}

static void test_put(void)
{
	static const char *const n[] = { "blksize", "windowsize" };
	static const char *const v[] = { "8", "4" };
	struct client_conf c;
	struct client_session s;
	struct packet_request req;
	unsigned before;

	client_conf_init(&c, CLIENT_PUT, "up");
	c.blksize = 8;
	c.windowsize = 4;
	c.put_size_known = true;
	c.put_size = 30;
	start(&s, &c);
	fk.in = pattern;
	fk.in_len = 30;
	ok(packet_parse_request(fk.sent[0].buf, fk.sent[0].len, &req) == 0 && req.op == OP_WRQ &&
	   req.opt[OPT_TSIZE] && strcmp(req.opt[OPT_TSIZE], "30") == 0 &&
	   strcmp(req.opt[OPT_WINDOWSIZE], "4") == 0, "put: WRQ announces tsize 30");
	oack(&s, n, v, 2);
	ok(fk.n_sent == 5 && sent_data(1, 1, 8) && sent_data(2, 2, 8) && sent_data(3, 3, 8) &&
	   sent_data(4, 4, 6), "the OACK starts the first window: blocks 1-4, the last short");
	before = fk.n_sent;
	ack(&s, 2);
	ok(fk.n_sent == before + 2 && sent_data(before, 3, 8) && sent_data(before + 1, 4, 6) &&
	   client_retransmits(&s) == 2, "ACK 2 inside the window: resend from block 3");
	before = fk.n_sent;
	ack(&s, 2);
	ok(fk.n_sent == before, "a duplicate ACK sends nothing");
	ack(&s, 9);
	ok(fk.n_sent == before && !client_done(&s), "an ACK beyond what was sent is ignored");
	client_on_timeout(&s, client_deadline(&s));
	ok(fk.n_sent == before + 2 && sent_data(before, 3, 8), "a timeout resends the window from the last ACK + 1");
	ack(&s, 4);
	ok(client_done(&s) && s.status == CLIENT_OK && s.bytes == 30, "the final ACK completes the put");
	client_free(&s);

	/* A file of whole blocks ends with an empty one; ACK 0 when the
	 * server ignores options. */
	client_conf_init(&c, CLIENT_PUT, "up");
	start(&s, &c);
	fk.in = pattern;
	fk.in_len = 1024;
	ack(&s, 0);
	ok(s.locked && sent_data(1, 1, 512), "ACK 0 starts a put with 512-byte blocks");
	ack(&s, 1);
	ok(sent_data(2, 2, 512), "block 2 follows ACK 1");
	ack(&s, 2);
	ok(sent_data(3, 3, 0), "an exact multiple of blksize ends with an empty block");
	ack(&s, 3);
	ok(client_done(&s) && s.status == CLIENT_OK && s.bytes == 1024, "and is complete on its ACK");
	client_free(&s);

	/* netascii: LF goes out as CR LF. */
	client_conf_init(&c, CLIENT_PUT, "t");
	c.mode = MODE_NETASCII;
	c.put_size_known = true;
	c.put_size = 4;
	start(&s, &c);
	ok(packet_parse_request(fk.sent[0].buf, fk.sent[0].len, &req) == 0 && !req.opt[OPT_TSIZE] &&
	   req.mode == MODE_NETASCII, "netascii put: no tsize, its wire size is not known");
	fk.in = (const uint8_t *)"a\nb\r";
	fk.in_len = 4;
	ack(&s, 0);
	ok(fk.sent[1].len == PACKET_HDR + 6 && memcmp(fk.sent[1].buf + PACKET_HDR, "a\r\nb\r\0", 6) == 0,
	   "netascii put: CR LF and CR NUL on the wire");
	ack(&s, 1);
	ok(client_done(&s) && s.bytes == 4 && s.wire_bytes == 6, "netascii put: sizes");
	client_free(&s);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + i / 251);
	test_uri();
	test_resolve();
	test_seconds();
	test_get_plain();
	test_get_window();
	test_get_stranger();
	test_get_errors();
	test_timeouts();
	test_rollover();
	test_get_netascii();
	test_put();
	return tap_done();
}
