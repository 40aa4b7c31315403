/* test_bag.c — BagIt validation of folders and archives (src/bag.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "custos/bag.h"
#include "custos/error.h"
#include "custos/util.h"

static char tmpdir[] = "/tmp/custos-test-bag-XXXXXX";

#include "tbag.h"

/* ---- collecting problems ------------------------------------------------ */

struct report {
	char lines[256][512];
	size_t n, errors, warnings;
};

static void
collect(const char *bag, const char *file, int warning, const char *message, void *payload)
{
	struct report *r = payload;

	(void)bag;
	if (warning)
		r->warnings++;
	else
		r->errors++;
	if (r->n < 256)
		snprintf(r->lines[r->n++], sizeof(r->lines[0]), "%s%s: %s",
			warning ? "warning: " : "", file ? file : "-", message);
}

static void
show(const struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		print_message("  problem: %s\n", r->lines[i]);
}

/* Asserts that a problem "FILE: …needle…" was reported. */
static void
expect_problem(const struct report *r, const char *file, const char *needle)
{
	char head[300];

	snprintf(head, sizeof(head), "%s: ", file);
	for (size_t i = 0; i < r->n; i++)
		if (strncmp(r->lines[i], head, strlen(head)) == 0 && strstr(r->lines[i], needle))
			return;
	show(r);
	fail_msg("no problem \"%s...%s\"", head, needle);
}

static int
run(const char *path, const cu_bag_limits *lim, struct report *r)
{
	memset(r, 0, sizeof(*r));
	return cu_bag_validate(path, lim, collect, r, NULL);
}

/* Validates and asserts CU_EINVALID with a problem naming file. */
static void
expect_invalid(const char *path, const cu_bag_limits *lim, const char *file, const char *needle)
{
	struct report r;
	int rc = run(path, lim, &r);

	if (rc != CU_EINVALID) {
		show(&r);
		fail_msg("%s: expected CU_EINVALID, got %d (%s)", path, rc, cu_error_last());
	}
	assert_true(r.errors > 0);
	expect_problem(&r, file, needle);
}

static void
expect_valid(const char *path)
{
	struct report r;
	int rc = run(path, NULL, &r);

	if (rc != 0 || r.errors != 0) {
		show(&r);
		fail_msg("%s: expected a valid bag, got %d (%s)", path, rc, cu_error_last());
	}
}

/* Each problem reported at most once. */
static void
expect_no_repeats(const struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		for (size_t j = i + 1; j < r->n; j++)
			if (strcmp(r->lines[i], r->lines[j]) == 0)
				fail_msg("reported twice: %s", r->lines[i]);
}

/* ---- valid bags ---------------------------------------------------------- */

static void
test_valid_everywhere(void **state)
{
	struct tbag *b = valid_bag();
	char *p;
	cu_bag_info info = { 0 };
	struct report r;
	json_t *v;

	(void)state;
	p = write_dir(b, "valid");
	expect_valid(p);
	memset(&r, 0, sizeof(r));
	assert_int_equal(cu_bag_validate(p, NULL, collect, &r, &info), 0);
	assert_string_equal(info.version, "1.0");
	assert_string_equal(info.encoding, "UTF-8");
	assert_int_equal(info.payload_files, 2);
	assert_int_equal(info.payload_bytes, 9);
	v = json_object_get(info.bag_info, "Source-Organization");
	assert_string_equal(json_string_value(json_array_get(v, 0)), "Test Bureau");
	v = json_object_get(info.bag_info, "External-Identifier");
	assert_string_equal(json_string_value(json_array_get(v, 0)), "CASE-1");
	cu_bag_info_clear(&info);
	assert_null(info.bag_info);
	free(p);
	p = write_arc(b, "valid.tar", F_TAR, "bag/");
	expect_valid(p);
	free(p);
	p = write_arc(b, "valid.tar.gz", F_TGZ, "bag/");
	expect_valid(p);
	free(p);
	p = write_arc(b, "valid.zip", F_ZIP, "");
	expect_valid(p);
	free(p);
	/* nothing on disk but what the test wrote */
	tbag_free(b);
}

