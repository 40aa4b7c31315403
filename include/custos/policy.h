/*
 * policy.h — the fund internal-control policy (GB/T 27768-2011 §6.3):
 * reading policy/fund-control.conf and policy/staff.conf, the policy's
 * digest, and judging a fund transaction against the rules in force.
 *
 * The engine keeps no state of its own.  What the rules need to know about
 * earlier transactions (deaths, qualifications, account changes, benefits
 * paid, a maker's daily total, balances) comes through cu_policy_state, a
 * set of callbacks the caller implements (over LMDB in the archive, in
 * memory in pstate.h for tests and replay).  Evaluation is a pure function
 * of the policy, the transaction and the answers of that state; there is
 * no floating point: money is integer fen, percentages basis points.
 * Formats and the exact semantics of every rule: docs/fund-control.md.
 */
#ifndef CUSTOS_POLICY_H
#define CUSTOS_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "custos/fund.h"

typedef struct cu_policy cu_policy;

/* ---- codes ---------------------------------------------------------- */

/* Severity of a rule, in increasing weight.  FINDING is the period-close
 * check's own (it judges balances, not a transaction). */
enum cu_policy_severity {
	CU_SEV_NOTE,
	CU_SEV_REVIEW,
	CU_SEV_DENY,
	CU_SEV_FINDING
};

/* The outcome for a transaction: the heaviest severity that fired (notes
 * alone allow). */
enum cu_policy_verdict {
	CU_VERDICT_ALLOW,
	CU_VERDICT_REVIEW,
	CU_VERDICT_DENY
};

/* The checks a rule can run (its `check` member; the rule's id is the
 * policy author's label). */
enum cu_policy_check {
	CU_CHECK_SEPARATION,        /* SOD-1 */
	CU_CHECK_AUTHORITY,         /* AUTH-1 */
	CU_CHECK_DUPLICATE_BENEFIT, /* DUP-1 */
	CU_CHECK_DUAL_SCHEME,       /* DUP-2 */
	CU_CHECK_AFTER_DEATH,       /* DEATH-1 */
	CU_CHECK_QUALIFICATION,     /* QUAL-1 */
	CU_CHECK_ACCOUNT_CHANGE,    /* ACCT-1 */
	CU_CHECK_FLOW,              /* FLOW-1 */
	CU_CHECK_FUND,              /* FUND-1 */
	CU_CHECK_BASE,              /* BASE-1 */
	CU_CHECK_HOURS,             /* TIME-1 */
	CU_CHECK_VELOCITY,          /* VEL-1 */
	CU_CHECK_CLOSE,             /* CLOSE-1 */
	CU_CHECK_COUNT
};

/* Staff posts (the four classes one person may not combine) and
 * authorities, in increasing order. */
enum cu_staff_post { CU_POST_BUSINESS, CU_POST_FINANCE, CU_POST_DATA, CU_POST_AUDIT, CU_POST_COUNT };
enum cu_staff_authority { CU_AUTH_CLERK, CU_AUTH_SUPERVISOR, CU_AUTH_DIRECTOR, CU_AUTH_COUNT };

/* NULL-terminated names in enum order: "note" "review" "deny" "finding";
 * "allow" "review" "deny"; "separation" …; "business" …; "clerk" …. */
extern const char *const cu_policy_severities[];
extern const char *const cu_policy_verdicts[];
extern const char *const cu_policy_checks[];
extern const char *const cu_staff_posts[];
extern const char *const cu_staff_authorities[];

/* Limits. */
#define CU_RULE_ID_MAX   16     /* 1-16 of A-Z 0-9 - */
#define CU_RULES_MAX     256
#define CU_STAFF_MAX     100000
#define CU_TITLE_MAX     200    /* bytes of UTF-8 */
#define CU_FINDING_MAX   400    /* bytes of a finding's message, with its NUL */

/* ---- reading a policy ------------------------------------------------- */

/* The shipped policy/fund-control.conf and policy/staff.conf, built into
 * the binary (NUL-terminated). */
const char *cu_policy_default_rules(void);
const char *cu_policy_default_staff(void);

