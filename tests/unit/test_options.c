/* Unit tests for src/options.c: option negotiation, OACK building and opt_parse_uint. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "options.h"

#define BIT(id) (1u << (id))

static struct opt_limits defaults(void)
{
	struct opt_limits lim;

	opt_limits_init(&lim);
	return lim;
}

static struct packet_request request(enum packet_opcode op)
{
	struct packet_request req;

	memset(&req, 0, sizeof(req));
	req.op = op;
	req.filename = "f";
	req.mode_str = "octet";
	return req;
}

/* Negotiate one option of an RRQ (no file size) under lim. */
static int negotiate1(enum opt_id id, const char *value, const struct opt_limits *lim,
		      struct opt_result *res)
{
	struct packet_request req = request(OP_RRQ);

	req.opt[id] = value;
	return opt_negotiate(&req, lim, NULL, res);
}

/*
 * One option alone: negotiation succeeds and the option is echoed as want,
 * or not acknowledged at all when want is NULL.
 */
static void check_one(enum opt_id id, const char *value, const struct opt_limits *lim,
		      const char *want, struct opt_result *res)
{
	is_int(negotiate1(id, value, lim, res), 0, "%s \"%s\": negotiation succeeds",
	       opt_name(id), value);
	if (want) {
		ok(res->acked == BIT(id) && strcmp(res->value[id], want) == 0,
		   "%s \"%s\" acked as \"%s\"", opt_name(id), value, want);
		if (res->acked != BIT(id) || strcmp(res->value[id], want) != 0)
			printf("#   acked %#x, value \"%s\"\n", res->acked, res->value[id]);
	} else {
		is_int(res->acked, 0, "%s \"%s\" not acked", opt_name(id), value);
	}
}

static void test_defaults(void)
{
	struct opt_limits lim = defaults();
	struct packet_request req = request(OP_RRQ);
	struct opt_result res;
	uint64_t size = 1234;
	uint8_t buf[64];

	is_int(lim.blksize_max, 65464, "default blksize_max");
	is_int(lim.windowsize_max, 64, "default windowsize_max");
	is_int(lim.window_bytes_max, 4 << 20, "default window_bytes_max");
	int refused = 0;
	for (int i = 0; i < OPT_MAX; i++)
		refused += lim.refuse[i];
	is_int(refused, 0, "no option refused by default");

	memset(&res, 0xff, sizeof(res));
	is_int(opt_negotiate(&req, &lim, &size, &res), 0, "no options: succeeds");
	is_int(res.blksize, 512, "no options: blksize 512");
	is_int(res.windowsize, 1, "no options: windowsize 1");
	is_int(res.timeout_us, 0, "no options: no timeout");
	is_int(res.rollover, 0, "no options: rollover 0");
	ok(!res.tsize_known, "no options: tsize unknown");
	is_int(res.acked, 0, "no options: nothing acked");
	is_int(opt_build_oack(&res, buf, sizeof(buf)), 0, "no options: no OACK");
}

static void test_blksize(void)
{
	struct opt_limits lim = defaults();
	struct opt_result res;

	check_one(OPT_BLKSIZE, "8", &lim, "8", &res);
	is_int(res.blksize, 8, "blksize 8 used");
	check_one(OPT_BLKSIZE, "1468", &lim, "1468", &res);
	is_int(res.blksize, 1468, "blksize 1468 used");
	check_one(OPT_BLKSIZE, "65464", &lim, "65464", &res);
	check_one(OPT_BLKSIZE, "65465", &lim, "65464", &res);
	check_one(OPT_BLKSIZE, "70000", &lim, "65464", &res);
	is_int(res.blksize, 65464, "blksize 70000 clamped to 65464");

	static const char *const bad[] = { "7", "0", "-5", "abc", "", "1468x", " 1468", "+1468",
					   "99999999999999999999999x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_one(OPT_BLKSIZE, bad[i], &lim, NULL, &res);
		is_int(res.blksize, 512, "blksize \"%s\": default 512 kept", bad[i]);
	}

	lim.blksize_max = 1024;
	check_one(OPT_BLKSIZE, "1468", &lim, "1024", &res);
	is_int(res.blksize, 1024, "blksize clamped to lim.blksize_max");
	check_one(OPT_BLKSIZE, "99999999999999999999999", &lim, "1024", &res);
	is_int(res.blksize, 1024, "overflowing blksize clamped to lim.blksize_max");
	check_one(OPT_BLKSIZE, "1024", &lim, "1024", &res);
	check_one(OPT_BLKSIZE, "512", &lim, "512", &res);

	lim.blksize_max = 100000;
	check_one(OPT_BLKSIZE, "70000", &lim, "65464", &res);
	lim.blksize_max = 0;
	check_one(OPT_BLKSIZE, "1468", &lim, "8", &res);
}