static void
test_percent_encoded_name(void **state)
{
	struct tbag *b = calloc(1, sizeof(*b));
	struct file *m;
	char *p;

	(void)state;
	assert_non_null(b);
	puts_(b, "data/a%b", "percent", 0);
	tags(b);
	tagmanifest(b);
	assert_non_null(m = lookup(b, "manifest-sha256.txt"));
	assert_non_null(strstr(m->data, "  data/a%25b\n"));
	p = write_dir(b, "percent");
	expect_valid(p);
	free(p);
	p = write_arc(b, "percent.tar", F_TAR, "bag/");
	expect_valid(p);
	free(p);
	/* listed undecoded, it names a file that does not exist */
	puts_(b, "manifest-md5.txt", "00000000000000000000000000000000  data/a%2525b\n", 1);
	p = write_dir(b, "percent-bad");
	expect_invalid(p, NULL, "data/a%25b", "missing");
	free(p);
	tbag_free(b);
}

static void
test_case_only_difference_is_a_warning(void **state)
{
	struct tbag *b = calloc(1, sizeof(*b));
	struct report r;
	char *p;

	(void)state;
	assert_non_null(b);
	puts_(b, "data/A.txt", "upper", 0);
	puts_(b, "data/a.txt", "lower", 0);
	tags(b);
	tagmanifest(b);
	p = write_arc(b, "case.tar", F_TAR, "bag/");
	assert_int_equal(run(p, NULL, &r), 0);
	assert_int_equal(r.warnings, 1);
	assert_int_equal(r.errors, 0);
	assert_non_null(strstr(r.lines[0], "differs only by case"));
	free(p);
	tbag_free(b);
}

/* ---- incomplete or invalid bags ----------------------------------------- */

static void
test_wrong_checksum(void **state)
{
	struct tbag *b = valid_bag();
	struct report r;
	char *p;

	(void)state;
	puts_(b, "data/a.txt", "hellO\n", 1);
	p = write_dir(b, "wrongsum");
	expect_invalid(p, NULL, "data/a.txt", "sha256 checksum does not match manifest-sha256.txt");
	expect_invalid(p, NULL, "data/a.txt", "md5 checksum does not match");
	assert_int_equal(run(p, NULL, &r), CU_EINVALID);
	assert_int_equal(r.errors, 3);  /* one per manifest, nothing else */
	expect_no_repeats(&r);
	free(p);
	p = write_arc(b, "wrongsum.zip", F_ZIP, "");
	expect_invalid(p, NULL, "data/a.txt", "sha512 checksum does not match");
	free(p);
	tbag_free(b);
}

static void
test_missing_file(void **state)
{
	struct tbag *b = valid_bag();
	char *p;

	(void)state;
	drop(b, "data/sub/b.bin");
	p = write_dir(b, "missing");
	expect_invalid(p, NULL, "data/sub/b.bin", "listed in manifest-sha256.txt but missing");
	free(p);
	p = write_arc(b, "missing.tar.gz", F_TGZ, "bag/");
	expect_invalid(p, NULL, "data/sub/b.bin", "listed in manifest-md5.txt but missing");
	free(p);
	tbag_free(b);
}

static void
test_unlisted_file(void **state)
{
	struct tbag *b = valid_bag();
	char *p;

	(void)state;
	puts_(b, "data/extra", "stowaway", 0);
	p = write_dir(b, "unlisted");
	expect_invalid(p, NULL, "data/extra", "not listed in manifest-sha512.txt");
	free(p);
	tbag_free(b);
}

static void
test_listed_twice(void **state)
{
	struct tbag *b = valid_bag();
	struct file *m;
	char *text, *p;

	(void)state;
	assert_non_null(m = lookup(b, "manifest-sha256.txt"));
	text = cu_asprintf("%s%s", m->data, m->data);
	assert_non_null(text);
	puts_(b, "manifest-sha256.txt", text, 1);
	free(text);
	tagmanifest(b);
	p = write_dir(b, "twice");
	expect_invalid(p, NULL, "data/a.txt", "listed more than once in manifest-sha256.txt");
	free(p);
	tbag_free(b);
}

