/* test_transport.c - the socket I/O of transfer sockets (src/transport.c)
 * on real sockets: runs of datagrams with and without UDP GSO, a socket
 * that refuses GSO, a run in two pieces (a ring that wraps), truncated
 * datagrams in single and batched receives, a send buffer that fills
 * up, a refused port, and the wait of a blocking receive.
 *
 * The send buffer of a UDP socket on loopback never fills: a datagram's
 * charge to it is dropped as loopback hands it over.  An AF_UNIX
 * datagram pair keeps the charge until the peer reads, as a slow link
 * does, so the test of a full buffer runs on one. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "transport.h"

#define SEG (4 + 1468)		/* a DATA of blksize 1468 */
#define RUN 100			/* full datagrams in a run, and a short one */
#define SHORT (4 + 100)
#define RUN_BYTES (RUN * SEG + SHORT)

static uint8_t run[RUN_BYTES];

/* A UDP pair on 127.0.0.1: *tx connected to *rx (non-blocking both),
 * *rx with room for a whole run. */
static int udp_pair(int *tx, int *rx)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int big = 4 << 20;

	*tx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	*rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*tx < 0 || *rx < 0 || bind(*rx, (struct sockaddr *)&a, len) < 0 ||
	    getsockname(*rx, (struct sockaddr *)&a, &len) < 0 || connect(*tx, (struct sockaddr *)&a, len) < 0)
		return -1;
	if (setsockopt(*rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return 0;
}

/* Each datagram of the run its own bytes: its index in the header, then
 * a pattern that differs from its neighbours'. */
static void make_run(void)
{
	for (size_t i = 0; i < sizeof(run); i++)
		run[i] = (uint8_t)(i * 7 + i / SEG);
	for (unsigned d = 0; d <= RUN; d++) {
		run[d * SEG] = (uint8_t)(d >> 8);
		run[d * SEG + 1] = (uint8_t)d;
	}
}

/* Read what rx holds: each datagram must be the next of the pieces, as
 * tp_send_run() cuts them (seg bytes, the last of a piece maybe fewer).
 * Returns the datagrams that matched, or -1 at the first that did not. */
static int expect_pieces(int rx, const struct iovec *piece, unsigned npieces, size_t seg)
{
	static uint8_t buf[70000];
	unsigned p = 0;
	size_t off = 0;
	int n = 0;
	ssize_t got;

	while ((got = tp_recv(rx, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL)) >= 0) {
		size_t left = p < npieces ? piece[p].iov_len - off : 0, dlen = left < seg ? left : seg;

		if (!dlen || (size_t)got != dlen || memcmp(buf, (uint8_t *)piece[p].iov_base + off, dlen) != 0) {
			printf("# datagram %d: %zd bytes, want %zu\n", n, got, dlen);
			return -1;
		}
		off += dlen;
		if (off == piece[p].iov_len) {
			p++;
			off = 0;
		}
		n++;
	}
	return n;
}

static int expect(int rx, const uint8_t *want, size_t len, size_t seg)
{
	struct iovec piece = { (void *)want, len };

	return expect_pieces(rx, &piece, 1, seg);
}

static void test_run(bool gso)
{
	const char *what = gso ? "GSO" : "without GSO";
	struct iovec piece = { run, sizeof(run) };
	bool g = gso;
	int tx, rx;

	if (udp_pair(&tx, &rx) < 0) {
		ok(0, "%s: sockets", what);
		return;
	}
	is_int(tp_send_run(tx, &g, &piece, 1, SEG), RUN + 1, "%s: %d datagrams and a short one sent", what, RUN);
	is_int(expect(rx, run, sizeof(run), SEG), RUN + 1, "%s: ... arrive as they were cut, bytes and all", what);
	is_int(g, gso, "%s: %s", what, gso ? "GSO still on (loopback takes it)" : "GSO stays off");
	close(tx);
	close(rx);
}

/* A socket that refuses GSO (without UDP checksums the kernel cannot
 * cut a run: EINVAL): GSO goes off for good, and the run goes whole. */
static void test_no_gso(void)
{
	struct iovec piece = { run, sizeof(run) };
	bool g = true;
	int tx, rx, one = 1;

	if (udp_pair(&tx, &rx) < 0 || setsockopt(tx, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)) < 0) {
		ok(0, "GSO refused: sockets");
		return;
	}
	is_int(tp_send_run(tx, &g, &piece, 1, SEG), RUN + 1, "GSO refused: the run is sent without");
	ok(!g, "... and GSO is off");
	is_int(expect(rx, run, sizeof(run), SEG), RUN + 1, "... all of it arrives, once");
	close(tx);
	close(rx);
}

/* A ring of 10 slots holding blocks 6..13 of a window: slots 6-9, then
 * the wrap to slots 0-3, the last short.  Two pieces, one run. */