static void test_windowsize(void)
{
	struct opt_limits lim = defaults();
	struct packet_request req = request(OP_RRQ);
	struct opt_result res;

	check_one(OPT_WINDOWSIZE, "1", &lim, "1", &res);
	is_int(res.windowsize, 1, "windowsize 1 used");
	check_one(OPT_WINDOWSIZE, "16", &lim, "16", &res);
	is_int(res.windowsize, 16, "windowsize 16 used");
	check_one(OPT_WINDOWSIZE, "64", &lim, "64", &res);
	check_one(OPT_WINDOWSIZE, "65", &lim, "64", &res);
	check_one(OPT_WINDOWSIZE, "65535", &lim, "64", &res);
	is_int(res.windowsize, 64, "windowsize 65535 clamped to default max 64");
	check_one(OPT_WINDOWSIZE, "99999999999999999999999", &lim, "64", &res);
	check_one(OPT_WINDOWSIZE, "0", &lim, NULL, &res);
	is_int(res.windowsize, 1, "windowsize 0: default 1 kept");
	check_one(OPT_WINDOWSIZE, "x", &lim, NULL, &res);

	lim.windowsize_max = 65535;
	lim.window_bytes_max = UINT64_MAX;
	check_one(OPT_WINDOWSIZE, "32767", &lim, "32767", &res);
	is_int(res.windowsize, 32767, "windowsize 32767 used when allowed");
	check_one(OPT_WINDOWSIZE, "65535", &lim, "32767", &res);
	is_int(res.windowsize, 32767, "windowsize 65535 granted as 32767, the largest safe window");
	lim.windowsize_max = 100000;
	check_one(OPT_WINDOWSIZE, "70000", &lim, "32767", &res);
	lim.windowsize_max = 0;
	check_one(OPT_WINDOWSIZE, "8", &lim, "1", &res);

	/* window_bytes_max / blksize, with the negotiated blksize. */
	lim = defaults();
	lim.window_bytes_max = 512 * 3;
	check_one(OPT_WINDOWSIZE, "64", &lim, "3", &res);
	lim.window_bytes_max = 1468 * 10 + 1467;
	req.opt[OPT_BLKSIZE] = "1468";
	req.opt[OPT_WINDOWSIZE] = "64";
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "blksize 1468 + windowsize 64");
	is_str(res.value[OPT_WINDOWSIZE], "10", "windowsize capped to window_bytes_max / 1468");
	is_int(res.windowsize, 10, "windowsize 10 used");
	is_int(res.acked, BIT(OPT_BLKSIZE) | BIT(OPT_WINDOWSIZE), "both acked");
	lim.window_bytes_max = 100;
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "window_bytes_max below blksize");
	is_str(res.value[OPT_WINDOWSIZE], "1", "windowsize at least 1");
	/* 4 MiB / 65464 = 64.07: the default limits allow 64 at the largest blksize. */
	lim = defaults();
	req.opt[OPT_BLKSIZE] = "65464";
	req.opt[OPT_WINDOWSIZE] = "65535";
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "blksize 65464 + windowsize 65535");
	is_str(res.value[OPT_WINDOWSIZE], "64", "4 MiB / 65464 allows 64 blocks");
}

