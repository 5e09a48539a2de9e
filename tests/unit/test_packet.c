/* Unit tests for src/packet.c: TFTP request/DATA/ACK/ERROR/OACK parsers and builders. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "packet.h"

/* A datagram assembled byte by byte, so tests can omit any NUL. */
struct pkt {
	uint8_t b[4096];
	size_t n;
};

static void p_init(struct pkt *p, unsigned op)
{
	p->n = 0;
	p->b[p->n++] = (uint8_t)(op >> 8);
	p->b[p->n++] = (uint8_t)op;
}

/* Append s without its NUL (a fragment). */
static void p_frag(struct pkt *p, const char *s)
{
	size_t len = strlen(s);

	memcpy(p->b + p->n, s, len);
	p->n += len;
}

/* Append s with its NUL. */
static void p_str(struct pkt *p, const char *s)
{
	p_frag(p, s);
	p->b[p->n++] = 0;
}

/* A request: opcode, file name, mode, then name/value strings. */
static void p_req(struct pkt *p, unsigned op, const char *file, const char *mode,
		  const char *const *pairs, size_t npairs)
{
	p_init(p, op);
	p_str(p, file);
	p_str(p, mode);
	for (size_t i = 0; i < 2 * npairs; i++)
		p_str(p, pairs[i]);
}

/* Parse the first len bytes of p; the bytes after len stay readable, so a
 * parser that overran len would see them and misbehave visibly. */
static int parse_req(const struct pkt *p, size_t len, struct packet_request *req)
{
	return packet_parse_request(p->b, len, req);
}

static int no_options(const struct packet_request *req)
{
	for (int i = 0; i < OPT_MAX; i++)
		if (req->opt[i])
			return 0;
	return 1;
}

static void test_opcode(void)
{
	const uint8_t b[] = { 0x01, 0x02, 0x03 };

	is_int(packet_opcode(b, 0), 0, "packet_opcode: 0 bytes -> 0");
	is_int(packet_opcode(b, 1), 0, "packet_opcode: 1 byte -> 0");
	is_int(packet_opcode(b, 2), 0x0102, "packet_opcode: big-endian 0x0102");
	is_int(packet_opcode(b, 3), 0x0102, "packet_opcode: trailing byte ignored");
}

static void test_opt_names(void)
{
	static const char *const want[OPT_MAX] = {
		"blksize", "tsize", "timeout", "utimeout", "windowsize", "rollover",
	};

	for (int i = 0; i < OPT_MAX; i++)
		is_str(opt_name(i), want[i], "opt_name(%d) is \"%s\"", i, want[i]);
	ok(opt_name(OPT_MAX) == NULL, "opt_name(OPT_MAX) is NULL");
	ok(opt_name((enum opt_id)-1) == NULL, "opt_name(-1) is NULL");
}

static void test_request_basic(void)
{
	struct pkt p;
	struct packet_request req;

	p_req(&p, OP_RRQ, "file.txt", "octet", NULL, 0);
	is_int(parse_req(&p, p.n, &req), 0, "RRQ file.txt octet parses");
	is_int(req.op, OP_RRQ, "op is RRQ");
	is_str(req.filename, "file.txt", "filename");
	is_int(req.filename_len, 8, "filename_len");
	ok(req.filename == (const char *)p.b + 2, "filename points into the buffer");
	is_int(req.mode, MODE_OCTET, "mode octet");
	is_str(req.mode_str, "octet", "mode_str as sent");
	ok(no_options(&req), "no options");
	is_int(req.n_unknown, 0, "no unknown options");

	p_req(&p, OP_WRQ, "up/load.bin", "netascii", NULL, 0);
	is_int(parse_req(&p, p.n, &req), 0, "WRQ netascii parses");
	is_int(req.op, OP_WRQ, "op is WRQ");
	is_str(req.filename, "up/load.bin", "WRQ filename");
	is_int(req.mode, MODE_NETASCII, "mode netascii");

	p_req(&p, OP_RRQ, "", "octet", NULL, 0);
	is_int(parse_req(&p, p.n, &req), 0, "empty file name is left to path_check");
	is_int(req.filename_len, 0, "empty file name has length 0");
}

