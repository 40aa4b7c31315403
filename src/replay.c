/* replay.c — `custos policy replay`: a candidate policy judged over the
 * archived fund transactions in their log order, with the state rebuilt in
 * memory (pstate.h), compared with the recorded decision events
 * (docs/fund-control.md, "Replay").  Reads the history; writes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "custos/archive.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/history.h"
#include "custos/policy.h"
#include "custos/pstate.h"
#include "custos/record.h"
#include "custos/util.h"
#include "archive_int.h"

#define STAFF_PATH "policy/staff.conf"

/* A decision event of the commit being read, with its log leaf. */
struct pending {
	int64_t leaf;
	json_t *ev;
};

struct rp {
	cu_archive *a;
	const cu_policy *p;
	cu_pstate *s;
	cu_policy_state st;
	cu_decision dec;
	int has_from, has_to;
	int64_t from, to;
	cu_replay_cb cb;
	void *payload;
	cu_replay_report *r;
	char commit[CU_OID_HEX];
	json_t *txns;               /* this commit's fund transactions by id */
	json_t *standing;           /* transactions the candidate queued, by id */
	struct pending *pend;       /* this commit's decision and review events */
	size_t npend, cap;
	size_t rcap;
};

void
cu_replay_report_clear(cu_replay_report *r)
{
	free(r->rules);
	memset(r, 0, sizeof(*r));
}

/* The summary line of rule `id`, added at the end when new. */
static cu_replay_rule *
rule_slot(struct rp *x, const char *id)
{
	cu_replay_report *r = x->r;
	cu_replay_rule *e;

	for (size_t i = 0; i < r->nrules; i++)
		if (strcmp(r->rules[i].rule, id) == 0)
			return &r->rules[i];
	if (cu_grow(&r->rules, &x->rcap, r->nrules + 1, sizeof(*r->rules)) < 0)
		return NULL;
	e = &r->rules[r->nrules++];
	memset(e, 0, sizeof(*e));
	snprintf(e->rule, sizeof(e->rule), "%s", id);
	return e;
}

/* 1 if id is one of the n comma-free ids in list. */
static int
has_rule(const char *const *list, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0)
			return 1;
	return 0;
}

/* "A,B,C" of n ids into out. */
static void
join_rules(char *out, size_t sz, const char *const *list, size_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < sz; i++)
		used += (size_t)snprintf(out + used, sz - used, "%s%s", i ? "," : "", list[i]);
}

