/*
 * progress.h - the client's one-line progress bar on a terminal.
 *
 * progress_format() is pure (bytes, size, time in, text out); the rest
 * redraws it on standard error at most ten times a second.
 */
#ifndef SNOW_OWL_PROGRESS_H
#define SNOW_OWL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress {
	bool enabled;		/* standard error is a terminal and not -q */
	bool drawn;		/* a line is on the screen */
	uint64_t start_us, last_us;
};

/* "1023 B", "1.5 KiB", "12.0 MiB"... */
char *progress_size(char *buf, size_t size, double bytes);

/*
 * The line for bytes moved after elapsed_us: size, percent and a bar when
 * total is known, rate, and the time left.  Returns buf.
 */
char *progress_format(char *buf, size_t size, uint64_t bytes, bool total_known, uint64_t total,
		      uint64_t elapsed_us);

void progress_init(struct progress *p, bool enabled, uint64_t now_us);
/* Redraw when due (or always with force). */
void progress_update(struct progress *p, uint64_t bytes, bool total_known, uint64_t total,
		     uint64_t now_us, bool force);
/* Leave the line on the screen and go to the next one. */
void progress_end(struct progress *p);

#endif