static void test_timeouts(void)
{
	struct opt_limits lim = defaults();
	struct packet_request req = request(OP_RRQ);
	struct opt_result res;

	check_one(OPT_TIMEOUT, "1", &lim, "1", &res);
	is_int(res.timeout_us, 1000000, "timeout 1: 1 s");
	check_one(OPT_TIMEOUT, "255", &lim, "255", &res);
	is_int(res.timeout_us, 255000000, "timeout 255: 255 s");
	check_one(OPT_TIMEOUT, "0", &lim, NULL, &res);
	is_int(res.timeout_us, 0, "timeout 0: no timeout");
	check_one(OPT_TIMEOUT, "256", &lim, NULL, &res);
	is_int(res.timeout_us, 0, "timeout 256: no timeout");
	check_one(OPT_TIMEOUT, "99999999999999999999999", &lim, NULL, &res);
	check_one(OPT_TIMEOUT, "1.5", &lim, NULL, &res);

	check_one(OPT_UTIMEOUT, "10000", &lim, "10000", &res);
	is_int(res.timeout_us, 10000, "utimeout 10000 us");
	check_one(OPT_UTIMEOUT, "255000000", &lim, "255000000", &res);
	is_int(res.timeout_us, 255000000, "utimeout 255000000 us");
	check_one(OPT_UTIMEOUT, "9999", &lim, NULL, &res);
	check_one(OPT_UTIMEOUT, "255000001", &lim, NULL, &res);
	is_int(res.timeout_us, 0, "utimeout out of range: no timeout");

	req.opt[OPT_TIMEOUT] = "2";
	req.opt[OPT_UTIMEOUT] = "50000";
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "timeout and utimeout together");
	is_int(res.acked, BIT(OPT_TIMEOUT) | BIT(OPT_UTIMEOUT), "both acked");
	is_int(res.timeout_us, 50000, "utimeout wins over timeout");
	req.opt[OPT_UTIMEOUT] = "1";
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "timeout with a bad utimeout");
	is_int(res.acked, BIT(OPT_TIMEOUT), "only timeout acked");
	is_int(res.timeout_us, 2000000, "timeout used when utimeout is refused");
}

static void test_tsize(void)
{
	struct opt_limits lim = defaults();
	struct packet_request req = request(OP_RRQ);
	struct opt_result res;
	uint64_t size = 5000000000u;

	req.opt[OPT_TSIZE] = "0";
	is_int(opt_negotiate(&req, &lim, &size, &res), 0, "RRQ tsize with a size");
	is_int(res.acked, BIT(OPT_TSIZE), "RRQ tsize acked");
	is_str(res.value[OPT_TSIZE], "5000000000", "RRQ tsize echoes the 5 GB file size");
	is_int(res.tsize, 5000000000u, "res.tsize is the file size");
	ok(res.tsize_known, "RRQ tsize known");

	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "RRQ tsize without a size");
	is_int(res.acked, 0, "RRQ tsize not acked without a size");
	ok(!res.tsize_known, "RRQ tsize unknown without a size");

	req.opt[OPT_TSIZE] = "abc";
	is_int(opt_negotiate(&req, &lim, &size, &res), 0, "RRQ tsize \"abc\"");
	is_int(res.acked, 0, "RRQ tsize \"abc\" not acked");

	req = request(OP_WRQ);
	req.opt[OPT_TSIZE] = "123456789012";
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "WRQ tsize");
	is_int(res.acked, BIT(OPT_TSIZE), "WRQ tsize acked");
	is_str(res.value[OPT_TSIZE], "123456789012", "WRQ tsize echoes the client value");
	is_int(res.tsize, 123456789012, "WRQ res.tsize is the announced size");
	ok(res.tsize_known, "WRQ tsize known");
	is_int(opt_negotiate(&req, &lim, &size, &res), 0, "WRQ tsize with a file size");
	is_str(res.value[OPT_TSIZE], "123456789012", "WRQ ignores the local file size");
	req.opt[OPT_TSIZE] = "-1";
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "WRQ tsize \"-1\"");
	ok(res.acked == 0 && !res.tsize_known, "WRQ tsize \"-1\" not acked");
}