/* Compares the candidate decision in x->dec with the recorded one. */
static int
compare(struct rp *x, const json_t *doc, const json_t *recorded, const cu_fund_txn *v)
{
	const char *rec_ids[CU_RULES_MAX], *cand_ids[CU_RULES_MAX];
	char rec_line[CU_RULES_MAX * (CU_RULE_ID_MAX + 1) + 1];
	char cand_line[CU_RULES_MAX * (CU_RULE_ID_MAX + 1) + 1];
	const json_t *f;
	size_t nrec = 0, ncand = 0, i;
	int rv, differ;

	rv = cu_fund_lookup(cu_policy_verdicts, arc_jstr(recorded, "verdict") ?
		arc_jstr(recorded, "verdict") : "");
	if (rv < 0)
		return cu_error_set(CU_EINVALID, "record %s: its decision has no verdict",
			arc_jstr(doc, "ref"));
	json_array_foreach(json_object_get(recorded, "findings"), i, f) {
		const char *id = arc_jstr(f, "rule");
		if (id == NULL || nrec == CU_RULES_MAX)
			return cu_error_set(CU_EINVALID, "record %s: a finding of its decision "
				"names no rule", arc_jstr(doc, "ref"));
		if (!has_rule(rec_ids, nrec, id))
			rec_ids[nrec++] = id;
	}
	for (i = 0; i < x->dec.n && ncand < CU_RULES_MAX; i++)
		if (!has_rule(cand_ids, ncand, x->dec.findings[i].rule))
			cand_ids[ncand++] = x->dec.findings[i].rule;
	differ = rv != x->dec.verdict || nrec != ncand;
	/* the candidate's rules first, so the summary follows its order */
	for (i = 0; i < ncand; i++) {
		cu_replay_rule *e = rule_slot(x, cand_ids[i]);
		if (e == NULL)
			return CU_ERROR;
		e->candidate++;
		if (!has_rule(rec_ids, nrec, cand_ids[i])) {
			e->newly++;
			differ = 1;
		}
	}
	for (i = 0; i < nrec; i++) {
		cu_replay_rule *e = rule_slot(x, rec_ids[i]);
		if (e == NULL)
			return CU_ERROR;
		e->recorded++;
		if (!has_rule(cand_ids, ncand, rec_ids[i])) {
			e->no_longer++;
			differ = 1;
		}
	}
	x->r->compared++;
	if (!differ)
		return 0;
	x->r->differ++;
	if (x->cb == NULL)
		return 0;
	join_rules(rec_line, sizeof(rec_line), rec_ids, nrec);
	join_rules(cand_line, sizeof(cand_line), cand_ids, ncand);
	cu_replay_diff d = {
		.ref = arc_jstr(doc, "ref"), .id = arc_jstr(doc, "id"), .txn_no = v->txn_no,
		.posted_at = arc_jstr(json_object_get(doc, "fund_txn"), "posted_at"),
		.recorded = rv, .candidate = x->dec.verdict,
		.recorded_rules = rec_line, .candidate_rules = cand_line,
	};
	return x->cb(&d, x->payload);
}

/* One decision event: its transaction judged under the candidate, the
 * state fed with the candidate's verdict, the decisions compared when the
 * transaction is in the window. */
static int
replay_one(struct rp *x, const json_t *ev)
{
	const json_t *named = json_array_get(json_object_get(ev, "records"), 0);
	const char *id = arc_jstr(named, "id"), *ref = arc_jstr(named, "ref");
	json_t *doc, *loaded = NULL;
	cu_fund_txn v;
	int error;

	if (id == NULL || ref == NULL)
		return cu_error_set(CU_EINVALID, "decision %s: names no transaction",
			arc_jstr(ev, "id") ? arc_jstr(ev, "id") : "?");
	/* its transaction is in the same commit; if not, read it by its ref */
	if ((doc = json_object_get(x->txns, id)) == NULL) {
		if ((error = arc_load_revision(&loaded, x->a, ref, 1)) < 0)
			return cu_error_prefix(error, "decision %s", arc_jstr(ev, "id"));
		if (arc_jstr(loaded, "id") == NULL || strcmp(arc_jstr(loaded, "id"), id) != 0) {
			json_decref(loaded);
			return cu_error_set(CU_EINVALID, "decision %s: record %s is not the one "
				"it names", arc_jstr(ev, "id"), ref);
		}
		doc = loaded;
	}
	if ((error = cu_fund_view(&v, json_object_get(doc, "fund_txn"))) < 0) {
		error = cu_error_prefix(error, "record %s", ref);
		goto done;
	}
	if ((error = cu_policy_eval_view(x->p, &v, &x->st, &x->dec)) < 0) {
		error = cu_error_prefix(error, "record %s", ref);
		goto done;
	}
	if ((error = cu_pstate_apply(x->s, &v, x->dec.verdict)) < 0)
		goto done;
	/* queued by the candidate: a review recorded later may settle it */
	if (x->dec.verdict == CU_VERDICT_REVIEW && json_object_set(x->standing, id, doc) < 0) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	x->r->replayed++;
	if ((x->has_from && v.posted_day < x->from) || (x->has_to && v.posted_day > x->to))
		goto done;
	error = compare(x, doc, json_object_get(ev, "decision"), &v);
done:
	json_decref(loaded);
	return error;
}

