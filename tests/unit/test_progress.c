/* Unit tests for src/progress.c: the text of the progress line. */
#include "config.h"

#include "progress.h"
#include "tap.h"

int main(void)
{
	char buf[128];

	is_str(progress_size(buf, sizeof(buf), 0), "0 B", "0 bytes");
	is_str(progress_size(buf, sizeof(buf), 1023), "1023 B", "1023 bytes");
	is_str(progress_size(buf, sizeof(buf), 1536), "1.5 KiB", "1.5 KiB");
	is_str(progress_size(buf, sizeof(buf), 10 << 20), "10.0 MiB", "10 MiB");
	is_str(progress_size(buf, sizeof(buf), 3.0 * (1ull << 40)), "3.0 TiB", "3 TiB");

	is_str(progress_format(buf, sizeof(buf), 1 << 20, true, 4 << 20, 1000000),
	       "[#####               ]  25%  1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 0:03",
	       "a quarter after a second: 3 s to go");
	is_str(progress_format(buf, sizeof(buf), 4 << 20, true, 4 << 20, 2000000),
	       "[####################] 100%  4.0 MiB / 4.0 MiB  2.0 MiB/s  ETA 0:00", "complete");
	is_str(progress_format(buf, sizeof(buf), 0, true, 4 << 20, 0),
	       "[                    ]   0%  0 B / 4.0 MiB  0 B/s  ETA --:--", "nothing yet: no ETA");
	is_str(progress_format(buf, sizeof(buf), 0, true, 0, 5000),
	       "[####################] 100%  0 B / 0 B  0 B/s  ETA 0:00", "an empty file is complete");
	is_str(progress_format(buf, sizeof(buf), 5 << 20, true, 4 << 20, 1000000),
	       "[####################] 100%  5.0 MiB / 4.0 MiB  5.0 MiB/s  ETA 0:00",
	       "more than announced stays at 100%");
	is_str(progress_format(buf, sizeof(buf), 3 << 10, false, 0, 1000000), "3.0 KiB  3.0 KiB/s",
	       "size unknown: bytes and rate only");
	is_str(progress_format(buf, sizeof(buf), 1, true, 1000000, 1000000),
	       "[                    ]   0%  1 B / 976.6 KiB  1 B/s  ETA --:--", "an ETA beyond 100 hours is not shown");
	return tap_done();
}
