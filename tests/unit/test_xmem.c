/* test_xmem.c - the ring budget of a process: room, per-client caps,
 * read-ahead's part, and the client table against a plain model. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "tap.h"
#include "xmem.h"

static struct xmem_client client4(const char *ip)
{
	struct sockaddr_in s = { .sin_family = AF_INET };
	struct xmem_client c;

	inet_pton(AF_INET, ip, &s.sin_addr);
	xmem_client_of((struct sockaddr *)&s, &c);
	return c;
}

static struct xmem_client client6(const char *ip)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6 };
	struct xmem_client c;

	inet_pton(AF_INET6, ip, &s.sin6_addr);
	xmem_client_of((struct sockaddr *)&s, &c);
	return c;
}

static void test_budget(void)
{
	struct xmem m;
	struct xmem_client a = client4("10.0.0.1"), b = client4("10.0.0.2");

	ok(xmem_init(&m, 1000, 0, 4) == 0, "no client cap");
	is_int(xmem_room(&m, &a), 1000, "all of the budget is room");
	xmem_take(&m, &a, 700);
	is_int(xmem_room(&m, &b), 300, "what is left");
	xmem_take(&m, &b, 400);
	is_int(xmem_room(&m, &a), 0, "overcommitted: no room");
	xmem_give(&m, &a, 700, 0);
	is_int(xmem_room(&m, &a), 600, "given back");
	xmem_give(&m, &b, 400, 0);
	is_int(m.used, 0, "nothing reserved");
	xmem_free(&m);
}

static void test_client_cap(void)
{
	struct xmem m;
	struct xmem_client a = client4("192.0.2.1"), b = client4("192.0.2.2");
	struct xmem_client mapped = client6("::ffff:192.0.2.1");

	ok(xmem_init(&m, 1000, 250, 4) == 0, "client cap 250");
	is_int(xmem_room(&m, &a), 250, "a client gets its cap");
	xmem_take(&m, &a, 200);
	is_int(xmem_room(&m, &a), 50, "the rest of its cap");
	is_int(xmem_room(&m, &mapped), 50, "v4-mapped is the same client");
	is_int(xmem_room(&m, &b), 250, "another client is not held back");
	xmem_take(&m, &a, 200);
	is_int(xmem_room(&m, &a), 0, "past its cap (a one-block floor)");
	is_int(xmem_client_bytes(&m, &a), 400, "its bytes");
	xmem_give(&m, &a, 400, 0);
	is_int(xmem_client_bytes(&m, &a), 0, "given back");
	is_int(m.clients, 0, "its entry left");
	ok(xmem_init(&m, 100, 200, 4) == 0 && !m.client_cap, "a cap above the budget is none");
	xmem_free(&m);
}

static void test_readahead(void)
{
	struct xmem m;
	struct xmem_client a = client4("10.0.0.1");
	uint64_t got;

	ok(xmem_init(&m, 1000, 0, 4) == 0, "init");
	is_int(m.readahead_cap, 250, "read-ahead: a quarter of the budget");
	got = xmem_readahead(&m, &a, 200);
	is_int(got, 200, "read-ahead granted");
	got = xmem_readahead(&m, &a, 200);
	is_int(got, 50, "up to its part");
	is_int(m.used, 250, "and reserved in the budget");
	xmem_take(&m, &a, 700);
	got = xmem_readahead(&m, &a, 10);
	is_int(got, 0, "none while windows hold the rest");
	xmem_give(&m, &a, 250, 250);
	is_int(m.readahead, 0, "read-ahead given back");
	got = xmem_readahead(&m, &a, 400);
	is_int(got, 250, "the part again");
	ok(xmem_init(&m, 1ull << 30, 0, 4) == 0 && m.readahead_cap == XMEM_READAHEAD_MAX,
	   "read-ahead's part is capped");
	xmem_free(&m);
}

/* Many transfers of one client address (a NAT, a boot storm): read-ahead
 * stops at half of its cap, and the other half stays for windows. */
static void test_readahead_client_half(void)
{
	struct xmem m;
	struct xmem_client a = client4("10.0.0.1"), b = client4("10.0.0.2");
	uint64_t ra = 0;

	ok(xmem_init(&m, 100000, 4000, 4) == 0, "init: a client may hold 4000");
	for (int i = 0; i < 100; i++) {
		xmem_take(&m, &a, 10);		/* a window of 10 */
		ra += xmem_readahead(&m, &a, 90);	/* and read-ahead */
	}
	/* After 20 transfers the client holds 200 in windows and 1800 in
	 * read-ahead: half its cap; the next 80 get windows only. */
	is_int(ra, 1800, "read-ahead stops once the client holds half its cap");
	is_int(xmem_room(&m, &a), 4000 - 1000 - ra, "the rest of the cap stays for windows");
	ok(xmem_room(&m, &a) >= 1000, "room for at least a quarter of the cap in windows");
	is_int(xmem_readahead(&m, &b, 90), 90, "another client still reads ahead");
	xmem_free(&m);
}

/* Random takes and gives against a plain array. */
static void test_table_model(void)
{
	enum { N = 64, OPS = 200000 };
	struct xmem m;
	struct xmem_client c[N];
	uint64_t model[N] = { 0 };
	unsigned bad = 0, live;
	char ip[32];

	ok(xmem_init(&m, UINT64_MAX / 2, UINT64_MAX / 4, N / 2) == 0, "table for 32 clients");
	for (int i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "2001:db8::%x:%x", i, (i * 7919) & 0xffff);
		c[i] = client6(ip);
		if (i % 2 == 0) {
			snprintf(ip, sizeof(ip), "10.%d.%d.1", i, i * 3);
			c[i] = client4(ip);
		}
	}
	srand(7);
	for (int k = 0; k < OPS; k++) {
		int i = rand() % N;
		uint64_t n = (uint64_t)(rand() % 5 + 1);

		live = 0;
		for (int j = 0; j < N; j++)
			live += model[j] != 0;
		if (model[i] && rand() % 2) {
			n = n > model[i] ? model[i] : n;
			xmem_give(&m, &c[i], n, 0);
			model[i] -= n;
		} else if (model[i] || live < N / 2) {
			xmem_take(&m, &c[i], n);
			model[i] += n;
		}
		if (xmem_client_bytes(&m, &c[i]) != model[i])
			bad++;
	}
	for (int j = 0; j < N; j++)
		if (xmem_client_bytes(&m, &c[j]) != model[j])
			bad++;
	is_int(bad, 0, "the table agrees with the model");
	live = 0;
	for (int j = 0; j < N; j++)
		live += model[j] != 0;
	is_int(m.clients, live, "entries: the clients holding bytes");
	xmem_free(&m);
}

int main(void)
{
	test_budget();
	test_client_cap();
	test_readahead();
	test_readahead_client_half();
	test_table_model();
	return tap_done();
}
