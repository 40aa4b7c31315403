/* test_fundtxn.c — fund transactions through the archive facade: intake,
 * deduplication, classification, decisions as records, the fund-control
 * state in LMDB checked against pstate.c (the reference) decision by
 * decision and balance by balance, across batches, processes and a
 * reindex; the policy in force and its installation (src/fundtxn.c,
 * src/fpolicy.c, the f_* databases of src/index.c). */
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

#include <jansson.h>

#include "custos/archive.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/policy.h"
#include "custos/pstate.h"
#include "custos/record.h"
#include "custos/util.h"
#include "../../src/archive_int.h"

static char tmpdir[] = "/tmp/custos-test-fundtxn-XXXXXX";

/* ---- set-up ------------------------------------------------------------- */

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

/* A new archive tmpdir/name with `batch` records per commit (0: default). */
static void
new_archive(char out[512], const char *name, unsigned batch)
{
	cu_archive_init_opts o = { NULL, "SI01", NULL };
	const char *d = cu_conf_default_text(), *at;
	char *conf = NULL;

	snprintf(out, 512, "%s/%s", tmpdir, name);
	if (batch) {
		at = strstr(d, "batch_size = 10000;");
		assert_non_null(at);
		conf = cu_asprintf("%.*sbatch_size = %u;%s", (int)(at - d), d, batch,
			at + strlen("batch_size = 10000;"));
		assert_non_null(conf);
		o.conf_text = conf;
	}
	if (cu_archive_init(out, &o) != 0)
		fail_msg("init: %s", cu_error_last());
	free(conf);
}

static cu_archive *
open_arch(const char *path, int mode)
{
	cu_archive *a = NULL;

	if (cu_archive_open(&a, path, mode, 0) != 0)
		fail_msg("open %s: %s", path, cu_error_last());
	return a;
}

/* ---- outcomes ----------------------------------------------------------- */

struct outcome {
	cu_ingest_status status;
	char ref[160], id[65], reason[512], decision[256];
	int denied;
};

struct outs {
	struct outcome *o;
	size_t n, cap;
};

static int
on_outcome(const cu_ingest_result *r, void *payload)
{
	struct outs *os = payload;
	struct outcome *o;

	assert_int_equal(cu_grow(&os->o, &os->cap, os->n + 1, sizeof(*os->o)), 0);
	o = &os->o[os->n++];
	memset(o, 0, sizeof(*o));
	o->status = r->status;
	snprintf(o->ref, sizeof(o->ref), "%s", r->ref ? r->ref : "");
	snprintf(o->id, sizeof(o->id), "%s", r->id ? r->id : "");
	snprintf(o->reason, sizeof(o->reason), "%s", r->reason ? r->reason : "");
	snprintf(o->decision, sizeof(o->decision), "%s", r->decision ? r->decision : "");
	o->denied = r->denied;
	return 0;
}

/* Ingests text as one source; outcomes appended to os; stats into st. */
static void
ingest_text(const char *arch, const char *text, struct outs *os, cu_ingest_stats *st)
{
	cu_archive *a = open_arch(arch, CU_ARCHIVE_WRITE);
	cu_ingest *in = NULL;

	assert_int_equal(cu_ingest_begin(&in, a, on_outcome, os), 0);
	if (cu_ingest_buffer(in, "t.jsonl", text, strlen(text)) != 0)
		fail_msg("ingest: %s", cu_error_last());
	if (cu_ingest_finish(in, st) != 0)
		fail_msg("finish: %s", cu_error_last());
	cu_archive_free(a);
}

/* ---- transactions ------------------------------------------------------- */

/* A resident ID number with its check character (GB 11643). */
static void
make_id(char out[19], const char *first17)
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	int sum = 0;

	for (int i = 0; i < 17; i++)
		sum += (first17[i] - '0') * w[i];
	memcpy(out, first17, 17);
	out[17] = "10X98765432"[sum % 11];
	out[18] = '\0';
}

static uint32_t seed = 20261120u;

