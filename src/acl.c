/*
 * acl.c - the --allow and --deny rules (see acl.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "acl.h"

int acl_rule_parse(const char *s, bool allow, struct acl_rule *out)
{
	static const struct {
		const char *prefix;
		unsigned ops;
	} ops[] = { { "read:", ACL_READ }, { "write:", ACL_WRITE } };

	memset(out, 0, sizeof(*out));
	out->allow = allow;
	out->ops = ACL_BOTH;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].prefix);

		if (strncmp(s, ops[i].prefix, n) == 0) {
			out->ops = ops[i].ops;
			s += n;
			break;
		}
	}
	if (strcmp(s, "any") == 0) {
		out->net.family = AF_UNSPEC;
		return 0;
	}
	if (addr_net_parse(s, &out->net) < 0)
		return -EINVAL;
	/* ::ffff:a.b.c.d/N is the IPv4 network it maps: peers on a
	 * dual-stack socket are matched as IPv4 (addr_host). */
	if (out->net.family == AF_INET6 && out->net.prefix >= 96 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)out->net.bytes)) {
		memmove(out->net.bytes, out->net.bytes + 12, 4);
		memset(out->net.bytes + 4, 0, 12);
		out->net.family = AF_INET;
		out->net.prefix -= 96;
	}
	return 0;
}

char *acl_rule_format(const struct acl_rule *r, char *buf, size_t size)
{
	char net[ADDR_STR_MAX];
	const char *op = r->ops == ACL_READ ? "read:" : r->ops == ACL_WRITE ? "write:" : "";

	if (r->net.family == AF_UNSPEC)
		snprintf(buf, size, "%sany", op);
	else
		snprintf(buf, size, "%s%s", op, addr_net_format(&r->net, net, sizeof(net)));
	return buf;
}

int acl_add(struct acl *a, const struct acl_rule *r)
{
	if (a->n == ACL_RULES_MAX)
		return -ENOSPC;
	a->rule[a->n++] = *r;
	return 0;
}

bool acl_permits(const struct acl *a, const struct sockaddr *peer, unsigned op)
{
	for (unsigned i = 0; i < a->n; i++) {
		const struct acl_rule *r = &a->rule[i];

		if (!(r->ops & op))
			continue;
		if (r->net.family == AF_UNSPEC || addr_net_contains(&r->net, peer))
			return r->allow;
	}
	return true;
}
