/* test_report.c - the transfer report's wire form (src/report.c). */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "packet.h"
#include "report.h"

static const struct xfer_report sample = {
	.pid = 0x01020304, .op = OP_WRQ, .outcome = XO_REFUSED, .error = ERR_NOT_FOUND,
	.bytes = 0x1122334455667788ull, .duration_us = 1500000, .retransmits = 7,
	.held = 0x0a0b0c0d,
};

static void test_layout(void)
{
	static const uint8_t want[REPORT_SIZE] = {
		2, 2, 5, 0, 1, 0, 0, 0,				/* version, op, outcome, error */
		4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a,		/* pid, held */
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,	/* bytes */
		0x60, 0xe3, 0x16, 0, 0, 0, 0, 0,		/* 1500000 us */
		7, 0, 0, 0, 0, 0, 0, 0,				/* retransmits */
	};
	uint8_t buf[REPORT_SIZE];

	report_encode(&sample, buf);
	is_mem(buf, sizeof(buf), want, sizeof(want), "encoding: fixed little-endian layout");
}

static void test_round_trip(void)
{
	uint8_t buf[REPORT_SIZE];
	struct xfer_report r;

	for (unsigned op = OP_RRQ; op <= OP_WRQ; op++) {
		for (unsigned o = XO_NONE + 1; o < XO_MAX; o++) {
			struct xfer_report in = sample, out;

			in.op = (uint8_t)op;
			in.outcome = (uint8_t)o;
			in.error = (uint16_t)(o % 9);
			report_encode(&in, buf);
			if (!ok(report_decode(buf, sizeof(buf), &out) == 0 && memcmp(&in, &out, sizeof(in)) == 0,
				"round trip: op %u, outcome %s", op, xfer_outcome_name(o)))
				break;
		}
	}
	report_encode(&sample, buf);
	memset(&r, 0, sizeof(r));
	ok(report_decode(buf, sizeof(buf), &r) == 0 && r.bytes == sample.bytes && r.pid == sample.pid,
	   "decode gives the fields back");
}

/* A sandboxed child may be compromised: the dispatcher checks everything. */
static void test_rejects(void)
{
	uint8_t buf[REPORT_SIZE + 1];
	struct xfer_report r;
	static const struct { unsigned off; uint8_t val; const char *what; } bad[] = {
		{ 0, 1, "another version" },
		{ 1, 0, "op 0" },
		{ 1, OP_DATA, "op DATA" },
		{ 2, XO_NONE, "outcome none" },
		{ 2, XO_MAX, "outcome past the last" },
		{ 3, 1, "padding after the outcome" },
		{ 4, 9, "error code 9" },
		{ 5, 1, "error code 256" },
		{ 6, 1, "padding after the error" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		report_encode(&sample, buf);
		buf[bad[i].off] = bad[i].val;
		is_int(report_decode(buf, REPORT_SIZE, &r), -EINVAL, "rejected: %s", bad[i].what);
	}
	report_encode(&sample, buf);
	is_int(report_decode(buf, REPORT_SIZE - 1, &r), -EINVAL, "rejected: one byte short");
	buf[REPORT_SIZE] = 0;
	is_int(report_decode(buf, REPORT_SIZE + 1, &r), -EINVAL, "rejected: one byte long");
	is_int(report_decode(buf, 0, &r), -EINVAL, "rejected: empty");
}

/* report_send: one datagram per report over a socketpair. */
static void test_send(void)
{
	int sv[2];
	uint8_t buf[64];
	struct xfer_report a = sample, b = sample, r;
	ssize_t n;

	b.pid = 42;
	b.outcome = XO_COMPLETE;
	if (!ok(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair"))
		return;
	is_int(report_send(sv[1], &a), 0, "send the first report");
	is_int(report_send(sv[1], &b), 0, "send the second report");
	n = recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT);
	ok(n == REPORT_SIZE && report_decode(buf, (size_t)n, &r) == 0 && r.pid == a.pid,
	   "first datagram: the first report, whole");
	n = recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT);
	ok(n == REPORT_SIZE && report_decode(buf, (size_t)n, &r) == 0 && r.pid == 42 &&
	   r.outcome == XO_COMPLETE, "second datagram: the second report");
	ok(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN, "then nothing");
	close(sv[0]);
	is_int(report_send(sv[1], &a), -ECONNREFUSED, "reader gone: an error, not a signal");
	close(sv[1]);
}

int main(void)
{
	test_layout();
	test_round_trip();
	test_rejects();
	test_send();
	return tap_done();
}
