/*
 * peers.c - live transfers by peer, by pid and by client address.
 *
 * Chained hash tables over fixed arrays: entries and per-address counters
 * come from free lists, buckets hold the index of the first entry.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peers.h"

#define NIL (-1)

struct entry {
	struct peer_key key;
	pid_t pid;
	uint64_t stamp;		/* peers_set_stamp() */
	int next_key, next_pid;	/* chains; next_key doubles as the free list */
};

struct counter {
	uint8_t family;
	uint8_t addr[16];
	unsigned n;
	int next;
};

struct peers {
	unsigned cap, mask, count;
	struct entry *e;
	struct counter *c;
	int *by_key, *by_pid, *by_addr;
	int free_e, free_c;
};

void peers_key(const struct sockaddr *sa, struct peer_key *k)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		k->port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			k->family = AF_INET;
			memcpy(k->addr, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			k->family = AF_INET6;
			memcpy(k->addr, &s6->sin6_addr, 16);
		}
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;

		k->family = AF_INET;
		k->port = ntohs(s4->sin_port);
		memcpy(k->addr, &s4->sin_addr, 4);
	}
}

/* FNV-1a over the address (and the port when with_port). */
static unsigned hash_key(const struct peer_key *k, bool with_port)
{
	uint32_t h = 2166136261u ^ k->family;

	for (int i = 0; i < 16; i++)
		h = (h ^ k->addr[i]) * 16777619u;
	if (with_port) {
		h = (h ^ (k->port & 0xff)) * 16777619u;
		h = (h ^ (k->port >> 8)) * 16777619u;
	}
	return h;
}

static bool same_addr(const struct peer_key *k, uint8_t family, const uint8_t *addr)
{
	return k->family == family && memcmp(k->addr, addr, 16) == 0;
}

static bool same_key(const struct peer_key *a, const struct peer_key *b)
{
	return a->port == b->port && same_addr(a, b->family, b->addr);
}

struct peers *peers_new(unsigned capacity)
{
	struct peers *p = calloc(1, sizeof(*p));
	unsigned nb = 16;

	if (!p)
		return NULL;
	while (nb < 2 * capacity)
		nb <<= 1;
	p->cap = capacity;
	p->mask = nb - 1;
	p->e = calloc(capacity, sizeof(*p->e));
	p->c = calloc(capacity, sizeof(*p->c));
	p->by_key = malloc(nb * sizeof(int));
	p->by_pid = malloc(nb * sizeof(int));
	p->by_addr = malloc(nb * sizeof(int));
	if (!p->e || !p->c || !p->by_key || !p->by_pid || !p->by_addr) {
		peers_free(p);
		return NULL;
	}
	for (unsigned i = 0; i < nb; i++)
		p->by_key[i] = p->by_pid[i] = p->by_addr[i] = NIL;
	for (unsigned i = 0; i < capacity; i++) {
		p->e[i].next_key = i + 1 < capacity ? (int)i + 1 : NIL;
		p->c[i].next = i + 1 < capacity ? (int)i + 1 : NIL;
	}
	p->free_e = p->free_c = capacity ? 0 : NIL;
	return p;
}

void peers_free(struct peers *p)
{
	if (!p)
		return;
	free(p->e);
	free(p->c);
	free(p->by_key);
	free(p->by_pid);
	free(p->by_addr);
	free(p);
}

unsigned peers_count(const struct peers *p)
{
	return p->count;
}

static int find(const struct peers *p, const struct peer_key *k)
{
	for (int i = p->by_key[hash_key(k, true) & p->mask]; i != NIL; i = p->e[i].next_key)
		if (same_key(&p->e[i].key, k))
			return i;
	return NIL;
}

bool peers_has(const struct peers *p, const struct peer_key *k)
{
	return find(p, k) != NIL;
}

void peers_set_stamp(struct peers *p, const struct peer_key *k, uint64_t stamp)
{
	int i = find(p, k);

	if (i != NIL)
		p->e[i].stamp = stamp;
}

uint64_t peers_stamp(const struct peers *p, const struct peer_key *k)
{
	int i = find(p, k);

	return i == NIL ? 0 : p->e[i].stamp;
}

static int *counter_slot(const struct peers *p, const struct peer_key *k)
{
	int *link = &p->by_addr[hash_key(k, false) & p->mask];

	while (*link != NIL && !same_addr(k, p->c[*link].family, p->c[*link].addr))
		link = &p->c[*link].next;
	return link;
}

unsigned peers_client_count(const struct peers *p, const struct peer_key *k)
{
	int i = *counter_slot(p, k);

	return i == NIL ? 0 : p->c[i].n;
}

int peers_add(struct peers *p, const struct peer_key *k, pid_t pid)
{
	int i, *cs;
	unsigned hk, hp;

	if (peers_has(p, k))
		return -EEXIST;
	if (p->free_e == NIL)
		return -ENOSPC;
	cs = counter_slot(p, k);
	if (*cs == NIL) {
		int c = p->free_c;	/* never NIL: counters <= entries */

		p->free_c = p->c[c].next;
		p->c[c].family = k->family;
		memcpy(p->c[c].addr, k->addr, 16);
		p->c[c].n = 0;
		p->c[c].next = NIL;
		*cs = c;
	}
	p->c[*cs].n++;

	i = p->free_e;
	p->free_e = p->e[i].next_key;
	p->e[i].key = *k;
	p->e[i].pid = pid;
	p->e[i].stamp = 0;
	hk = hash_key(k, true) & p->mask;
	hp = (unsigned)pid & p->mask;
	p->e[i].next_key = p->by_key[hk];
	p->by_key[hk] = i;
	p->e[i].next_pid = p->by_pid[hp];
	p->by_pid[hp] = i;
	p->count++;
	return 0;
}

void peers_each_pid(const struct peers *p, void (*fn)(pid_t pid, void *arg), void *arg)
{
	for (unsigned b = 0; b <= p->mask; b++)
		for (int i = p->by_pid[b]; i != NIL; i = p->e[i].next_pid)
			fn(p->e[i].pid, arg);
}

bool peers_remove_pid(struct peers *p, pid_t pid)
{
	int *link = &p->by_pid[(unsigned)pid & p->mask], i, *cs;

	while (*link != NIL && p->e[*link].pid != pid)
		link = &p->e[*link].next_pid;
	i = *link;
	if (i == NIL)
		return false;
	*link = p->e[i].next_pid;

	link = &p->by_key[hash_key(&p->e[i].key, true) & p->mask];
	while (*link != i)
		link = &p->e[*link].next_key;
	*link = p->e[i].next_key;

	cs = counter_slot(p, &p->e[i].key);
	if (--p->c[*cs].n == 0) {
		int c = *cs;

		*cs = p->c[c].next;
		p->c[c].next = p->free_c;
		p->free_c = c;
	}
	p->e[i].next_key = p->free_e;
	p->free_e = i;
	p->count--;
	return true;
}
