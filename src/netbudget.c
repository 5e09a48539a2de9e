/*
 * netbudget.c - token buckets of unverified bytes per source network
 * (netbudget.h).
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "netbudget.h"

#define WAYS 4

struct bucket {
	uint64_t key;			/* the network's prefix, family in bit 0 */
	uint64_t tokens;		/* bytes left, at last_us */
	uint64_t last_us;
	bool used;
};

struct netbudget {
	uint64_t rate, burst;
	unsigned sets_mask;
	struct bucket *b;		/* sets of WAYS */
};

struct netbudget *netbudget_new(unsigned buckets, uint64_t rate, uint64_t burst)
{
	struct netbudget *nb = calloc(1, sizeof(*nb));
	unsigned sets = 1;

	if (!nb)
		return NULL;
	while (sets * WAYS < buckets && sets < (1u << 24))
		sets <<= 1;
	nb->b = calloc((size_t)sets * WAYS, sizeof(*nb->b));
	if (!nb->b) {
		free(nb);
		return NULL;
	}
	nb->sets_mask = sets - 1;
	nb->rate = rate;
	nb->burst = burst;
	return nb;
}

void netbudget_free(struct netbudget *nb)
{
	if (!nb)
		return;
	free(nb->b);
	free(nb);
}

/* The network of peer: the top 24 bits of an IPv4 address, the top 64 of
 * an IPv6 one, with the family in bit 0 (an IPv4 prefix is shifted up). */
static uint64_t net_key(const struct sockaddr *sa)
{
	const uint8_t *a;
	uint64_t k = 0;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a = s6->sin6_addr.s6_addr;
			for (int i = 0; i < 8; i++)
				k = k << 8 | a[i];
			return k | 1;	/* the low bit of a /64 prefix: its family */
		}
		a = &s6->sin6_addr.s6_addr[12];
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	}
	return ((uint64_t)a[0] << 24 | (uint64_t)a[1] << 16 | (uint64_t)a[2] << 8) << 1;
}

bool netbudget_local(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return true;
		if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			return false;
		return s6->sin6_addr.s6_addr[12] == 127;
	}
	return sa->sa_family == AF_INET &&
	       (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
}

uint64_t netbudget_cost(const struct sockaddr *peer, size_t len, unsigned resends)
{
	/* IP and UDP headers: IPv4 (mapped too) 20 + 8, IPv6 40 + 8. */
	uint64_t hdr = peer->sa_family == AF_INET6 && net_key(peer) & 1 ? 48 : 28;
	/* DATA 1 of 512 bytes; an OACK no longer than the request, but for
	 * a tsize that grows from "0" to up to 20 digits. */
	uint64_t reply = len + 32 > 516 ? len + 32 : 516;

	return (uint64_t)(1 + resends) * (hdr + reply);
}

static uint64_t refill(const struct netbudget *nb, const struct bucket *b, uint64_t now)
{
	uint64_t dt = now > b->last_us ? now - b->last_us : 0, add;

	/* A bucket left alone for long is full whatever its past. */
	if (dt >= 3600ull * 1000000)
		return nb->burst;
	add = dt * nb->rate / 1000000;
	return b->tokens + add >= nb->burst ? nb->burst : b->tokens + add;
}

static unsigned set_of(const struct netbudget *nb, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (unsigned)key & nb->sets_mask;
}

bool netbudget_charge(struct netbudget *nb, const struct sockaddr *peer, uint64_t cost, uint64_t now)
{
	uint64_t key = net_key(peer), most = 0;
	struct bucket *set = &nb->b[(size_t)set_of(nb, key) * WAYS], *b = NULL;

	for (int i = 0; i < WAYS && !b; i++)
		if (set[i].used && set[i].key == key)
			b = &set[i];
	if (b) {
		b->tokens = refill(nb, b, now);
	} else {
		/* A free way, or the bucket with the most left: forgetting it
		 * gives its network at most the burst back. */
		for (int i = 0; i < WAYS; i++) {
			uint64_t left = set[i].used ? refill(nb, &set[i], now) : UINT64_MAX;

			if (!b || left > most) {
				b = &set[i];
				most = left;
			}
		}
		*b = (struct bucket){ .key = key, .tokens = nb->burst, .used = true };
	}
	b->last_us = now;
	if (b->tokens < cost)
		return false;
	b->tokens -= cost;
	return true;
}
