/* test_export.c — cu_archive_export: bags that custos's own validator
 * accepts, the manifests' percent-encoding, refusals that record and write
 * nothing, a damaged object that leaves no bag, the access event, and the
 * writers' lock let go while the bag is written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos/archive.h"
#include "custos/bag.h"
#include "custos/cas.h"
#include "custos/error.h"
#include "custos/util.h"

static char root[64];

#define P1 "11010519491231002X"

static int
group_setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/custos-test-export.XXXXXX");
	return mkdtemp(root) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void
sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if ((rc = system(cmd)) != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static long
commit_count(const char *arch)
{
	char cmd[4200], buf[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "git --git-dir='%s/history.git' rev-list --count main", arch);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(buf, sizeof(buf), p));
	assert_int_equal(pclose(p), 0);
	return strtol(buf, NULL, 10);
}

static char *
slurp(const char *path)
{
	char *text = NULL;
	size_t len;

	if (cu_read_file(&text, &len, path, 1 << 24) < 0)
		fail_msg("%s: %s", path, cu_error_last());
	return text;
}

static void
put(const char *path, const char *text)
{
	if (cu_write_file_durable(path, text, strlen(text), 0644, 0) < 0)
		fail_msg("%s: %s", path, cu_error_last());
}

static mode_t
mode_of_bits(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

/* The ref as the export names files: '-' for '·'. */
static void
dashed(char *out, size_t sz, const char *ref)
{
	const char *dot = strstr(ref, "\xc2\xb7");

	assert_non_null(dot);
	snprintf(out, sz, "%.*s-%s", (int)(dot - ref), ref, dot + 2);
}

/* Files in a folder whose names start with '.' (temporaries). */
static int
hidden_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
ingest_cb(const cu_ingest_result *r, void *payload)
{
	if (r->status == CU_INGEST_REJECTED)
		fail_msg("rejected %s: %s", r->source, r->reason);
	if (payload != NULL && r->ref != NULL)
		snprintf(payload, 128, "%s", r->ref);
	return 0;
}

/* Ingests a path into the archive; ref receives the last ref archived. */
static void
ingest(const char *arch, const char *path, char ref[128])
{
	cu_archive *a = NULL;
	cu_ingest *in = NULL;

	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0), 0);
	assert_int_equal(cu_ingest_begin(&in, a, ingest_cb, ref), 0);
	if (cu_ingest_path(in, path) < 0)
		fail_msg("ingest %s: %s", path, cu_error_last());
	assert_int_equal(cu_ingest_finish(in, NULL), 0);
	cu_archive_free(a);
}

/* An archive with one receipt (whose ref is returned) and one case whose
 * files have names that need percent-encoding and a loose object. */
