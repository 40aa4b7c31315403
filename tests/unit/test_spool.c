/* test_spool.c — the spool intake on a real archive in a temporary folder:
 * accepted and rejected files and their companions, partial and hidden
 * names, bag folders without and with the marker, name collisions,
 * removal, the size limit, and what a killed pass leaves (src/spool.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos/archive.h"
#include "custos/error.h"
#include "custos/spool.h"
#include "custos/util.h"

static char tmpdir[] = "/tmp/custos-test-spool-XXXXXX";

#include "tbag.h"

#define ID "11010519491231002X"

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
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
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

struct seen {
	char lines[32][512];
	size_t n;
};

static int
record_entry(const cu_spool_entry *e, void *payload)
{
	struct seen *s = payload;
	static const char *const st[] = { "archived", "rejected", "skipped" };

	assert_true(s->n < 32);
	snprintf(s->lines[s->n++], 512, "%s %s %zu %zu %s %s", st[e->status], e->name,
		e->records, e->rejected, e->moved_to ? e->moved_to : "-",
		e->reason ? e->reason : "-");
	return 0;
}

/* A fresh archive and spool under tmpdir/NAME. */
static void
fresh(const char *name, char arch[512], char spool[512])
{
	cu_archive_init_opts o = { NULL, "SI01", NULL };

	snprintf(arch, 512, "%s/%s-archive", tmpdir, name);
	snprintf(spool, 512, "%s/%s-spool", tmpdir, name);
	if (cu_archive_init(arch, &o) != 0)
		fail_msg("init: %s", cu_error_last());
	if (cu_spool_prepare(spool) != 0)
		fail_msg("prepare: %s", cu_error_last());
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *
slurp(const char *dir, const char *name)
{
	char p[1024], *buf = NULL;
	size_t len;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (cu_read_file(&buf, &len, p, 1 << 20) != 0)
		return NULL;
	return buf;
}

static int
present(const char *dir, const char *name)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

static char *
receipt(const char *no)
{
	char *s = cu_asprintf("{\"type\":\"receipt\",\"receipt_no\":\"%s\","
		"\"issued_at\":\"2026-11-20T09:31:00+08:00\",\"agency\":\"110105\","
		"\"channel\":\"window\",\"service\":\"registration\",\"insurance\":\"pension\","
		"\"subject\":{\"kind\":\"person\",\"id_no\":\"" ID "\",\"name\":\"张三\"},"
		"\"operator\":\"op-017\",\"summary\":\"参保登记\"}\n", no);
	assert_non_null(s);
	return s;
}

static void
pass(const char *arch, const char *spool, int keep, uint64_t max, struct seen *s,
	cu_spool_report *rep)
{
	cu_archive *a;
	cu_spool_opts o = { keep, max };

	memset(s, 0, sizeof(*s));
	if (cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0) != 0)
		fail_msg("open: %s", cu_error_last());
	if (cu_spool_pass(a, spool, &o, record_entry, s, rep) != 0)
		fail_msg("pass: %s", cu_error_last());
	cu_archive_free(a);
}

static void
sub(char out[600], const char *spool, const char *name)
{
	snprintf(out, 600, "%s/%s", spool, name);
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_prepare(void **state)
{
	char arch[512], spool[512], p[600];
	struct stat st;

	(void)state;
	fresh("prep", arch, spool);
	sub(p, spool, "incoming");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0750);
	/* a group-writable incoming/ keeps its mode */
	assert_int_equal(chmod(p, 03770), 0);
	assert_int_equal(cu_spool_prepare(spool), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 03770);
	/* a file where a folder should be */
	sub(p, spool, "rejected");
	assert_int_equal(rmdir(p), 0);
	put_file(spool, "rejected", "x");
	assert_int_equal(cu_spool_prepare(spool), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "rejected: not a folder"));
}

