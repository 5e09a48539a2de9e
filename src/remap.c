/*
 * remap.c - file name remapping rules, compatible with tftpd-hpa's -m file.
 *
 * The semantics follow tftpd-hpa: rules run top-down and all of them run
 * unless one ends the processing; a matching 'e' rule stops, an 's' rule
 * starts over from the first rule, an 'a' rule refuses the request; 'g'
 * repeats a rewrite on its own result until the regex no longer matches.
 * Every rule visited and every repeat of a 'g' rewrite is one step, and
 * after REMAP_MAX_STEPS the request is refused, so no rule file can loop
 * for ever.  Unlike tftpd-hpa, a rewrite that grows the name past
 * REMAP_NAME_MAX also refuses the request (a rule such as "rg .+ \0\0"
 * would otherwise double the name at each step).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "packet.h"
#include "remap.h"

enum {
	RULE_REWRITE = 1 << 0,	/* r */
	RULE_GLOBAL = 1 << 1,	/* g */
	RULE_END = 1 << 2,	/* e */
	RULE_RESTART = 1 << 3,	/* s */
	RULE_ABORT = 1 << 4,	/* a */
	RULE_INVERT = 1 << 5,	/* ~ */
	RULE_RRQ = 1 << 6,	/* G */
	RULE_WRQ = 1 << 7,	/* P */
	RULE_IPV4 = 1 << 8,	/* 4 */
	RULE_IPV6 = 1 << 9,	/* 6 */
	RULE_ICASE = 1 << 10,	/* i */
};

static const struct {
	char c;
	unsigned flag;
} flag_chars[] = {
	{ 'r', RULE_REWRITE }, { 'g', RULE_GLOBAL }, { 'e', RULE_END }, { 's', RULE_RESTART },
	{ 'a', RULE_ABORT }, { '~', RULE_INVERT }, { 'G', RULE_RRQ }, { 'P', RULE_WRQ },
	{ '4', RULE_IPV4 }, { '6', RULE_IPV6 }, { 'i', RULE_ICASE },
};

/* Pairs that make no sense together (tftpd-hpa refuses the same ones,
 * except G with P and 4 with 6, which it takes as "never applies"). */
static const struct {
	unsigned flags;
	const char *names;
} conflicts[] = {
	{ RULE_REWRITE | RULE_INVERT, "r and ~" },
	{ RULE_REWRITE | RULE_ABORT, "r and a" },
	{ RULE_ABORT | RULE_RESTART, "a and s" },
	{ RULE_ABORT | RULE_END, "a and e" },
	{ RULE_END | RULE_RESTART, "e and s" },
	{ RULE_RRQ | RULE_WRQ, "G and P" },
	{ RULE_IPV4 | RULE_IPV6, "4 and 6" },
};

struct rule {
	regex_t rx;
	unsigned flags;
	char *repl;		/* replacement, or the message of an 'a' rule */
};

struct remap {
	struct rule *rule;
	size_t n;
};

void remap_free(struct remap *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		regfree(&r->rule[i].rx);
		free(r->rule[i].repl);
	}
	free(r->rule);
	free(r);
}

/* ---- Parsing ------------------------------------------------------------ */

/*
 * Copy the next field of a line into buf, backslashes kept: blanks end a
 * field and '#' starts a comment unless escaped.  Returns its length, 0
 * at the end of the line or at a comment.
 */
static size_t next_field(const char **line, char *buf)
{
	const char *p = *line;
	size_t n = 0;

	while (*p && isspace((unsigned char)*p))
		p++;
	while (*p && !isspace((unsigned char)*p) && *p != '#') {
		if (*p == '\\' && p[1])
			buf[n++] = *p++;
		buf[n++] = *p++;
	}
	buf[n] = '\0';
	*line = p;
	return n;
}

static int parse_flags(const char *s, unsigned *flags, char *why, size_t size)
{
	*flags = 0;
	for (; *s; s++) {
		size_t i;

		for (i = 0; i < sizeof(flag_chars) / sizeof(flag_chars[0]); i++)
			if (flag_chars[i].c == *s)
				break;
		if (i == sizeof(flag_chars) / sizeof(flag_chars[0])) {
			snprintf(why, size, "unknown flag '%c'", *s);
			return -EINVAL;
		}
		if (*flags & flag_chars[i].flag & RULE_GLOBAL) {
			snprintf(why, size, "flag gg (sed-style global) is not supported");
			return -EINVAL;
		}
		*flags |= flag_chars[i].flag;
	}
	for (size_t i = 0; i < sizeof(conflicts) / sizeof(conflicts[0]); i++) {
		if ((*flags & conflicts[i].flags) == conflicts[i].flags) {
			snprintf(why, size, "flags %s cannot be combined", conflicts[i].names);
			return -EINVAL;
		}
	}
	if (!(*flags & RULE_REWRITE))
		*flags &= ~(unsigned)RULE_GLOBAL;	/* g only repeats a rewrite */
	return 0;
}