static void
fixture(char arch[256], char rref[128], char cref[128])
{
	static int n;
	cu_archive_init_opts o = { "test.custos/SI01", "SI01", NULL };
	char in[300], p[400], *big;

	snprintf(arch, 256, "%s/a%d", root, ++n);
	assert_int_equal(cu_archive_init(arch, &o), 0);
	snprintf(in, sizeof(in), "%s/in%d", root, n);
	sh("mkdir -p '%s/bag/data/scans' '%s/bag/data/forms'", in, in);
	snprintf(p, sizeof(p), "%s/r.json", in);
	put(p, "{\"type\":\"receipt\",\"receipt_no\":\"R-1\",\"issued_at\":\"2026-11-20T09:31:00+08:00\","
		"\"agency\":\"110105\",\"channel\":\"window\",\"service\":\"registration\","
		"\"insurance\":\"pension\",\"subject\":{\"kind\":\"person\",\"id_no\":\"" P1 "\","
		"\"name\":\"张三\"},\"operator\":\"op-1\",\"summary\":\"参保登记\"}\n");
	ingest(arch, p, rref);
	snprintf(p, sizeof(p), "%s/bag/bagit.txt", in);
	put(p, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	snprintf(p, sizeof(p), "%s/bag/bag-info.txt", in);
	put(p, "External-Identifier: GS-1\nCase-Type: work_injury_determination\n"
		"Subject-Id: " P1 "\nTitle: t\n");
	snprintf(p, sizeof(p), "%s/bag/data/forms/100%% done.txt", in);
	put(p, "form\n");
	snprintf(p, sizeof(p), "%s/bag/data/forms/申请表.txt", in);
	put(p, "申请\n");
	/* above the pack threshold: a loose object */
	assert_non_null(big = calloc(1, 70001));
	memset(big, 'x', 70000);
	snprintf(p, sizeof(p), "%s/bag/data/scans/scan.bin", in);
	put(p, big);
	free(big);
	sh("cd '%s/bag' && sha256sum data/scans/scan.bin > manifest-sha256.txt && "
		"printf '%%s  data/forms/100%%%%25 done.txt\\n' \"$(sha256sum 'data/forms/100%% done.txt' "
		"| cut -c1-64)\" >> manifest-sha256.txt && sha256sum data/forms/申请表.txt >> "
		"manifest-sha256.txt", in);
	snprintf(p, sizeof(p), "%s/bag", in);
	ingest(arch, p, cref);
}

static cu_archive *
open_w(const char *arch)
{
	cu_archive *a = NULL;

	if (cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0) != 0)
		fail_msg("open %s: %s", arch, cu_error_last());
	return a;
}

static int
export(const char *arch, const char *key, const cu_search_query *q, const char *out,
	cu_export_result *r)
{
	cu_archive *a = open_w(arch);
	cu_export_opts o = { "test", q };
	int error = cu_archive_export(a, key, out, &o, r);

	cu_archive_free(a);
	return error;
}

static void
test_receipt_folder(void **state)
{
	char arch[256], rref[128], cref[128], out[400], p[1024], rd[128], *m, *text;
	cu_export_result r;
	cu_bag_info info = { 0 };
	long c0;

	(void)state;
	fixture(arch, rref, cref);
	c0 = commit_count(arch);
	snprintf(out, sizeof(out), "%s/receipt-bag", root);
	assert_int_equal(export(arch, rref, NULL, out, &r), 0);
	assert_int_equal(r.records, 1);
	assert_int_equal(r.documents, 1);
	assert_int_equal(r.payload_files, 1);
	assert_string_equal(r.format, "folder");
	assert_int_equal(strlen(r.event_id), 64);
	assert_int_equal(commit_count(arch), c0 + 1);
	assert_int_equal(cu_bag_validate(out, NULL, NULL, NULL, &info), 0);
	assert_string_equal(info.version, "1.0");
	assert_int_equal(info.payload_files, 1);
	assert_int_equal(info.payload_bytes, r.payload_bytes);
	cu_bag_info_clear(&info);
	/* the content, byte for byte */
	dashed(rd, sizeof(rd), rref);
	snprintf(p, sizeof(p), "%s/data/%s.json", out, rd);
	text = slurp(p);
	assert_non_null(strstr(text, "\"summary\":\"参保登记\"}\n"));
	free(text);
	/* SHA-256 and SHA-512 manifests, tag manifests that list the tag files
	 * and not themselves */
	snprintf(p, sizeof(p), "%s/manifest-sha512.txt", out);
	m = slurp(p);
	assert_int_equal(strlen(m), 128 + 2 + strlen("data/.json") + strlen(rd) + 1);
	free(m);
	snprintf(p, sizeof(p), "%s/tagmanifest-sha256.txt", out);
	m = slurp(p);
	assert_non_null(strstr(m, "  bag-info.txt\n"));
	assert_non_null(strstr(m, "  manifest-sha512.txt\n"));
	assert_non_null(strstr(m, "  custos/checkpoint\n"));
	snprintf(p, sizeof(p), "  custos/proofs/%s.proof\n", rd);
	assert_non_null(strstr(m, p));
	assert_null(strstr(m, "tagmanifest"));
	assert_null(strstr(m, "  data/"));
	free(m);
	assert_int_equal(hidden_files(root), 0);
}

