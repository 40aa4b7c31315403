/* test_dispose.c — retention, disposition and legal holds through the
 * archive facade: due lists, holds, proposals and their refusals, approval
 * by another user, objects removed (loose and packed) or kept when another
 * record holds them, the index rebuilt from the history, and the recovery
 * of an approval interrupted between its commit and the removal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos/archive.h"
#include "custos/error.h"
#include "custos/util.h"

static char root[64];

#define P1 "11010519491231002X"
#define USCC "91350100M000100Y43"

/* ---- fixture and helpers ------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/custos-test-dispose.XXXXXX");
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
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
	char cmd[512], buf[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "git --git-dir='%s/history.git' rev-list --count main", arch);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(buf, sizeof(buf), p));
	assert_int_equal(pclose(p), 0);
	return strtol(buf, NULL, 10);
}

static void
new_archive(char *path, size_t sz, const char *name, const char *conf_text)
{
	cu_archive_init_opts o = { NULL, "SI01", conf_text };

	snprintf(path, sz, "%s/%s", root, name);
	if (cu_archive_init(path, &o) != 0)
		fail_msg("init %s: %s", path, cu_error_last());
}

static cu_archive *
open_arch(const char *path, int mode)
{
	cu_archive *a = NULL;

	if (cu_archive_open(&a, path, mode, 0) != 0)
		fail_msg("open %s: %s", path, cu_error_last());
	return a;
}

static void
expect_err(int got, int want, const char *needle)
{
	if (got != want)
		fail_msg("got %d, want %d (%s)", got, want, cu_error_last());
	if (needle && strstr(cu_error_last(), needle) == NULL)
		fail_msg("message [%s] lacks [%s]", cu_error_last(), needle);
}

/* One receipt: number, time, service, summary; a person unless org. */
static void
receipt(char *out, size_t sz, const char *no, const char *at, const char *service,
	const char *summary, int org)
{
	int n = snprintf(out, sz,
		"{\"type\":\"receipt\",\"receipt_no\":\"%s\",\"issued_at\":\"%s\",\"agency\":\"110105\","
		"\"channel\":\"window\",\"service\":\"%s\",\"insurance\":\"pension\",\"subject\":%s,"
		"\"operator\":\"op-017\",\"summary\":\"%s\"}", no, at, service,
		org ? "{\"kind\":\"org\",\"uscc\":\"" USCC "\",\"name\":\"某公司\"}"
		    : "{\"kind\":\"person\",\"id_no\":\"" P1 "\",\"name\":\"张三\"}", summary);
	assert_true(n > 0 && (size_t)n < sz);
}

/* Refs of the archived items, in input order. */
struct refs {
	char ref[16][128];
	int n;
};

static int
collect_ref(const cu_ingest_result *r, void *payload)
{
	struct refs *rs = payload;

	if (r->status != CU_INGEST_ARCHIVED)
		fail_msg("%s: %s", r->source, r->reason ? r->reason : "not archived");
	assert_true(rs->n < 16);
	snprintf(rs->ref[rs->n++], 128, "%s", r->ref);
	return 0;
}

static void
ingest_buf(cu_archive *a, const char *source, const char *buf, struct refs *rs)
{
	cu_ingest *in = NULL;

	assert_int_equal(cu_ingest_begin(&in, a, collect_ref, rs), 0);
	if (cu_ingest_buffer(in, source, buf, strlen(buf)) != 0 || cu_ingest_finish(in, NULL) != 0)
		fail_msg("ingest %s: %s", source, cu_error_last());
}

static void
ingest_path(cu_archive *a, const char *path, struct refs *rs)
{
	cu_ingest *in = NULL;

	assert_int_equal(cu_ingest_begin(&in, a, collect_ref, rs), 0);
	if (cu_ingest_path(in, path) != 0 || cu_ingest_finish(in, NULL) != 0)
		fail_msg("ingest %s: %s", path, cu_error_last());
}

/* Due entries as "ref state" lines. */
static int
collect_due(const cu_due_entry *e, void *payload)
{
	char *out = payload;
	size_t used = strlen(out);

	snprintf(out + used, 4096 - used, "%s%s %s %s%s%s", used ? "\n" : "", e->ref,
		e->disposal_date, e->state, e->list_ref ? " " : "", e->list_ref ? e->list_ref : "");
	return 0;
}

