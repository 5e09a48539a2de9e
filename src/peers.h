/*
 * peers.h - the dispatcher's table of live transfers.
 *
 * Keyed by the client's address and port (a request from a peer that
 * already has a live transfer is a retransmission), by pid (to forget a
 * transfer when its child is reaped), with a count per client address
 * (for the per-client cap).  Fixed capacity, no allocation after init.
 */
#ifndef SNOW_OWL_PEERS_H
#define SNOW_OWL_PEERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct peer_key {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* IPv4 in the first 4 bytes */
	uint16_t port;
};

struct peers;

/* Key of a socket address; IPv4-mapped IPv6 addresses count as IPv4. */
void peers_key(const struct sockaddr *sa, struct peer_key *k);

struct peers *peers_new(unsigned capacity);
void peers_free(struct peers *p);

unsigned peers_count(const struct peers *p);
bool peers_has(const struct peers *p, const struct peer_key *k);
/* Live transfers from k's address, any port. */
unsigned peers_client_count(const struct peers *p, const struct peer_key *k);
/* Returns 0, -ENOSPC when full, -EEXIST when k is already live. */
int peers_add(struct peers *p, const struct peer_key *k, pid_t pid);
/* A number kept with k's entry (0 until set; 0 for an unknown k). */
void peers_set_stamp(struct peers *p, const struct peer_key *k, uint64_t stamp);
uint64_t peers_stamp(const struct peers *p, const struct peer_key *k);
/* Call fn for every live pid. */
void peers_each_pid(const struct peers *p, void (*fn)(pid_t pid, void *arg), void *arg);
/* Forget the transfer of pid; false when unknown. */
bool peers_remove_pid(struct peers *p, pid_t pid);

#endif