static void test_wrap(bool gso)
{
	const char *what = gso ? "GSO" : "without GSO";
	static uint8_t ring[10 * SEG];
	struct iovec piece[2] = { { ring + 6 * SEG, 4 * SEG }, { ring, 3 * SEG + SHORT } };
	bool g = gso;
	int tx, rx;

	if (udp_pair(&tx, &rx) < 0) {
		ok(0, "%s, wrapped: sockets", what);
		return;
	}
	for (size_t i = 0; i < sizeof(ring); i++)
		ring[i] = (uint8_t)(i * 13 + i / SEG);
	is_int(tp_send_run(tx, &g, piece, 2, SEG), 8, "%s, wrapped: 8 datagrams in two pieces sent", what);
	is_int(expect_pieces(rx, piece, 2, SEG), 8, "%s, wrapped: ... arrive in order, intact", what);

	/* A first piece that ends in a short datagram: that one ends its
	 * message, and the second piece follows. */
	piece[0] = (struct iovec){ ring + 6 * SEG, 2 * SEG + SHORT };
	piece[1] = (struct iovec){ ring, 2 * SEG };
	is_int(tp_send_run(tx, &g, piece, 2, SEG), 5, "%s, a short datagram inside the run: 5 sent", what);
	is_int(expect_pieces(rx, piece, 2, SEG), 5, "%s, ... arrive in order, intact", what);
	close(tx);
	close(rx);
}

static void test_truncated(void)
{
	static uint8_t big[3000], buf[1024];
	static const size_t lens[] = { 10, sizeof(big), 516 };
	struct tp_rx r;
	ssize_t n;
	int tx, rx, got;

	if (udp_pair(&tx, &rx) < 0 || tp_rx_init(&r, 4, 1024) < 0) {
		ok(0, "truncation: sockets");
		return;
	}
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 3);
	is_int(tp_recv(rx, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL), -EAGAIN, "nothing queued: -EAGAIN");
	is_int(tp_receive(rx, &r, 4, 1024, MSG_DONTWAIT), -EAGAIN, "nothing queued, a batch: -EAGAIN");

	is_int(tp_send(tx, big, sizeof(big)), 0, "a datagram of 3000 bytes sent");
	n = tp_recv(rx, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
	is_int(n, sizeof(big), "received into 1024 bytes: its real length, 3000");
	is_mem(buf, sizeof(buf), big, sizeof(buf), "... the first 1024 bytes of it");

	/* A batch: each datagram's own length, the cut one's real length. */
	for (size_t i = 0; i < 3; i++)
		tp_send(tx, big, lens[i]);
	got = tp_receive(rx, &r, 4, 1024, MSG_DONTWAIT);
	is_int(got, 3, "a batch of 3");
	for (int i = 0; i < got && i < 3; i++) {
		is_int(tp_rx_len(&r, (unsigned)i), lens[i], "... datagram %d: %zu bytes", i + 1, lens[i]);
		is_mem(tp_rx_data(&r, (unsigned)i), lens[i] < 1024 ? lens[i] : 1024, big,
		       lens[i] < 1024 ? lens[i] : 1024, "... datagram %d: its bytes", i + 1);
	}
	/* A batch of one is a recv(): the same. */
	tp_send(tx, big, sizeof(big));
	got = tp_receive(rx, &r, 1, 1024, MSG_DONTWAIT);
	is_int(got, 1, "a batch of one");
	is_int(tp_rx_len(&r, 0), sizeof(big), "... cut, with its real length");
	/* A smaller size than the buffers': cut at that size. */
	tp_send(tx, big, 516);
	got = tp_receive(rx, &r, 4, 512, MSG_DONTWAIT);
	is_int(got, 1, "a batch asked for 512 bytes a datagram");
	is_int(tp_rx_len(&r, 0), 516, "... a datagram of 516 shows its length");
	tp_rx_free(&r);
	close(tx);
	close(rx);
}

/* Sends on s until its buffer is full; returns what went out. */
static int fill(int s, bool gso, size_t *skip)
{
	struct iovec piece = { run + *skip, sizeof(run) - *skip };
	bool g = gso;
	int r = tp_send_run(s, &g, &piece, 1, SEG);

	if (r > 0)
		*skip += (size_t)r * SEG < piece.iov_len ? (size_t)r * SEG : piece.iov_len;
	return r;
}

/* Read everything queued on s: the datagrams, and their bytes in *bytes. */
static int drain(int s, size_t *bytes)
{
	static uint8_t buf[70000];
	ssize_t got;
	int n = 0;

	*bytes = 0;
	while ((got = tp_recv(s, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL)) >= 0) {
		*bytes += (size_t)got;
		n++;
	}
	return n;
}

