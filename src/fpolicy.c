/* fpolicy.c — the fund-control policy in force belongs to the archive:
 * its two files in the history (policy/fund-control.conf,
 * policy/staff.conf), each installation a "policy" event in the log, and
 * the policy loaded from the history head by a writer
 * (docs/fund-control.md, "The policy in force"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/archive.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/index.h"
#include "custos/mlog.h"
#include "custos/policy.h"
#include "custos/util.h"
#include "archive_int.h"

#define RULES_PATH "policy/fund-control.conf"
#define STAFF_PATH "policy/staff.conf"

int
arc_policy_load(cu_archive *a)
{
	char *rules = NULL, *staff = NULL;
	size_t rlen, slen;
	int error;

	cu_policy_free(a->policy);
	a->policy = NULL;
	error = cu_history_read(&rules, &rlen, a->hist, NULL, RULES_PATH);
	if (error == CU_ENOTFOUND) {
		cu_error_clear();       /* an archive made before policies: none in force */
		return 0;
	}
	if (error < 0 || (error = cu_history_read(&staff, &slen, a->hist, NULL, STAFF_PATH)) < 0)
		goto done;
	if ((error = cu_policy_parse(&a->policy, rules, rlen, RULES_PATH, staff, slen,
			STAFF_PATH)) < 0)
		cu_error_prefix(error, "the policy in force (history)");
done:
	free(rules);
	free(staff);
	return error;
}

int
arc_policy_commit(cu_archive *a, const char *rules, size_t rlen, const char *staff,
	size_t slen, const char *source, const cu_history_file *extra, size_t nextra,
	const char *subject_given, char digest[65])
{
	cu_policy *p = NULL;
	cu_index_txn *t = NULL;
	json_t *ev = NULL;
	char *text = NULL, id_hex[65], path[160], now[32], head[CU_OID_HEX], subject[256];
	unsigned char leaf[CU_MLOG_HASH];
	uint64_t size;
	size_t len;
	cu_mlog_store st;
	cu_history_file f[8];
	int error;

	if (nextra > 5)
		return cu_error_set(CU_EINVALID, "too many files for a policy commit");
	if ((error = cu_policy_parse(&p, rules, rlen, "fund-control.conf", staff, slen,
			"staff.conf")) < 0)
		return error;
	snprintf(digest, 65, "%s", cu_policy_digest(p));
	cu_now_rfc3339(now);
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0 ||
	    (error = cu_index_log_size(&size, t)) < 0)
		goto done;
	/* about no record ("records" empty): not in any record's trace */
	ev = json_pack("{s:i, s:s, s:s, s:{s:s, s:I}, s:[], s:s, s:I, s:I, s:s?, s:I}",
		"version", 1, "kind", "policy", "at", now,
		"by", "user", a->user, "uid", (json_int_t)a->uid, "records", "policy", digest,
		"rules", (json_int_t)cu_policy_rule_count(p), "staff_bytes", (json_int_t)slen,
		"source", source, "leaf", (json_int_t)size);
	if (ev == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the policy event");
		goto done;
	}
	if ((error = arc_seal_document(&text, &len, id_hex, ev)) < 0)
		goto done;
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_leaf_hash(leaf, text, len)) < 0 ||
	    (error = cu_mlog_append(&st, size, leaf)) < 0 ||
	    (error = cu_pathf(path, sizeof(path), "events/%.4s/%.5s/%s.json", now, now + 5,
		    id_hex)) < 0)
		goto done;
	for (size_t i = 0; i < nextra; i++)
		f[i] = extra[i];
	f[nextra] = (cu_history_file){ RULES_PATH, rules, rlen };
	f[nextra + 1] = (cu_history_file){ STAFF_PATH, staff, slen };
	f[nextra + 2] = (cu_history_file){ path, text, len };
	snprintf(subject, sizeof(subject), "%s", subject_given ? subject_given : "");
	if (subject_given == NULL)
		snprintf(subject, sizeof(subject), "policy: install %.12s (%zu rules)", digest,
			cu_policy_rule_count(p));
	if ((error = arc_index_event(t, ev)) < 0 ||
	    (error = arc_commit_logged(a, t, f, nextra + 3, size + 1, NULL, subject, head)) < 0 ||
	    (error = cu_index_put_commit(t, size, head)) < 0)
		goto done;
	error = cu_index_commit(t);
	t = NULL;
	if (error == 0) {
		cu_policy_free(a->policy);
		a->policy = p;
		p = NULL;
	}
done:
	if (t)
		cu_index_abort(t);
	cu_policy_free(p);
	free(text);
	json_decref(ev);
	return error;
}

int
cu_archive_policy_install(cu_archive *a, const char *dir, char digest[65])
{
	cu_policy *p = NULL;
	char *rules = NULL, *staff = NULL, path[4200];
	size_t rlen, slen;
	int error;

	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "installing a policy needs the archive opened for "
			"writing");
	/* the check with the folder's own paths in its messages */
	if ((error = cu_policy_load(&p, dir)) < 0)
		return error;
	cu_policy_free(p);
	if ((error = cu_pathf(path, sizeof(path), "%s/fund-control.conf", dir)) < 0 ||
	    (error = cu_read_file(&rules, &rlen, path, 1 << 20)) < 0 ||
	    (error = cu_pathf(path, sizeof(path), "%s/staff.conf", dir)) < 0 ||
	    (error = cu_read_file(&staff, &slen, path, 1 << 20)) < 0)
		goto done;
	error = arc_policy_commit(a, rules, rlen, staff, slen, dir, NULL, 0, NULL, digest);
done:
	free(rules);
	free(staff);
	return error;
}

int
cu_archive_policy(const cu_policy **out, cu_archive *a)
{
	int error;

	*out = NULL;
	if (a->policy == NULL && (error = arc_policy_load(a)) < 0)
		return error;
	if (a->policy == NULL)
		return cu_error_set(CU_ENOTFOUND, "no fund-control policy is installed in this "
			"archive (custos policy install DIR)");
	*out = a->policy;
	return 0;
}