static unsigned
rnd(unsigned n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static const char *const staff[] = { "op-011", "op-017", "op-018", "op-020", "op-021",
	"op-031", "op-032", "op-033", "op-041" };
#define NSTAFF (sizeof(staff) / sizeof(*staff))

static json_t *
account(const char *cls, const char *fund, int foreign)
{
	char no[64];

	snprintf(no, sizeof(no), "%s-%s", cls, fund);
	if (strcmp(cls, "payer") == 0 || strcmp(cls, "beneficiary") == 0)
		snprintf(no, sizeof(no), "62220202%08u", rnd(4));
	return json_pack("{s:s, s:s, s:s*}", "no", no, "class", cls, "fund",
		foreign ? "unemployment" : NULL);
}

/* One transaction line, number k, of a month of business: mostly regular,
 * with every rule given a chance to fire. */
static char *
txn_line(unsigned k, char ids[][19], unsigned nids)
{
	static const char *const kinds[] = { "contribution", "benefit_payment", "benefit_payment",
		"benefit_payment", "refund", "transfer", "interest", "account_change",
		"qualification", "qualification", "death_report" };
	const char *kind = kinds[rnd(sizeof(kinds) / sizeof(*kinds))];
	const char *fund = rnd(5) ? "pension" : "medical";
	const char *scheme = rnd(4) ? "employee" : "resident";
	unsigned day = 2 + rnd(27);
	const char *fromc = NULL, *toc = NULL;
	char buf[64], *line;
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:s}", "type", "fund_txn", "kind", kind, "fund", fund,
		"maker", rnd(6) ? staff[rnd(3)] : staff[rnd(NSTAFF)]);
	assert_non_null(o);
	snprintf(buf, sizeof(buf), "T-%05u", k);
	json_object_set_new(o, "txn_no", json_string(buf));
	snprintf(buf, sizeof(buf), "2026-11-%02uT%02u:%02u:00+08:00", day, 7 + rnd(12), rnd(60));
	json_object_set_new(o, "posted_at", json_string(buf));
	json_object_set_new(o, "reviewer", json_string(staff[3 + rnd(NSTAFF - 3)]));
	json_object_set_new(o, "approver", json_string(staff[5 + rnd(NSTAFF - 5)]));
	if (strcmp(kind, "contribution") == 0) {
		fromc = "payer"; toc = "income";
		snprintf(buf, sizeof(buf), "%u.00", 5000 + rnd(30000));
		json_object_set_new(o, "base", json_string(buf));
	} else if (strcmp(kind, "benefit_payment") == 0) {
		fromc = "expenditure"; toc = "beneficiary";
	} else if (strcmp(kind, "refund") == 0) {
		fromc = "income"; toc = "payer";
	} else if (strcmp(kind, "transfer") == 0) {
		static const char *const f[] = { "income", "fiscal", "expenditure" };
		static const char *const t[] = { "fiscal", "expenditure", "fiscal" };
		unsigned i = rnd(3);
		fromc = f[i]; toc = t[i];
	} else if (strcmp(kind, "interest") == 0) {
		toc = rnd(2) ? "income" : "fiscal";
	} else {
		snprintf(buf, sizeof(buf), "2026-%02u-%02u", rnd(3) ? 11 : 10, 1 + rnd(day - 1));
		json_object_set_new(o, "event_date", json_string(buf));
	}
	if (strcmp(kind, "transfer") == 0 || strcmp(kind, "interest") == 0)
		scheme = "employee";
	else
		json_object_set_new(o, "person", json_pack("{s:s, s:s}", "id_no", ids[rnd(nids)],
			"name", "张三"));
	json_object_set_new(o, "scheme", json_string(scheme));
	if (toc != NULL) {
		unsigned long yuan = rnd(10) ? 100 + rnd(9000) : 40000 + rnd(700000);
		snprintf(buf, sizeof(buf), "%lu.%02u", yuan, rnd(100));
		json_object_set_new(o, "amount", json_string(buf));
		snprintf(buf, sizeof(buf), "2026-%02u", 10 + rnd(3));
		json_object_set_new(o, "period", json_string(buf));
		if (fromc != NULL)
			json_object_set_new(o, "from_account",
				account(rnd(15) ? fromc : "beneficiary", fund, 0));
		json_object_set_new(o, "to_account", account(toc, fund, rnd(25) == 0));
	}
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_non_null(line);
	return line;
}

/* The ingest's decision text for a decision (docs/formats.md). */
static void
verdict_text(char *out, size_t sz, const cu_decision *d)
{
	size_t used = (size_t)snprintf(out, sz, "%s", cu_policy_verdicts[d->verdict]);
	int want = d->verdict == CU_VERDICT_DENY ? CU_SEV_DENY : CU_SEV_REVIEW;

	for (size_t i = 0, k = 0; d->verdict != CU_VERDICT_ALLOW && i < d->n && used < sz; i++)
		if (d->findings[i].severity == want)
			used += (size_t)snprintf(out + used, sz - used, "%s%s", k++ ? "," : " ",
				d->findings[i].rule);
}