static void
expect_due(cu_archive *a, const char *at, const char *want)
{
	char got[4096] = "";
	size_t n = 99;

	if (cu_archive_due(a, at, collect_due, got, &n) != 0)
		fail_msg("due: %s", cu_error_last());
	if (strcmp(got, want) != 0)
		fail_msg("due at %s:\n%s\nwant:\n%s", at ? at : "today", got, want);
}

/* Lines of a proposal or approval as "action key|digest detail". */
struct lines {
	char text[8192];
	int refused, disposed, removed, kept, pending;
};

static int
collect_line(const cu_disposal_line *l, void *payload)
{
	struct lines *ls = payload;
	size_t used = strlen(ls->text);

	snprintf(ls->text + used, sizeof(ls->text) - used, "%s %s %s\n", l->action,
		l->key ? l->key : l->digest, l->detail ? l->detail : "");
	if (strcmp(l->action, "refused") == 0)
		ls->refused++;
	else if (strcmp(l->action, "disposed") == 0)
		ls->disposed++;
	else if (strcmp(l->action, "removed") == 0)
		ls->removed++;
	else if (strcmp(l->action, "kept") == 0)
		ls->kept++;
	else if (strcmp(l->action, "pending") == 0)
		ls->pending++;
	return 0;
}

static void
propose(cu_archive *a, const char *const *keys, size_t n, char list[128])
{
	struct lines ls = { "", 0, 0, 0, 0, 0 };
	char id[65];

	if (cu_archive_propose(a, keys, n, "保管期满，经鉴定无保存价值", collect_line, &ls, list, id) != 0)
		fail_msg("propose: %s\n%s", cu_error_last(), ls.text);
	assert_int_equal(ls.refused, 0);
}

static void
approve_as(cu_archive *a, const char *user, unsigned long uid, const char *list,
	struct lines *ls, cu_disposal_report *r)
{
	cu_archive_set_actor(a, user, uid);
	if (cu_archive_approve(a, list, collect_line, ls, r) != 0)
		fail_msg("approve %s: %s\n%s", list, cu_error_last(), ls->text);
}

static size_t
verify_problems(const char *arch, size_t *disposed)
{
	cu_archive *a = open_arch(arch, CU_ARCHIVE_REPAIR);
	cu_verify_opts o = { 0, NULL };
	cu_verify_report r;

	if (cu_archive_verify(a, &o, NULL, NULL, &r) != 0)
		fail_msg("verify: %s", cu_error_last());
	cu_archive_free(a);
	if (disposed)
		*disposed = r.objects_disposed;
	return r.problems;
}

static int
print_problem(const cu_verify_problem *p, void *payload)
{
	(void)payload;
	print_message("verify: %s %s %s: %s\n", p->kind, p->ref ? p->ref : "",
		p->id ? p->id : "", p->message);
	return 0;
}

static void
expect_verify_clean(const char *arch)
{
	cu_archive *a = open_arch(arch, CU_ARCHIVE_REPAIR);
	cu_verify_opts o = { 0, NULL };
	cu_verify_report r;

	if (cu_archive_verify(a, &o, print_problem, NULL, &r) != 0)
		fail_msg("verify: %s", cu_error_last());
	cu_archive_free(a);
	if (r.problems != 0)
		fail_msg("verify found %zu problems in %s", r.problems, arch);
}

static int
pack_count(const char *arch)
{
	char p[512];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/objects/packs", arch);
	assert_non_null(d = opendir(p));
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "pack-", 5) == 0;
	closedir(d);
	return n;
}

/* ---- due ------------------------------------------------------------------ */

