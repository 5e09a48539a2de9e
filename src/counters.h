/*
 * counters.h - what the dispatcher counts for STATUS=, the process title
 * and --metrics.  The modules under the dispatcher (listener, admission,
 * pool, child) add to them as things happen; the dispatcher reads them.
 * Plain data: it depends on nothing but metrics.h.
 */
#ifndef SNOW_OWL_COUNTERS_H
#define SNOW_OWL_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"

struct counters {
	struct metrics metrics;		/* by the transfers' reports */
	uint64_t served, failed, dropped_busy;
	uint64_t overflowed;		/* requests lost to a full listening buffer */
	uint64_t rescued;		/* requests taken from a transfer socket */
	uint64_t last_activity_us;	/* a request or a transfer's end (-t) */
	unsigned stalled;		/* transfers the workers call stalled (--pace) */
	bool status_dirty;		/* STATUS= and the title are behind */
};

#endif