/* One line: 1 and a rule, 0 for a blank or comment line, or -errno. */
static int parse_line(const char *line, struct rule *r, char *buf, char *why, size_t size)
{
	int rc;

	if (!next_field(&line, buf))
		return 0;
	rc = parse_flags(buf, &r->flags, why, size);
	if (rc < 0)
		return rc;
	if (!next_field(&line, buf)) {
		snprintf(why, size, "no regular expression");
		return -EINVAL;
	}
	rc = regcomp(&r->rx, buf, REG_EXTENDED | (r->flags & RULE_ICASE ? REG_ICASE : 0));
	if (rc != 0) {
		char msg[128];

		regerror(rc, &r->rx, msg, sizeof(msg));
		snprintf(why, size, "bad regular expression '%s': %s", buf, msg);
		return -EINVAL;
	}
	next_field(&line, buf);
	r->repl = strdup(buf);
	if (!r->repl) {
		regfree(&r->rx);
		return -ENOMEM;
	}
	if (next_field(&line, buf)) {
		regfree(&r->rx);
		free(r->repl);
		snprintf(why, size, "unexpected text after the replacement: '%s'", buf);
		return -EINVAL;
	}
	return 1;
}

int remap_parse(const char *text, const char *name, struct remap **out, char *err, size_t errsize)
{
	struct remap *r = calloc(1, sizeof(*r));
	size_t cap = 0, len;
	unsigned lineno = 0;
	char *line = NULL, *buf = NULL, why[256];
	int rc = -ENOMEM;

	if (!r)
		return -ENOMEM;
	while (*text) {
		len = strcspn(text, "\n");
		lineno++;
		free(line);
		free(buf);
		line = strndup(text, len);
		buf = malloc(len + 1);
		if (!line || !buf)
			goto out_free;
		text += len + (text[len] == '\n');
		line[strcspn(line, "\r")] = '\0';	/* CR LF files */
		if (r->n == cap) {
			struct rule *more = reallocarray(r->rule, cap ? cap * 2 : 16, sizeof(*more));

			if (!more)
				goto out_free;
			r->rule = more;
			cap = cap ? cap * 2 : 16;
		}
		rc = parse_line(line, &r->rule[r->n], buf, why, sizeof(why));
		if (rc == -EINVAL)
			snprintf(err, errsize, "%s:%u: %s", name, lineno, why);
		if (rc < 0)
			goto out_free;
		r->n += (size_t)rc;
	}
	free(line);
	free(buf);
	if (!r->n) {
		remap_free(r);
		r = NULL;
	}
	*out = r;
	return 0;
out_free:
	free(line);
	free(buf);
	remap_free(r);
	return rc < 0 ? rc : -ENOMEM;
}

int remap_load(const char *path, struct remap **out, char *err, size_t errsize)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t size = 0;
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return rc;
	}
	/* An empty file (/dev/null) reads nothing: getdelim() returns -1 and
	 * leaves its buffer unterminated. */
	ssize_t got = getdelim(&text, &size, '\0', f);

	rc = got < 0 && ferror(f) ? -EIO : 0;
	fclose(f);
	if (rc == 0)
		rc = remap_parse(got > 0 ? text : "", path, out, err, errsize);
	else
		snprintf(err, errsize, "%s: read error", path);
	free(text);
	return rc;
}

/* ---- Applying ----------------------------------------------------------- */

/* A growing result string; stops growing at REMAP_NAME_MAX. */
struct out {
	char *p;
	size_t len, cap;
	bool too_long, nomem;
	int (*xform)(int);	/* \U, \L, or none */
};

