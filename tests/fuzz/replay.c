/*
 * replay.c — runs LLVMFuzzerTestOneInput over saved inputs, so that the
 * fuzz corpus is a regression test under ASan/UBSan without libFuzzer.
 *
 *   fuzz_replay_receipt FILE-OR-FOLDER...
 *
 * Folders are walked recursively in name order (hidden entries skipped) so
 * that runs are reproducible.  Each input is copied into a buffer of
 * exactly its size, so a read one byte too far is caught by ASan.  A crash
 * ends the process; otherwise the summary is printed and the exit status
 * is 0 only if every argument could be read and at least one input ran.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	size_t inputs;
	size_t failed;  /* inputs that could not be read */
};

static void replay_path(struct tally *t, const char *path);

/* Reads the whole file into a new buffer of exactly its size (NULL for an
 * empty file).  0, or -1 with a message on stderr. */
static int
read_all(uint8_t **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;
	int error = -1;

	*out = NULL;
	*len = 0;
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0 || st.st_size < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto done;
	}
	if (st.st_size > 0) {
		if ((buf = malloc((size_t)st.st_size)) == NULL) {
			fprintf(stderr, "%s: out of memory\n", path);
			goto done;
		}
		if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
			fprintf(stderr, "%s: short read\n", path);
			goto done;
		}
	}
	*out = buf;
	*len = (size_t)st.st_size;
	buf = NULL;
	error = 0;
done:
	free(buf);
	fclose(f);
	return error;
}

/* Runs one file through the target. */
static void
replay_file(struct tally *t, const char *path)
{
	uint8_t *data;
	size_t len;

	if (read_all(&data, &len, path) < 0) {
		t->failed++;
		return;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	t->inputs++;
}

/* Skips "." and "..", and other hidden entries such as .gitkeep. */
static int
visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Runs every entry of a folder, in name order. */
static void
replay_dir(struct tally *t, const char *path)
{
	struct dirent **names;
	int n = scandir(path, &names, visible, alphasort);

	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		t->failed++;
		return;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
		char *child = malloc(len);

		if (child == NULL) {
			fprintf(stderr, "%s: out of memory\n", path);
			t->failed++;
		} else {
			snprintf(child, len, "%s/%s", path, names[i]->d_name);
			replay_path(t, child);
			free(child);
		}
		free(names[i]);
	}
	free(names);
}

/* Runs a file, or a folder recursively. */
static void
replay_path(struct tally *t, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		t->failed++;
		return;
	}
	if (S_ISDIR(st.st_mode))
		replay_dir(t, path);
	else
		replay_file(t, path);
}

int
main(int argc, char **argv)
{
	struct tally t = { 0, 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-FOLDER...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		replay_path(&t, argv[i]);
	if (t.inputs == 0 && t.failed == 0) {
		fprintf(stderr, "fuzz replay: no inputs found\n");
		t.failed = 1;
	}
	printf("fuzz replay: %zu inputs, 0 crashes\n", t.inputs);
	printf("%zu passed, %zu failed\n", t.inputs, t.failed);
	return t.failed ? 1 : 0;
}
