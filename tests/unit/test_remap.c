/* Unit tests for src/remap.c: tftpd-hpa's sample rules, every flag and escape, bad rules, loop bounds. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "packet.h"
#include "remap.h"

/* tftpd-hpa's tftpd/sample.rules, as shipped. */
static const char sample[] =
	"#\n"
	"# Sample rule file for the -m (remapping option)\n"
	"#\n"
	"ri\t^[a-z]:\t\t\t\t# Remove \"drive letters\"\n"
	"rg\t\\\\\t\t/\t\t# Convert backslashes to slashes\n"
	"rg\t\\#\t\t@\t\t# Convert hash marks to @ signs\n"
	"rg\t/../\t\t/..no../\t# Convert /../ to /..no../\n"
	"e\t^ok/\t\t\t\t# These are always ok\n"
	"r\t^[^/]\t\t/tftpboot/\\0\t# Convert non-absolute files\n"
	"a\t\\.pvt$\t\t\t\t# Reject requests for private files\n";

#define V4 "192.0.2.169"
#define V6 "2001:db8::1"

struct map_case {
	const char *rules;
	const char *name;
	unsigned op;
	const char *peer;
	enum remap_result want;
	const char *out;	/* the name, or the refusal message (NULL: none) */
};

static const struct map_case cases[] = {
	/* The sample file. */
	{ sample, "C:\\boot\\file", OP_RRQ, V4, REMAP_OK, "/boot/file" },
	{ sample, "c:/x", OP_RRQ, V4, REMAP_OK, "/x" },
	{ sample, "pxelinux.0", OP_RRQ, V4, REMAP_OK, "/tftpboot/pxelinux.0" },
	{ sample, "/boot/pxelinux.0", OP_RRQ, V4, REMAP_OK, "/boot/pxelinux.0" },
	{ sample, "a#b", OP_RRQ, V4, REMAP_OK, "/tftpboot/a@b" },
	{ sample, "ok/x.pvt", OP_RRQ, V4, REMAP_OK, "ok/x.pvt" },
	{ sample, "secret.pvt", OP_RRQ, V4, REMAP_REFUSED, NULL },
	{ sample, "dir\\f.pvt", OP_WRQ, V4, REMAP_REFUSED, NULL },
	{ sample, "/a/../../b", OP_RRQ, V4, REMAP_OK, "/a/..no../..no../b" },
	/* r: the first match only; g: until no match. */
	{ "r foo bar", "foofoo", OP_RRQ, V4, REMAP_OK, "barfoo" },
	{ "rg foo bar", "foofoo", OP_RRQ, V4, REMAP_OK, "barbar" },
	{ "r foo bar", "nothing", OP_RRQ, V4, REMAP_OK, "nothing" },
	{ "g foo bar", "foo", OP_RRQ, V4, REMAP_OK, "foo" },	/* g without r: a match, no rewrite */
	/* i */
	{ "ri FOO bar", "xfoo", OP_RRQ, V4, REMAP_OK, "xbar" },
	{ "r FOO bar", "xfoo", OP_RRQ, V4, REMAP_OK, "xfoo" },
	/* e: stops only when it matched. */
	{ "e ^x\nr ^ y", "xa", OP_RRQ, V4, REMAP_OK, "xa" },
	{ "e ^x\nr ^ y", "ax", OP_RRQ, V4, REMAP_OK, "yax" },
	{ "re ^a b\nr ^ y", "ab", OP_RRQ, V4, REMAP_OK, "bb" },
	/* s: start over after a match. */
	{ "rs ^aa a\nr ^a x", "aaaa", OP_RRQ, V4, REMAP_OK, "x" },
	{ "r ^aa a\nr ^a x", "aaaa", OP_RRQ, V4, REMAP_OK, "xaa" },
	/* a: refuse, with the replacement as the message. */
	{ "a ^secret", "secret.bin", OP_RRQ, V4, REMAP_REFUSED, NULL },
	{ "a ^secret no\\ secrets\\ for\\ \\i", "secret.bin", OP_RRQ, V4, REMAP_REFUSED,
	  "no secrets for " V4 },
	{ "a ^(s)ecret denied:\\0:\\1", "secret.bin", OP_RRQ, V4, REMAP_REFUSED, "denied:secret:s" },
	{ "a ^secret", "public", OP_RRQ, V4, REMAP_OK, "public" },
	/* G and P: one request type only. */
	{ "rG ^ get/", "f", OP_RRQ, V4, REMAP_OK, "get/f" },
	{ "rG ^ get/", "f", OP_WRQ, V4, REMAP_OK, "f" },
	{ "rP ^ put/", "f", OP_WRQ, V4, REMAP_OK, "put/f" },
	{ "rP ^ put/", "f", OP_RRQ, V4, REMAP_OK, "f" },
	{ "aP .", "f", OP_WRQ, V4, REMAP_REFUSED, NULL },
	/* 4 and 6: one address family only; IPv4-mapped counts as IPv4. */
	{ "r4 ^ v4/\nr6 ^ v6/", "f", OP_RRQ, V4, REMAP_OK, "v4/f" },
	{ "r4 ^ v4/\nr6 ^ v6/", "f", OP_RRQ, V6, REMAP_OK, "v6/f" },
	{ "r4 ^ v4/\nr6 ^ v6/", "f", OP_RRQ, "::ffff:" V4, REMAP_OK, "v4/f" },
	/* ~: the rule applies when the regex does not match. */
	{ "a~ ^pub/", "pub/x", OP_RRQ, V4, REMAP_OK, "pub/x" },
	{ "a~ ^pub/", "priv/x", OP_RRQ, V4, REMAP_REFUSED, NULL },
	{ "a~ ^pub/ not\\ public:<\\0>", "priv/x", OP_RRQ, V4, REMAP_REFUSED, "not public:<>" },
	{ "e~ ^x\nr ^ y", "ab", OP_RRQ, V4, REMAP_OK, "ab" },
	{ "e~ ^x\nr ^ y", "xb", OP_RRQ, V4, REMAP_OK, "yxb" },
	/* \0 .. \9 */
	{ "r ^.* [\\0]", "ab", OP_RRQ, V4, REMAP_OK, "[ab]" },
	{ "r ^(a)(b)(c)(d)(e)(f)(g)(h)(i)$ \\9\\8\\7\\6\\5\\4\\3\\2\\1", "abcdefghi", OP_RRQ, V4, REMAP_OK,
	  "ihgfedcba" },
	{ "r ^(a)|(b)$ <\\2>", "a", OP_RRQ, V4, REMAP_OK, "<>" },
	{ "r b(.) <\\1>", "abcd", OP_RRQ, V4, REMAP_OK, "a<c>d" },
	/* \i and \x, as tftpd-hpa prints them. */
	{ "r ^ \\i/", "f", OP_RRQ, V4, REMAP_OK, V4 "/f" },
	{ "r ^ \\i/", "f", OP_RRQ, V6, REMAP_OK, V6 "/f" },
	{ "r ^ \\i/", "f", OP_RRQ, "::ffff:" V4, REMAP_OK, V4 "/f" },
	{ "r ^ \\x/", "f", OP_RRQ, V4, REMAP_OK, "C00002A9/f" },
	{ "r ^ \\x/", "f", OP_RRQ, V6, REMAP_OK, "20010DB8000000000000000000000001/f" },
	{ "r ^ \\L\\x/", "f", OP_RRQ, V4, REMAP_OK, "c00002a9/f" },
	/* \U, \L, \E: on what follows, substitutions and literal text. */
	{ "r ^(.*)\\.(.*)$ \\U\\1\\E.\\L\\2", "Boot.IMG", OP_RRQ, V4, REMAP_OK, "BOOT.img" },
	{ "r ^ \\Uabc\\Ed", "f", OP_RRQ, V4, REMAP_OK, "ABCdf" },
	{ "r ^(.*)$ \\U\\1", "mixed/Case", OP_RRQ, V4, REMAP_OK, "MIXED/CASE" },
	/* \\, \#, \<blank>, a trailing backslash. */
	{ "r x a\\\\b", "x", OP_RRQ, V4, REMAP_OK, "a\\b" },
	{ "r x a\\#b\\ c", "x", OP_RRQ, V4, REMAP_OK, "a#b c" },
	{ "r x a\\", "x", OP_RRQ, V4, REMAP_OK, "a\\" },
	{ "r \\  _", "a b", OP_RRQ, V4, REMAP_OK, "a_b" },
	/* An empty replacement deletes. */
	{ "rg /+$", "dir//", OP_RRQ, V4, REMAP_OK, "dir" },
	/* Comments, blank lines, CR LF. */
	{ "# only a comment\n\n   \n", "f", OP_RRQ, V4, REMAP_OK, "f" },
	{ "r\tx\ty\t# comment\r\n", "x", OP_RRQ, V4, REMAP_OK, "y" },
	/* Loops end. */
	{ "rg a a", "a", OP_RRQ, V4, REMAP_LOOP, NULL },
	{ "s ^", "x", OP_RRQ, V4, REMAP_LOOP, NULL },
	{ "rs ^ xx", "x", OP_RRQ, V4, REMAP_TOO_LONG, NULL },
	{ "rg .+ \\0\\0", "ab", OP_RRQ, V4, REMAP_TOO_LONG, NULL },
};