static void test_request_modes(void)
{
	static const struct {
		const char *mode;
		int ret;
		enum packet_mode want;
	} cases[] = {
		{ "octet", 0, MODE_OCTET },
		{ "OCTET", 0, MODE_OCTET },
		{ "OcTeT", 0, MODE_OCTET },
		{ "netascii", 0, MODE_NETASCII },
		{ "NetASCII", 0, MODE_NETASCII },
		{ "mail", 0, MODE_MAIL },
		{ "MAIL", 0, MODE_MAIL },
		{ "binary", -EPROTONOSUPPORT, 0 },
		{ "octets", -EPROTONOSUPPORT, 0 },
		{ "octe", -EPROTONOSUPPORT, 0 },
		{ "", -EPROTONOSUPPORT, 0 },
	};
	struct pkt p;
	struct packet_request req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p_req(&p, OP_RRQ, "f", cases[i].mode, NULL, 0);
		is_int(parse_req(&p, p.n, &req), cases[i].ret, "mode \"%s\" -> %d",
		       cases[i].mode, cases[i].ret);
		if (cases[i].ret == 0)
			is_int(req.mode, cases[i].want, "mode \"%s\" -> enum %d",
			       cases[i].mode, cases[i].want);
	}
	/* A well-formed request in an unknown mode still reports what it saw. */
	p_req(&p, OP_RRQ, "f", "binary", NULL, 0);
	parse_req(&p, p.n, &req);
	is_str(req.mode_str, "binary", "unknown mode: mode_str still set");
}

static void test_request_malformed(void)
{
	struct pkt p;
	struct packet_request req;

	for (size_t len = 0; len <= 2; len++) {
		p_init(&p, OP_RRQ);
		is_int(parse_req(&p, len, &req), -EINVAL, "RRQ of %zu bytes rejected", len);
	}

	p_init(&p, OP_RRQ);
	p_frag(&p, "file");
	is_int(parse_req(&p, p.n, &req), -EINVAL, "file name without NUL -> -EINVAL");

	p_init(&p, OP_RRQ);
	p_str(&p, "file");
	is_int(parse_req(&p, p.n, &req), -EINVAL, "no mode at all -> -EINVAL");

	p_init(&p, OP_RRQ);
	p_str(&p, "file");
	p_frag(&p, "octet");
	is_int(parse_req(&p, p.n, &req), -EINVAL, "mode without NUL -> -EINVAL");

	static const unsigned bad_ops[] = { 0, OP_DATA, OP_ACK, OP_ERROR, OP_OACK, 7, 0x0101, 0xffff };
	for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		p_req(&p, bad_ops[i], "file", "octet", NULL, 0);
		is_int(parse_req(&p, p.n, &req), -EINVAL, "opcode %#x is not a request", bad_ops[i]);
	}
}

/* Cutting a valid request anywhere before the end of the mode is -EINVAL;
 * anywhere after it, a complete request with only the complete pairs. */
static void test_request_truncated(void)
{
	static const char *const pairs[] = { "blksize", "1468", "tsize", "0" };
	struct pkt p;
	struct packet_request req;
	size_t mode_end = 2 + sizeof("f.bin") + sizeof("octet");
	size_t blk_end = mode_end + sizeof("blksize") + sizeof("1468");
	int bad = 0;

	p_req(&p, OP_RRQ, "f.bin", "octet", pairs, 2);
	for (size_t len = 0; len <= p.n; len++) {
		int r = parse_req(&p, len, &req);
		int want_r = len < mode_end ? -EINVAL : 0;
		int want_blk = len >= blk_end, want_tsize = len == p.n;

		if (r != want_r ||
		    (r == 0 && ((req.opt[OPT_BLKSIZE] != NULL) != want_blk ||
				(req.opt[OPT_TSIZE] != NULL) != want_tsize ||
				req.n_unknown != 0))) {
			printf("# truncated at %zu: r=%d blksize=%s tsize=%s\n", len, r,
			       req.opt[OPT_BLKSIZE] ? req.opt[OPT_BLKSIZE] : "-",
			       req.opt[OPT_TSIZE] ? req.opt[OPT_TSIZE] : "-");
			bad++;
		}
	}
	is_int(bad, 0, "request truncated at each of %zu lengths parses as expected", p.n + 1);
}