static void test_rollover(void)
{
	struct opt_limits lim = defaults();
	struct opt_result res;

	check_one(OPT_ROLLOVER, "0", &lim, "0", &res);
	is_int(res.rollover, 0, "rollover 0 used");
	check_one(OPT_ROLLOVER, "1", &lim, "1", &res);
	is_int(res.rollover, 1, "rollover 1 used");

	static const char *const bad[] = { "2", "01", "", "-1", "1 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(negotiate1(OPT_ROLLOVER, bad[i], &lim, &res), -EINVAL,
		       "rollover \"%s\" -> -EINVAL", bad[i]);

	lim.refuse[OPT_ROLLOVER] = true;
	check_one(OPT_ROLLOVER, "2", &lim, NULL, &res);
	is_int(res.rollover, 0, "refused rollover: 0 used");

	/* Either rollover: a window of 65535 would let a stale ACK pass for
	 * a new one (test_window), so 32767 is granted. */
	struct packet_request req = request(OP_RRQ);
	lim = defaults();
	lim.windowsize_max = 65535;
	lim.window_bytes_max = 1u << 30;
	req.opt[OPT_BLKSIZE] = "8";
	req.opt[OPT_WINDOWSIZE] = "65535";
	req.opt[OPT_ROLLOVER] = "1";
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "rollover 1 with windowsize 65535");
	is_int(res.windowsize, 32767, "rollover 1 caps the window at 32767");
	is_str(res.value[OPT_WINDOWSIZE], "32767", "the capped window is what the OACK says");
	req.opt[OPT_ROLLOVER] = "0";
	is_int(opt_negotiate(&req, &lim, NULL, &res), 0, "rollover 0 with windowsize 65535");
	is_int(res.windowsize, 32767, "rollover 0 caps it at 32767 too");
}

static void test_refuse(void)
{
	struct opt_limits lim = defaults();
	struct packet_request req = request(OP_RRQ);
	struct opt_result res;
	uint64_t size = 99;

	lim.refuse[OPT_BLKSIZE] = true;
	check_one(OPT_BLKSIZE, "1468", &lim, NULL, &res);
	is_int(res.blksize, 512, "refused blksize: 512 used");

	lim.refuse[OPT_TSIZE] = true;
	req.opt[OPT_BLKSIZE] = "1468";
	req.opt[OPT_TSIZE] = "0";
	req.opt[OPT_TIMEOUT] = "3";
	is_int(opt_negotiate(&req, &lim, &size, &res), 0, "refused options with others");
	is_int(res.acked, BIT(OPT_TIMEOUT), "only the unrefused option acked");
	ok(!res.tsize_known, "refused tsize stays unknown");
}

/* Parse a raw request and negotiate it; returns the OACK length. */
static int oack_for(const char *raw, size_t len, const uint64_t *size, uint8_t *buf, size_t bufsize)
{
	struct opt_limits lim = defaults();
	struct packet_request req;
	struct opt_result res;

	if (packet_parse_request(raw, len, &req) != 0 || opt_negotiate(&req, &lim, size, &res) != 0)
		return -1000;
	return opt_build_oack(&res, buf, bufsize);
}

/* The OACK for request raw (a string literal with embedded NULs) is want. */
#define CHECK_OACK(raw, size, want, what) \
	check_oack(raw, sizeof(raw) - 1, size, want, sizeof(want) - 1, what)

static void check_oack(const char *raw, size_t rawlen, const uint64_t *size,
		       const char *want, size_t wantlen, const char *what)
{
	uint8_t buf[256];
	int n = oack_for(raw, rawlen, size, buf, sizeof(buf));

	is_int(n, wantlen, "%s: OACK length", what);
	is_mem(buf, n > 0 ? (size_t)n : 0, want, wantlen, "%s: OACK bytes", what);
}

static const char req_all[] = "\0\2" "f\0" "octet\0" "rollover\0" "1\0" "utimeout\0" "20000\0"
	"tsize\0" "77\0" "blksize\0" "9000\0" "windowsize\0" "4\0" "timeout\0" "9\0";
static const char oack_all[] = "\0\6" "blksize\0" "9000\0" "tsize\0" "77\0"
	"timeout\0" "9\0" "utimeout\0" "20000\0" "windowsize\0" "4\0" "rollover\0" "1\0";