/* A recorded review: where the candidate, too, queued the transaction, the
 * reviewer's outcome settles it in the candidate's state as it did in the
 * archive (approved: posted; rejected: its facts withdrawn).  Where the
 * candidate allowed or denied it, the review judged a decision the
 * candidate did not make, and changes nothing. */
static int
review_one(struct rp *x, const json_t *ev)
{
	const char *id = arc_jstr(json_array_get(json_object_get(ev, "records"), 0), "id");
	const char *action = arc_jstr(ev, "action");
	json_t *doc;
	cu_fund_txn v;
	int error;

	if (id == NULL || action == NULL ||
	    (strcmp(action, "approve") != 0 && strcmp(action, "reject") != 0))
		return cu_error_set(CU_EINVALID, "review %s: no transaction or no outcome",
			arc_jstr(ev, "id") ? arc_jstr(ev, "id") : "?");
	if ((doc = json_object_get(x->standing, id)) == NULL)
		return 0;
	if ((error = cu_fund_view(&v, json_object_get(doc, "fund_txn"))) < 0)
		return cu_error_prefix(error, "record %s", arc_jstr(doc, "ref"));
	error = strcmp(action, "approve") == 0 ? cu_pstate_post(x->s, &v) :
		cu_pstate_withdraw(x->s, &v);
	if (error < 0)
		return error;
	x->r->reviews++;
	json_object_del(x->standing, id);
	return 0;
}

static int
by_leaf(const void *p, const void *q)
{
	const struct pending *a = p, *b = q;

	return a->leaf < b->leaf ? -1 : a->leaf > b->leaf;
}

/* The end of a commit: its decisions and reviews in leaf order. */
static int
end_commit(struct rp *x)
{
	int error = 0;

	if (x->npend > 1)
		qsort(x->pend, x->npend, sizeof(*x->pend), by_leaf);
	for (size_t i = 0; i < x->npend; i++) {
		const char *kind = arc_jstr(x->pend[i].ev, "kind");

		if (error == 0)
			error = kind != NULL && strcmp(kind, "review") == 0 ?
				review_one(x, x->pend[i].ev) : replay_one(x, x->pend[i].ev);
		json_decref(x->pend[i].ev);
	}
	x->npend = 0;
	json_object_clear(x->txns);
	return error;
}

static int
on_file(const char *commit, const char *path, const char *data, size_t len, void *payload)
{
	struct rp *x = payload;
	const char *kind;
	json_error_t jerr;
	json_t *doc;
	int error = 0;

	if (strcmp(commit, x->commit) != 0) {
		if ((error = end_commit(x)) < 0)
			return error;
		snprintf(x->commit, sizeof(x->commit), "%s", commit);
	}
	if (strncmp(path, "records/", 8) != 0 && strncmp(path, "events/", 7) != 0)
		return 0;
	/* only documents of the three kinds concern us: a cheap look first */
	if (memmem(data, len, "\"kind\":\"fund_txn\"", 17) == NULL &&
	    memmem(data, len, "\"kind\":\"decision\"", 17) == NULL &&
	    memmem(data, len, "\"kind\":\"review\"", 15) == NULL)
		return 0;
	if ((doc = json_loadb(data, len, 0, &jerr)) == NULL)
		return cu_error_set(CU_EINVALID, "history %s: %s", path, jerr.text);
	kind = arc_jstr(doc, "kind");
	if (path[0] == 'r' && kind != NULL && strcmp(kind, "fund_txn") == 0 &&
	    arc_jstr(doc, "id") != NULL) {
		if (json_object_set(x->txns, arc_jstr(doc, "id"), doc) < 0)
			error = cu_error_set(CU_ERROR, "out of memory");
	} else if (path[0] == 'e' && kind != NULL &&
		   (strcmp(kind, "decision") == 0 || strcmp(kind, "review") == 0)) {
		json_t *leaf = json_object_get(doc, "leaf");
		if (!json_is_integer(leaf)) {
			error = cu_error_set(CU_EINVALID, "history %s: no log leaf", path);
		} else if (cu_grow(&x->pend, &x->cap, x->npend + 1, sizeof(*x->pend)) < 0) {
			error = cu_error_set(CU_ERROR, "out of memory");
		} else {
			x->pend[x->npend].leaf = json_integer_value(leaf);
			x->pend[x->npend++].ev = json_incref(doc);
		}
	}
	json_decref(doc);
	return error;
}

