/* test_worker.c - the dispatcher's side of the handoff protocol
 * (worker.h): batches of transfers, each a record and a socket, sent in
 * one message over a SOCK_SEQPACKET pair as the pool does, and read back
 * here as a worker reads them: the records in order, byte for byte, and
 * the sockets in the same order (each the very socket that was added).
 * Also the batch's limits, a full queue (the batch is kept, its sockets
 * still open) and a dropped batch (its sockets closed). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "worker.h"

/* A UDP socket bound to a port of its own on 127.0.0.1; *port is it. */
static int udp_socket(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	return getsockname(fd, (struct sockaddr *)&a, &len) == 0 ? ntohs(a.sin_port) : 0;
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static union sockaddr_any peer_n(unsigned n)
{
	union sockaddr_any p;

	memset(&p, 0, sizeof(p));
	p.sin.sin_family = AF_INET;
	p.sin.sin_addr.s_addr = htonl(0x0a000001u + n);
	p.sin.sin_port = htons((uint16_t)(2000 + n));
	return p;
}

/* A request of len bytes whose bytes name n. */
static void request_n(uint8_t *req, size_t len, unsigned n)
{
	for (size_t i = 0; i < len; i++)
		req[i] = (uint8_t)(n * 31 + i);
}

static void test_round_trip(void)
{
	static struct worker_batch b;
	static uint8_t got[WORKER_BATCH_BYTES];
	union {
		char buf[CMSG_SPACE(sizeof(int) * WORKER_BATCH)];
		struct cmsghdr align;
	} ctl;
	const size_t lens[3] = { 20, 1, 300 };
	uint16_t ports[3];
	int sv[2], fds[3], in[WORKER_BATCH], nin = 0;
	uint8_t req[300];
	size_t off = 0;
	ssize_t n;

	ok(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "a control socket pair");
	is_int(worker_batch_send(sv[0], &b), 0, "an empty batch sends nothing");
	for (unsigned i = 0; i < 3; i++) {
		fds[i] = udp_socket(&ports[i]);
		request_n(req, lens[i], i);
		union sockaddr_any p = peer_n(i);
		is_int(worker_batch_add(&b, 100 + i, fds[i], req, lens[i], &p), 0, "handoff %u added", i);
	}
	is_int(b.n, 3, "three in the batch");
	is_int(worker_batch_send(sv[0], &b), 0, "the batch is sent");
	is_int(b.n, 0, "... and emptied");
	ok(!is_open(fds[0]) && !is_open(fds[1]) && !is_open(fds[2]), "... and the dispatcher's sockets closed");

	struct iovec iov = { got, sizeof(got) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };

	n = recvmsg(sv[1], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	ok(n > 0 && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)), "one message, whole");
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			for (size_t j = 0; j < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); j++)
				memcpy(&in[nin++], CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
	is_int(nin, 3, "three sockets came with it");
	for (unsigned i = 0; i < 3 && n > 0; i++) {
		struct worker_handoff h;
		union sockaddr_any p = peer_n(i);

		memcpy(&h, got + off, sizeof(h));
		is_int(h.id, 100 + i, "record %u: its id", i);
		is_int(h.len, lens[i], "record %u: its length", i);
		ok(memcmp(&h.peer, &p, sizeof(p)) == 0, "record %u: its client", i);
		request_n(req, lens[i], i);
		is_mem(got + off + sizeof(h), h.len, req, lens[i], "record %u: the request, byte for byte", i);
		is_int(nin > (int)i ? port_of(in[i]) : 0, ports[i], "record %u: its own socket, in order", i);
		off += sizeof(h) + h.len;
	}
	is_int(off, n, "nothing after the records");
	for (int i = 0; i < nin; i++)
		close(in[i]);
	close(sv[0]);
	close(sv[1]);
}

static void test_limits(void)
{
	static struct worker_batch b;
	static uint8_t req[WORKER_REQUEST_MAX + 1];
	union sockaddr_any p = peer_n(0);
	int fd = dup(STDERR_FILENO);
	unsigned i;

	is_int(worker_batch_add(&b, 1, fd, req, WORKER_REQUEST_MAX + 1, &p), -EMSGSIZE,
	       "a request over WORKER_REQUEST_MAX is refused");
	for (i = 0; i < WORKER_BATCH; i++)
		if (worker_batch_add(&b, i + 1, fd, req, 10, &p) < 0)
			break;
	is_int(i, WORKER_BATCH, "%u handoffs fit", WORKER_BATCH);
	is_int(worker_batch_add(&b, 99, fd, req, 10, &p), -ENOSPC, "one more does not: send first");
	b.n = 0;	/* the same descriptor each time: not dropped */
	b.len = 0;
	for (i = 0; i < WORKER_BATCH; i++)
		if (worker_batch_add(&b, i + 1, fd, req, WORKER_REQUEST_MAX, &p) < 0)
			break;
	is_int(i, WORKER_BATCH_BYTES / (sizeof(struct worker_handoff) + WORKER_REQUEST_MAX),
	       "the largest requests: as many as fit in WORKER_BATCH_BYTES");
	ok(b.len <= WORKER_BATCH_BYTES, "... never more bytes");
	b.n = 0;
	b.len = 0;
	close(fd);
}

static void test_full_queue(void)
{
	static struct worker_batch b;
	static uint8_t req[4000];
	union sockaddr_any p = peer_n(0);
	int sv[2], small = 4096, r = 0, fd;
	uint16_t port;
	unsigned sent = 0;

	ok(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "a control socket pair");
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	/* Fill the queue: nobody reads the worker's end. */
	while (sent < 10000) {
		fd = udp_socket(&port);
		worker_batch_add(&b, sent + 1, fd, req, sizeof(req), &p);
		r = worker_batch_send(sv[0], &b);
		if (r < 0)
			break;
		sent++;
	}
	is_int(r, -EAGAIN, "a full queue: -EAGAIN (after %u)", sent);
	is_int(b.n, 1, "... the batch is kept");
	ok(is_open(b.fd[0]), "... with its socket open");
	fd = b.fd[0];
	worker_batch_drop(&b);
	ok(b.n == 0 && !is_open(fd), "a dropped batch: empty, its socket closed");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	test_round_trip();
	test_limits();
	test_full_queue();
	return tap_done();
}
