/* test_xfer.c - what a transfer shows and reports about itself: the
 * process title and the dispatcher's record; and in single-port mode,
 * what it does with requests that reach its socket (src/xfer.c). */
#include "config.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "xfer.h"

static void title(struct transfer *t, const char *want, const char *what)
{
	char buf[256];

	xfer_title(t, buf, sizeof(buf));
	is_str(buf, want, "title: %s", what);
}

static void test_title(void)
{
	struct transfer t;

	memset(&t, 0, sizeof(t));
	strcpy(t.peer, "10.0.0.7:2001");
	strcpy(t.name, "boot.img");
	t.op = OP_RRQ;
	t.size_known = true;
	t.size = 1000;
	title(&t, "10.0.0.7 RRQ boot.img 0%", "start, port left out");
	t.bytes = 455;
	title(&t, "10.0.0.7 RRQ boot.img 45%", "45% rounds down");
	t.bytes = 1000;
	title(&t, "10.0.0.7 RRQ boot.img 100%", "done");
	t.size = 0;
	t.bytes = 0;
	title(&t, "10.0.0.7 RRQ boot.img 0 B", "an empty file: bytes");
	t.size_known = false;
	t.bytes = 3 << 20;
	title(&t, "10.0.0.7 RRQ boot.img 3.0 MiB", "size unknown (netascii): bytes");
	strcpy(t.peer, "[2001:db8::1]:69");
	t.op = OP_WRQ;
	strcpy(t.name, "up/a\\x0ab");
	title(&t, "2001:db8::1 WRQ up/a\\x0ab 3.0 MiB", "IPv6 without brackets, WRQ, the sanitised name");
}

static void test_report(void)
{
	struct transfer t;
	struct xfer_report r;

	memset(&t, 0, sizeof(t));
	t.op = OP_WRQ;
	t.outcome = XO_REFUSED;
	t.error = ERR_NOT_FOUND;
	t.start_us = 1000;
	t.bytes = 12;
	t.s.retransmits = 3;
	xfer_report(&t, 501000, &r);
	ok(r.op == OP_WRQ && r.outcome == XO_REFUSED && r.error == ERR_NOT_FOUND, "refused: op, outcome, code");
	is_int(r.duration_us, 500000, "duration: until now when the data never completed");
	is_int(r.pid, getpid(), "pid of the process");
	ok(r.bytes == 12 && r.retransmits == 3, "bytes and retransmits");
	t.outcome = XO_ABORTED;
	t.end_us = 2000;
	xfer_report(&t, 501000, &r);
	is_int(r.error, 0, "aborted by the client: no error code of ours");
	is_int(r.duration_us, 1000, "duration: until the data was complete");
	t.outcome = XO_NONE;
	xfer_report(&t, 501000, &r);
	is_int(r.outcome, XO_FAILED, "no outcome is reported as failed");
}

/* ---- Single-port mode: requests on the transfer's socket ------------- */

static int udp_pair(int *srv, int *cli, struct sockaddr_in *cli_addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in b = a;
	socklen_t len = sizeof(a);

	*srv = socket(AF_INET, SOCK_DGRAM, 0);
	*cli = socket(AF_INET, SOCK_DGRAM, 0);
	if (bind(*srv, (struct sockaddr *)&a, sizeof(a)) < 0 || bind(*cli, (struct sockaddr *)&b, sizeof(b)) < 0)
		return -1;
	getsockname(*srv, (struct sockaddr *)&a, &len);
	getsockname(*cli, (struct sockaddr *)&b, &len);
	*cli_addr = b;
	return connect(*srv, (struct sockaddr *)&b, sizeof(b)) | connect(*cli, (struct sockaddr *)&a, sizeof(a));
}

static size_t rrq(uint8_t *buf, const char *name)
{
	size_t n = strlen(name);

	buf[0] = 0;
	buf[1] = OP_RRQ;
	memcpy(buf + 2, name, n + 1);
	memcpy(buf + 3 + n, "octet", 6);
	return n + 9;
}

/* The next datagram to the client: its length, or -1 if none is queued. */
static ssize_t reply(int cli, uint8_t *buf, size_t size)
{
	return recv(cli, buf, size, MSG_DONTWAIT);
}

static void ack(struct transfer *t, uint16_t block)
{
	uint8_t a[4] = { 0, OP_ACK, (uint8_t)(block >> 8), (uint8_t)block };

	xfer_on_packet(t, a, sizeof(a), xfer_now_us());
}