/* The candidate from a folder, or from one rules file with the staff of the
 * policy in force. */
static int
load_candidate(cu_policy **out, cu_archive *a, const char *path)
{
	char *rules = NULL, *staff = NULL;
	size_t rlen, slen;
	struct stat sb;
	int error;

	if (stat(path, &sb) < 0)
		return cu_error_set(CU_EINVALID, "--policy %s: %s", path, strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return cu_policy_load(out, path);
	if ((error = cu_read_file(&rules, &rlen, path, 1 << 20)) < 0)
		return error;
	error = cu_history_read(&staff, &slen, a->hist, NULL, STAFF_PATH);
	if (error == CU_ENOTFOUND) {
		error = cu_error_set(CU_ENOTFOUND, "--policy %s: a single rules file is judged "
			"with the staff of the policy in force, and this archive has none "
			"(give a folder with fund-control.conf and staff.conf)", path);
		goto done;
	}
	if (error < 0)
		goto done;
	error = cu_policy_parse(out, rules, rlen, path, staff, slen,
		"staff.conf (the policy in force)");
done:
	free(rules);
	free(staff);
	return error;
}

int
cu_archive_policy_replay(cu_archive *a, const cu_replay_opts *o, cu_replay_cb cb,
	void *payload, cu_replay_report *r)
{
	struct rp x = { .a = a, .cb = cb, .payload = payload, .r = r };
	cu_policy *own = NULL;
	int error;

	memset(r, 0, sizeof(*r));
	cu_decision_init(&x.dec);
	if (o->from != NULL) {
		if (cu_day_parse(&x.from, o->from) < 0)
			return cu_error_prefix(CU_EINVALID, "--from");
		x.has_from = 1;
	}
	if (o->to != NULL) {
		if (cu_day_parse(&x.to, o->to) < 0)
			return cu_error_prefix(CU_EINVALID, "--to");
		x.has_to = 1;
	}
	if (x.has_from && x.has_to && x.from > x.to)
		return cu_error_set(CU_EINVALID, "--from %s is after --to %s", o->from, o->to);
	if (o->candidate != NULL) {
		x.p = o->candidate;
	} else if (o->policy != NULL) {
		if ((error = load_candidate(&own, a, o->policy)) < 0)
			return error;
		x.p = own;
	} else {
		return cu_error_set(CU_EINVALID, "--policy: a candidate policy is required");
	}
	snprintf(r->policy, sizeof(r->policy), "%s", cu_policy_digest(x.p));
	if ((error = cu_pstate_new(&x.s)) < 0)
		goto done;
	cu_pstate_iface(&x.st, x.s);
	if ((x.txns = json_object()) == NULL || (x.standing = json_object()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	/* the candidate's rules lead the summary, in its order */
	for (size_t i = 0; i < cu_policy_rule_count(x.p); i++) {
		cu_policy_rule_info ri;
		if (cu_policy_rule(&ri, x.p, i) == 0 && ri.check != CU_CHECK_CLOSE &&
		    rule_slot(&x, ri.id) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
	}
	if ((error = cu_history_replay(a->hist, NULL, on_file, &x)) < 0 ||
	    (error = end_commit(&x)) < 0)
		goto done;
done:
	for (size_t i = 0; i < x.npend; i++)
		json_decref(x.pend[i].ev);
	free(x.pend);
	json_decref(x.txns);
	json_decref(x.standing);
	cu_decision_free(&x.dec);
	cu_pstate_free(x.s);
	cu_policy_free(own);
	if (error < 0) {
		free(r->rules);
		r->rules = NULL;
		r->nrules = 0;
	}
	return error;
}