/* The reference: judges each line with pstate (in memory), as the archive
 * must; expected outcomes appended to want. */
struct ref {
	cu_policy *p;
	cu_pstate *s;
	cu_policy_state st;
};

static void
ref_init(struct ref *r)
{
	const char *rt = cu_policy_default_rules(), *st = cu_policy_default_staff();

	assert_int_equal(cu_policy_parse(&r->p, rt, strlen(rt), "r", st, strlen(st), "s"), 0);
	assert_int_equal(cu_pstate_new(&r->s), 0);
	cu_pstate_iface(&r->st, r->s);
}

static void
ref_free(struct ref *r)
{
	cu_pstate_free(r->s);
	cu_policy_free(r->p);
}

/* "rejected" or the decision text expected for one line. */
static void
ref_judge(struct ref *r, const char *line, char *out, size_t sz)
{
	json_t *raw = json_loads(line, 0, NULL), *txn = NULL;
	cu_decision d;
	cu_fund_txn v;

	assert_non_null(raw);
	if (cu_fund_validate(&txn, raw) != 0) {
		snprintf(out, sz, "rejected");
		json_decref(raw);
		return;
	}
	cu_decision_init(&d);
	assert_int_equal(cu_fund_view(&v, txn), 0);
	assert_int_equal(cu_policy_eval_view(r->p, &v, &r->st, &d), 0);
	assert_int_equal(cu_pstate_apply(r->s, &v, d.verdict), 0);
	verdict_text(out, sz, &d);
	cu_decision_free(&d);
	json_decref(txn);
	json_decref(raw);
}

static int
cmp_finding(const void *x, const void *y)
{
	return strcmp(((const cu_policy_finding *)x)->message,
		((const cu_policy_finding *)y)->message);
}

/* Compares the period closes of the archive and of the reference. */
static void
compare_close(const char *arch, struct ref *r, int period)
{
	cu_archive *a = open_arch(arch, CU_ARCHIVE_READ);
	cu_decision da, dr;

	cu_decision_init(&da);
	cu_decision_init(&dr);
	assert_int_equal(cu_archive_fund_close(a, period, &da), 0);
	assert_int_equal(cu_policy_close(r->p, period, &r->st, &dr), 0);
	assert_int_equal(da.n, dr.n);
	/* the order of the accounts is the state's own: compare as sets */
	qsort(da.findings, da.n, sizeof(*da.findings), cmp_finding);
	qsort(dr.findings, dr.n, sizeof(*dr.findings), cmp_finding);
	for (size_t i = 0; i < da.n; i++)
		assert_string_equal(da.findings[i].message, dr.findings[i].message);
	cu_decision_free(&da);
	cu_decision_free(&dr);
	cu_archive_free(a);
}

/* ---- tests -------------------------------------------------------------- */

/* A month of transactions, in batches of 7 records and in two ingests (two
 * processes' worth of opening), judged exactly as the reference judges
 * them; balances at each period close equal; and a reindex rebuilds the
 * same state (later decisions and closes still equal). */