static void
test_case_percent_encoding_and_formats(void **state)
{
	static const char *const suffixes[] = { ".tar", ".tar.zst", ".tar.gz", ".tar.xz", ".zip" };
	char arch[256], rref[128], cref[128], out[400], p[500], *m;
	cu_export_result r;
	cu_bag_info info = { 0 };

	(void)state;
	fixture(arch, rref, cref);
	snprintf(out, sizeof(out), "%s/case-bag", root);
	assert_int_equal(export(arch, cref, NULL, out, &r), 0);
	assert_int_equal(r.payload_files, 3);
	assert_int_equal(r.payload_bytes, 70012);
	snprintf(p, sizeof(p), "%s/manifest-sha256.txt", out);
	m = slurp(p);
	assert_non_null(strstr(m, "  data/forms/100%25 done.txt\n"));
	assert_non_null(strstr(m, "  data/scans/scan.bin\n"));
	free(m);
	snprintf(p, sizeof(p), "%s/data/forms/100%% done.txt", out);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/bag-info.txt", out);
	m = slurp(p);
	assert_non_null(strstr(m, "External-Identifier: GS-1\n"));
	assert_non_null(strstr(m, "Case-Type: work_injury_determination\n"));
	assert_non_null(strstr(m, "Subject-Id: " P1 "\n"));
	assert_non_null(strstr(m, "Payload-Oxum: 70012.3\n"));
	free(m);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		snprintf(out, sizeof(out), "%s/case%s", root, suffixes[i]);
		assert_int_equal(export(arch, cref, NULL, out, &r), 0);
		assert_string_equal(r.format, suffixes[i] + 1);
		if (cu_bag_validate(out, NULL, NULL, NULL, &info) != 0)
			fail_msg("%s: %s", out, cu_error_last());
		/* names in UTF-8 (pax headers; the zip's UTF-8 flag), read back
		 * whatever the process's locale */
		assert_int_equal(info.payload_files, 3);
		assert_int_equal(info.payload_bytes, 70012);
		cu_bag_info_clear(&info);
		assert_int_equal(mode_of_bits(out), 0600);
	}
	assert_int_equal(hidden_files(root), 0);
}

static void
test_refusals_record_nothing(void **state)
{
	char arch[256], rref[128], cref[128], out[400];
	cu_search_query q;
	cu_export_result r;
	cu_archive *a;
	long c0;

	(void)state;
	fixture(arch, rref, cref);
	c0 = commit_count(arch);
	snprintf(out, sizeof(out), "%s/exists.zip", root);
	put(out, "mine");
	assert_int_equal(export(arch, rref, NULL, out, &r), CU_EEXISTS);
	assert_non_null(strstr(cu_error_last(), "already exists"));
	{
		char *t = slurp(out);
		assert_string_equal(t, "mine");
		free(t);
	}
	snprintf(out, sizeof(out), "%s/x.tgz", root);
	assert_int_equal(export(arch, rref, NULL, out, &r), CU_EINVALID);
	snprintf(out, sizeof(out), "%s/no/such/folder.tar", root);
	assert_int_equal(export(arch, rref, NULL, out, &r), CU_EINVALID);
	snprintf(out, sizeof(out), "%s/none.tar", root);
	assert_int_equal(export(arch, "SI01-SB-2026-D100-DJ-000777", NULL, out, &r), CU_ENOTFOUND);
	memset(&q, 0, sizeof(q));
	q.text = "没有";
	assert_int_equal(export(arch, NULL, &q, out, &r), CU_ENOTFOUND);
	assert_int_equal(export(arch, rref, &q, out, &r), CU_EINVALID);
	q.text = NULL;
	q.person = "110105194912310021";
	assert_int_equal(export(arch, NULL, &q, out, &r), CU_EINVALID);
	/* a reader may not export: the export must be recorded */
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_READ, 0), 0);
	{
		cu_export_opts o = { NULL, NULL };
		assert_int_equal(cu_archive_export(a, rref, out, &o, &r), CU_EINVALID);
	}
	cu_archive_free(a);
	assert_int_equal(commit_count(arch), c0);
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(hidden_files(root), 0);
}