static struct sockaddr_storage peer_of(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, text, &s4->sin_addr);
	}
	return ss;
}

static const char *result_name(enum remap_result r)
{
	static const char *const names[] = { "OK", "REFUSED", "LOOP", "TOO_LONG", "NOMEM" };

	return names[r];
}

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct map_case *c = &cases[i];
		struct sockaddr_storage peer = peer_of(c->peer);
		struct remap *rm = NULL;
		char err[256] = "", *out = NULL;
		enum remap_result r;

		if (remap_parse(c->rules, "rules", &rm, err, sizeof(err)) < 0) {
			ok(0, "case %zu parses: %s", i, err);
			continue;
		}
		r = remap_apply(rm, c->name, c->op, (struct sockaddr *)&peer, &out);
		if (!ok(r == c->want, "case %zu: \"%s\" from %s: %s", i, c->name, c->peer, result_name(c->want)))
			printf("#   got %s\n", result_name(r));
		if (c->want == REMAP_OK || c->want == REMAP_REFUSED)
			is_str(out, c->out, "case %zu: \"%s\" gives \"%s\"", i, c->name, c->out ? c->out : "(none)");
		else
			ok(out == NULL, "case %zu: no name after %s", i, result_name(r));
		free(out);
		remap_free(rm);
	}
}