static void
test_bad_bagit_txt(void **state)
{
	struct tbag *b = valid_bag();
	char *p;

	(void)state;
	puts_(b, "bagit.txt", "\xef\xbb\xbf" "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", 1);
	tagmanifest(b);
	p = write_dir(b, "bom");
	expect_invalid(p, NULL, "bagit.txt", "byte order mark");
	free(p);
	puts_(b, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nExtra: 1\n", 1);
	tagmanifest(b);
	p = write_dir(b, "three");
	expect_invalid(p, NULL, "bagit.txt", "has 3 lines, not exactly 2");
	free(p);
	puts_(b, "bagit.txt", "BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n", 1);
	tagmanifest(b);
	p = write_dir(b, "v2");
	expect_invalid(p, NULL, "bagit.txt", "version 2.0 not supported");
	free(p);
	tbag_free(b);
}

static void
test_fetch_txt_refused(void **state)
{
	struct tbag *b = valid_bag();
	char *p;

	(void)state;
	puts_(b, "fetch.txt", "https://example.org/x 5 data/x\n", 0);
	p = write_dir(b, "fetch");
	expect_invalid(p, NULL, "fetch.txt", "custos fetches nothing from the network");
	free(p);
	tbag_free(b);
}

static void
test_payload_oxum_mismatch(void **state)
{
	struct tbag *b = valid_bag();
	char *p;

	(void)state;
	puts_(b, "bag-info.txt", "External-Identifier: CASE-1\nPayload-Oxum: 10.2\n", 1);
	tagmanifest(b);
	p = write_dir(b, "oxum");
	expect_invalid(p, NULL, "bag-info.txt", "Payload-Oxum 10.2 does not match the payload (9.2)");
	free(p);
	tbag_free(b);
}

static void
test_tag_manifest_mismatch(void **state)
{
	struct tbag *b = valid_bag();
	struct report r;
	char *p;

	(void)state;
	puts_(b, "bag-info.txt", "External-Identifier: CASE-2\nPayload-Oxum: 9.2\n", 1);
	p = write_arc(b, "tagmf.tar", F_TAR, "bag/");
	expect_invalid(p, NULL, "bag-info.txt", "sha256 checksum does not match tagmanifest-sha256.txt");
	assert_int_equal(run(p, NULL, &r), CU_EINVALID);
	assert_int_equal(r.errors, 1);
	free(p);
	/* a tag manifest must not list a tag manifest */
	puts_(b, "tagmanifest-md5.txt", "00000000000000000000000000000000  tagmanifest-sha256.txt\n", 0);
	p = write_dir(b, "tagmf2");
	expect_invalid(p, NULL, "tagmanifest-md5.txt", "lists the tag manifest");
	free(p);
	tbag_free(b);
}

/* ---- hostile archives --------------------------------------------------- */

static void
test_absolute_and_dotdot(void **state)
{
	struct tbag *b = valid_bag();
	char *p;

	(void)state;
	puts_(b, "/etc/evil", "x", 0);
	puts_(b, "../escape", "x", 0);
	p = write_arc(b, "evil.tar", F_TAR, "bag/");
	expect_invalid(p, NULL, "/etc/evil", "absolute path");
	expect_invalid(p, NULL, "../escape", "\"..\" in path");
	free(p);
	tbag_free(b);
}

static void
test_symlink_entry(void **state)
{
	struct tbag *b = valid_bag();
	char *p;

	(void)state;
	puts_(b, "data/link", "/etc/passwd", 0);
	b->f[b->n - 1].kind = K_SYMLINK;
	p = write_arc(b, "link.tar", F_TAR, "bag/");
	expect_invalid(p, NULL, "bag/data/link", "symbolic link entry refused");
	free(p);
	p = write_dir(b, "link");
	expect_invalid(p, NULL, "data/link", "symbolic link refused");
	free(p);
	tbag_free(b);
}

static void
test_duplicate_entries(void **state)
{
	struct tbag *b = valid_bag();
	struct report r;
	char *p;

	(void)state;
	puts_(b, "data/a.txt", "hello\n", 0);  /* a second entry of the same name */
	p = write_arc(b, "dup.tar", F_TAR, "bag/");
	expect_invalid(p, NULL, "data/a.txt", "duplicate entry name");
	assert_int_equal(run(p, NULL, &r), CU_EINVALID);
	expect_no_repeats(&r);
	free(p);
	tbag_free(b);
}

static void
test_too_many_entries(void **state)
{
	struct tbag *b = valid_bag();
	cu_bag_limits lim = cu_bag_limits_default();
	char *p;

	(void)state;
	p = write_arc(b, "many.tar", F_TAR, "bag/");
	lim.max_entries = 3;
	expect_invalid(p, &lim, "-", "more than 3 entries");
	lim.max_entries = 100;
	assert_int_equal(cu_bag_validate(p, &lim, NULL, NULL, NULL), 0);
	free(p);
	tbag_free(b);
}

static void
test_file_too_large(void **state)
{
	struct tbag *b = valid_bag();
	cu_bag_limits lim = cu_bag_limits_default();
	char *p;

	(void)state;
	lim.max_file_bytes = 5;
	p = write_arc(b, "large.tar", F_TAR, "bag/");
	expect_invalid(p, &lim, "bag/data/a.txt", "larger than the limit of 5 bytes");
	free(p);
	p = write_dir(b, "large");
	expect_invalid(p, &lim, "data/a.txt", "larger than the limit of 5 bytes");
	free(p);
	lim = cu_bag_limits_default();
	lim.max_bag_bytes = 100;
	p = write_arc(b, "bagbig.zip", F_ZIP, "");
	expect_invalid(p, &lim, "-", "larger than the limit of 100 bytes");
	free(p);
	tbag_free(b);
}

/* The same compressible payload passes when the ratio allows it, so the
 * limited test below fails for the ratio and nothing else. */
static void
test_ratio_within_limit(void **state)
{
	struct tbag *b = calloc(1, sizeof(*b));
	cu_bag_limits lim = cu_bag_limits_default();
	size_t big = 10u << 20;
	char *zeros = calloc(1, big), *p;

	(void)state;
	assert_non_null(b);
	assert_non_null(zeros);
	put(b, "data/zeros", zeros, big, 0);
	free(zeros);
	tags(b);
	tagmanifest(b);
	p = write_arc(b, "bomb.tar.gz", F_TGZ, "bag/");
	lim.max_ratio = 100000;
	assert_int_equal(cu_bag_validate(p, &lim, NULL, NULL, NULL), 0);
	lim.max_ratio = 200;
	expect_invalid(p, &lim, "-", "expands more than 200 times");
	free(p);
	tbag_free(b);
}

static void
test_zip_bomb_ratio_limited(void **state)
{
	struct tbag *b = calloc(1, sizeof(*b));
	cu_bag_limits lim = cu_bag_limits_default();
	size_t big = 10u << 20;
	char *zeros = calloc(1, big), *p;

	(void)state;
	assert_non_null(b);
	assert_non_null(zeros);
	put(b, "data/zeros", zeros, big, 0);
	free(zeros);
	tags(b);
	tagmanifest(b);
	p = write_arc(b, "bomb10.tar.gz", F_TGZ, "bag/");
	lim.max_ratio = 10;
	expect_invalid(p, &lim, "-", "expands more than 10 times");
	free(p);
	tbag_free(b);
}

static void
test_truncated_archive(void **state)
{
	struct tbag *b = calloc(1, sizeof(*b));
	size_t len = 256u << 10;
	unsigned char *noise = malloc(len);
	uint32_t x = 12345;
	struct stat st;
	char *p;

	(void)state;
	assert_non_null(b);
	assert_non_null(noise);
	/* incompressible, so that half the file ends inside the stream */
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (unsigned char)(x >> 24);
	}
	put(b, "data/noise", noise, len, 0);
	free(noise);
	tags(b);
	tagmanifest(b);
	p = write_arc(b, "trunc.tar.gz", F_TGZ, "bag/");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(truncate(p, st.st_size / 2), 0);
	expect_invalid(p, NULL, "-", "corrupt or truncated archive");
	free(p);
	p = tpath("garbage.tar");
	{
		FILE *f = fopen(p, "wb");
		assert_non_null(f);
		fputs("this is not an archive at all, just some words", f);
		fclose(f);
	}
	expect_invalid(p, NULL, "-", "not a readable tar or zip archive");
	free(p);
	tbag_free(b);
}

static void
test_no_such_path(void **state)
{
	char *p = tpath("does-not-exist");

	(void)state;
	assert_int_equal(cu_bag_validate(p, NULL, NULL, NULL, NULL), CU_ENOTFOUND);
	free(p);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_rf(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_everywhere),
		cmocka_unit_test(test_percent_encoded_name),
		cmocka_unit_test(test_case_only_difference_is_a_warning),
		cmocka_unit_test(test_wrong_checksum),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unlisted_file),
		cmocka_unit_test(test_listed_twice),
		cmocka_unit_test(test_bad_bagit_txt),
		cmocka_unit_test(test_fetch_txt_refused),
		cmocka_unit_test(test_payload_oxum_mismatch),
		cmocka_unit_test(test_tag_manifest_mismatch),
		cmocka_unit_test(test_absolute_and_dotdot),
		cmocka_unit_test(test_symlink_entry),
		cmocka_unit_test(test_duplicate_entries),
		cmocka_unit_test(test_too_many_entries),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_ratio_within_limit),
		cmocka_unit_test(test_zip_bomb_ratio_limited),
		cmocka_unit_test(test_truncated_archive),
		cmocka_unit_test(test_no_such_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