static void
test_accepted_and_rejected(void **state)
{
	char arch[512], spool[512], inc[600], arc[600], rej[600], *t, *r1, *r2, *r3, *many;
	struct seen s;
	cu_spool_report rep;

	(void)state;
	fresh("ar", arch, spool);
	sub(inc, spool, "incoming");
	sub(arc, spool, "archived");
	sub(rej, spool, "rejected");
	r1 = receipt("R-1");
	r2 = receipt("R-2");
	r3 = receipt("R-3");
	put_file(inc, "a.json", r1);
	many = cu_asprintf("%s{\"type\":\"receipt\",\"receipt_no\":\"R-9\"}\n%s", r2, r3);
	put_file(inc, "b.jsonl", many);
	put_file(inc, "c.json", "{ not json");
	put_file(inc, "d.json.part", r1);
	put_file(inc, ".e.json", r1);
	pass(arch, spool, 1, 0, &s, &rep);

	assert_int_equal(s.n, 4);
	assert_string_equal(s.lines[0], "archived a.json 1 0 archived/a.json -");
	assert_true(strncmp(s.lines[1], "rejected b.jsonl 2 1 rejected/b.jsonl receipt_no", 48) == 0 ||
		strncmp(s.lines[1], "rejected b.jsonl 2 1 rejected/b.jsonl ", 38) == 0);
	assert_true(strncmp(s.lines[2], "rejected c.json 0 1 rejected/c.json ", 36) == 0);
	assert_true(strncmp(s.lines[3], "skipped d.json.part 0 0 - a partial name", 40) == 0);
	assert_int_equal(rep.archived, 1);
	assert_int_equal(rep.rejected, 2);
	assert_int_equal(rep.skipped, 1);
	assert_int_equal(rep.records, 3);

	/* archived: the file as it came, its refs next to it */
	assert_non_null(t = slurp(arc, "a.json"));
	assert_string_equal(t, r1);
	free(t);
	assert_non_null(t = slurp(arc, "a.json.refs"));
	assert_true(strncmp(t, "SI01-SB·2026-D100-DJ-000001 ", strlen("SI01-SB·2026-D100-DJ-000001 ")) == 0);
	assert_non_null(strstr(t, " a.json\n"));
	assert_null(strstr(t, ID));
	free(t);
	assert_false(present(inc, "a.json"));

	/* a file of many lines with one bad: rejected, the reason names the
	 * line, the refs of the lines archived kept beside it */
	assert_non_null(t = slurp(rej, "b.jsonl.reason"));
	assert_true(strncmp(t, "b.jsonl#2: ", 11) == 0);
	assert_non_null(strchr(t, '\n'));
	assert_int_equal(strchr(t, '\n')[1], '\0');    /* one line: one item rejected */
	free(t);
	assert_non_null(t = slurp(rej, "b.jsonl.refs"));
	assert_non_null(strstr(t, " b.jsonl#1\n"));
	assert_non_null(strstr(t, " b.jsonl#3\n"));
	assert_null(strstr(t, ID));
	free(t);
	assert_non_null(t = slurp(rej, "c.json.reason"));
	assert_true(strncmp(t, "c.json: ", 8) == 0);
	free(t);
	assert_false(present(rej, "c.json.refs"));

	/* left alone */
	assert_true(present(inc, "d.json.part"));
	assert_true(present(inc, ".e.json"));
	assert_false(present(arc, ".e.json"));

	/* a second pass over the same content: duplicates, archived, a suffix */
	put_file(inc, "a.json", r1);
	pass(arch, spool, 1, 0, &s, &rep);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[0], "archived a.json 1 0 archived/a.json.1 -");
	assert_non_null(t = slurp(arc, "a.json.1.refs"));
	assert_true(strncmp(t, "duplicate SI01-SB·2026-D100-DJ-000001 a.json\n", 46) == 0);
	free(t);
	assert_non_null(t = slurp(arc, "a.json"));
	assert_string_equal(t, r1);
	free(t);
	assert_int_equal(rep.records, 1);
	free(r1);
	free(r2);
	free(r3);
	free(many);
}

