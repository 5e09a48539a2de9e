/*
 * addr.h - socket address parsing and formatting.
 */
#ifndef SNOW_OWL_ADDR_H
#define SNOW_OWL_ADDR_H

#include <stddef.h>
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

#endif
