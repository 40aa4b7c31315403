/* test_replay.c — `policy replay` through the facade (src/replay.c): the
 * policy in force replays with no difference; a lowered AUTH-1 threshold
 * makes exactly the transactions it should differ; the --from/--to window;
 * the state before the window counts; a single rules file takes the staff
 * in force; bad options; nothing written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "custos/archive.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/policy.h"
#include "custos/util.h"
#include "../../src/archive_int.h"

static char tmpdir[] = "/tmp/custos-test-replay-XXXXXX";

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

static void
new_archive(char out[512], const char *name)
{
	cu_archive_init_opts o = { NULL, "SI01", NULL };

	snprintf(out, 512, "%s/%s", tmpdir, name);
	if (cu_archive_init(out, &o) != 0)
		fail_msg("init: %s", cu_error_last());
}

static int
on_outcome(const cu_ingest_result *r, void *payload)
{
	size_t *rejected = payload;

	if (r->status == CU_INGEST_REJECTED)
		(*rejected)++;
	return 0;
}

static void
ingest_text(const char *arch, const char *text)
{
	cu_archive *a = NULL;
	cu_ingest *in = NULL;
	size_t rejected = 0;

	if (cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0) != 0)
		fail_msg("open: %s", cu_error_last());
	assert_int_equal(cu_ingest_begin(&in, a, on_outcome, &rejected), 0);
	if (cu_ingest_buffer(in, "t.jsonl", text, strlen(text)) != 0)
		fail_msg("ingest: %s", cu_error_last());
	if (cu_ingest_finish(in, NULL) != 0)
		fail_msg("finish: %s", cu_error_last());
	assert_int_equal(rejected, 0);
	cu_archive_free(a);
}

/* Resident ID numbers with their check characters (GB 11643). */
#define P1 "11010519491231002X"
#define P2 "440524188001010014"
#define P3 "320102195510100235"
#define P4 "51010319600229034X"

/* A pension benefit: number, person, amount, approver, posted day. */
#define BEN(no, id, amount, approver, day) \
	"{\"type\":\"fund_txn\",\"txn_no\":\"" no "\",\"kind\":\"benefit_payment\"," \
	"\"fund\":\"pension\",\"scheme\":\"employee\",\"amount\":\"" amount "\"," \
	"\"period\":\"2026-11\",\"posted_at\":\"2026-11-" day "T10:02:00+08:00\"," \
	"\"from_account\":{\"no\":\"EXP-P\",\"class\":\"expenditure\"}," \
	"\"to_account\":{\"no\":\"6222020200112233\",\"class\":\"beneficiary\"}," \
	"\"person\":{\"id_no\":\"" id "\",\"name\":\"张三\"},\"maker\":\"op-017\"," \
	"\"reviewer\":\"op-020\",\"approver\":\"" approver "\"}\n"

/* A fact (qualification, death_report) about a person, posted that day. */
#define FACT(no, kind, id, event, day) \
	"{\"type\":\"fund_txn\",\"txn_no\":\"" no "\",\"kind\":\"" kind "\"," \
	"\"fund\":\"pension\",\"scheme\":\"employee\"," \
	"\"posted_at\":\"2026-11-" day "T09:00:00+08:00\",\"event_date\":\"" event "\"," \
	"\"person\":{\"id_no\":\"" id "\",\"name\":\"张三\"},\"maker\":\"op-017\"," \
	"\"reviewer\":\"op-020\",\"approver\":\"op-031\"}\n"

/* The shipped policy with AUTH-1's first level at `above`. */
static cu_policy *
policy_with_auth(const char *above)
{
	const char *rt = cu_policy_default_rules(), *st = cu_policy_default_staff();
	const char *at = strstr(rt, "above = \"50000.00\"");
	cu_policy *p = NULL;
	char *text;

	assert_non_null(at);
	text = cu_asprintf("%.*sabove = \"%s\"%s", (int)(at - rt), rt, above,
		at + strlen("above = \"50000.00\""));
	assert_non_null(text);
	if (cu_policy_parse(&p, text, strlen(text), "fund-control.conf", st, strlen(st),
			"staff.conf") != 0)
		fail_msg("parse: %s", cu_error_last());
	free(text);
	return p;
}

/* tmpdir/name/fund-control.conf (the shipped rules with AUTH-1's first
 * level at `above`) and staff.conf; the folder's path into dir. */
