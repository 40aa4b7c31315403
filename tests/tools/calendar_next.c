/* calendar_next.c — the next times of calendar expressions, as
 * `systemd-analyze calendar --iterations=N --base-time=@BASE` prints them (in
 * the local time of TZ), for tests/e2e/calendar.sh.
 *   calendar_next BASE N EXPR...   one block of N lines per expression */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "custos/calendar.h"
#include "custos/error.h"

int
main(int argc, char **argv)
{
	cu_calendar c;
	int64_t t;
	int n;

	if (argc < 4) {
		fprintf(stderr, "usage: calendar_next BASE N EXPR...\n");
		return 2;
	}
	n = atoi(argv[2]);
	for (int a = 3; a < argc; a++) {
		t = strtoll(argv[1], NULL, 10);
		if (cu_calendar_parse(&c, argv[a]) < 0) {
			fprintf(stderr, "calendar_next: %s\n", cu_error_last());
			return 1;
		}
		for (int i = 0; i < n; i++) {
			char buf[64];
			time_t tt;
			struct tm tm;
			int error = cu_calendar_next(&t, &c, t);
			if (error == CU_ENOTFOUND) {
				if (i == 0)
					printf("never\n");
				break;
			}
			if (error < 0) {
				fprintf(stderr, "calendar_next: %s\n", cu_error_last());
				return 1;
			}
			tt = (time_t)t;
			localtime_r(&tt, &tm);
			strftime(buf, sizeof(buf), "%a %Y-%m-%d %H:%M:%S %Z", &tm);
			printf("%s\n", buf);
		}
	}
	return 0;
}
