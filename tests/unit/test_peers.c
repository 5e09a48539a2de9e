/* test_peers.c - the dispatcher's table of live transfers. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "tap.h"
#include "peers.h"

static struct peer_key key4(const char *ip, unsigned port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct peer_key k;

	inet_pton(AF_INET, ip, &s.sin_addr);
	peers_key((struct sockaddr *)&s, &k);
	return k;
}

static struct peer_key key6(const char *ip, unsigned port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct peer_key k;

	inet_pton(AF_INET6, ip, &s.sin6_addr);
	peers_key((struct sockaddr *)&s, &k);
	return k;
}

static void count_pid(pid_t pid, void *arg)
{
	long *sum = arg;

	*sum += pid;
}

int main(void)
{
	struct peers *p = peers_new(4);
	struct peer_key a = key4("10.0.0.1", 1000), a2 = key4("10.0.0.1", 1001);
	struct peer_key b = key4("10.0.0.2", 1000), m = key6("::ffff:10.0.0.1", 1000);
	struct peer_key v6 = key6("2001:db8::1", 1000);
	long sum = 0;

	ok(p != NULL, "table of 4");
	is_int(peers_count(p), 0, "empty");
	ok(!peers_has(p, &a), "nothing live");
	is_int(peers_add(p, &a, 101), 0, "add a");
	ok(peers_has(p, &a), "a is live");
	ok(peers_has(p, &m), "the IPv4-mapped form of a is the same peer");
	ok(!peers_has(p, &a2), "another port of the same address is another peer");
	is_int(peers_add(p, &a, 102), -EEXIST, "a second transfer for a is refused");
	is_int(peers_add(p, &m, 102), -EEXIST, "also through its mapped form");
	is_int(peers_add(p, &a2, 102), 0, "add a2");
	ok(peers_stamp(p, &a) == 0, "a stamp starts at 0");
	peers_set_stamp(p, &a, 12345678901234ull);
	ok(peers_stamp(p, &m) == 12345678901234ull, "a's stamp, through its mapped form");
	ok(peers_stamp(p, &a2) == 0, "a2 keeps its own stamp");
	peers_set_stamp(p, &b, 7);
	ok(peers_stamp(p, &b) == 0, "no stamp for a peer that is not live");
	is_int(peers_client_count(p, &a), 2, "two transfers from 10.0.0.1");
	is_int(peers_client_count(p, &b), 0, "none from 10.0.0.2");
	is_int(peers_add(p, &b, 103), 0, "add b");
	is_int(peers_add(p, &v6, 104), 0, "add an IPv6 peer");
	is_int(peers_count(p), 4, "four live");
	struct peer_key c = key4("10.0.0.9", 9);
	is_int(peers_add(p, &c, 105), -ENOSPC, "full at capacity");
	peers_each_pid(p, count_pid, &sum);
	is_int(sum, 101 + 102 + 103 + 104, "every pid visited once");

	ok(peers_remove_pid(p, 101), "remove a by pid");
	ok(!peers_remove_pid(p, 101), "twice is unknown");
	ok(!peers_remove_pid(p, 999), "an unknown pid");
	ok(!peers_has(p, &a), "a is gone");
	ok(peers_has(p, &a2), "a2 stays");
	is_int(peers_client_count(p, &a), 1, "one left from 10.0.0.1");
	ok(peers_remove_pid(p, 102), "remove a2");
	is_int(peers_client_count(p, &a), 0, "none left from 10.0.0.1");
	is_int(peers_add(p, &a, 106), 0, "a may come back");
	is_int(peers_count(p), 3, "three live");
	peers_free(p);

	/* Churn: many adds and removes through a small table. */
	p = peers_new(64);
	struct peer_key one = key4("192.0.2.1", 0);
	int bad = 0;
	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < 64; i++) {
			struct peer_key k = key4(i % 2 ? "192.0.2.1" : "192.0.2.2", (unsigned)(round * 64 + i) % 65536);

			if (peers_add(p, &k, round * 64 + i + 1) != 0)
				bad++;
		}
		if (peers_client_count(p, &one) != 32)
			bad++;
		for (int i = 0; i < 64; i++)
			if (!peers_remove_pid(p, round * 64 + i + 1))
				bad++;
		if (peers_count(p) != 0)
			bad++;
	}
	is_int(bad, 0, "1000 rounds of 64 adds and removes stay consistent");
	peers_free(p);
	return tap_done();
}