static void
write_candidate(char dir[600], const char *name, const char *above)
{
	const char *rt = cu_policy_default_rules();
	const char *at = strstr(rt, "above = \"50000.00\"");
	char path[700];
	FILE *f;

	assert_non_null(at);
	snprintf(dir, 600, "%s/%s", tmpdir, name);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/fund-control.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%.*sabove = \"%s\"%s", (int)(at - rt), rt, above,
		at + strlen("above = \"50000.00\""));
	assert_int_equal(fclose(f), 0);
	snprintf(path, sizeof(path), "%s/staff.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(cu_policy_default_staff(), f);
	assert_int_equal(fclose(f), 0);
}

/* What the callback saw: "REF\trecorded\tcandidate\n" lines. */
struct seen {
	char text[8192];
	size_t n;
};

static int
on_diff(const cu_replay_diff *d, void *payload)
{
	struct seen *s = payload;
	size_t used = strlen(s->text);

	snprintf(s->text + used, sizeof(s->text) - used, "%s\t%s %s\t%s %s\n", d->txn_no,
		cu_policy_verdicts[d->recorded], d->recorded_rules,
		cu_policy_verdicts[d->candidate], d->candidate_rules);
	s->n++;
	return 0;
}

static const cu_replay_rule *
rule_of(const cu_replay_report *r, const char *id)
{
	for (size_t i = 0; i < r->nrules; i++)
		if (strcmp(r->rules[i].rule, id) == 0)
			return &r->rules[i];
	fail_msg("no summary for %s", id);
	return NULL;
}

static int
replay(const char *arch, const cu_policy *p, const char *from, const char *to, struct seen *s,
	cu_replay_report *r)
{
	cu_replay_opts o = { .candidate = p, .from = from, .to = to };
	cu_archive *a = NULL;
	int error;

	if (cu_archive_open(&a, arch, CU_ARCHIVE_READ, 0) != 0)
		fail_msg("open: %s", cu_error_last());
	memset(s, 0, sizeof(*s));
	error = cu_archive_policy_replay(a, &o, on_diff, s, r);
	cu_archive_free(a);
	return error;
}

/* Three days of business: qualifications, benefits approved by a
 * supervisor (op-031) and by a clerk (op-032), amounts either side of
 * 1000.00. */
static const char *const three_days =
	FACT("Q-1", "qualification", P1, "2026-11-02", "18")
	FACT("Q-2", "qualification", P2, "2026-11-02", "18")
	FACT("Q-3", "qualification", P3, "2026-11-02", "18")
	BEN("B-1", P1, "2000.00", "op-031", "18")
	BEN("B-2", P2, "2000.00", "op-032", "18")
	BEN("B-3", P3, "999.99", "op-032", "19")
	BEN("B-4", P1, "1000.00", "op-032", "19")
	BEN("B-5", P2, "1000.01", "op-032", "20")
	BEN("B-6", P3, "3000.00", "op-031", "20");

static void
test_same_policy_no_difference(void **state)
{
	char arch[512], head[CU_OID_HEX], head2[CU_OID_HEX];
	cu_replay_report r;
	struct seen s;
	cu_archive *a = NULL;
	cu_policy *p = policy_with_auth("50000.00");

	(void)state;
	new_archive(arch, "same");
	ingest_text(arch, three_days);
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_READ, 0), 0);
	assert_int_equal(cu_history_head(head, a->hist), 0);
	cu_archive_free(a);

	assert_int_equal(replay(arch, p, NULL, NULL, &s, &r), 0);
	assert_int_equal(r.replayed, 9);
	assert_int_equal(r.compared, 9);
	assert_int_equal(r.differ, 0);
	assert_int_equal(s.n, 0);
	assert_string_equal(r.policy, cu_policy_digest(p));
	assert_int_equal(rule_of(&r, "AUTH-1")->recorded, 0);
	cu_replay_report_clear(&r);

	/* it wrote nothing */
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_READ, 0), 0);
	assert_int_equal(cu_history_head(head2, a->hist), 0);
	cu_archive_free(a);
	assert_string_equal(head, head2);
	cu_policy_free(p);
}