/* Parses a policy from the texts of its two files (len bytes each, not
 * necessarily NUL-terminated); rules_name and staff_name name them in
 * messages.  Every problem is CU_EINVALID with
 * "NAME:LINE: WHERE: reason", e.g.
 *   "fund-control.conf:41: AUTH-1: levels[1].above: more than two decimals"
 *   "staff.conf:7: op-017: post: one post class per person, not a list"
 *   "staff.conf:9: op-017: id: already declared at line 3".
 * Unknown settings and members are errors; every parameter a check needs
 * must be in the file (there are no hidden defaults); money is written as
 * a decimal string ("50000.00"), never as a float; `@include` is refused,
 * so the two files are the whole policy. */
int cu_policy_parse(cu_policy **out, const char *rules_text, size_t rules_len,
	const char *rules_name, const char *staff_text, size_t staff_len,
	const char *staff_name);

/* Reads DIR/fund-control.conf and DIR/staff.conf (regular files, at most
 * 1 MiB each) and parses them; messages name the paths. */
int cu_policy_load(cu_policy **out, const char *dir);

/* Checks one file, either kind (a file with a top-level `rules` list is a
 * rules file, one with `staff` a staff file): 0, or CU_EINVALID as
 * cu_policy_parse.  A rules file is checked without a staff list, and the
 * other way round.  *kind is set to "rules" or "staff" when given. */
int cu_policy_check_text(const char *text, size_t len, const char *name,
	const char **kind);

void cu_policy_free(cu_policy *p);

/* ---- what a policy holds ---------------------------------------------- */

/* The policy's digest: hex SHA-256 of its canonical JSON (cu_policy_json),
 * so comments, whitespace, the order of the staff list or of the values of
 * a list, and the spelling of an amount ("50000" or "50000.00") do not
 * change it; any rule, parameter, scope, title or staff entry does. */
const char *cu_policy_digest(const cu_policy *p);

/* The canonical JSON form of the whole policy (a new reference):
 * {"format":1,"rules":[{"id","check","title","severity","scope":{"kinds",
 * "funds","schemes"}, parameters…}…],"staff":[{"id","name","post",
 * "authority"}…]} — rules in file order, staff sorted by id, amounts as
 * integer fen (members ending in _fen).  docs/fund-control.md. */
int cu_policy_json(json_t **out, const cu_policy *p);

/* A scope: the kinds, funds and schemes a rule judges, as bit masks
 * (1u << enum value).  0 means all. */
typedef struct cu_policy_scope {
	unsigned kinds;
	unsigned funds;
	unsigned schemes;
} cu_policy_scope;

/* 1 if a transaction of this kind, fund and scheme is in the scope. */
int cu_policy_scope_match(const cu_policy_scope *s, int kind, int fund, int scheme);

typedef struct cu_policy_rule_info {
	const char *id;             /* "AUTH-1" */
	const char *title;
	int check;                  /* enum cu_policy_check */
	int severity;               /* enum cu_policy_severity */
	cu_policy_scope scope;
	int line;                   /* where it starts in the rules file */
} cu_policy_rule_info;

/* Number of rules, and rule i (0-based, file order) into *out. */
size_t cu_policy_rule_count(const cu_policy *p);
int cu_policy_rule(cu_policy_rule_info *out, const cu_policy *p, size_t i);

typedef struct cu_staff_member {
	const char *id;
	const char *name;
	int post;                   /* enum cu_staff_post */
	int authority;              /* enum cu_staff_authority */
} cu_staff_member;

/* The staff member with this id, or NULL. */
const cu_staff_member *cu_policy_staff(const cu_policy *p, const char *id);

/* ---- the state the rules read ----------------------------------------- */

/* One account balance, for the period-close check. */
typedef struct cu_policy_balance {
	const char *no;             /* account number */
	int cls;                    /* enum cu_account_class */
	int fund;                   /* enum cu_fund_code */
	int64_t balance_fen;        /* at the close of the period asked for */
} cu_policy_balance;

/* Called once per account by each_balance; a negative return stops the
 * walk and is passed on. */
typedef int (*cu_policy_balance_fn)(void *arg, const cu_policy_balance *b);