static void test_request_long(void)
{
	static const char *const pairs[] = { "blksize", "1468", "tsize", "0", "windowsize", "16" };
	char name[901];
	struct pkt p;
	struct packet_request req;

	memset(name, 'n', 900);
	name[900] = '\0';
	p_req(&p, OP_RRQ, name, "octet", pairs, 3);
	ok(p.n > 512, "request is %zu bytes, over RFC 1350's 512", p.n);
	is_int(parse_req(&p, p.n, &req), 0, "long request accepted");
	is_int(req.filename_len, 900, "900-byte file name");
	ok(req.filename && strcmp(req.filename, name) == 0, "long file name intact");
	is_str(req.opt[OPT_BLKSIZE], "1468", "blksize after long name");
	is_str(req.opt[OPT_TSIZE], "0", "tsize after long name");
	is_str(req.opt[OPT_WINDOWSIZE], "16", "windowsize after long name");
}

static void test_request_options(void)
{
	struct pkt p;
	struct packet_request req;

	/* Every known option lands in its own slot. */
	for (int id = 0; id < OPT_MAX; id++) {
		const char *pair[2] = { opt_name(id), "42" };

		p_req(&p, OP_RRQ, "f", "octet", pair, 1);
		is_int(parse_req(&p, p.n, &req), 0, "option %s parses", opt_name(id));
		int others = 0;
		for (int j = 0; j < OPT_MAX; j++)
			others += j != id && req.opt[j] != NULL;
		ok(req.opt[id] && strcmp(req.opt[id], "42") == 0 && others == 0,
		   "option %s is stored in slot %d only", opt_name(id), id);
	}

	static const char *const upper[] = {
		"BLKSIZE", "1468", "TSize", "0", "WindowSize", "4", "ROLLOVER", "1",
	};
	p_req(&p, OP_WRQ, "f", "octet", upper, 4);
	is_int(parse_req(&p, p.n, &req), 0, "upper-case option names parse");
	is_str(req.opt[OPT_BLKSIZE], "1468", "BLKSIZE matches blksize");
	is_str(req.opt[OPT_TSIZE], "0", "TSize matches tsize");
	is_str(req.opt[OPT_WINDOWSIZE], "4", "WindowSize matches windowsize");
	is_str(req.opt[OPT_ROLLOVER], "1", "ROLLOVER matches rollover");
	ok(!req.opt[OPT_TIMEOUT] && !req.opt[OPT_UTIMEOUT], "unrequested options stay NULL");

	static const char *const repeated[] = { "blksize", "1024", "BLKSIZE", "2048", "blksize", "8" };
	p_req(&p, OP_RRQ, "f", "octet", repeated, 3);
	is_int(parse_req(&p, p.n, &req), 0, "repeated option parses");
	is_str(req.opt[OPT_BLKSIZE], "1024", "repeated option: first value wins");
	is_int(req.n_unknown, 0, "a repeated known option is not unknown");

	static const char *const unknown[] = { "foo", "1", "blksize", "8", "multicast", "", "x", "y" };
	p_req(&p, OP_RRQ, "f", "octet", unknown, 4);
	is_int(parse_req(&p, p.n, &req), 0, "unknown options are ignored");
	is_int(req.n_unknown, 3, "n_unknown counts foo, multicast and x");
	is_str(req.opt[OPT_BLKSIZE], "8", "known option among unknown ones");

	/* Prefixes and extensions of known names are unknown. */
	static const char *const near[] = { "blksiz", "8", "blksize2", "8", "tsize ", "0" };
	p_req(&p, OP_RRQ, "f", "octet", near, 3);
	is_int(parse_req(&p, p.n, &req), 0, "near-miss names parse");
	ok(no_options(&req) && req.n_unknown == 3, "blksiz, blksize2, \"tsize \" are unknown");
}

static void test_request_trailing(void)
{
	static const char *const one[] = { "blksize", "1024" };
	struct pkt p;
	struct packet_request req;

	p_req(&p, OP_RRQ, "f", "octet", one, 1);
	p_str(&p, "windowsize");
	is_int(parse_req(&p, p.n, &req), 0, "trailing name without value tolerated");
	is_str(req.opt[OPT_BLKSIZE], "1024", "option before the dangling name kept");
	ok(req.opt[OPT_WINDOWSIZE] == NULL, "dangling name is not an option");

	p_req(&p, OP_RRQ, "f", "octet", one, 1);
	p_frag(&p, "tsi");
	is_int(parse_req(&p, p.n, &req), 0, "trailing name without NUL tolerated");
	is_str(req.opt[OPT_BLKSIZE], "1024", "option before the fragment kept");
	ok(req.opt[OPT_TSIZE] == NULL, "fragment is not an option");

	p_req(&p, OP_RRQ, "f", "octet", one, 1);
	p_str(&p, "tsize");
	p_frag(&p, "123");
	is_int(parse_req(&p, p.n, &req), 0, "trailing value without NUL tolerated");
	ok(req.opt[OPT_TSIZE] == NULL, "value without NUL is not used");

	p_req(&p, OP_RRQ, "f", "octet", NULL, 0);
	memset(p.b + p.n, 0, 8);
	p.n += 8;
	is_int(parse_req(&p, p.n, &req), 0, "NUL padding after the mode tolerated");
	ok(no_options(&req), "NUL padding yields no options");
}

