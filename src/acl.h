/*
 * acl.h - who may read and who may write: the --allow and --deny rules.
 *
 * One ordered list; the first rule that matches a request's client
 * address and operation decides.  A request no rule matches is allowed,
 * so an empty list serves everyone, as before the rules existed.  Pure:
 * no I/O, so the dispatcher and the unit tests use the same code.
 */
#ifndef SNOW_OWL_ACL_H
#define SNOW_OWL_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"

#define ACL_RULES_MAX 64

/* Operations a rule applies to. */
enum {
	ACL_READ = 1,		/* RRQ */
	ACL_WRITE = 2,		/* WRQ */
	ACL_BOTH = ACL_READ | ACL_WRITE,
};

struct acl_rule {
	struct addr_net net;	/* family AF_UNSPEC: every address ("any") */
	unsigned ops;		/* ACL_READ, ACL_WRITE or both */
	bool allow;
};

struct acl {
	struct acl_rule rule[ACL_RULES_MAX];
	unsigned n;
};

/*
 * Parse "[read:|write:]NET": NET is ADDR/PREFIX, a bare address (one
 * host) or "any"; without an operation the rule applies to both.
 * Returns 0 or -EINVAL.
 */
int acl_rule_parse(const char *s, bool allow, struct acl_rule *out);

/* The rule as acl_rule_parse() reads it back. */
char *acl_rule_format(const struct acl_rule *r, char *buf, size_t size);

/* Append a rule.  Returns 0 or -ENOSPC. */
int acl_add(struct acl *a, const struct acl_rule *r);

/*
 * Whether a request of op (ACL_READ or ACL_WRITE) from peer is allowed.
 * An IPv4-mapped IPv6 peer (a dual-stack socket) matches IPv4 rules.
 */
bool acl_permits(const struct acl *a, const struct sockaddr *peer, unsigned op);

#endif