static void
test_lowered_auth(void **state)
{
	char arch[512];
	cu_replay_report r;
	struct seen s;
	cu_policy *p = policy_with_auth("1000.00");
	const cu_replay_rule *e;
	cu_archive *a = NULL;
	char dir[600], digest[65];

	(void)state;
	new_archive(arch, "auth");
	ingest_text(arch, three_days);
	assert_int_equal(replay(arch, p, NULL, NULL, &s, &r), 0);
	/* above 1000.00 needs a supervisor: the clerk's B-2 and B-5; 1000.00
	 * itself and 999.99 do not, nor a supervisor's 2000.00 or 3000.00.
	 * B-5 pays P2 for the month B-2 paid: recorded, a duplicate; under the
	 * candidate B-2 was denied, so the state it judges B-5 on holds no
	 * benefit of P2's, and only AUTH-1 fires (B-4 and B-6, the second
	 * payments to P1 and P3, stay duplicates under both) */
	assert_string_equal(s.text,
		"B-2\tallow \tdeny AUTH-1\n"
		"B-5\tdeny DUP-1\tdeny AUTH-1\n");
	assert_int_equal(r.differ, 2);
	assert_int_equal(r.compared, 9);
	e = rule_of(&r, "AUTH-1");
	assert_int_equal(e->recorded, 0);
	assert_int_equal(e->candidate, 2);
	assert_int_equal(e->newly, 2);
	assert_int_equal(e->no_longer, 0);
	e = rule_of(&r, "DUP-1");              /* B-4, B-5, B-6; B-4, B-6 */
	assert_int_equal(e->recorded, 3);
	assert_int_equal(e->candidate, 2);
	assert_int_equal(e->no_longer, 1);
	cu_replay_report_clear(&r);

	/* and the other way: the candidate is the policy in force, the
	 * archive was judged under the lowered one */
	cu_policy_free(p);
	p = policy_with_auth("50000.00");
	new_archive(arch, "auth2");
	write_candidate(dir, "low", "1000.00");
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0), 0);
	if (cu_archive_policy_install(a, dir, digest) != 0)
		fail_msg("install: %s", cu_error_last());
	cu_archive_free(a);
	ingest_text(arch, three_days);
	assert_int_equal(replay(arch, p, NULL, NULL, &s, &r), 0);
	assert_string_equal(s.text,
		"B-2\tdeny AUTH-1\tallow \n"
		"B-5\tdeny AUTH-1\tdeny DUP-1\n");
	e = rule_of(&r, "AUTH-1");
	assert_int_equal(e->recorded, 2);
	assert_int_equal(e->candidate, 0);
	assert_int_equal(e->no_longer, 2);
	assert_int_equal(rule_of(&r, "DUP-1")->newly, 1);
	cu_replay_report_clear(&r);
	cu_policy_free(p);
}

static void
test_window(void **state)
{
	char arch[512];
	cu_replay_report r;
	struct seen s;
	cu_policy *p = policy_with_auth("1000.00");

	(void)state;
	new_archive(arch, "window");
	ingest_text(arch, three_days);
	/* the 18th only: B-2 */
	assert_int_equal(replay(arch, p, "2026-11-18", "2026-11-18", &s, &r), 0);
	assert_string_equal(s.text, "B-2\tallow \tdeny AUTH-1\n");
	assert_int_equal(r.replayed, 9);
	assert_int_equal(r.compared, 5);
	cu_replay_report_clear(&r);
	/* the 19th: nothing differs (999.99 and 1000.00) */
	assert_int_equal(replay(arch, p, "2026-11-19", "2026-11-19", &s, &r), 0);
	assert_int_equal(r.compared, 2);
	assert_int_equal(r.differ, 0);
	cu_replay_report_clear(&r);
	/* from the 19th on: B-5 */
	assert_int_equal(replay(arch, p, "2026-11-19", NULL, &s, &r), 0);
	assert_string_equal(s.text, "B-5\tdeny DUP-1\tdeny AUTH-1\n");
	assert_int_equal(r.compared, 4);
	cu_replay_report_clear(&r);
	/* up to the 19th: B-2 */
	assert_int_equal(replay(arch, p, NULL, "2026-11-19", &s, &r), 0);
	assert_string_equal(s.text, "B-2\tallow \tdeny AUTH-1\n");
	assert_int_equal(r.compared, 7);
	cu_replay_report_clear(&r);
	/* bad windows */
	assert_int_equal(replay(arch, p, "2026-11-20", "2026-11-19", &s, &r), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "--from 2026-11-20 is after --to 2026-11-19"));
	assert_int_equal(replay(arch, p, "2026-02-30", NULL, &s, &r), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "--from"));
	assert_int_equal(replay(arch, p, NULL, "tomorrow", &s, &r), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "--to"));
	cu_policy_free(p);
}

