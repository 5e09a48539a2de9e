/*
 * progress.c - progress bar: text in progress_format(), drawing here.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

#define REDRAW_US 100000
#define BAR_WIDTH 20

char *progress_size(char *buf, size_t size, double bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%.0f B", bytes);
		return buf;
	}
	bytes /= 1024;
	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", bytes, units[u]);
	return buf;
}

char *progress_format(char *buf, size_t size, uint64_t bytes, bool total_known, uint64_t total,
		      uint64_t elapsed_us)
{
	char done[16], all[16], rate[16], eta[16] = "--:--";
	double secs = (double)elapsed_us / 1e6;
	double bps = secs > 0 ? (double)bytes / secs : 0;

	progress_size(done, sizeof(done), (double)bytes);
	progress_size(rate, sizeof(rate), bps);
	if (!total_known) {
		snprintf(buf, size, "%s  %s/s", done, rate);
		return buf;
	}
	unsigned pct = total ? (unsigned)(bytes >= total ? 100 : bytes * 100 / total) : 100;
	char bar[BAR_WIDTH + 1];
	unsigned fill = pct * BAR_WIDTH / 100;

	memset(bar, '#', fill);
	memset(bar + fill, ' ', BAR_WIDTH - fill);
	bar[BAR_WIDTH] = '\0';
	if (bytes >= total) {
		snprintf(eta, sizeof(eta), "0:00");
	} else if (bps > 0) {
		uint64_t left = (uint64_t)((double)(total - bytes) / bps + 0.5);

		if (left < 360000)
			snprintf(eta, sizeof(eta), "%" PRIu64 ":%02" PRIu64, left / 60, left % 60);
	}
	progress_size(all, sizeof(all), (double)total);
	snprintf(buf, size, "[%s] %3u%%  %s / %s  %s/s  ETA %s", bar, pct, done, all, rate, eta);
	return buf;
}

void progress_init(struct progress *p, bool enabled, uint64_t now)
{
	p->enabled = enabled;
	p->drawn = false;
	p->start_us = now;
	p->last_us = 0;
}

void progress_update(struct progress *p, uint64_t bytes, bool total_known, uint64_t total,
		     uint64_t now, bool force)
{
	char line[128];

	if (!p->enabled || (!force && p->drawn && now - p->last_us < REDRAW_US))
		return;
	progress_format(line, sizeof(line), bytes, total_known, total, now - p->start_us);
	/* Back to the start of the line, then clear what the last one left. */
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	p->drawn = true;
	p->last_us = now;
}

void progress_end(struct progress *p)
{
	if (p->enabled && p->drawn)
		fputc('\n', stderr);
	p->drawn = false;
}