static void test_parse_data(void)
{
	const uint8_t pkt[] = { 0, 3, 0xab, 0xcd, 'x', 'y', 'z' };
	const uint8_t ack[] = { 0, 4, 0, 1 };
	struct packet_data d;

	is_int(packet_parse_data(pkt, sizeof(pkt), &d), 0, "DATA parses");
	is_int(d.block, 0xabcd, "DATA block is big-endian");
	ok(d.data == pkt + 4, "DATA payload points after the header");
	is_int(d.len, 3, "DATA payload length");
	is_int(packet_parse_data(pkt, 4, &d), 0, "DATA with empty payload parses");
	is_int(d.len, 0, "empty payload length 0");
	for (size_t len = 0; len < 4; len++)
		is_int(packet_parse_data(pkt, len, &d), -EINVAL, "DATA of %zu bytes rejected", len);
	is_int(packet_parse_data(ack, sizeof(ack), &d), -EINVAL, "ACK is not DATA");
}

static void test_parse_ack(void)
{
	const uint8_t pkt[] = { 0, 4, 0xff, 0xfe, 'j', 'u', 'n', 'k' };
	const uint8_t data[] = { 0, 3, 0, 1 };
	uint16_t block = 7;

	is_int(packet_parse_ack(pkt, 4, &block), 0, "ACK parses");
	is_int(block, 0xfffe, "ACK block is big-endian");
	block = 0;
	is_int(packet_parse_ack(pkt, sizeof(pkt), &block), 0, "ACK with trailing bytes parses");
	is_int(block, 0xfffe, "trailing bytes do not change the block");
	for (size_t len = 0; len < 4; len++)
		is_int(packet_parse_ack(pkt, len, &block), -EINVAL, "ACK of %zu bytes rejected", len);
	is_int(packet_parse_ack(data, sizeof(data), &block), -EINVAL, "DATA is not an ACK");
}

static void test_parse_error(void)
{
	struct pkt p;
	struct packet_errmsg e;

	p_init(&p, OP_ERROR);
	p.b[p.n++] = 0;
	p.b[p.n++] = 1;
	p_str(&p, "File not found");
	is_int(packet_parse_error(p.b, p.n, &e), 0, "ERROR parses");
	is_int(e.code, 1, "ERROR code");
	is_str(e.msg, "File not found", "ERROR message");
	is_int(e.msg_len, 14, "ERROR message length");
	ok(e.msg == (const char *)p.b + 4, "ERROR message points into the buffer");

	p.n = 4;
	p.b[2] = 0x12;
	p.b[3] = 0x34;
	p_frag(&p, "no terminator");
	is_int(packet_parse_error(p.b, p.n, &e), 0, "ERROR without NUL parses");
	is_int(e.code, 0x1234, "ERROR code is big-endian");
	is_str(e.msg, "", "message without NUL is \"\"");
	is_int(e.msg_len, 0, "message without NUL has length 0");

	is_int(packet_parse_error(p.b, 4, &e), 0, "ERROR with no message parses");
	is_str(e.msg, "", "no message gives \"\"");
	for (size_t len = 0; len < 4; len++)
		is_int(packet_parse_error(p.b, len, &e), -EINVAL, "ERROR of %zu bytes rejected", len);
	p.b[1] = OP_ACK;
	is_int(packet_parse_error(p.b, p.n, &e), -EINVAL, "ACK is not an ERROR");
}

/* Builders, called through one signature so sizes can be swept. */
typedef int (*build_fn)(void *buf, size_t size);

static int build_ack_1234(void *buf, size_t size)
{
	return packet_build_ack(buf, size, 0x1234);
}

static int build_data_ffff(void *buf, size_t size)
{
	return packet_build_data_header(buf, size, 0xffff);
}

static int build_error_msg(void *buf, size_t size)
{
	return packet_build_error(buf, size, ERR_ACCESS, "denied");
}