static void put(struct out *o, const char *s, size_t n, bool xform)
{
	if (o->len + n > REMAP_NAME_MAX) {
		o->too_long = true;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char *p = realloc(o->p, cap);

		if (!p) {
			o->nomem = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	for (size_t i = 0; i < n; i++)
		o->p[o->len++] = (char)(xform && o->xform ? o->xform((unsigned char)s[i]) : s[i]);
	o->p[o->len] = '\0';
}

/* \i: the client's address as text; \x: in hexadecimal, as tftpd-hpa
 * (8 digits for IPv4, 32 for IPv6, upper case). */
static void put_peer(struct out *o, const struct sockaddr *peer, char macro)
{
	uint8_t bytes[16];
	char text[INET6_ADDRSTRLEN];
	int family = addr_host(peer, bytes);
	size_t n = family == AF_INET ? 4 : 16;

	if (family == AF_UNSPEC)
		return;
	if (macro == 'i') {
		inet_ntop(family, bytes, text, sizeof(text));
		put(o, text, strlen(text), true);
		return;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(text + 2 * i, 3, "%02X", bytes[i]);
	put(o, text, 2 * n, true);
}

/*
 * Expand a replacement for the match pm in cur.  With whole, the parts
 * of cur before and after the match are kept around it (a rewrite);
 * without, only the expansion is produced (the message of an 'a' rule).
 */
static void expand(struct out *o, const char *repl, const char *cur, const regmatch_t *pm, bool whole,
		   const struct sockaddr *peer)
{
	o->xform = NULL;
	if (whole)
		put(o, cur, (size_t)pm[0].rm_so, false);
	for (const char *p = repl; *p; p++) {
		if (*p != '\\') {
			put(o, p, 1, true);
			continue;
		}
		switch (*++p) {
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			if (pm[*p - '0'].rm_so >= 0)
				put(o, cur + pm[*p - '0'].rm_so, (size_t)(pm[*p - '0'].rm_eo - pm[*p - '0'].rm_so), true);
			break;
		case 'U':
			o->xform = toupper;
			break;
		case 'L':
			o->xform = tolower;
			break;
		case 'E':
			o->xform = NULL;
			break;
		case 'i':
		case 'x':
			put_peer(o, peer, *p);
			break;
		case '\0':
			p--;	/* a lone backslash at the end stays */
			put(o, "\\", 1, false);
			break;
		default:
			put(o, p, 1, true);	/* \\, \#, \<blank>: the character */
		}
	}
	if (whole)
		put(o, cur + pm[0].rm_eo, strlen(cur + pm[0].rm_eo), false);
}

static bool applies(const struct rule *r, unsigned op, int family)
{
	return !((r->flags & RULE_RRQ && op != OP_RRQ) || (r->flags & RULE_WRQ && op != OP_WRQ) ||
		 (r->flags & RULE_IPV4 && family != AF_INET) || (r->flags & RULE_IPV6 && family != AF_INET6));
}

static bool matches(const struct rule *r, const char *s, regmatch_t *pm)
{
	bool m = regexec(&r->rx, s, 10, pm, 0) == 0;

	if (r->flags & RULE_INVERT) {
		for (int i = 0; i < 10; i++)
			pm[i].rm_so = pm[i].rm_eo = -1;	/* nothing to refer to */
		return !m;
	}
	return m;
}

/* Rewrite *cur with rule r (matched as pm); repeat for 'g'. */
static enum remap_result rewrite(const struct rule *r, char **cur, regmatch_t *pm,
				 const struct sockaddr *peer, unsigned *steps)
{
	do {
		struct out o = { 0 };

		expand(&o, r->repl, *cur, pm, true, peer);
		if (o.too_long || o.nomem) {
			free(o.p);
			return o.nomem ? REMAP_NOMEM : REMAP_TOO_LONG;
		}
		free(*cur);
		*cur = o.p ? o.p : strdup("");
		if (!*cur)
			return REMAP_NOMEM;
		if (!(r->flags & RULE_GLOBAL) || !matches(r, *cur, pm))
			return REMAP_OK;
	} while ((*steps)++ < REMAP_MAX_STEPS);
	return REMAP_LOOP;
}

enum remap_result remap_apply(const struct remap *rm, const char *name, unsigned op,
			      const struct sockaddr *peer, char **out)
{
	uint8_t bytes[16];
	int family = addr_host(peer, bytes);
	char *cur = strdup(name);
	regmatch_t pm[10];
	unsigned steps = 0;
	enum remap_result res = REMAP_OK;

	*out = NULL;
	if (!cur)
		return REMAP_NOMEM;
	for (size_t i = 0; rm && i < rm->n;) {
		const struct rule *r = &rm->rule[i++];

		if (!applies(r, op, family))
			continue;
		if (steps++ >= REMAP_MAX_STEPS) {
			res = REMAP_LOOP;
			break;
		}
		if (!matches(r, cur, pm))
			continue;
		if (r->flags & RULE_REWRITE) {
			res = rewrite(r, &cur, pm, peer, &steps);
			if (res != REMAP_OK)
				break;
		}
		if (r->flags & RULE_ABORT) {
			struct out o = { 0 };

			expand(&o, r->repl, cur, pm, false, peer);
			free(cur);
			*out = o.len ? o.p : NULL;
			if (!o.len)
				free(o.p);
			return REMAP_REFUSED;
		}
		if (r->flags & RULE_END)
			break;
		if (r->flags & RULE_RESTART)
			i = 0;
	}
	if (res != REMAP_OK) {
		free(cur);
		return res;
	}
	*out = cur;
	return REMAP_OK;
}
