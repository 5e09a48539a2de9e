/* test_replypath.c - the dispatcher's table of transfer addresses and the
 * ERROR sent for a transfer whose process died (src/replypath.c). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "replypath.h"

static union sockaddr_any v4(uint16_t port)
{
	union sockaddr_any a;

	memset(&a, 0, sizeof(a));
	a.sin.sin_family = AF_INET;
	a.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin.sin_port = htons(port);
	return a;
}

/* Random adds and takes against a model: a pid is found exactly while it
 * is in the table, with its own addresses, whatever the collisions. */
static void test_model(void)
{
	enum { MAX = 300, PIDS = 2000 };
	static bool in[PIDS];
	struct replypaths r;
	struct replypath p;
	unsigned n = 0, bad = 0;

	ok(replypaths_init(&r, MAX) == 0, "init for %d", MAX);
	srandom(7);
	for (int step = 0; step < 200000; step++) {
		pid_t pid = (pid_t)(1 + random() % (PIDS - 1));

		if (in[pid]) {
			if (!replypaths_take(&r, pid, &p) || p.pid != pid ||
			    ntohs(p.peer.sin.sin_port) != (uint16_t)pid ||
			    ntohs(p.local.sin.sin_port) != (uint16_t)(pid + 1))
				bad++;
			in[pid] = false;
			n--;
		} else if (n < MAX) {
			union sockaddr_any peer = v4((uint16_t)pid), local = v4((uint16_t)(pid + 1));

			if (replypaths_add(&r, pid, &peer, &local) < 0)
				bad++;
			in[pid] = true;
			n++;
		} else if (replypaths_take(&r, pid, &p)) {
			bad++;	/* not in the model, found in the table */
		}
	}
	is_int(bad, 0, "200000 random adds and takes agree with the model");
	for (pid_t pid = 1; pid < PIDS; pid++)
		if (in[pid] != replypaths_take(&r, pid, &p))
			bad++;
	is_int(bad, 0, "at the end, exactly the model's pids are found");
	ok(!replypaths_take(&r, 5, &p), "then the table is empty");
	replypaths_free(&r);
}

static void test_send(void)
{
	union sockaddr_any peer = v4(0), local = v4(0), src;
	socklen_t len = sizeof(peer);
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t buf[128];
	ssize_t n;

	/* A port that was the transfer's: taken, then freed. */
	bind(rx, &peer.sa, addr_len(&peer.sa));
	getsockname(rx, &peer.sa, &len);
	bind(tx, &local.sa, addr_len(&local.sa));
	len = sizeof(local);
	getsockname(tx, &local.sa, &len);
	close(tx);
	is_int(replypath_send_error(&local, &peer, "Transfer interrupted"), 0, "sent");
	len = sizeof(src);
	n = recvfrom(rx, buf, sizeof(buf), MSG_DONTWAIT, &src.sa, &len);
	is_mem(buf, (size_t)(n < 0 ? 0 : n), "\0\5\0\0Transfer interrupted", 25, "ERROR 0 with the message");
	ok(src.sin.sin_port == local.sin.sin_port, "from the transfer's own port");
	/* The port is taken again (the process still holds it): no send. */
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	bind(tx, &local.sa, addr_len(&local.sa));
	is_int(replypath_send_error(&local, &peer, "x"), -EADDRINUSE, "port in use: -EADDRINUSE, nothing sent");
	close(tx);
	close(rx);
}

int main(void)
{
	test_model();
	test_send();
	return tap_done();
}
