/*
 * xmem.c - the memory budget of one process's transfer buffers (xmem.h).
 *
 * Clients are kept in an open-addressing table with linear probing,
 * sized at start for twice the clients the process can hold; an entry
 * leaves when its client's last byte is given back (backward-shift
 * deletion, so no tombstones build up).
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

int xmem_init(struct xmem *m, uint64_t budget, uint64_t client_cap, unsigned clients)
{
	unsigned n = 16;

	memset(m, 0, sizeof(*m));
	m->budget = budget;
	m->client_cap = client_cap && client_cap < budget ? client_cap : 0;
	m->readahead_cap = budget / 4 < XMEM_READAHEAD_MAX ? budget / 4 : XMEM_READAHEAD_MAX;
	if (!m->client_cap)
		return 0;
	while (n < 2u * clients && n < (1u << 30))
		n <<= 1;
	m->slot = calloc(n, sizeof(*m->slot));
	if (!m->slot)
		return -ENOMEM;
	m->mask = n - 1;
	return 0;
}

void xmem_free(struct xmem *m)
{
	free(m->slot);
	m->slot = NULL;
	m->mask = 0;
}

void xmem_client_of(const struct sockaddr *sa, struct xmem_client *c)
{
	memset(c, 0, sizeof(*c));
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			c->family = AF_INET;
			memcpy(c->addr, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			c->family = AF_INET6;
			memcpy(c->addr, &s6->sin6_addr, 16);
		}
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		c->family = AF_INET;
		memcpy(c->addr, &s4->sin_addr, 4);
	}
}

static unsigned hash(const struct xmem_client *c)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	h = (h ^ c->family) * 1099511628211ull;
	for (int i = 0; i < 16; i++)
		h = (h ^ c->addr[i]) * 1099511628211ull;
	return (unsigned)(h ^ (h >> 32));
}

static bool same(const struct xmem_client *a, const struct xmem_client *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}

/* c's slot, or the empty one where it would go; NULL: no table, or full. */
static struct xmem_slot *lookup(const struct xmem *m, const struct xmem_client *c)
{
	if (!m->slot)
		return NULL;
	for (unsigned i = hash(c) & m->mask, n = 0; n <= m->mask; i = (i + 1) & m->mask, n++) {
		struct xmem_slot *s = &m->slot[i];

		if (!s->used || same(&s->key, c))
			return s;
	}
	return NULL;
}

uint64_t xmem_client_bytes(const struct xmem *m, const struct xmem_client *c)
{
	const struct xmem_slot *s = lookup(m, c);

	return s && s->used ? s->bytes : 0;
}

uint64_t xmem_room(const struct xmem *m, const struct xmem_client *c)
{
	uint64_t room = m->used < m->budget ? m->budget - m->used : 0;

	if (m->client_cap) {
		uint64_t held = xmem_client_bytes(m, c);
		uint64_t left = held < m->client_cap ? m->client_cap - held : 0;

		/* A full table (it cannot be: it has room for twice the
		 * clients) would leave a client without a cap of its own. */
		if (left < room)
			room = left;
	}
	return room;
}

void xmem_take(struct xmem *m, const struct xmem_client *c, uint64_t bytes)
{
	struct xmem_slot *s;

	m->used += bytes;
	if (!m->client_cap || !bytes)
		return;
	s = lookup(m, c);
	if (!s)
		return;
	if (!s->used) {
		s->used = true;
		s->key = *c;
		s->bytes = 0;
		m->clients++;
	}
	s->bytes += bytes;
}

/* Remove the entry at i, moving later entries of its probe run back. */
static void remove_at(struct xmem *m, unsigned i)
{
	unsigned j = i;

	m->slot[i].used = false;
	m->clients--;
	for (;;) {
		unsigned home;

		j = (j + 1) & m->mask;
		if (!m->slot[j].used)
			return;
		home = hash(&m->slot[j].key) & m->mask;
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->slot[i] = m->slot[j];
		m->slot[j].used = false;
		i = j;
	}
}

void xmem_give(struct xmem *m, const struct xmem_client *c, uint64_t bytes, uint64_t readahead)
{
	struct xmem_slot *s;

	m->used = bytes < m->used ? m->used - bytes : 0;
	m->readahead = readahead < m->readahead ? m->readahead - readahead : 0;
	if (!m->client_cap || !bytes)
		return;
	s = lookup(m, c);
	if (!s || !s->used)
		return;
	s->bytes = bytes < s->bytes ? s->bytes - bytes : 0;
	if (!s->bytes)
		remove_at(m, (unsigned)(s - m->slot));
}

uint64_t xmem_readahead(struct xmem *m, const struct xmem_client *c, uint64_t want)
{
	uint64_t room = xmem_room(m, c);
	uint64_t left = m->readahead < m->readahead_cap ? m->readahead_cap - m->readahead : 0;

	/* Read-ahead stops where a client would hold more than half its
	 * cap: the other half stays for windows.  Many clients behind one
	 * address (a NAT, a boot storm) would otherwise fill the cap with
	 * read-ahead and leave their next transfers small blocks. */
	if (m->client_cap) {
		uint64_t held = xmem_client_bytes(m, c), half = m->client_cap / 2;
		uint64_t ra_room = held < half ? half - held : 0;

		if (ra_room < room)
			room = ra_room;
	}
	if (want > room)
		want = room;
	if (want > left)
		want = left;
	xmem_take(m, c, want);
	m->readahead += want;
	return want;
}