static const char *const lines5 =
	"{\"type\":\"receipt\",\"receipt_no\":\"R-1\",\"issued_at\":\"2010-03-01T09:00:00+08:00\","
	"\"agency\":\"110105\",\"channel\":\"window\",\"service\":\"contribution\",\"insurance\":"
	"\"pension\",\"subject\":{\"kind\":\"person\",\"id_no\":\"" P1 "\",\"name\":\"张三\"},"
	"\"operator\":\"op-017\",\"summary\":\"r1 缴费\"}\n"
	"{\"type\":\"receipt\",\"receipt_no\":\"R-2\",\"issued_at\":\"2010-12-31T23:59:59+08:00\","
	"\"agency\":\"110105\",\"channel\":\"window\",\"service\":\"consultation\",\"insurance\":"
	"\"pension\",\"subject\":{\"kind\":\"person\",\"id_no\":\"" P1 "\",\"name\":\"张三\"},"
	"\"operator\":\"op-017\",\"summary\":\"r2 咨询\"}\n"
	"{\"type\":\"receipt\",\"receipt_no\":\"R-3\",\"issued_at\":\"2010-05-01T09:00:00+08:00\","
	"\"agency\":\"110105\",\"channel\":\"window\",\"service\":\"benefit\",\"insurance\":"
	"\"pension\",\"subject\":{\"kind\":\"person\",\"id_no\":\"" P1 "\",\"name\":\"张三\"},"
	"\"operator\":\"op-017\",\"summary\":\"r3 待遇\"}\n"
	"{\"type\":\"receipt\",\"receipt_no\":\"R-4\",\"issued_at\":\"2026-03-01T09:00:00+08:00\","
	"\"agency\":\"110105\",\"channel\":\"window\",\"service\":\"contribution\",\"insurance\":"
	"\"pension\",\"subject\":{\"kind\":\"person\",\"id_no\":\"" P1 "\",\"name\":\"张三\"},"
	"\"operator\":\"op-017\",\"summary\":\"r4 缴费\"}\n"
	"{\"type\":\"receipt\",\"receipt_no\":\"R-5\",\"issued_at\":\"2010-05-01T09:00:00+08:00\","
	"\"agency\":\"110105\",\"channel\":\"window\",\"service\":\"registration\",\"insurance\":"
	"\"pension\",\"subject\":{\"kind\":\"org\",\"uscc\":\"" USCC "\",\"name\":\"某公司\"},"
	"\"operator\":\"op-017\",\"summary\":\"r5 单位登记\"}\n";

static void
test_due(void **state)
{
	char arch[256];
	struct refs rs = { .n = 0 };
	cu_archive *a;

	(void)state;
	new_archive(arch, sizeof(arch), "due", NULL);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_buf(a, "five.jsonl", lines5, &rs);
	assert_int_equal(rs.n, 5);
	assert_string_equal(rs.ref[0], "SI01-SB·2010-D10-JF-000001");
	assert_string_equal(rs.ref[4], "SI01-SB·2010-Y-DJ-000001");
	expect_due(a, "2020-12-31", "");
	/* a receipt of the last second of 2010 counts from 2011 like the rest */
	expect_due(a, "2021-01-01",
		"SI01-SB·2010-D10-JF-000001 2021-01-01 due\n"
		"SI01-SB·2010-D10-ZX-000001 2021-01-01 due");
	expect_due(a, "2041-01-01",
		"SI01-SB·2010-D10-JF-000001 2021-01-01 due\n"
		"SI01-SB·2010-D10-ZX-000001 2021-01-01 due\n"
		"SI01-SB·2010-D30-DY-000001 2041-01-01 due\n"
		"SI01-SB·2026-D10-JF-000001 2037-01-01 due");
	/* the permanent one never */
	expect_due(a, "9999-12-31",
		"SI01-SB·2010-D10-JF-000001 2021-01-01 due\n"
		"SI01-SB·2010-D10-ZX-000001 2021-01-01 due\n"
		"SI01-SB·2010-D30-DY-000001 2041-01-01 due\n"
		"SI01-SB·2026-D10-JF-000001 2037-01-01 due");
	expect_err(cu_archive_due(a, "2021-02-30", collect_due, (char[4096]){ "" }, NULL),
		CU_EINVALID, "--at: 2021-02-30: not a real date");
	expect_err(cu_archive_due(a, "21-01-01", collect_due, (char[4096]){ "" }, NULL),
		CU_EINVALID, "must be YYYY-MM-DD");
	cu_archive_free(a);
}

/* ---- holds ----------------------------------------------------------------- */

static int
count_hold(const char *ref, const char *since, const char *user, unsigned long uid,
	const char *reason, void *payload)
{
	(void)since;
	(void)uid;
	assert_string_equal(ref, "SI01-SB·2010-D10-JF-000001");
	assert_string_equal(reason, "诉讼证据");
	assert_non_null(user);
	(*(int *)payload)++;
	return 0;
}

struct steps {
	char actions[1024];
};

static int
collect_step(const cu_trace_entry *e, void *payload)
{
	struct steps *s = payload;
	size_t used = strlen(s->actions);

	snprintf(s->actions + used, sizeof(s->actions) - used, "%s%s", used ? " " : "", e->action);
	return 0;
}