static void
test_search_exports_every_hit(void **state)
{
	char arch[256], rref[128], cref[128], out[400], p[1024], rd[128], cd[128];
	cu_search_query q;
	cu_export_result r;

	(void)state;
	fixture(arch, rref, cref);
	memset(&q, 0, sizeof(q));
	q.person = P1;
	snprintf(out, sizeof(out), "%s/search-bag", root);
	assert_int_equal(export(arch, NULL, &q, out, &r), 0);
	assert_int_equal(r.records, 2);
	assert_int_equal(r.payload_files, 4);
	assert_int_equal(cu_bag_validate(out, NULL, NULL, NULL, NULL), 0);
	dashed(rd, sizeof(rd), rref);
	dashed(cd, sizeof(cd), cref);
	snprintf(p, sizeof(p), "%s/data/%s/%s.json", out, rd, rd);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/data/%s/scans/scan.bin", out, cd);
	assert_int_equal(access(p, F_OK), 0);
}

/* A damaged loose object is found while it is copied: no bag, no
 * temporary, the error names the object. */
static void
test_damaged_object_leaves_no_bag(void **state)
{
	char arch[256], rref[128], cref[128], out[400], obj[4400], hex[65];
	unsigned char d[32];
	char *big;
	cu_export_result r;
	FILE *f;

	(void)state;
	fixture(arch, rref, cref);
	assert_non_null(big = calloc(1, 70001));
	memset(big, 'x', 70000);
	assert_int_equal(cu_sha256(d, big, 70000), 0);
	free(big);
	cu_hex(hex, d, 32);
	snprintf(obj, sizeof(obj), "%s/objects/sha256/%.2s/%s", arch, hex, hex + 2);
	assert_int_equal(chmod(obj, 0644), 0);
	assert_non_null(f = fopen(obj, "r+"));
	assert_int_equal(fseek(f, 100, SEEK_SET), 0);
	assert_int_equal(fputc('y', f), 'y');
	assert_int_equal(fclose(f), 0);
	snprintf(out, sizeof(out), "%s/damaged.tar", root);
	assert_int_equal(export(arch, cref, NULL, out, &r), CU_ERROR);
	assert_non_null(strstr(cu_error_last(), hex));
	assert_non_null(strstr(cu_error_last(), "does not match its name"));
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(hidden_files(root), 0);
	/* the object went missing instead: found before anything is recorded */
	{
		long c0 = commit_count(arch);
		assert_int_equal(unlink(obj), 0);
		assert_int_equal(export(arch, cref, NULL, out, &r), CU_ERROR);
		assert_non_null(strstr(cu_error_last(), "is missing"));
		assert_int_equal(commit_count(arch), c0);
	}
}

/* Once the event is committed the exporter is a reader: another writer
 * gets the lock at once. */
static void
test_lock_released(void **state)
{
	char arch[256], rref[128], cref[128], out[400];
	cu_export_opts o = { NULL, NULL };
	cu_export_result r;
	cu_archive *a, *b = NULL;

	(void)state;
	fixture(arch, rref, cref);
	a = open_w(arch);
	snprintf(out, sizeof(out), "%s/lock-bag.zip", root);
	assert_int_equal(cu_archive_export(a, rref, out, &o, &r), 0);
	assert_int_equal(cu_archive_open(&b, arch, CU_ARCHIVE_WRITE, 0), 0);
	cu_archive_free(b);
	cu_archive_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_receipt_folder),
		cmocka_unit_test(test_case_percent_encoding_and_formats),
		cmocka_unit_test(test_refusals_record_nothing),
		cmocka_unit_test(test_search_exports_every_hit),
		cmocka_unit_test(test_damaged_object_leaves_no_bag),
		cmocka_unit_test(test_lock_released),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
