/*
 * settings.h - the daemon's settings: one table serves the command line,
 * the configuration file (snow-owl.conf) and --print-config.
 *
 * Every setting has a key in the file and the long option of the same
 * name; some have a tftpd-hpa short option too.  The command line
 * overrides the file, whatever the order of --config and the options.
 */
#ifndef SNOW_OWL_SETTINGS_H
#define SNOW_OWL_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "server.h"

/* Everything the table writes: the server's own settings, and those
 * only start-up looks at. */
struct settings {
	struct server_conf srv;
	const char *root;		/* ROOT, or the root key */
	bool foreground, listen;	/* -L, -l */
	bool ipv4, ipv6;		/* -4, -6 */
	bool read_only;
	unsigned verbose;		/* -v, repeatable */
	const char *address[SERVER_LISTEN_MAX];	/* -a, parsed after -4/-6 */
	unsigned naddress;
	const char *remap;		/* -m: rule file */
};

/* What the command line asks for besides settings. */
struct settings_cli {
	const char *config;		/* --config FILE */
	bool check, print, help, version;
	const char *map_test;		/* --map-test NAME */
	const char *map_client;		/* --map-test-client ADDR */
	const char *map_op;		/* --map-test-op RRQ|WRQ */
};

void settings_init(struct settings *s);

/*
 * Set the setting called name (a key or a long option name) from value;
 * an empty value restores the default.  For a flag (a yes/no setting or
 * verbose) value may be NULL: yes, or one more.  Returns 0, -ENOENT for an
 * unknown name, or -EINVAL with the reason in why.
 */
int settings_set(struct settings *s, const char *name, const char *value, char *why, size_t size);

/*
 * Read a configuration file.  Returns 0, or -errno with "FILE:LINE:
 * reason" (or "FILE: reason") in err.
 */
int settings_load(struct settings *s, const char *path, char *err, size_t size);

/*
 * The whole command line: the file given with --config, or the default
 * one if it exists, then the options on top.  Returns 0, or -EINVAL with
 * a message in err (empty when getopt already printed one).
 */
int settings_parse_args(struct settings *s, struct settings_cli *cli, int argc, char **argv,
			char *err, size_t size);

/*
 * Derive the server's settings from the table's: family, uploads, an
 * absolute pid file.  Returns 0 or -EINVAL with the reason in err.
 */
int settings_finish(struct settings *s, char *err, size_t size);

/* Every setting in the file's format, with its help as a comment. */
void settings_print(const struct settings *s, FILE *f);

/* The options part of --help. */
void settings_usage(FILE *f);

/* Strict decimal with an optional K, M or G (binary multiples) suffix,
 * in min..max.  Returns 0, -EINVAL or -ERANGE. */
int settings_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