static void
test_holds(void **state)
{
	char arch[256], ref[128], ev[65], list[128];
	struct refs rs = { .n = 0 };
	struct lines ls = { "", 0, 0, 0, 0, 0 };
	struct steps st = { "" };
	cu_record_state rst;
	cu_archive *a;
	int n = 0;
	long commits;

	(void)state;
	new_archive(arch, sizeof(arch), "holds", NULL);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_buf(a, "five.jsonl", lines5, &rs);
	expect_err(cu_archive_hold(a, rs.ref[0], 1, "", ref, ev), CU_EINVALID, "--reason");
	expect_err(cu_archive_hold(a, rs.ref[0], 1, "本人 " P1 " 申请", ref, ev), CU_EINVALID,
		"holds a resident ID number");
	assert_null(strstr(cu_error_last(), P1));
	/* a longer run of digits is no ID number: the reason passes (the record, not due
	 * yet, is what is refused) */
	expect_err(cu_archive_propose(a, (const char *const[]){ rs.ref[2] }, 1,
		"卷宗 1101051949123100212", NULL, NULL, list, ev), CU_ECONFLICT, "1 of 1 record refused");
	assert_int_equal(cu_archive_hold(a, "SI01-SB-2010-D10-JF-000001", 1, "诉讼证据", ref, ev), 0);
	assert_string_equal(ref, rs.ref[0]);
	assert_int_equal(strlen(ev), 64);
	commits = commit_count(arch);
	expect_err(cu_archive_hold(a, rs.ref[0], 1, "again", ref, ev), CU_ECONFLICT,
		"already on hold since");
	assert_int_equal(commit_count(arch), commits);
	assert_int_equal(cu_archive_holds(a, count_hold, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cu_archive_record_state(a, rs.ref[0], &rst), 0);
	assert_true(rst.held);
	assert_string_equal(rst.hold_reason, "诉讼证据");
	assert_string_equal(rst.disposal_date, "2021-01-01");
	expect_due(a, "2021-01-01",
		"SI01-SB·2010-D10-JF-000001 2021-01-01 held\n"
		"SI01-SB·2010-D10-ZX-000001 2021-01-01 due");
	/* a held record cannot be proposed */
	expect_err(cu_archive_propose(a, (const char *const[]){ rs.ref[0] }, 1, "r", collect_line,
		&ls, list, ev), CU_ECONFLICT, "1 of 1 record refused");
	assert_non_null(strstr(ls.text, "is on hold since"));
	assert_int_equal(commit_count(arch), commits);
	/* released, it can */
	assert_int_equal(cu_archive_hold(a, rs.ref[0], 0, "结案", ref, ev), 0);
	expect_err(cu_archive_hold(a, rs.ref[0], 0, "again", ref, ev), CU_ECONFLICT, "not on hold");
	expect_err(cu_archive_hold(a, "sha256:" "00000000000000000000000000000000"
		"00000000000000000000000000000000", 1, "x", ref, ev), CU_EINVALID, "content digest");
	n = 0;
	assert_int_equal(cu_archive_holds(a, count_hold, &n, NULL), 0);
	assert_int_equal(n, 0);
	propose(a, (const char *const[]){ rs.ref[0] }, 1, list);
	/* both in the trace, in order */
	assert_int_equal(cu_archive_trace(a, rs.ref[0], collect_step, &st), 0);
	assert_string_equal(st.actions, "ingested held released proposed");
	cu_archive_free(a);
	/* the index knows the same after a rebuild */
	a = open_arch(arch, CU_ARCHIVE_REPAIR);
	assert_int_equal(cu_archive_reindex(a, NULL), 0);
	cu_archive_free(a);
	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_int_equal(cu_archive_record_state(a, rs.ref[0], &rst), 0);
	assert_false(rst.held);
	assert_true(rst.listed);
	assert_string_equal(rst.list_ref, list);
	cu_archive_free(a);
	expect_verify_clean(arch);
}

/* ---- propose, approve ------------------------------------------------------- */

static void
test_propose_and_approve(void **state)
{
	char arch[256], list[128], list2[128], id[65], ref[128], digest[80];
	struct refs rs = { .n = 0 };
	struct lines ls = { "", 0, 0, 0, 0, 0 };
	struct steps st = { "" };
	cu_disposal_report r;
	cu_record_state rst;
	cu_archive *a;
	json_t *doc = NULL;
	char *content = NULL;
	size_t clen, disposed = 0;
	long commits;

	(void)state;
	new_archive(arch, sizeof(arch), "approve", NULL);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_buf(a, "five.jsonl", lines5, &rs);
	assert_int_equal(pack_count(arch), 1);
	commits = commit_count(arch);
	/* every refusal is reported, and then nothing is made */
	expect_err(cu_archive_propose(a, (const char *const[]){ rs.ref[0], rs.ref[2], rs.ref[4],
		"SI01-SB-2010-D10-JF-000001", "SI01-SB-2010-D10-JF-000099", rs.ref[3] }, 6, "r",
		collect_line, &ls, list, id), CU_ECONFLICT, "5 of 6 records refused");
	assert_int_equal(ls.refused, 5);
	assert_non_null(strstr(ls.text, "is not due for disposal until 2041-01-01"));
	assert_non_null(strstr(ls.text, "is kept permanently (retention Y)"));
	assert_non_null(strstr(ls.text, "is named twice"));
	assert_non_null(strstr(ls.text, "no such ref"));
	assert_non_null(strstr(ls.text, "not due for disposal until 2037-01-01"));
	assert_string_equal(list, "");
	assert_int_equal(commit_count(arch), commits);
	expect_err(cu_archive_propose(a, (const char *const[]){ rs.ref[0] }, 1, NULL, NULL, NULL,
		list, id), CU_EINVALID, "--reason");

	propose(a, (const char *const[]){ rs.ref[0], rs.ref[1] }, 2, list);
	assert_int_equal(strncmp(list, "SI01-SB·", 9), 0);
	assert_non_null(strstr(list, "-Y-XH-000001"));
	assert_int_equal(commit_count(arch), commits + 1);
	/* on an open list: not twice */
	memset(&ls, 0, sizeof(ls));
	expect_err(cu_archive_propose(a, (const char *const[]){ rs.ref[1] }, 1, "r", collect_line,
		&ls, list2, id), CU_ECONFLICT, NULL);
	assert_non_null(strstr(ls.text, "is already on the open destruction list"));
	/* the list itself is a record kept permanently */
	memset(&ls, 0, sizeof(ls));
	expect_err(cu_archive_propose(a, (const char *const[]){ list }, 1, "r", collect_line, &ls,
		list2, id), CU_ECONFLICT, NULL);
	assert_non_null(strstr(ls.text, "is a destruction list, kept permanently"));

	/* separation of duties */
	memset(&ls, 0, sizeof(ls));
	expect_err(cu_archive_approve(a, list, collect_line, &ls, &r), CU_ECONFLICT,
		"another user must approve it");
	assert_int_equal(ls.refused, 1);
	assert_int_equal(commit_count(arch), commits + 1);
	memset(&ls, 0, sizeof(ls));
	approve_as(a, "approver", 4242, list, &ls, &r);
	assert_int_equal(r.records, 2);
	assert_int_equal(r.removed, 2);
	assert_int_equal(r.kept, 0);
	assert_int_equal(r.pending, 0);
	assert_int_equal(ls.disposed, 2);
	assert_string_equal(r.list_ref, list);
	/* the pack was rewritten without the two objects */
	assert_int_equal(pack_count(arch), 1);
	/* twice: no */
	memset(&ls, 0, sizeof(ls));
	expect_err(cu_archive_approve(a, list, collect_line, &ls, &r), CU_ECONFLICT,
		"was already approved");

	/* the document stays, the content is gone */
	{
		cu_get_opts o = { .purpose = "审计" };
		assert_int_equal(cu_archive_get(a, rs.ref[0], &o, &doc, NULL, NULL), 0);
		snprintf(digest, sizeof(digest), "%s", json_string_value(json_object_get(
			json_object_get(doc, "content"), "digest")));
		json_decref(doc);
		cu_get_opts oc = { .content = 1, .purpose = "审计" };
		expect_err(cu_archive_get(a, rs.ref[0], &oc, &doc, &content, &clen), CU_ENOTFOUND,
			"its content was disposed of on");
		assert_non_null(strstr(cu_error_last(), list));
		/* the others are all there */
		assert_int_equal(cu_archive_get(a, rs.ref[2], &oc, &doc, &content, &clen), 0);
		assert_non_null(strstr(content, "r3 待遇"));
		json_decref(doc);
		free(content);
	}
	assert_int_equal(cu_archive_record_state(a, rs.ref[0], &rst), 0);
	assert_true(rst.disposed);
	assert_string_equal(rst.disposed_by_list, list);
	assert_string_equal(rst.approved_by, "approver");
	/* a disposed record is closed */
	expect_err(cu_archive_hold(a, rs.ref[0], 1, "x", ref, id), CU_ECONFLICT,
		"already disposed of");
	expect_err(cu_archive_amend(a, rs.ref[0], (const char *const[]){ "summary=x" }, 1, "r", id,
		ref, &(long){ 0 }), CU_EINVALID, "a disposed record takes no new revision");
	memset(&ls, 0, sizeof(ls));
	expect_err(cu_archive_propose(a, (const char *const[]){ rs.ref[0] }, 1, "r", collect_line,
		&ls, list2, id), CU_ECONFLICT, NULL);
	assert_non_null(strstr(ls.text, "was already disposed of"));
	expect_due(a, "9999-12-31",
		"SI01-SB·2010-D30-DY-000001 2041-01-01 due\n"
		"SI01-SB·2026-D10-JF-000001 2037-01-01 due");
	/* trace: proposed, then disposed */
	assert_int_equal(cu_archive_trace(a, rs.ref[1], collect_step, &st), 0);
	assert_string_equal(st.actions, "ingested proposed disposed");
	memset(&st, 0, sizeof(st));
	assert_int_equal(cu_archive_trace(a, list, collect_step, &st), 0);
	assert_string_equal(st.actions, "ingested approved");
	cu_archive_free(a);
	assert_int_equal(verify_problems(arch, &disposed), 0);
	assert_int_equal(disposed, 2);
	/* the whole state from the history alone */
	a = open_arch(arch, CU_ARCHIVE_REPAIR);
	assert_int_equal(cu_archive_reindex(a, NULL), 0);
	cu_archive_free(a);
	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_int_equal(cu_archive_record_state(a, rs.ref[1], &rst), 0);
	assert_true(rst.disposed);
	assert_false(rst.listed);
	assert_string_equal(rst.disposed_by_list, list);
	cu_archive_free(a);
	assert_int_equal(verify_problems(arch, &disposed), 0);
	assert_int_equal(disposed, 2);
}

static int
hit_into(const json_t *hit, void *payload)
{
	json_array_append_new(payload, json_deep_copy(hit));
	return 0;
}

static void
test_search_marks(void **state)
{
	char arch[256], list[128], ref[128], ev[65];
	struct refs rs = { .n = 0 };
	struct lines ls = { "", 0, 0, 0, 0, 0 };
	cu_disposal_report r;
	cu_search_query q;
	cu_archive *a;
	json_t *hits = json_array(), *h;
	size_t i;

	(void)state;
	new_archive(arch, sizeof(arch), "marks", NULL);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_buf(a, "five.jsonl", lines5, &rs);
	propose(a, (const char *const[]){ rs.ref[0] }, 1, list);
	approve_as(a, "approver", 4242, list, &ls, &r);
	assert_int_equal(cu_archive_hold(a, rs.ref[2], 1, "审计", ref, ev), 0);
	memset(&q, 0, sizeof(q));
	q.limit = 0;
	assert_int_equal(cu_archive_search(a, &q, hit_into, hits, NULL), 0);
	json_array_foreach(hits, i, h) {
		const char *hr = json_string_value(json_object_get(h, "ref"));
		assert_int_equal(json_object_get(h, "disposed") != NULL, strcmp(hr, rs.ref[0]) == 0);
		assert_int_equal(json_object_get(h, "held") != NULL, strcmp(hr, rs.ref[2]) == 0);
	}
	assert_int_equal(json_array_size(hits), 6);   /* five receipts and the list */
	json_decref(hits);
	/* the lists by type */
	hits = json_array();
	memset(&q, 0, sizeof(q));
	q.type = "disposal_list";
	assert_int_equal(cu_archive_search(a, &q, hit_into, hits, NULL), 0);
	assert_int_equal(json_array_size(hits), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(hits, 0), "state")),
		"approved");
	json_decref(hits);
	cu_archive_free(a);
}