static void
test_month_matches_reference(void **state)
{
	char arch[512], ids[6][19], want[256];
	static const char *const first17[6] = { "11010519491231002", "44052418800101001",
		"11010119500101123", "32010219551010234", "51010319600229345",
		"11010519491231003" };
	struct ref r;
	struct outs os = { 0 };
	cu_ingest_stats st;
	size_t denied = 0, reviewed = 0;
	char *text[3] = { NULL, NULL, NULL };

	(void)state;
	for (int i = 0; i < 6; i++)
		make_id(ids[i], first17[i]);
	new_archive(arch, "month", 7);
	ref_init(&r);
	for (unsigned part = 0; part < 3; part++) {
		size_t len = 0, first = os.n;
		char **lines = calloc(120, sizeof(*lines));
		assert_non_null(lines);
		for (unsigned k = 0; k < 120; k++) {
			lines[k] = txn_line(part * 120 + k + 1, ids, 6);
			len += strlen(lines[k]) + 1;
		}
		text[part] = calloc(1, len + 1);
		for (unsigned k = 0; k < 120; k++) {
			strcat(text[part], lines[k]);
			strcat(text[part], "\n");
		}
		ingest_text(arch, text[part], &os, &st);
		assert_int_equal(os.n - first, 120);
		for (unsigned k = 0; k < 120; k++) {
			struct outcome *o = &os.o[first + k];
			ref_judge(&r, lines[k], want, sizeof(want));
			if (strcmp(want, "rejected") == 0) {
				assert_int_equal(o->status, CU_INGEST_REJECTED);
			} else {
				if (o->status != CU_INGEST_ARCHIVED || strcmp(o->decision, want) != 0)
					fail_msg("T-%05u: got %s (%s), want %s", part * 120 + k + 1,
						o->decision, o->reason, want);
				assert_int_equal(o->denied, strncmp(want, "deny", 4) == 0);
				denied += o->denied;
				reviewed += strncmp(want, "review", 6) == 0;
			}
			free(lines[k]);
		}
		free(lines);
		for (int period = 2026 * 12 + 9; period <= 2026 * 12 + 11; period++)
			compare_close(arch, &r, period);
		if (part == 1) {
			/* the state is a cache: rebuilt from the history alone */
			cu_archive *a = open_arch(arch, CU_ARCHIVE_REPAIR);
			size_t commits = 0;
			assert_int_equal(cu_archive_reindex(a, &commits), 0);
			assert_true(commits > 10);
			cu_archive_free(a);
			for (int period = 2026 * 12 + 9; period <= 2026 * 12 + 11; period++)
				compare_close(arch, &r, period);
		}
	}
	/* the month exercised the rules: some denied, some queued */
	assert_true(denied > 10);
	assert_true(reviewed > 10);
	/* the same input again: duplicates, nothing judged twice */
	{
		struct outs again = { 0 };
		ingest_text(arch, text[0], &again, &st);
		for (size_t i = 0; i < again.n; i++)
			assert_int_not_equal(again.o[i].status, CU_INGEST_ARCHIVED);
		assert_int_equal(st.archived, 0);
		free(again.o);
	}
	for (int period = 2026 * 12 + 9; period <= 2026 * 12 + 11; period++)
		compare_close(arch, &r, period);
	for (int i = 0; i < 3; i++)
		free(text[i]);
	free(os.o);
	ref_free(&r);
}

#define BEN(no, period, approver) "{\"type\":\"fund_txn\",\"txn_no\":\"" no "\"," \
	"\"kind\":\"benefit_payment\",\"fund\":\"pension\",\"scheme\":\"employee\"," \
	"\"amount\":\"3250.00\",\"period\":\"" period "\",\"posted_at\":" \
	"\"2026-11-20T10:02:00+08:00\",\"from_account\":{\"no\":\"EXP-P\",\"class\":" \
	"\"expenditure\"},\"to_account\":{\"no\":\"6222020200112233\",\"class\":" \
	"\"beneficiary\"},\"person\":{\"id_no\":\"11010519491231002X\",\"name\":\"张三\"}," \
	"\"maker\":\"op-017\",\"reviewer\":\"op-020\",\"approver\":\"" approver "\"}\n"
#define QUAL(no, date) "{\"type\":\"fund_txn\",\"txn_no\":\"" no "\",\"kind\":" \
	"\"qualification\",\"fund\":\"pension\",\"scheme\":\"employee\",\"posted_at\":" \
	"\"2026-11-20T10:02:00+08:00\",\"event_date\":\"" date "\",\"person\":{\"id_no\":" \
	"\"11010519491231002X\",\"name\":\"张三\"},\"maker\":\"op-017\"}\n"
#define CONTRIB(no, base) "{\"type\":\"fund_txn\",\"txn_no\":\"" no "\",\"kind\":" \
	"\"contribution\",\"fund\":\"pension\",\"scheme\":\"employee\",\"amount\":\"1280.00\"," \
	"\"period\":\"2026-11\",\"posted_at\":\"2026-11-20T10:02:00+08:00\",\"base\":\"" base \
	"\",\"from_account\":{\"no\":\"PAY-1\",\"class\":\"payer\"},\"to_account\":{\"no\":" \
	"\"INC-P\",\"class\":\"income\"},\"org\":{\"uscc\":\"91350100M000100Y43\",\"name\":" \
	"\"Example Co.\"},\"maker\":\"op-017\"}\n"

/* Intake: dispatch on type, dedup by txn/<txn_no>, the class by kind, the
 * record and its decision event, get and trace, no ID number in the index. */
