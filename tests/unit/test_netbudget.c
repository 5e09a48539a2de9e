/* test_netbudget.c - unverified bytes per source network. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "netbudget.h"
#include "tap.h"

static struct sockaddr_storage ss;

static const struct sockaddr *addr(const char *ip)
{
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		memset(&ss, 0, sizeof(ss));
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		memset(&ss, 0, sizeof(ss));
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	return (const struct sockaddr *)&ss;
}

static void test_cost(void)
{
	is_int(netbudget_cost(addr("10.0.0.1"), 20, 2), 3 * (28 + 516), "a short RRQ over IPv4: three DATA of 512");
	is_int(netbudget_cost(addr("2001:db8::1"), 20, 2), 3 * (48 + 516), "over IPv6");
	is_int(netbudget_cost(addr("::ffff:10.0.0.1"), 20, 2), 3 * (28 + 516), "v4-mapped is IPv4");
	is_int(netbudget_cost(addr("10.0.0.1"), 600, 2), 3 * (28 + 632), "a long request: its OACK, tsize grown");
}

static void test_bucket(void)
{
	struct netbudget *nb = netbudget_new(64, 1000, 5000);
	uint64_t t = 1000000;
	int n;

	ok(nb != NULL, "new");
	for (n = 0; netbudget_charge(nb, addr("192.0.2.7"), 1000, t); n++)
		;
	is_int(n, 5, "the burst");
	ok(!netbudget_charge(nb, addr("192.0.2.200"), 1000, t), "the same /24 shares it");
	ok(!netbudget_charge(nb, addr("::ffff:192.0.2.9"), 1000, t), "v4-mapped too");
	ok(netbudget_charge(nb, addr("192.0.3.7"), 1000, t), "the next /24 has its own");
	ok(!netbudget_charge(nb, addr("192.0.2.7"), 1000, t + 999000), "refills at the rate: not yet");
	ok(netbudget_charge(nb, addr("192.0.2.7"), 1000, t + 1000000), "one second: 1000 bytes");
	ok(!netbudget_charge(nb, addr("192.0.2.7"), 1, t + 1000000), "and no more");
	ok(netbudget_charge(nb, addr("192.0.2.7"), 5000, t + 3600000000ull), "full after an hour");
	for (n = 0; netbudget_charge(nb, addr("2001:db8:0:1::1"), 1000, t); n++)
		;
	ok(!netbudget_charge(nb, addr("2001:db8:0:1:ffff::2"), 1000, t), "the same /64 shares it");
	ok(netbudget_charge(nb, addr("2001:db8:0:2::1"), 1000, t), "the next /64 has its own");
	ok(netbudget_local(addr("127.0.0.5")) && netbudget_local(addr("::1")) &&
	   netbudget_local(addr("::ffff:127.0.0.1")) && !netbudget_local(addr("10.0.0.1")),
	   "loopback is local");
	netbudget_free(nb);
}

/* A full table: a drained network is not forgotten for the sake of a
 * stream of new ones (they take full buckets' ways first). */
static void test_eviction(void)
{
	struct netbudget *nb = netbudget_new(4, 1, 3000);
	char ip[32];
	int kept = 0;

	while (netbudget_charge(nb, addr("198.51.100.1"), 1000, 10))
		;
	for (int i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		netbudget_charge(nb, addr(ip), 1, 10);
		/* The drained one: still refused, unless evicted. */
		if (!netbudget_charge(nb, addr("198.51.100.1"), 1000, 10))
			kept++;
	}
	is_int(kept, 1000, "a drained network stays drained");
	netbudget_free(nb);
}

int main(void)
{
	test_cost();
	test_bucket();
	test_eviction();
	return tap_done();
}