static void test_single_port(void)
{
	char dir[] = "/tmp/test_xfer.XXXXXX";
	uint8_t a_data[700], b_data[300], req_a[64], req_b[64], buf[1024];
	size_t la, lb;
	struct sockaddr_in peer;
	struct xfer_conf conf;
	struct transfer t;
	int srv, cli, rootfd, fd;

	for (size_t i = 0; i < sizeof(a_data); i++)
		a_data[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(b_data); i++)
		b_data[i] = (uint8_t)(i * 13 + 1);
	if (!mkdtemp(dir) || (rootfd = open(dir, O_PATH | O_DIRECTORY)) < 0 || udp_pair(&srv, &cli, &peer) < 0) {
		ok(0, "single-port: set-up");
		return;
	}
	fd = openat(rootfd, "a", O_WRONLY | O_CREAT, 0644);
	ok(write(fd, a_data, sizeof(a_data)) == (ssize_t)sizeof(a_data), "single-port: file a");
	close(fd);
	fd = openat(rootfd, "b", O_WRONLY | O_CREAT, 0644);
	ok(write(fd, b_data, sizeof(b_data)) == (ssize_t)sizeof(b_data), "single-port: file b");
	close(fd);
	la = rrq(req_a, "a");
	lb = rrq(req_b, "b");

	/* The default mode: a request on the transfer's socket is a stray. */
	xfer_conf_init(&conf);
	is_int(xfer_start(&t, &conf, srv, rootfd, req_a, la, (struct sockaddr *)&peer, xfer_now_us()), 0,
	       "default: RRQ a started");
	is_int(reply(cli, buf, sizeof(buf)), 516, "default: DATA 1");
	xfer_on_packet(&t, req_b, lb, xfer_now_us());
	ok(!xfer_done(&t) && !xfer_restart_pending(&t), "default: another request is ignored");
	xfer_finish(&t, xfer_now_us());

	conf.single_port = true;
	is_int(xfer_start(&t, &conf, srv, rootfd, req_a, la, (struct sockaddr *)&peer, xfer_now_us()), 0,
	       "single-port: RRQ a started");
	is_int(reply(cli, buf, sizeof(buf)), 516, "single-port: DATA 1 of a");
	ok(memcmp(buf + 4, a_data, 512) == 0, "... with a's bytes");
	xfer_on_packet(&t, req_a, la, xfer_now_us());
	ok(!xfer_done(&t) && !xfer_restart_pending(&t), "the same request again is ignored");
	is_int(reply(cli, buf, sizeof(buf)), -1, "... and not answered");
	xfer_on_packet(&t, req_b, lb, xfer_now_us());
	ok(xfer_done(&t) && xfer_restart_pending(&t), "another request ends the transfer, to restart");
	is_int(t.outcome, XO_ABORTED, "... the old one aborted");
	is_str(t.detail, "replaced by a new request", "... and says why");
	is_int(xfer_restart(&t, rootfd, xfer_now_us()), 0, "the new request starts on the same socket");
	is_int(reply(cli, buf, sizeof(buf)), 304, "DATA 1 of b");
	ok(memcmp(buf + 4, b_data, sizeof(b_data)) == 0, "... with b's bytes");
	ack(&t, 1);
	ok(xfer_done(&t) && t.outcome == XO_COMPLETE && !xfer_restart_pending(&t), "b complete");

	/* The client's next request, come before the socket was closed. */
	xfer_on_packet(&t, req_a, la, xfer_now_us());
	ok(xfer_restart_pending(&t), "a request after the end is kept for a restart");
	is_int(t.outcome, XO_COMPLETE, "... and b stays complete");
	is_int(xfer_restart(&t, rootfd, xfer_now_us()), 0, "a again");
	is_int(reply(cli, buf, sizeof(buf)), 516, "DATA 1 of a");
	ack(&t, 1);
	is_int(reply(cli, buf, sizeof(buf)), 192, "DATA 2 of a");
	ok(memcmp(buf + 4, a_data + 512, 188) == 0, "... with the rest of a's bytes");
	ack(&t, 2);
	ok(xfer_done(&t) && t.outcome == XO_COMPLETE, "a complete");
	xfer_finish(&t, xfer_now_us());

	close(srv);
	close(cli);
	unlinkat(rootfd, "a", 0);
	unlinkat(rootfd, "b", 0);
	close(rootfd);
	rmdir(dir);
}

/* An RRQ for name with blksize and windowsize options. */
static size_t rrq_opts(uint8_t *buf, const char *name, unsigned blksize, unsigned windowsize)
{
	size_t n = rrq(buf, name);

	n += (size_t)sprintf((char *)buf + n, "blksize%c%u%cwindowsize%c%u", 0, blksize, 0, 0, windowsize) + 1;
	return n;
}