/* What the rules need to know about the transactions before this one.
 * Every callback returns 0, or a negative cu_error_code with the message
 * set (evaluation then fails with it).  `id_no` is the normalised ID
 * number: an implementation that keeps it anywhere keys it by HMAC, never
 * in clear (docs/privacy.md).  Days are cu_civil_days numbers, months
 * cu_month_parse numbers.  Which transactions each answer counts is in
 * docs/fund-control.md ("standing" transactions: not denied and not
 * rejected in review; balances: effective ones only).  A callback a rule
 * in force needs must not be NULL (CU_EINVALID otherwise). */
typedef struct cu_policy_state {
	void *payload;
	/* *found = 1 and *month = the earliest month of a death_report for the
	 * person (by its event_date), or *found = 0.  (DEATH-1) */
	int (*death_month)(void *payload, const char *id_no, int *found, int *month);
	/* The latest event_date of a qualification for the person.  (QUAL-1) */
	int (*last_qualification)(void *payload, const char *id_no, int *found, int64_t *day);
	/* The latest event_date of an account_change for the person that is
	 * not after day `until`.  (ACCT-1) */
	int (*last_account_change)(void *payload, const char *id_no, int64_t until,
		int *found, int64_t *day);
	/* How many benefit_payments the person has for this fund, scheme and
	 * period.  (DUP-1, DUP-2) */
	int (*benefit_count)(void *payload, const char *id_no, int fund, int scheme,
		int period, uint64_t *count);
	/* The sum of amount_fen of the maker's money transactions posted on
	 * `day` (each on its own posted_at's calendar day, in its own offset)
	 * whose kind, fund and scheme are in scope.  (VEL-1) */
	int (*maker_day_total)(void *payload, const char *maker, int64_t day,
		const cu_policy_scope *scope, int64_t *fen);
	/* Calls fn for every account with its balance at the close of month
	 * `period`: the sum of the effective movements of periods up to and
	 * including it.  (CLOSE-1) */
	int (*each_balance)(void *payload, int period, cu_policy_balance_fn fn, void *arg);
} cu_policy_state;

/* ---- decisions -------------------------------------------------------- */

typedef struct cu_policy_finding {
	char rule[CU_RULE_ID_MAX + 1];   /* the rule's id */
	int severity;                    /* enum cu_policy_severity */
	char message[CU_FINDING_MAX];    /* never an ID number or a person's name */
} cu_policy_finding;

typedef struct cu_decision {
	int verdict;                     /* enum cu_policy_verdict */
	char policy[65];                 /* digest of the policy that decided */
	cu_policy_finding *findings;     /* every rule that fired, in rule order */
	size_t n, cap;
} cu_decision;

/* An empty decision; cu_decision_free releases what evaluations added.
 * A decision can be reused for any number of evaluations. */
void cu_decision_init(cu_decision *d);
void cu_decision_free(cu_decision *d);

/* Judges a validated fund transaction (as cu_fund_validate returns it)
 * against every rule whose scope holds it, asking st what the rules need,
 * and fills *out (earlier contents replaced): verdict, the policy digest,
 * one finding per rule that fired.  CU_EINVALID if txn is not a validated
 * transaction or st lacks a callback a rule needs; a state error is passed
 * on.  Evaluation records nothing: the caller records the transaction in
 * its state afterwards (pstate.h shows how). */
int cu_policy_eval(const cu_policy *p, const json_t *txn, const cu_policy_state *st,
	cu_decision *out);

/* The same for a view already made with cu_fund_view. */
int cu_policy_eval_view(const cu_policy *p, const cu_fund_txn *t,
	const cu_policy_state *st, cu_decision *out);

/* Period close (`custos policy close --period YYYY-MM`): runs every close
 * rule (CLOSE-1) over the balances at the close of `period` (a month
 * number): one finding per account of the rule's classes and funds whose
 * balance is not zero.  The verdict is review when there is any finding,
 * allow otherwise. */
int cu_policy_close(const cu_policy *p, int period, const cu_policy_state *st,
	cu_decision *out);

/* The decision as JSON (a new reference), for the decision event record:
 * {"verdict":"review","policy":"<digest>","findings":[{"rule","severity",
 * "message"}…]}. */
int cu_decision_json(json_t **out, const cu_decision *d);

#endif
