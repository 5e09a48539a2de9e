/*
 * remap.h - file name remapping rules (-m), in tftpd-hpa's rule file format.
 *
 * Each line of a rule file is FLAGS REGEX [REPLACEMENT], fields separated
 * by blanks, '#' starting a comment, a backslash escaping the next
 * character.  Rules are tried from the first to the last on the name as
 * the client sent it; see snow-owld(8) for the flags and escapes.
 *
 * Pure apart from remap_load() reading the file: the rules are compiled
 * at start-up and applied in the transfer child to one name at a time.
 */
#ifndef SNOW_OWL_REMAP_H
#define SNOW_OWL_REMAP_H

#include <stddef.h>
#include <sys/socket.h>

/* Rule visits and rewrites per request before the rules count as a loop
 * (tftpd-hpa's limit). */
#define REMAP_MAX_STEPS 4096
/* Longest name a rewrite may produce. */
#define REMAP_NAME_MAX 4096

struct remap;

/*
 * Compile the rules in text; name is the file name used in messages.
 * Returns 0 and sets *out (NULL for a file without rules), or -EINVAL
 * with "NAME:LINE: reason" in err (the first bad line), or -ENOMEM.
 */
int remap_parse(const char *text, const char *name, struct remap **out, char *err, size_t errsize);

/* Read and compile the rule file at path; errors as remap_parse, and
 * "PATH: reason" when the file cannot be read. */
int remap_load(const char *path, struct remap **out, char *err, size_t errsize);

void remap_free(struct remap *r);

enum remap_result {
	REMAP_OK,		/* *out is the name to serve */
	REMAP_REFUSED,		/* an 'a' rule matched: *out is its message, or NULL */
	REMAP_LOOP,		/* REMAP_MAX_STEPS passed: refuse */
	REMAP_TOO_LONG,		/* a rewrite grew past REMAP_NAME_MAX: refuse */
	REMAP_NOMEM,
};

/*
 * Map name for a request of type op (OP_RRQ or OP_WRQ) from peer.
 * On REMAP_OK and REMAP_REFUSED, *out is allocated (free() it) or NULL.
 */
enum remap_result remap_apply(const struct remap *r, const char *name, unsigned op,
			      const struct sockaddr *peer, char **out);

#endif