static void
test_state_before_window(void **state)
{
	char arch[512];
	cu_replay_report r;
	struct seen s;
	cu_policy *p = policy_with_auth("50000.00");
	const cu_replay_rule *e;

	(void)state;
	new_archive(arch, "death");
	ingest_text(arch,
		FACT("Q-4", "qualification", P4, "2026-11-02", "10")
		FACT("D-4", "death_report", P4, "2026-10-20", "10")
		BEN("B-7", P4, "2000.00", "op-031", "20"));
	/* the death was reported on the 10th, before the window: the payment
	 * on the 20th is still denied, as recorded */
	assert_int_equal(replay(arch, p, "2026-11-15", NULL, &s, &r), 0);
	assert_int_equal(r.replayed, 3);
	assert_int_equal(r.compared, 1);
	assert_int_equal(r.differ, 0);
	e = rule_of(&r, "DEATH-1");
	assert_int_equal(e->recorded, 1);
	assert_int_equal(e->candidate, 1);
	cu_replay_report_clear(&r);
	cu_policy_free(p);
}

/* A recorded review settles a transaction the candidate queued, at the
 * review's place in the log: B-1 (no qualification: QUAL-1, review) is
 * rejected, so its benefit is withdrawn and B-2 for the same person and
 * month is no duplicate — as the archive decided it.  Replay without the
 * review would keep B-1 standing and deny B-2 (DUP-1).  A second pair is
 * approved: its payment is posted and the next one for the month is a
 * duplicate, under the candidate as in the archive. */
static void
test_reviews_replayed(void **state)
{
	char arch[512], ref[128], ev[65];
	cu_replay_report r;
	struct seen s;
	cu_archive *a = NULL;
	cu_policy *p = policy_with_auth("50000.00");

	(void)state;
	new_archive(arch, "reviews");
	ingest_text(arch, BEN("B-1", P4, "2000.00", "op-031", "18")
		BEN("B-9", P3, "2000.00", "op-031", "18"));
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0), 0);
	if (cu_archive_review(a, "txn:B-1", 0, "no qualification on file", ref, ev) != 0 ||
	    cu_archive_review(a, "txn:B-9", 1, "qualification seen on paper", ref, ev) != 0)
		fail_msg("review: %s", cu_error_last());
	cu_archive_free(a);
	ingest_text(arch, BEN("B-2", P4, "2000.00", "op-031", "19")
		BEN("B-10", P3, "2000.00", "op-031", "19"));

	assert_int_equal(replay(arch, p, NULL, NULL, &s, &r), 0);
	assert_int_equal(r.replayed, 4);
	assert_int_equal(r.reviews, 2);
	if (r.differ != 0)
		fail_msg("replay differs:\n%s", s.text);
	assert_int_equal(rule_of(&r, "DUP-1")->recorded, 1);      /* B-10 only */
	assert_int_equal(rule_of(&r, "DUP-1")->candidate, 1);
	assert_int_equal(rule_of(&r, "QUAL-1")->candidate, 4);
	cu_replay_report_clear(&r);
	cu_policy_free(p);
}

static void
test_rules_file_and_errors(void **state)
{
	char arch[512], dir[600], path[700];
	cu_replay_opts o = { 0 };
	cu_replay_report r;
	struct seen s;
	cu_archive *a = NULL;
	FILE *f;

	(void)state;
	new_archive(arch, "file");
	ingest_text(arch, three_days);
	write_candidate(dir, "cand", "1000.00");
	/* one rules file: the staff in force (the same staff here) */
	snprintf(path, sizeof(path), "%s/fund-control.conf", dir);
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_READ, 0), 0);
	o.policy = path;
	memset(&s, 0, sizeof(s));
	assert_int_equal(cu_archive_policy_replay(a, &o, on_diff, &s, &r), 0);
	assert_int_equal(r.differ, 2);
	cu_replay_report_clear(&r);
	/* the folder: the same */
	o.policy = dir;
	memset(&s, 0, sizeof(s));
	assert_int_equal(cu_archive_policy_replay(a, &o, on_diff, &s, &r), 0);
	assert_int_equal(r.differ, 2);
	cu_replay_report_clear(&r);
	o.policy = path;

	/* a broken candidate: FILE:LINE */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("rules = ( { id = \"X-1\"; check = \"nonsense\"; } );\n", f);
	fclose(f);
	assert_int_equal(cu_archive_policy_replay(a, &o, on_diff, &s, &r), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), path));
	/* no such file */
	snprintf(path, sizeof(path), "%s/nothing-here", tmpdir);
	assert_int_equal(cu_archive_policy_replay(a, &o, on_diff, &s, &r), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "nothing-here"));
	/* no candidate */
	o.policy = NULL;
	assert_int_equal(cu_archive_policy_replay(a, &o, on_diff, &s, &r), CU_EINVALID);
	cu_archive_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_policy_no_difference),
		cmocka_unit_test(test_lowered_auth),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_state_before_window),
		cmocka_unit_test(test_reviews_replayed),
		cmocka_unit_test(test_rules_file_and_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
