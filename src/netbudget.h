/*
 * netbudget.h - the bytes per second a source network may be sent before
 * any of its hosts has answered.
 *
 * A request's source address may be forged: TFTP is then a reflector,
 * and its first reply and resends (XFER_UNVERIFIED_RESENDS) go to the
 * victim.  The dispatcher charges each request the most those can be
 * (netbudget_cost) to a token bucket of its source network, a /24 for
 * IPv4 (IPv4-mapped IPv6 addresses count as IPv4), a /64 for IPv6; a
 * request whose network has not that much left is dropped.  Buckets
 * refill at rate bytes a second up to burst bytes.
 *
 * A fixed table, set-associative: when a set is full, the bucket with
 * the most bytes left goes (after refilling, a full bucket is the same
 * as none).  No allocation after netbudget_new(), no clock of its own.
 */
#ifndef SNOW_OWL_NETBUDGET_H
#define SNOW_OWL_NETBUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct netbudget;

/* A table of about buckets buckets.  NULL when out of memory. */
struct netbudget *netbudget_new(unsigned buckets, uint64_t rate, uint64_t burst);
void netbudget_free(struct netbudget *b);

/*
 * The most a request of len bytes from peer makes the server send before
 * the peer answers, IP and UDP headers included: its first reply (DATA
 * of 512 bytes, or an OACK that echoes the request's options and may
 * grow a tsize of "0" to 20 digits, or a short ERROR or ACK) and
 * resends more of it.
 */
uint64_t netbudget_cost(const struct sockaddr *peer, size_t len, unsigned resends);

/* Take cost bytes from peer's network at now_us (a monotonic clock);
 * false, taking nothing, when it has not that many left. */
bool netbudget_charge(struct netbudget *b, const struct sockaddr *peer, uint64_t cost, uint64_t now_us);

/* True for an address no datagram from outside this host can carry
 * (loopback): never charged. */
bool netbudget_local(const struct sockaddr *peer);

#endif
