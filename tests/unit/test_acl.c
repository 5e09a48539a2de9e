/* test_acl.c - the --allow/--deny rules: parsing, matching by network and
 * operation, first match wins, allowed when nothing matches. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "acl.h"

static union sockaddr_any peer(const char *ip)
{
	union sockaddr_any a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, ip, &a.sin.sin_addr) == 1) {
		a.sin.sin_family = AF_INET;
		a.sin.sin_port = htons(1234);
	} else {
		inet_pton(AF_INET6, ip, &a.sin6.sin6_addr);
		a.sin6.sin6_family = AF_INET6;
		a.sin6.sin6_port = htons(1234);
	}
	return a;
}

/* Build a list from "+rule" (allow) and "-rule" (deny) strings. */
static struct acl list(const char *const *rules)
{
	struct acl a = { .n = 0 };
	struct acl_rule r;

	for (; *rules; rules++) {
		if (acl_rule_parse(*rules + 1, **rules == '+', &r) < 0 || acl_add(&a, &r) < 0)
			ok(0, "rule %s parses", *rules);
	}
	return a;
}

static bool permits(const struct acl *a, const char *ip, unsigned op)
{
	union sockaddr_any p = peer(ip);

	return acl_permits(a, &p.sa, op);
}

static void roundtrip(const char *in, const char *out)
{
	struct acl_rule r;
	char buf[96];

	if (acl_rule_parse(in, true, &r) < 0) {
		ok(0, "'%s' parses", in);
		return;
	}
	is_str(acl_rule_format(&r, buf, sizeof(buf)), out, "'%s' reads as '%s'", in, out);
}

int main(void)
{
	struct acl_rule r;
	struct acl a;

	/* Parsing. */
	roundtrip("10.0.0.0/8", "10.0.0.0/8");
	roundtrip("read:10.0.0.0/8", "read:10.0.0.0/8");
	roundtrip("write:2001:db8::/32", "write:2001:db8::/32");
	roundtrip("192.0.2.7", "192.0.2.7/32");
	roundtrip("any", "any");
	roundtrip("write:any", "write:any");
	roundtrip("::ffff:10.1.0.0/112", "10.1.0.0/16");
	ok(acl_rule_parse("10.0.0.1/8", true, &r) == -EINVAL, "host bits beyond the prefix: refused");
	ok(acl_rule_parse("read:", true, &r) == -EINVAL, "an operation without a network: refused");
	ok(acl_rule_parse("rw:10.0.0.0/8", true, &r) == -EINVAL, "an unknown operation: refused");
	ok(acl_rule_parse("example.org", true, &r) == -EINVAL, "names are never looked up");
	ok(acl_rule_parse("10.0.0.0/33", true, &r) == -EINVAL, "a prefix too long: refused");
	ok(acl_rule_parse("", true, &r) == -EINVAL, "empty: refused");

	/* No rules: everyone, both ways (the default). */
	a = list((const char *const[]){ NULL });
	ok(permits(&a, "192.0.2.1", ACL_READ) && permits(&a, "2001:db8::1", ACL_WRITE),
	   "no rules: everything allowed");

	/* A typical list: the lab reads and writes, the office reads,
	 * nobody else does anything. */
	a = list((const char *const[]){ "+10.1.0.0/16", "+read:192.168.0.0/16", "+read:2001:db8:1::/48",
					 "-any", NULL });
	ok(permits(&a, "10.1.2.3", ACL_READ), "lab: read");
	ok(permits(&a, "10.1.2.3", ACL_WRITE), "lab: write");
	ok(permits(&a, "192.168.7.7", ACL_READ), "office: read");
	ok(!permits(&a, "192.168.7.7", ACL_WRITE), "office: no write");
	ok(!permits(&a, "10.2.0.1", ACL_READ), "outside: no read");
	ok(permits(&a, "2001:db8:1::5", ACL_READ), "IPv6 office: read");
	ok(!permits(&a, "2001:db8:1::5", ACL_WRITE), "IPv6 office: no write");
	ok(!permits(&a, "2001:db8:2::5", ACL_READ), "IPv6 outside: no read");
	/* A dual-stack socket's IPv4-mapped peers match IPv4 rules. */
	ok(permits(&a, "::ffff:10.1.2.3", ACL_WRITE), "v4-mapped lab: write");
	ok(permits(&a, "::ffff:192.168.1.1", ACL_READ), "v4-mapped office: read");
	ok(!permits(&a, "::ffff:192.168.1.1", ACL_WRITE), "v4-mapped office: no write");
	ok(!permits(&a, "::ffff:10.2.0.1", ACL_READ), "v4-mapped outside: no read");

	/* First match wins: a deny before an allow of a wider network. */
	a = list((const char *const[]){ "-10.1.9.0/24", "+10.1.0.0/16", "-any", NULL });
	ok(!permits(&a, "10.1.9.200", ACL_READ), "first match: the narrower deny");
	ok(permits(&a, "10.1.8.200", ACL_READ), "first match: then the allow");
	/* ... and the other order: the allow comes first, the deny never. */
	a = list((const char *const[]){ "+10.1.0.0/16", "-10.1.9.0/24", NULL });
	ok(permits(&a, "10.1.9.200", ACL_READ), "first match: the earlier allow hides the deny");

	/* A rule for one operation never decides the other. */
	a = list((const char *const[]){ "-write:any", NULL });
	ok(permits(&a, "198.51.100.1", ACL_READ), "deny write: reads pass");
	ok(!permits(&a, "198.51.100.1", ACL_WRITE), "deny write: writes fail");
	ok(!permits(&a, "::1", ACL_WRITE), "deny write:any covers IPv6");

	/* IPv4 rules never match IPv6 peers and the other way round. */
	a = list((const char *const[]){ "-0.0.0.0/0", NULL });
	ok(!permits(&a, "203.0.113.9", ACL_READ), "0.0.0.0/0: every IPv4 peer");
	ok(!permits(&a, "::ffff:203.0.113.9", ACL_READ), "0.0.0.0/0: every v4-mapped peer");
	ok(permits(&a, "2001:db8::9", ACL_READ), "0.0.0.0/0: no IPv6 peer");
	a = list((const char *const[]){ "-::/0", NULL });
	ok(permits(&a, "203.0.113.9", ACL_READ) && permits(&a, "::ffff:203.0.113.9", ACL_READ),
	   "::/0: no IPv4 peer, mapped or not");
	ok(!permits(&a, "2001:db8::9", ACL_READ), "::/0: every IPv6 peer");

	/* Odd prefixes. */
	a = list((const char *const[]){ "+10.0.0.128/25", "-any", NULL });
	ok(permits(&a, "10.0.0.128", ACL_READ) && permits(&a, "10.0.0.255", ACL_READ), "/25 inside");
	ok(!permits(&a, "10.0.0.127", ACL_READ), "/25 outside");

	/* The list is bounded. */
	a = list((const char *const[]){ NULL });
	acl_rule_parse("any", false, &r);
	for (int i = 0; i < ACL_RULES_MAX; i++)
		acl_add(&a, &r);
	ok(acl_add(&a, &r) == -ENOSPC, "at most %d rules", ACL_RULES_MAX);
	return tap_done();
}