/* The OACK's blksize and windowsize. */
static void oack_opts(int cli, unsigned *blksize, unsigned *windowsize)
{
	uint8_t buf[128];
	ssize_t n = reply(cli, buf, sizeof(buf) - 1);

	*blksize = *windowsize = 0;
	if (n < 2 || buf[1] != OP_OACK)
		return;
	buf[n] = 0;
	for (char *p = (char *)buf + 2; p < (char *)buf + n; p += strlen(p) + 1) {
		char *v = p + strlen(p) + 1;

		if (!strcmp(p, "blksize"))
			*blksize = (unsigned)atoi(v);
		else if (!strcmp(p, "windowsize"))
			*windowsize = (unsigned)atoi(v);
		p = v;
	}
}

/* The ring budget: windows are fitted to what is left, reserved when
 * negotiated, given back at the end; read-ahead comes out of it too. */
static void test_budget(void)
{
	char dir[] = "/tmp/test_xfer.XXXXXX";
	uint8_t req[128];
	struct sockaddr_in peer;
	struct xfer_conf conf;
	struct xmem mem;
	struct transfer t[3];
	unsigned b, w;
	int srv[3], cli[3], rootfd, fd;
	size_t n;

	if (!mkdtemp(dir) || (rootfd = open(dir, O_PATH | O_DIRECTORY)) < 0) {
		ok(0, "budget: set-up");
		return;
	}
	fd = openat(rootfd, "f", O_WRONLY | O_CREAT, 0644);
	ok(ftruncate(fd, 4 << 20) == 0, "budget: a 4 MiB file");
	close(fd);
	for (int i = 0; i < 3; i++)
		if (udp_pair(&srv[i], &cli[i], &peer) < 0)
			ok(0, "budget: sockets");
	xfer_conf_init(&conf);
	ok(xmem_init(&mem, 300000, 0, 4) == 0, "budget: 300000 bytes");
	conf.mem = &mem;
	n = rrq_opts(req, "f", 65464, 64);
	is_int(xfer_start(&t[0], &conf, srv[0], rootfd, req, n, (struct sockaddr *)&peer, xfer_now_us()), 0,
	       "a first transfer at 65464 x 64");
	oack_opts(cli[0], &b, &w);
	ok(b == 65464 && w == 4, "... gets the 4 blocks that fit (%u x %u)", b, w);
	is_int(mem.used, 4 * 65468, "... reserved before its first window");
	is_int(xfer_start(&t[1], &conf, srv[1], rootfd, req, n, (struct sockaddr *)&peer, xfer_now_us()), 0,
	       "a second one");
	oack_opts(cli[1], &b, &w);
	ok(b < 65464 && b >= 512 && w == 1 && b + 4 <= 300000 - 4 * 65468, "... one smaller block (%u x %u)", b, w);
	mem.used = 300000;	/* as if others had taken the rest */
	is_int(xfer_start(&t[2], &conf, srv[2], rootfd, req, n, (struct sockaddr *)&peer, xfer_now_us()), 0,
	       "a third one");
	oack_opts(cli[2], &b, &w);
	ok(b == 512 && w == 1, "... one block of 512 when nothing is left (%u x %u)", b, w);
	mem.used = 4 * 65468 + t[1].mem_bytes + t[2].mem_bytes;
	for (int i = 0; i < 3; i++)
		xfer_finish(&t[i], xfer_now_us());
	is_int(mem.used, 0, "all given back");

	/* Read-ahead: a small window reads ahead from the budget's part. */
	n = rrq_opts(req, "f", 1024, 2);
	xfer_start(&t[0], &conf, srv[0], rootfd, req, n, (struct sockaddr *)&peer, xfer_now_us());
	oack_opts(cli[0], &b, &w);
	ok(b == 1024 && w == 2, "a small window (%u x %u)", b, w);
	ack(&t[0], 0);
	ok(t[0].s.nslots > 2 && mem.readahead == (t[0].s.nslots - 2) * 1028ull, "reads ahead, reserved (%u slots)",
	   t[0].s.nslots);
	is_int(mem.used, t[0].s.nslots * 1028ull, "window and read-ahead in the budget");
	xfer_finish(&t[0], xfer_now_us());
	ok(mem.used == 0 && mem.readahead == 0, "given back");
	xmem_free(&mem);
	for (int i = 0; i < 3; i++) {
		close(srv[i]);
		close(cli[i]);
	}
	unlinkat(rootfd, "f", 0);
	close(rootfd);
	rmdir(dir);
}

int main(void)
{
	test_title();
	test_report();
	test_single_port();
	test_budget();
	return tap_done();
}