static void
test_bag_folder(void **state)
{
	char arch[512], spool[512], inc[600], arc[600], rej[600], *root, *dst;
	struct seen s;
	cu_spool_report rep;
	struct tbag *b = calloc(1, sizeof(*b));

	(void)state;
	fresh("bag", arch, spool);
	sub(inc, spool, "incoming");
	sub(arc, spool, "archived");
	sub(rej, spool, "rejected");
	assert_non_null(b);
	puts_(b, "data/a.txt", "申请表\n", 0);
	tags_with(b, "External-Identifier: GS-1\nCase-Type: retirement_approval\n");
	tagmanifest(b);
	root = write_dir(b, "bagsrc");
	assert_non_null(dst = cu_asprintf("%s/GS-1", inc));
	assert_int_equal(rename(root, dst), 0);

	/* without the marker: left where it is */
	pass(arch, spool, 1, 0, &s, &rep);
	assert_int_equal(s.n, 1);
	assert_true(strncmp(s.lines[0], "skipped GS-1 0 0 - a folder without .custos-complete", 52) == 0);
	assert_true(present(inc, "GS-1"));
	assert_int_equal(rep.skipped, 1);

	/* with it: archived as one case, the folder moved */
	put_file(dst, CU_SPOOL_MARKER, "");
	pass(arch, spool, 1, 0, &s, &rep);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "archived GS-1 1 0 archived/GS-1 -");
	assert_false(present(inc, "GS-1"));
	assert_true(present(arc, "GS-1/data/a.txt"));
	assert_true(present(arc, "GS-1.refs"));

	/* a marked folder that is not a bag */
	assert_int_equal(mkdir(dst, 0700), 0);
	put_file(dst, "x.json", "{}");
	put_file(dst, CU_SPOOL_MARKER, "");
	pass(arch, spool, 1, 0, &s, &rep);
	assert_int_equal(s.n, 1);
	assert_true(strncmp(s.lines[0], "rejected GS-1 0 1 rejected/GS-1 a folder without bagit.txt", 58) == 0);
	free(dst);
	free(root);
	tbag_free(b);
}

static void
test_remove_and_limit(void **state)
{
	char arch[512], spool[512], inc[600], arc[600], rej[600], *r, *t;
	struct seen s;
	cu_spool_report rep;

	(void)state;
	fresh("rl", arch, spool);
	sub(inc, spool, "incoming");
	sub(arc, spool, "archived");
	sub(rej, spool, "rejected");
	r = receipt("R-1");
	put_file(inc, "a.json", r);
	free(r);
	r = receipt("R-2");
	put_file(inc, "big.json", r);
	free(r);
	/* two receipts of 284 bytes under the limit of 300, a file above it */
	put_file(inc, "huge.json", "                                                            "
		"                                                                          "
		"                                                                          "
		"                                                                          "
		"                                                                          "
		"                                                                    {}");
	pass(arch, spool, 0, 300, &s, &rep);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "archived a.json 1 0 - -");
	assert_string_equal(s.lines[1], "archived big.json 1 0 - -");
	assert_true(strncmp(s.lines[2], "rejected huge.json 0 1 rejected/huge.json ", 42) == 0);
	assert_non_null(strstr(s.lines[2], "larger than the spool file limit of 300 bytes"));
	/* removed, the refs kept */
	assert_false(present(arc, "a.json"));
	assert_false(present(inc, "a.json"));
	assert_true(present(arc, "a.json.refs"));
	/* a rejected file is kept even so */
	assert_true(present(rej, "huge.json"));
	assert_non_null(t = slurp(rej, "huge.json.reason"));
	assert_true(strncmp(t, "huge.json: ", 11) == 0);
	free(t);
}

/* A pass killed after writing an entry's companion but before moving it,
 * and one killed after moving it but before the companion was put in
 * place: the next pass cleans up the first and completes the second. */
static void
test_recovery(void **state)
{
	char arch[512], spool[512], inc[600], arc[600], *r, *t;
	struct seen s;
	cu_spool_report rep;

	(void)state;
	fresh("rec", arch, spool);
	sub(inc, spool, "incoming");
	sub(arc, spool, "archived");
	r = receipt("R-1");
	put_file(inc, "a.json", r);
	put_file(arc, ".pending.a.json.refs", "stale\n");     /* a.json not moved */
	put_file(arc, "b.json", r);                           /* b.json moved ... */
	put_file(arc, ".pending.b.json.refs", "b refs\n");    /* ... refs pending */
	pass(arch, spool, 1, 0, &s, &rep);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "archived a.json 1 0 archived/a.json -");
	assert_non_null(t = slurp(arc, "a.json.refs"));
	assert_null(strstr(t, "stale"));
	free(t);
	assert_non_null(t = slurp(arc, "b.json.refs"));
	assert_string_equal(t, "b refs\n");
	free(t);
	assert_false(present(arc, ".pending.a.json.refs"));
	assert_false(present(arc, ".pending.b.json.refs"));

	/* the same receipt, again: one record only */
	put_file(inc, "c.json", r);
	pass(arch, spool, 1, 0, &s, &rep);
	assert_non_null(t = slurp(arc, "c.json.refs"));
	assert_true(strncmp(t, "duplicate ", 10) == 0);
	free(t);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare),
		cmocka_unit_test(test_accepted_and_rejected),
		cmocka_unit_test(test_bag_folder),
		cmocka_unit_test(test_remove_and_limit),
		cmocka_unit_test(test_recovery),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
