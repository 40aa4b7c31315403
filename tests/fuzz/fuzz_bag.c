/*
 * fuzz_bag.c — libFuzzer target for bag intake: the input is written to a
 * temporary file (named .zip when the first byte is odd, else .tar; the
 * readers go by content, the name only mirrors what users hand in) and
 * validated with small limits, so that a bomb costs milliseconds.
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks that the
 * result agrees with the problems reported: 0 with no error reported,
 * CU_EINVALID with at least one, and never any other code.
 *
 * Without libFuzzer, tests/fuzz/replay.c runs the corpus
 * (tests/fuzz/corpus/bag) through the same function in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "custos/bag.h"
#include "custos/error.h"
#include "custos/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	size_t errors;
};

static void
count(const char *bag, const char *file, int warning, const char *message, void *payload)
{
	struct tally *t = payload;

	/* every problem is one printable line */
	if (strchr(message, '\n') != NULL || (file != NULL && strchr(file, '\n') != NULL))
		abort();
	(void)bag;
	if (!warning)
		t->errors++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/custos-fuzz-bag-XXXXXX.tar", zpath[64];
	const char *use = path;
	cu_bag_limits lim = {
		.max_entries = 64, .max_file_bytes = 1 << 20,
		.max_bag_bytes = 4 << 20, .max_ratio = 50,
	};
	cu_bag_info info = { 0 };
	struct tally t = { 0 };
	int fd, rc;

	if ((fd = mkstemps(path, 4)) < 0)
		abort();
	if (cu_write_all(fd, data, size) < 0)
		abort();
	close(fd);
	if (size > 0 && (data[0] & 1)) {
		snprintf(zpath, sizeof(zpath), "%.*s.zip", (int)(strlen(path) - 4), path);
		if (rename(path, zpath) < 0)
			abort();
		use = zpath;
	}
	rc = cu_bag_validate(use, &lim, count, &t, &info);
	if (!((rc == 0 && t.errors == 0) || (rc == CU_EINVALID && t.errors > 0)))
		abort();
	cu_bag_info_clear(&info);
	unlink(use);
	return 0;
}