/* ---- a hold since the proposal, rejection ---------------------------------------------- */

static void
test_hold_blocks_approval(void **state)
{
	char arch[256], list[128], list2[128], ref[128], ev[65], id[65];
	struct refs rs = { .n = 0 };
	struct lines ls = { "", 0, 0, 0, 0, 0 };
	cu_disposal_report r;
	cu_archive *a;
	long commits;

	(void)state;
	new_archive(arch, sizeof(arch), "blocked", NULL);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_buf(a, "five.jsonl", lines5, &rs);
	propose(a, (const char *const[]){ rs.ref[0], rs.ref[1] }, 2, list);
	assert_int_equal(cu_archive_hold(a, rs.ref[1], 1, "投诉调查", ref, ev), 0);
	commits = commit_count(arch);
	cu_archive_set_actor(a, "approver", 4242);
	expect_err(cu_archive_approve(a, list, collect_line, &ls, &r), CU_ECONFLICT,
		"nothing was disposed of");
	assert_int_equal(ls.refused, 1);
	assert_non_null(strstr(ls.text, "was put on hold on"));
	assert_int_equal(commit_count(arch), commits);
	/* nothing went: both readable */
	{
		cu_get_opts oc = { .content = 1, .purpose = "x" };
		json_t *doc = NULL;
		char *content = NULL;
		size_t clen;
		assert_int_equal(cu_archive_get(a, rs.ref[0], &oc, &doc, &content, &clen), 0);
		json_decref(doc);
		free(content);
	}
	/* the approver rejects the list; its records are free again */
	expect_err(cu_archive_reject(a, list, "", list2, id), CU_EINVALID, "--reason");
	assert_int_equal(cu_archive_reject(a, list, "待诉讼结束后重新鉴定", list2, id), 0);
	assert_string_equal(list2, list);
	memset(&ls, 0, sizeof(ls));
	expect_err(cu_archive_approve(a, list, collect_line, &ls, &r), CU_ECONFLICT, "was rejected");
	expect_err(cu_archive_reject(a, list, "x", list2, id), CU_ECONFLICT, "was rejected");
	cu_archive_set_actor(a, "root", 0);
	assert_int_equal(cu_archive_hold(a, rs.ref[1], 0, "结案", ref, ev), 0);
	propose(a, (const char *const[]){ rs.ref[0], rs.ref[1] }, 2, list2);
	assert_string_not_equal(list2, list);
	memset(&ls, 0, sizeof(ls));
	approve_as(a, "approver", 4242, list2, &ls, &r);
	assert_int_equal(r.records, 2);
	cu_archive_free(a);
	expect_verify_clean(arch);
}