/* Bad rule files: refused with the file name and the line. */
static void test_bad(void)
{
	static const struct {
		const char *rules, *err;
	} bad[] = {
		{ "z x y", "f:1: unknown flag 'z'" },
		{ "# comment\n\nr x y\nrq x y\n", "f:4: unknown flag 'q'" },
		{ "r\n", "f:1: no regular expression" },
		{ "r # comment only\n", "f:1: no regular expression" },
		{ "r x y\nr ( x", "f:2: bad regular expression '(': " },
		{ "r~ x y", "f:1: flags r and ~ cannot be combined" },
		{ "ra x y", "f:1: flags r and a cannot be combined" },
		{ "as x", "f:1: flags a and s cannot be combined" },
		{ "ae x", "f:1: flags a and e cannot be combined" },
		{ "es x", "f:1: flags e and s cannot be combined" },
		{ "GP x", "f:1: flags G and P cannot be combined" },
		{ "46 x", "f:1: flags 4 and 6 cannot be combined" },
		{ "rgg x y", "f:1: flag gg (sed-style global) is not supported" },
		{ "r x y z", "f:1: unexpected text after the replacement: 'z'" },
		{ "\n\n\nr x y\r\nj x", "f:5: unknown flag 'j'" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct remap *rm = NULL;
		char err[256] = "";
		int r = remap_parse(bad[i].rules, "f", &rm, err, sizeof(err));

		is_int(r, -EINVAL, "bad rules %zu refused", i);
		if (!ok(strncmp(err, bad[i].err, strlen(bad[i].err)) == 0, "bad rules %zu: %s", i, bad[i].err))
			printf("#   got \"%s\"\n", err);
		ok(rm == NULL, "bad rules %zu: no rules", i);
	}
}

/* Every rule visited and every 'g' repeat is a step; REMAP_MAX_STEPS
 * steps are allowed, and a longer run is a loop. */
static void test_steps(void)
{
	struct sockaddr_storage peer = peer_of(V4);
	char name[3100], *out;
	struct remap *rm;
	char err[256];

	/* Two steps per 'a' (rule 1 visited, rule 2 rewrites and restarts). */
	remap_parse("r ^nomatch x\nrs ^a(.) \\1", "f", &rm, err, sizeof(err));
	memset(name, 'a', 1000);
	strcpy(name + 1000, "b");
	is_int(remap_apply(rm, name, OP_RRQ, (struct sockaddr *)&peer, &out), REMAP_OK, "2000 steps are allowed");
	is_str(out, "b", "... and the restarts ran to the end");
	free(out);
	memset(name, 'a', 3000);
	strcpy(name + 3000, "b");
	is_int(remap_apply(rm, name, OP_RRQ, (struct sockaddr *)&peer, &out), REMAP_LOOP, "6000 steps are a loop");
	remap_free(rm);

	/* One step per repeat of a 'g' rewrite. */
	remap_parse("rg ^a(.) \\1", "f", &rm, err, sizeof(err));
	memset(name, 'a', 3000);
	strcpy(name + 3000, "b");
	is_int(remap_apply(rm, name, OP_RRQ, (struct sockaddr *)&peer, &out), REMAP_OK, "3000 g repeats are allowed");
	is_str(out, "b", "... and ran to the end");
	free(out);
	remap_free(rm);
	remap_parse("rg ^a a", "f", &rm, err, sizeof(err));
	is_int(remap_apply(rm, "a", OP_RRQ, (struct sockaddr *)&peer, &out), REMAP_LOOP, "an endless g is a loop");
	ok(out == NULL, "... with no name");
	remap_free(rm);
}

static void test_files(void)
{
	char path[] = "/tmp/test_remap.XXXXXX", err[512];
	struct sockaddr_storage peer = peer_of(V4);
	struct remap *rm = NULL;
	char *out = NULL;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs(sample, f);
	fclose(f);
	is_int(remap_load(path, &rm, err, sizeof(err)), 0, "the sample file loads");
	remap_apply(rm, "pxelinux.0", OP_RRQ, (struct sockaddr *)&peer, &out);
	is_str(out, "/tftpboot/pxelinux.0", "... and maps");
	free(out);
	remap_free(rm);
	unlink(path);
	is_int(remap_load(path, &rm, err, sizeof(err)), -ENOENT, "a missing file is an error");
	ok(strstr(err, path) && strstr(err, "No such file"), "... naming the file: %s", err);

	rm = (struct remap *)1;
	is_int(remap_load("/dev/null", &rm, err, sizeof(err)), 0, "an empty file (/dev/null) loads");
	ok(rm == NULL, "... to no rules (nothing read from an unterminated buffer)");
	is_int(remap_parse("", "f", &rm, err, sizeof(err)), 0, "an empty file parses");
	ok(rm == NULL, "... to no rules");
	is_int(remap_apply(NULL, "x", OP_RRQ, (struct sockaddr *)&peer, &out), REMAP_OK, "no rules: no change");
	is_str(out, "x", "... the name as sent");
	free(out);
}

int main(void)
{
	test_cases();
	test_bad();
	test_steps();
	test_files();
	return tap_done();
}