static void
test_intake_records(void **state)
{
	char arch[512], path[600];
	struct outs os = { 0 };
	cu_ingest_stats st;
	cu_archive *a;
	cu_get_opts g = { 0 };
	json_t *doc = NULL, *dec = NULL;
	char *content = NULL, *data = NULL;
	size_t clen = 0, dlen = 0;

	(void)state;
	new_archive(arch, "intake", 0);
	ingest_text(arch, QUAL("Q-1", "2026-10-01") BEN("B-1", "2026-11", "op-031")
		BEN("B-2", "2026-11", "op-031")
		"{\"type\":\"fund_tx\",\"txn_no\":\"X\"}\n"
		BEN("B-3", "2026-11", "op-017"), &os, &st);
	assert_int_equal(os.n, 5);
	assert_string_equal(os.o[0].decision, "allow");
	assert_non_null(strstr(os.o[0].ref, "SI01-JJ\xc2\xb7" "2026-D50-ZG-000001"));
	assert_string_equal(os.o[1].decision, "allow");
	assert_non_null(strstr(os.o[1].ref, "SI01-JJ\xc2\xb7" "2026-D30-ZF-000001"));
	assert_string_equal(os.o[2].decision, "deny DUP-1");
	assert_int_equal(os.o[2].denied, 1);
	assert_int_equal(os.o[3].status, CU_INGEST_REJECTED);
	assert_non_null(strstr(os.o[3].reason, "type"));
	assert_string_equal(os.o[4].decision, "deny SOD-1,DUP-1");
	assert_int_equal(st.archived, 4);
	assert_int_equal(st.denied, 2);
	assert_int_equal(st.rejected, 1);

	/* the same again: duplicate; the same number with other content: conflict */
	free(os.o);
	memset(&os, 0, sizeof(os));
	ingest_text(arch, BEN("B-1", "2026-11", "op-031") BEN("B-1", "2026-12", "op-031"), &os, &st);
	assert_int_equal(os.o[0].status, CU_INGEST_DUPLICATE);
	assert_int_equal(os.o[1].status, CU_INGEST_REJECTED);
	assert_non_null(strstr(os.o[1].reason, "conflict: fund transaction txn/B-1"));
	free(os.o);

	/* get masks the ID number; the decision is found by the record */
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	assert_int_equal(cu_archive_get(a, "SI01-JJ-2026-D30-ZF-000002", &g, &doc, &content,
		&clen), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(doc,
		"fund_txn"), "person"), "id_no")), "110105********002X");
	assert_int_equal(cu_archive_decision(&dec, a, json_string_value(json_object_get(doc, "id"))),
		0);
	assert_string_equal(json_string_value(json_object_get(dec, "verdict")), "deny");
	assert_string_equal(json_string_value(json_object_get(dec, "state")), "none");
	assert_string_equal(json_string_value(json_object_get(json_object_get(dec, "decision"),
		"verdict")), "deny");
	assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(dec, "decision"),
		"policy"))), 64);
	json_decref(dec);
	json_decref(doc);
	free(content);
	cu_archive_free(a);

	/* no ID number in the index, in any form */
	snprintf(path, sizeof(path), "%s/index/data.mdb", arch);
	assert_int_equal(cu_read_file(&data, &dlen, path, 1 << 30), 0);
	assert_null(memmem(data, dlen, "11010519491231002", 17));
	assert_null(memmem(data, dlen, "11010519491231002X", 18));
	free(data);
}

/* The policy in force: installed at init, replaced by policy install (a
 * changed parameter changes later decisions and the digest in them), an
 * invalid one refused naming file and line with nothing changed. */