/* ---- shared and loose objects ------------------------------------------------------------ */

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_shared_and_loose(void **state)
{
	static const char conf[] = "batch_size = 100;\npack_threshold = 400;\nclasses = (\n"
		"{ kind = \"receipt\"; service = \"contribution\"; category = \"SB\"; class = \"JF\"; "
		"retention = \"D10\"; },\n"
		"{ kind = \"case\"; case_type = \"retirement_approval\"; category = \"YW\"; "
		"class = \"TX\"; retention = \"D10\"; }\n);\n";
	char arch[256], bag[300], p[400], rc[1024], list[128], big[2000];
	struct refs rs = { .n = 0 };
	struct lines ls = { "", 0, 0, 0, 0, 0 };
	cu_disposal_report r;
	cu_archive *a;
	size_t disposed = 0;

	(void)state;
	new_archive(arch, sizeof(arch), "shared", conf);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	/* a receipt received on its own (the whole file is its content) … */
	receipt(rc, sizeof(rc), "R-9", "2010-03-01T09:00:00+08:00", "contribution", "缴费", 0);
	ingest_buf(a, "r9.json", rc, &rs);
	/* … and the same bytes inside a case file, with a large file */
	snprintf(bag, sizeof(bag), "%s/bag", root);
	sh("rm -rf '%s' && mkdir -p '%s/data'", bag, bag);
	snprintf(p, sizeof(p), "%s/data/receipt.json", bag);
	write_file(p, rc, strlen(rc));
	memset(big, 'x', sizeof(big));
	snprintf(p, sizeof(p), "%s/data/scan.txt", bag);
	write_file(p, big, sizeof(big));
	sh("cd '%s' && printf 'BagIt-Version: 1.0\\nTag-File-Character-Encoding: UTF-8\\n' > bagit.txt"
		" && printf 'External-Identifier: TX-2012-0001\\nCase-Type: retirement_approval\\n"
		"Bagging-Date: 2012-06-01\\nTitle: 退休审批\\n' > bag-info.txt"
		" && sha256sum data/receipt.json data/scan.txt > manifest-sha256.txt", bag);
	ingest_path(a, bag, &rs);
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.ref[1], "SI01-YW·2012-D10-TX-000001");
	/* the receipt goes, its bytes stay: the case holds them */
	propose(a, (const char *const[]){ rs.ref[0] }, 1, list);
	approve_as(a, "approver", 4242, list, &ls, &r);
	assert_int_equal(r.removed, 0);
	assert_int_equal(r.kept, 1);
	assert_non_null(strstr(ls.text, "kept sha256:"));
	assert_non_null(strstr(ls.text, rs.ref[1]));
	{
		cu_get_opts oc = { .content = 1, .purpose = "x", .file = "receipt.json" };
		json_t *doc = NULL;
		char *content = NULL;
		size_t clen;
		assert_int_equal(cu_archive_get(a, rs.ref[1], &oc, &doc, &content, &clen), 0);
		assert_int_equal(clen, strlen(rc));
		json_decref(doc);
		free(content);
	}
	cu_archive_free(a);
	assert_int_equal(verify_problems(arch, &disposed), 0);
	assert_int_equal(disposed, 0);
	/* then the case: its large loose file and the shared bytes both go */
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	cu_archive_set_actor(a, "proposer", 4343);
	propose(a, (const char *const[]){ rs.ref[1] }, 1, list);
	memset(&ls, 0, sizeof(ls));
	approve_as(a, "approver", 4242, list, &ls, &r);
	assert_int_equal(r.removed, 2);
	assert_int_equal(r.kept, 0);
	assert_non_null(strstr(ls.text, " loose\n"));
	cu_archive_free(a);
	sh("test -z \"$(find '%s/objects/sha256' -type f)\"", arch);
	assert_int_equal(verify_problems(arch, &disposed), 0);
	assert_int_equal(disposed, 3);   /* the receipt's, and the case's two */
}

