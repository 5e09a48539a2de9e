/*
 * getput.h - the get and put commands of the snow-owl tool: the local
 * file, the socket, the wait loop and what the user sees.
 */
#ifndef SNOW_OWL_GETPUT_H
#define SNOW_OWL_GETPUT_H

#include <stdbool.h>

#include "client.h"

struct getput_opts {
	struct client_conf conf;	/* conf.file points into uri.file */
	struct client_uri uri;
	const char *local;		/* "-": standard output / input; NULL: get's basename */
	bool quiet;			/* no progress bar */
	bool verbose;			/* a summary line at the end */
};

/* Run one transfer.  Returns the exit status (enum client_status). */
int getput_run(struct getput_opts *o);

#endif