static void
test_policy_install(void **state)
{
	char arch[512], dir[600], path[700], digest[65], d0[65];
	const char *rules = cu_policy_default_rules(), *staffconf = cu_policy_default_staff();
	const char *at;
	const cu_policy *p;
	struct outs os = { 0 };
	cu_ingest_stats st;
	cu_archive *a;
	char *changed;

	(void)state;
	new_archive(arch, "policy", 0);
	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_int_equal(cu_archive_policy(&p, a), 0);
	snprintf(d0, sizeof(d0), "%s", cu_policy_digest(p));
	cu_archive_free(a);
	ingest_text(arch, CONTRIB("C-1", "4000.00"), &os, &st);
	assert_string_equal(os.o[0].decision, "review BASE-1");

	/* average wage 5,000.00: a base of 4,000.00 is within 60 %-300 % */
	snprintf(dir, sizeof(dir), "%s/pol", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	at = strstr(rules, "average_wage = \"10000.00\";");
	assert_non_null(at);
	changed = cu_asprintf("%.*saverage_wage = \"5000.00\";%s", (int)(at - rules), rules,
		at + strlen("average_wage = \"10000.00\";"));
	snprintf(path, sizeof(path), "%s/fund-control.conf", dir);
	assert_int_equal(cu_write_file_durable(path, changed, strlen(changed), 0644, 1), 0);
	snprintf(path, sizeof(path), "%s/staff.conf", dir);
	assert_int_equal(cu_write_file_durable(path, staffconf, strlen(staffconf), 0644, 1), 0);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	assert_int_equal(cu_archive_policy_install(a, dir, digest), 0);
	assert_string_not_equal(digest, d0);
	cu_archive_free(a);
	ingest_text(arch, CONTRIB("C-2", "4000.00"), &os, &st);
	assert_string_equal(os.o[1].decision, "allow");
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	{
		json_t *dec = NULL;
		assert_int_equal(cu_archive_decision(&dec, a, os.o[1].id), 0);
		assert_string_equal(json_string_value(json_object_get(json_object_get(dec, "decision"),
			"policy")), digest);
		json_decref(dec);
	}
	/* a broken file: refused with file:line, the policy in force unchanged */
	snprintf(path, sizeof(path), "%s/fund-control.conf", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cu_write_file_durable(path, "rules = ( { id = \"X\"; } );\n", 27, 0644, 1),
		0);
	assert_int_equal(cu_archive_policy_install(a, dir, d0), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "fund-control.conf:1:"));
	assert_int_equal(cu_archive_policy(&p, a), 0);
	assert_string_equal(cu_policy_digest(p), digest);
	cu_archive_free(a);
	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_int_equal(cu_archive_policy(&p, a), 0);
	assert_string_equal(cu_policy_digest(p), digest);
	cu_archive_free(a);
	free(changed);
	free(os.o);
}

/* The review queue's hook: a queued transaction made effective posts to the
 * balances; one withdrawn no longer counts as standing (a later duplicate is
 * not one); neither works twice. */
static void
effective_op(const char *arch, const char *id, int approve, int want)
{
	cu_archive *a = open_arch(arch, CU_ARCHIVE_WRITE);
	cu_index_txn *t = NULL;
	json_t *doc = NULL;

	assert_int_equal(arc_load_record(&doc, a, id), 0);
	assert_int_equal(cu_index_begin(&t, a->ix, 1), 0);
	assert_int_equal(arc_fund_state_effective(a, t, doc, approve), want);
	if (want == 0)
		assert_int_equal(cu_index_commit(t), 0);
	else
		cu_index_abort(t);
	json_decref(doc);
	cu_archive_free(a);
}

static void
test_review_hooks(void **state)
{
	char arch[512];
	struct outs os = { 0 };
	cu_ingest_stats st;
	cu_archive *a;
	cu_decision d;

	(void)state;
	new_archive(arch, "review", 0);
	ingest_text(arch, CONTRIB("C-1", "5999.99") BEN("B-1", "2026-11", "op-031")
		BEN("B-2", "2026-11", "op-031"), &os, &st);
	assert_string_equal(os.o[0].decision, "review BASE-1");
	assert_string_equal(os.o[1].decision, "review QUAL-1");
	assert_string_equal(os.o[2].decision, "deny DUP-1");   /* a queued one stands */
	cu_decision_init(&d);
	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_int_equal(cu_archive_fund_close(a, 2026 * 12 + 10, &d), 0);
	assert_int_equal(d.n, 0);                              /* queued: not posted */
	cu_archive_free(a);

	effective_op(arch, os.o[0].id, 1, 0);                  /* approved */
	effective_op(arch, os.o[0].id, 1, CU_EINVALID);        /* not twice */
	effective_op(arch, os.o[2].id, 1, CU_EINVALID);        /* a denied one: never */
	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_int_equal(cu_archive_fund_close(a, 2026 * 12 + 10, &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.findings[0].message, "income account INC-P (pension) has a balance "
		"of 1280.00 at the close of 2026-11, expected 0.00");
	cu_archive_free(a);

	effective_op(arch, os.o[1].id, 0, 0);                  /* rejected: withdrawn */
	ingest_text(arch, BEN("B-3", "2026-11", "op-031"), &os, &st);
	assert_string_equal(os.o[3].decision, "review QUAL-1");
	cu_decision_free(&d);
	free(os.o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intake_records),
		cmocka_unit_test(test_policy_install),
		cmocka_unit_test(test_review_hooks),
		cmocka_unit_test(test_month_matches_reference),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
