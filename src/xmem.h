/*
 * xmem.h - the memory budget of one process's transfer buffers.
 *
 * A sender's ring holds its window (blksize + 4 bytes times windowsize)
 * and, for octet reads, some read-ahead.  Each process that runs
 * transfers (a worker, a transfer child) has a budget for those rings:
 * its share of --transfer-memory.  A new transfer's window is negotiated
 * to fit in what is left of it (xmem_room), and reserved when the OACK
 * goes out, before any buffer exists, so that a thousand requests that
 * arrive together cannot all be promised the largest window.  Read-ahead
 * beyond the window comes from the same budget, but only from a capped
 * part of it (xmem_readahead), so that it never leaves new transfers
 * with small windows.  Within the budget each client address has a cap
 * of its own, so one host (or a NAT address) cannot take all of it.
 *
 * Pure accounting: no allocation after xmem_init(), no I/O.
 */
#ifndef SNOW_OWL_XMEM_H
#define SNOW_OWL_XMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A client address; IPv4-mapped IPv6 addresses count as IPv4. */
struct xmem_client {
	uint8_t family;
	uint8_t addr[16];
};

struct xmem_slot {
	struct xmem_client key;
	uint64_t bytes;			/* reserved by the client's transfers */
	bool used;
};

struct xmem {
	uint64_t budget;		/* bytes for the rings of this process */
	uint64_t client_cap;		/* of which one client address may hold */
	uint64_t readahead_cap;		/* of which read-ahead may hold */
	uint64_t used;			/* reserved, read-ahead included */
	uint64_t readahead;		/* read-ahead reserved */
	struct xmem_slot *slot;		/* open addressing, linear probing */
	unsigned mask;			/* slots - 1; 0: no table */
	unsigned clients;		/* slots in use */
};

/* Read-ahead may hold this much of a budget at most, and never more
 * than a quarter of it. */
#define XMEM_READAHEAD_MAX (32ull << 20)

/*
 * Set m up for a budget of budget bytes, client_cap of them per client
 * address (0: no cap of its own), for up to clients client addresses at
 * once.  Returns 0 or -ENOMEM.
 */
int xmem_init(struct xmem *m, uint64_t budget, uint64_t client_cap, unsigned clients);
void xmem_free(struct xmem *m);

void xmem_client_of(const struct sockaddr *sa, struct xmem_client *c);

/* Bytes a new reservation of client c may take: what is left of the
 * budget and of the client's cap. */
uint64_t xmem_room(const struct xmem *m, const struct xmem_client *c);

/* Reserve bytes for c (window: xmem_take; read-ahead: xmem_readahead)
 * and give them back. */
void xmem_take(struct xmem *m, const struct xmem_client *c, uint64_t bytes);
void xmem_give(struct xmem *m, const struct xmem_client *c, uint64_t bytes, uint64_t readahead);

/* Read-ahead for c: up to want bytes, what fits in xmem_room(), in what
 * is left of the read-ahead cap, and in the first half of c's cap (the
 * rest stays for windows); reserved.  Returns the bytes. */
uint64_t xmem_readahead(struct xmem *m, const struct xmem_client *c, uint64_t want);

/* Bytes reserved by c. */
uint64_t xmem_client_bytes(const struct xmem *m, const struct xmem_client *c);

#endif
