/*
 * addr.h - socket address parsing and formatting.
 */
#ifndef SNOW_OWL_ADDR_H
#define SNOW_OWL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
};

#define ADDR_STR_MAX 64

/*
 * Parse "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT", ":PORT" or a bare IPv6
 * address.  An empty address means the wildcard of 'family' (AF_INET, or
 * AF_INET6; AF_UNSPEC gives IPv4).  Returns 0 or -EINVAL.
 */
int addr_parse(const char *s, unsigned short default_port, int family, union sockaddr_any *out,
	       socklen_t *len);

/* "1.2.3.4:69" or "[::1]:69". */
char *addr_format(const struct sockaddr *sa, char *buf, size_t size);

socklen_t addr_len(const struct sockaddr *sa);
unsigned short addr_port(const struct sockaddr *sa);

/*
 * The host part of sa as AF_INET or AF_INET6 and its bytes in network
 * order (4 or 16 of them); an IPv4-mapped IPv6 address (a dual-stack
 * socket) counts as the IPv4 address it carries.  Returns the family, or
 * AF_UNSPEC for any other kind of address.
 */
int addr_host(const struct sockaddr *sa, uint8_t bytes[16]);

/* A network: the first 'prefix' bits of an address. */
struct addr_net {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];	/* host bits beyond the prefix are zero */
	unsigned prefix;	/* 0..32 or 0..128 */
};

/*
 * Parse "ADDR/PREFIX" or a bare "ADDR" (one host), numeric only: a
 * network is written the way it is routed, never looked up.  Returns 0,
 * or -EINVAL (also for host bits set beyond the prefix, a likely typo).
 */
int addr_net_parse(const char *s, struct addr_net *out);

/* Whether the host part of sa is in the network (see addr_host). */
bool addr_net_contains(const struct addr_net *n, const struct sockaddr *sa);

/* "10.0.0.0/8" or "2001:db8::/32". */
char *addr_net_format(const struct addr_net *n, char *buf, size_t size);

#endif
