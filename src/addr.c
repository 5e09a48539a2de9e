/*
 * addr.c - socket address parsing and formatting.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "options.h"

socklen_t addr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

unsigned short addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

int addr_parse(const char *s, unsigned short default_port, int family, union sockaddr_any *out,
	       socklen_t *len)
{
	char host[256];
	const char *port = NULL, *colon;
	uint64_t p = default_port;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_PASSIVE }, *res;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return -EINVAL;
		hints.ai_family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') == colon) {	/* one colon: host:port */
			if ((size_t)(colon - s) >= sizeof(host))
				return -EINVAL;
			memcpy(host, s, (size_t)(colon - s));
			host[colon - s] = '\0';
			port = colon + 1;
		} else {	/* no colon, or a bare IPv6 address */
			if (strlen(s) >= sizeof(host))
				return -EINVAL;
			strcpy(host, s);
		}
		hints.ai_family = family;
	}
	if (port && opt_parse_uint(port, 65535, &p) < 0)
		return -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!host[0]) {
		if (hints.ai_family == AF_INET6) {
			out->sin6.sin6_family = AF_INET6;
			out->sin6.sin6_addr = in6addr_any;
			out->sin6.sin6_port = htons((unsigned short)p);
		} else {
			out->sin.sin_family = AF_INET;
			out->sin.sin_addr.s_addr = htonl(INADDR_ANY);
			out->sin.sin_port = htons((unsigned short)p);
		}
		*len = addr_len(&out->sa);
		return 0;
	}
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -EINVAL;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (out->sa.sa_family == AF_INET6)
		out->sin6.sin6_port = htons((unsigned short)p);
	else
		out->sin.sin_port = htons((unsigned short)p);
	return 0;
}

char *addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		snprintf(buf, size, "?");
	}
	return buf;
}

int addr_host(const struct sockaddr *sa, uint8_t bytes[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(bytes, &a->s6_addr[12], 4);
			return AF_INET;
		}
		memcpy(bytes, a, 16);
		return AF_INET6;
	}
	return AF_UNSPEC;
}

static unsigned host_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Whether the first 'prefix' bits of a and b are the same. */
static bool same_prefix(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	return !rest || ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

int addr_net_parse(const char *s, struct addr_net *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint8_t masked[16];
	uint64_t prefix;

	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->bytes) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->bytes) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	prefix = host_bits(out->family);
	if (slash && opt_parse_uint(slash + 1, host_bits(out->family), &prefix) < 0)
		return -EINVAL;
	out->prefix = (unsigned)prefix;
	/* Host bits set beyond the prefix: the address is not a network. */
	memcpy(masked, out->bytes, sizeof(masked));
	for (unsigned bit = out->prefix; bit < host_bits(out->family); bit++)
		masked[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	if (memcmp(masked, out->bytes, sizeof(masked)) != 0)
		return -EINVAL;
	return 0;
}

bool addr_net_contains(const struct addr_net *n, const struct sockaddr *sa)
{
	uint8_t bytes[16];

	return addr_host(sa, bytes) == n->family && same_prefix(bytes, n->bytes, n->prefix);
}

char *addr_net_format(const struct addr_net *n, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	inet_ntop(n->family, n->bytes, host, sizeof(host));
	snprintf(buf, size, "%s/%u", host, n->prefix);
	return buf;
}