static void test_full(void)
{
	int sv[2], small = 4096, r, rounds = 0;
	size_t skip = 0, bytes;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(0, "full buffer: socketpair");
		return;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	r = fill(sv[0], false, &skip);
	ok(r > 0 && r < RUN + 1, "a full send buffer: part of the run went out (%d of %d)", r, RUN + 1);
	is_int(expect(sv[1], run, skip, SEG), r, "... the peer gets exactly those");
	/* The rest, as room comes back. */
	while (r >= 0 && skip < sizeof(run) && rounds++ < 1000) {
		size_t before = skip;

		r = fill(sv[0], false, &skip);
		if (r < 0 || expect(sv[1], run + before, skip - before, SEG) != r)
			r = -1;
	}
	ok(r >= 0 && skip == sizeof(run), "... the rest follows, intact, in %d sends", rounds);
	close(sv[0]);
	close(sv[1]);

	/* With GSO a message is a run of datagrams (on AF_UNIX, one large
	 * datagram; the buffer must hold one, and holds two): the count is
	 * that of the messages that went out whole. */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(0, "full buffer: socketpair");
		return;
	}
	small = 40000;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	skip = 0;
	r = fill(sv[0], true, &skip);
	ok(r > 0 && r < RUN + 1, "GSO, a full send buffer: part of the run went out (%d)", r);
	drain(sv[1], &bytes);
	is_int(bytes, (size_t)r * SEG, "... the count is the datagrams of the messages sent");
	close(sv[0]);
	close(sv[1]);
}

/* A blocking socket (a forked child's): a full buffer returns part of
 * the run too, never a send that waits (the alarm ends a hang). */
static void test_full_blocking(void)
{
	int sv[2], small = 4096, r;
	size_t skip = 0;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(0, "blocking: socketpair");
		return;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	alarm(10);
	r = fill(sv[0], false, &skip);
	ok(r > 0 && r < RUN + 1, "a blocking socket's full buffer: part of the run went out (%d of %d)", r, RUN + 1);
	is_int(fill(sv[0], false, &skip), 0, "... and then none, at once");
	is_int(tp_send(sv[0], run, SEG), -EAGAIN, "... nor a control packet: -EAGAIN");
	alarm(0);
	is_int(expect(sv[1], run, skip, SEG), r, "... the peer gets exactly those");
	close(sv[0]);
	close(sv[1]);
}

static void test_refused(void)
{
	struct iovec piece = { run, 3 * SEG };
	struct tp_rx r;
	bool g = true;
	int tx, gone;

	if (udp_pair(&tx, &gone) < 0 || tp_rx_init(&r, 4, 1024) < 0) {
		ok(0, "refused: sockets");
		return;
	}
	close(gone);	/* nothing listens on its port any more */
	is_int(tp_send(tx, "x", 1), 0, "a datagram to a closed port goes out");
	is_int(tp_receive(tx, &r, 4, 1024, MSG_DONTWAIT), -ECONNREFUSED, "... then a receive: -ECONNREFUSED");
	tp_send(tx, "x", 1);
	is_int(tp_receive(tx, &r, 1, 1024, MSG_DONTWAIT), -ECONNREFUSED, "... a receive of one: -ECONNREFUSED");
	tp_send(tx, "x", 1);
	is_int(tp_send_run(tx, &g, &piece, 1, SEG), -ECONNREFUSED, "... a run: -ECONNREFUSED");
	ok(g, "... which leaves GSO on");
	tp_send(tx, "x", 1);
	is_int(tp_send(tx, "x", 1), -ECONNREFUSED, "... a control packet: -ECONNREFUSED");
	tp_rx_free(&r);
	close(tx);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void test_wait(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint64_t cur = 0, t0, took;
	struct tp_rx r;

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || tp_rx_init(&r, 4, 1024) < 0) {
		ok(0, "wait: socket");
		return;
	}
	tp_set_wait(s, 20000, &cur);
	is_int(cur, 20000, "a blocking receive waits 20 ms");
	tp_set_wait(s, 19000, &cur);
	is_int(cur, 20000, "... 19 ms is close enough: not set again");
	tp_set_wait(s, 30000, &cur);
	is_int(cur, 30000, "... 30 ms is set");
	tp_set_wait(s, 20000, &cur);
	t0 = now_us();
	is_int(tp_receive(s, &r, 4, 1024, MSG_WAITFORONE), -EAGAIN, "nothing came: -EAGAIN");
	took = now_us() - t0;
	ok(took >= 15000 && took < 2000000, "... after the wait (%llu us)", (unsigned long long)took);
	t0 = now_us();
	is_int(tp_receive(s, &r, 1, 1024, MSG_WAITFORONE), -EAGAIN, "a receive of one too");
	took = now_us() - t0;
	ok(took >= 15000 && took < 2000000, "... after the wait (%llu us)", (unsigned long long)took);
	tp_rx_free(&r);
	close(s);
}

int main(void)
{
	make_run();
	test_run(true);
	test_run(false);
	test_no_gso();
	test_wrap(true);
	test_wrap(false);
	test_truncated();
	test_full();
	test_full_blocking();
	test_refused();
	test_wait();
	return tap_done();
}