/* ---- recovery ------------------------------------------------------------------------ */

static void
test_recovery(void **state)
{
	char arch[256], list[128], old[512];
	struct refs rs = { .n = 0 };
	struct lines ls = { "", 0, 0, 0, 0, 0 };
	cu_disposal_report r;
	cu_archive *a;
	FILE *f;

	(void)state;
	new_archive(arch, sizeof(arch), "recover", NULL);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_buf(a, "five.jsonl", lines5, &rs);
	sh("cp -a %s/objects/packs/pack-*.tar %s/saved.tar", arch, root);
	sh("cd %s/objects/packs && ls pack-*.tar > %s/oldname", arch, root);
	snprintf(old, sizeof(old), "%s/oldname", root);
	assert_non_null(f = fopen(old, "r"));
	assert_non_null(fgets(old, sizeof(old), f));
	fclose(f);
	old[strcspn(old, "\n")] = '\0';
	propose(a, (const char *const[]){ rs.ref[0] }, 1, list);
	approve_as(a, "approver", 4242, list, &ls, &r);
	cu_archive_free(a);
	sh("test ! -e %s/objects/packs/%s", arch, old);
	expect_verify_clean(arch);

	/* a copy of the old pack put back: verify names the disposed object */
	sh("cp -a %s/saved.tar %s/objects/packs/%s", root, arch, old);
	assert_int_equal(verify_problems(arch, NULL), 1);
	/* the index rebuilt from the history finishes the disposal again */
	a = open_arch(arch, CU_ARCHIVE_REPAIR);
	assert_int_equal(cu_archive_reindex(a, NULL), 0);
	cu_archive_free(a);
	sh("test ! -e %s/objects/packs/%s", arch, old);
	expect_verify_clean(arch);

	/* the state a crash between the approval's commit and the removal
	 * leaves: the old pack on disk, an index that has not seen the commit */
	sh("cp -a %s/saved.tar %s/objects/packs/%s && rm -f %s/index/data.mdb %s/index/lock.mdb",
		root, arch, old, arch, arch);
	a = open_arch(arch, CU_ARCHIVE_WRITE);   /* the next writer finishes */
	cu_archive_free(a);
	sh("test ! -e %s/objects/packs/%s", arch, old);
	expect_verify_clean(arch);
	{
		cu_get_opts oc = { .content = 1, .purpose = "x" };
		json_t *doc = NULL;
		char *content = NULL;
		size_t clen;
		a = open_arch(arch, CU_ARCHIVE_WRITE);
		for (int i = 1; i < 5; i++) {
			if (cu_archive_get(a, rs.ref[i], &oc, &doc, &content, &clen) != 0)
				fail_msg("%s: %s", rs.ref[i], cu_error_last());
			json_decref(doc);
			free(content);
		}
		cu_archive_free(a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_holds),
		cmocka_unit_test(test_propose_and_approve),
		cmocka_unit_test(test_search_marks),
		cmocka_unit_test(test_hold_blocks_approval),
		cmocka_unit_test(test_shared_and_loose),
		cmocka_unit_test(test_recovery),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