static void test_oack(void)
{
	uint64_t size = 1234;
	uint8_t buf[256];

	CHECK_OACK("\0\1" "f\0" "octet\0" "WindowSize\0" "8\0" "TIMEOUT\0" "3\0"
		   "x-unknown\0" "1\0" "TSize\0" "0\0" "BLKSIZE\0" "1468\0", &size,
		   "\0\6" "blksize\0" "1468\0" "tsize\0" "1234\0" "timeout\0" "3\0"
		   "windowsize\0" "8\0",
		   "upper-case request: table order, lower-case names");
	CHECK_OACK("\0\1" "f\0" "octet\0" "blksize\0" "1468\0", &size,
		   "\0\6" "blksize\0" "1468\0", "only the requested option is echoed");
	CHECK_OACK("\0\1" "f\0" "octet\0" "blksize\0" "1024\0" "BLKSIZE\0" "2048\0"
		   "blksize\0" "1024\0", &size,
		   "\0\6" "blksize\0" "1024\0", "a repeated option is echoed once");
	CHECK_OACK("\0\1" "f\0" "octet\0" "blksize\0" "70000\0" "timeout\0" "0\0", &size,
		   "\0\6" "blksize\0" "65464\0", "clamped value echoed, refused one dropped");
	CHECK_OACK(req_all, NULL, oack_all, "WRQ with all six options");

	is_int(oack_for(req_all, sizeof(req_all) - 1, NULL, buf, sizeof(oack_all) - 2), -ENOSPC,
	       "OACK one byte too big for the buffer -> -ENOSPC");
	is_int(oack_for(req_all, sizeof(req_all) - 1, NULL, buf, sizeof(oack_all) - 1),
	       sizeof(oack_all) - 1, "OACK fits a buffer of exactly its size");
}

static void check_uint(const char *s, uint64_t max, int want_r, uint64_t want_v)
{
	uint64_t v = 0;
	int r = opt_parse_uint(s, max, &v);

	if (want_r == 0) {
		ok(r == 0 && v == want_v, "opt_parse_uint(\"%s\", %" PRIu64 ") = %" PRIu64,
		   s, max, want_v);
		if (r != 0 || v != want_v)
			printf("#   got r=%d v=%" PRIu64 "\n", r, v);
	} else {
		is_int(r, want_r, "opt_parse_uint(\"%s\", %" PRIu64 ") -> %s", s, max,
		       want_r == -EINVAL ? "-EINVAL" : "-ERANGE");
	}
}

static void test_parse_uint(void)
{
	check_uint("0", UINT64_MAX, 0, 0);
	check_uint("1", UINT64_MAX, 0, 1);
	check_uint("007", UINT64_MAX, 0, 7);
	check_uint("255", 255, 0, 255);
	check_uint("256", 255, -ERANGE, 0);
	check_uint("0", 0, 0, 0);
	check_uint("1", 0, -ERANGE, 0);
	check_uint("5000000000", UINT64_MAX, 0, 5000000000u);
	check_uint("18446744073709551609", UINT64_MAX, 0, UINT64_MAX - 6);
	/* The largest values: "<= max" includes max itself. */
	check_uint("18446744073709551610", UINT64_MAX, 0, UINT64_MAX - 5);
	check_uint("18446744073709551615", UINT64_MAX, 0, UINT64_MAX);
	check_uint("18446744073709551616", UINT64_MAX, -ERANGE, 0);
	check_uint("99999999999999999999", UINT64_MAX, -ERANGE, 0);
	check_uint("184467440737095516150", UINT64_MAX, -ERANGE, 0);
	/* Not a decimal number at all, however long its digit prefix. */
	check_uint("99999999999999999999x", UINT64_MAX, -EINVAL, 0);

	static const char *const bad[] = { "", " 1", "1 ", "+1", "-1", "-0", "0x10", "1e3",
					   "1.0", "\t1", "\xef\xbc\x91" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_uint(bad[i], UINT64_MAX, -EINVAL, 0);
}

static void test_parse_range(void)
{
	uint64_t v = 7;

	is_int(opt_parse_range("5", 5, 10, &v), 0, "range: the minimum");
	is_int(v, 5, "... is taken");
	is_int(opt_parse_range("10", 5, 10, &v), 0, "range: the maximum");
	is_int(v, 10, "... is taken");
	v = 7;
	is_int(opt_parse_range("4", 5, 10, &v), -ERANGE, "range: below the minimum");
	is_int(opt_parse_range("11", 5, 10, &v), -ERANGE, "range: above the maximum");
	is_int(opt_parse_range("x", 5, 10, &v), -EINVAL, "range: not a number");
	is_int(opt_parse_range("", 5, 10, &v), -EINVAL, "range: empty");
	is_int(opt_parse_range(" 6", 5, 10, &v), -EINVAL, "range: a blank");
	is_int(v, 7, "range: a refused value is not stored");
}

int main(void)
{
	test_defaults();
	test_blksize();
	test_windowsize();
	test_timeouts();
	test_tsize();
	test_rollover();
	test_refuse();
	test_oack();
	test_parse_uint();
	test_parse_range();
	return tap_done();
}