static int build_error_default(void *buf, size_t size)
{
	return packet_build_error(buf, size, ERR_NOT_FOUND, NULL);
}

static int build_error_unknown(void *buf, size_t size)
{
	return packet_build_error(buf, size, 99, NULL);
}

static const char *const oack_names[] = { "blksize", "tsize" };
static const char *const oack_values[] = { "1468", "5000000000" };

static int build_oack_2(void *buf, size_t size)
{
	return packet_build_oack(buf, size, oack_names, oack_values, 2);
}

static int build_oack_0(void *buf, size_t size)
{
	return packet_build_oack(buf, size, NULL, NULL, 0);
}

static int build_rrq(void *buf, size_t size)
{
	return packet_build_request(buf, size, OP_RRQ, "boot/pxe.0", "octet",
				    oack_names, oack_values, 2);
}

static int build_wrq_plain(void *buf, size_t size)
{
	return packet_build_request(buf, size, OP_WRQ, "a", "netascii", NULL, NULL, 0);
}

/*
 * Build at every size from 0 to wlen + 2: below wlen the builder must
 * return -ENOSPC, from wlen on exactly the wanted bytes; it must never
 * write past size.
 */
static void check_builder(const char *what, build_fn fn, const void *want, size_t wlen)
{
	uint8_t buf[256];
	int bad_ret = 0, overrun = 0;

	for (size_t size = 0; size <= wlen + 2; size++) {
		int want_r = size < wlen ? -ENOSPC : (int)wlen;
		int r;

		memset(buf, 0xa5, sizeof(buf));
		r = fn(buf, size);
		if (r != want_r) {
			printf("#   %s: size %zu returned %d, want %d\n", what, size, r, want_r);
			bad_ret++;
		}
		for (size_t i = size; i < sizeof(buf); i++)
			if (buf[i] != 0xa5) {
				printf("#   %s: size %zu wrote byte %zu\n", what, size, i);
				overrun++;
				break;
			}
	}
	is_int(bad_ret, 0, "%s: -ENOSPC below %zu bytes, %zu at and above", what, wlen, wlen);
	is_int(overrun, 0, "%s: never writes past size", what);

	memset(buf, 0xa5, sizeof(buf));
	is_int(fn(buf, sizeof(buf)), wlen, "%s: length %zu", what, wlen);
	is_mem(buf, wlen, want, wlen, "%s: exact bytes", what);
}

#define CHECK_BUILDER(what, fn, lit) check_builder(what, fn, lit, sizeof(lit) - 1)

static void test_builders(void)
{
	CHECK_BUILDER("ACK 0x1234", build_ack_1234, "\0\4\x12\x34");
	CHECK_BUILDER("DATA header 0xffff", build_data_ffff, "\0\3\xff\xff");
	CHECK_BUILDER("ERROR 2 \"denied\"", build_error_msg, "\0\5\0\2" "denied\0");
	CHECK_BUILDER("ERROR 1 default message", build_error_default,
		      "\0\5\0\1" "File not found\0");
	CHECK_BUILDER("ERROR 99 default message", build_error_unknown,
		      "\0\5\0\x63" "Unknown error\0");
	CHECK_BUILDER("OACK blksize+tsize", build_oack_2,
		      "\0\6" "blksize\0" "1468\0" "tsize\0" "5000000000\0");
	CHECK_BUILDER("OACK without options", build_oack_0, "\0\6");
	CHECK_BUILDER("RRQ with options", build_rrq,
		      "\0\1" "boot/pxe.0\0" "octet\0" "blksize\0" "1468\0" "tsize\0" "5000000000\0");
	CHECK_BUILDER("WRQ without options", build_wrq_plain, "\0\2" "a\0" "netascii\0");
}

static void test_error_strings(void)
{
	static const char *const want[] = {
		"Undefined error", "File not found", "Access violation",
		"Disk full or allocation exceeded", "Illegal TFTP operation",
		"Unknown transfer ID", "File already exists", "No such user",
		"Option negotiation failed",
	};

	for (uint16_t c = 0; c < sizeof(want) / sizeof(want[0]); c++)
		is_str(packet_error_string(c), want[c], "error string %u", c);
	is_str(packet_error_string(9), "Unknown error", "error string 9");
	is_str(packet_error_string(0xffff), "Unknown error", "error string 65535");
}

