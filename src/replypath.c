/*
 * replypath.c - the dispatcher's record of where each transfer child
 * answers from (replypath.h).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "packet.h"
#include "replypath.h"

int replypaths_init(struct replypaths *r, unsigned max)
{
	unsigned n = 16;

	/* At most half full: probes stay short. */
	while (n < 2 * (uint64_t)max && n < (1u << 30))
		n *= 2;
	r->slot = calloc(n, sizeof(*r->slot));
	if (!r->slot)
		return -ENOMEM;
	r->mask = n - 1;
	return 0;
}

void replypaths_free(struct replypaths *r)
{
	free(r->slot);
	r->slot = NULL;
}

static unsigned home(const struct replypaths *r, pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) & r->mask;
}

int replypaths_add(struct replypaths *r, pid_t pid, const union sockaddr_any *peer,
		   const union sockaddr_any *local)
{
	for (unsigned i = home(r, pid), n = 0; n <= r->mask; i = (i + 1) & r->mask, n++) {
		if (r->slot[i].pid == 0 || r->slot[i].pid == pid) {
			r->slot[i] = (struct replypath){ .pid = pid, .peer = *peer, .local = *local };
			return 0;
		}
	}
	return -ENOSPC;
}

bool replypaths_take(struct replypaths *r, pid_t pid, struct replypath *out)
{
	unsigned i = home(r, pid), n = 0;

	while (r->slot[i].pid != pid) {
		if (r->slot[i].pid == 0 || ++n > r->mask)
			return false;
		i = (i + 1) & r->mask;
	}
	*out = r->slot[i];
	r->slot[i].pid = 0;
	/* Backward shift: move up every entry of the run after the hole
	 * that may not sit past it, so that lookups need no tombstones. */
	for (unsigned j = (i + 1) & r->mask; r->slot[j].pid; j = (j + 1) & r->mask) {
		unsigned h = home(r, r->slot[j].pid);

		/* Entry j may stay when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		r->slot[i] = r->slot[j];
		r->slot[j].pid = 0;
		i = j;
	}
	return true;
}

int replypath_send_error(const union sockaddr_any *local, const union sockaddr_any *peer,
			 const char *msg)
{
	uint8_t buf[128];
	int n = packet_build_error(buf, sizeof(buf), ERR_UNDEFINED, msg);
	int zero = 0, r = 0;
	int fd = socket(peer->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (local->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&local->sin6.sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, &local->sa, addr_len(&local->sa)) < 0 ||
	    sendto(fd, buf, (size_t)n, 0, &peer->sa, addr_len(&peer->sa)) < 0)
		r = -errno;
	close(fd);
	return r;
}