static void test_request_round_trip(void)
{
	static const char *const names[] = { "blksize", "tsize", "timeout", "utimeout",
					     "windowsize", "rollover", "x-vendor" };
	static const char *const values[] = { "1468", "0", "3", "50000", "16", "1", "yes" };
	uint8_t buf[PACKET_MAX];
	struct packet_request req;
	int n;

	n = packet_build_request(buf, sizeof(buf), OP_WRQ, "dir/file.img", "NETASCII",
				 names, values, 7);
	ok(n > 0, "round trip: request built (%d bytes)", n);
	is_int(packet_parse_request(buf, (size_t)n, &req), 0, "round trip: request parses");
	is_int(req.op, OP_WRQ, "round trip: op");
	is_str(req.filename, "dir/file.img", "round trip: filename");
	is_int(req.mode, MODE_NETASCII, "round trip: mode");
	for (int i = 0; i < OPT_MAX; i++)
		is_str(req.opt[i], values[i], "round trip: %s", names[i]);
	is_int(req.n_unknown, 1, "round trip: x-vendor is unknown");
}

/* OACK callback: records the pairs it sees; fails on the pair fail_at. */
struct seen {
	char pairs[8][2][32];
	int n;
	int fail_at;
};

static int record_pair(const char *name, const char *value, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->pairs[s->n][0], sizeof(s->pairs[0][0]), "%s", name);
		snprintf(s->pairs[s->n][1], sizeof(s->pairs[0][1]), "%s", value);
	}
	if (++s->n == s->fail_at)
		return -ERANGE;
	return 0;
}

static int parse_oack(const struct pkt *p, struct seen *s, int fail_at)
{
	memset(s, 0, sizeof(*s));
	s->fail_at = fail_at;
	return packet_parse_oack(p->b, p->n, record_pair, s);
}

static const char *const oack_pairs[] = { "blksize", "1468", "windowsize", "8", "tsize", "99" };

/* An OACK with the three oack_pairs, then tail with or without its NUL. */
static void oack_with_tail(struct pkt *p, const char *tail, int nul)
{
	p_init(p, OP_OACK);
	for (int i = 0; i < 6; i++)
		p_str(p, oack_pairs[i]);
	if (nul)
		p_str(p, tail);
	else
		p_frag(p, tail);
}

static void test_parse_oack(void)
{
	const char *const *pairs = oack_pairs;
	struct pkt p;
	struct seen s;

	oack_with_tail(&p, "", 0);
	is_int(parse_oack(&p, &s, 0), 0, "OACK parses");
	is_int(s.n, 3, "callback called for each pair");
	for (int i = 0; i < 3; i++) {
		is_str(s.pairs[i][0], pairs[2 * i], "pair %d name", i);
		is_str(s.pairs[i][1], pairs[2 * i + 1], "pair %d value", i);
	}

	is_int(parse_oack(&p, &s, 2), -ERANGE, "callback error is returned");
	is_int(s.n, 2, "parsing stops at the callback error");

	oack_with_tail(&p, "rollover", 1);
	is_int(parse_oack(&p, &s, 0), -EINVAL, "dangling name rejected");
	is_int(s.n, 3, "pairs before the dangling name were reported");
	oack_with_tail(&p, "rollover", 0);
	is_int(parse_oack(&p, &s, 0), -EINVAL, "name without NUL rejected");
	oack_with_tail(&p, "rollover", 1);
	p_frag(&p, "1");
	is_int(parse_oack(&p, &s, 0), -EINVAL, "value without NUL rejected");

	p_init(&p, OP_OACK);
	is_int(parse_oack(&p, &s, 0), 0, "empty OACK parses");
	is_int(s.n, 0, "empty OACK: no callback");

	p_init(&p, OP_ACK);
	p_str(&p, "blksize");
	p_str(&p, "8");
	is_int(parse_oack(&p, &s, 0), -EINVAL, "wrong opcode rejected");
	p.n = 1;
	is_int(parse_oack(&p, &s, 0), -EINVAL, "1-byte OACK rejected");
}

int main(void)
{
	test_opcode();
	test_opt_names();
	test_request_basic();
	test_request_modes();
	test_request_malformed();
	test_request_truncated();
	test_request_long();
	test_request_options();
	test_request_trailing();
	test_parse_data();
	test_parse_ack();
	test_parse_error();
	test_builders();
	test_error_strings();
	test_request_round_trip();
	test_parse_oack();
	return tap_done();
}
