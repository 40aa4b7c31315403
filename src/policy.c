/*
 * policy.c — the fund internal-control policy: parsing the two libconfig
 * files, the canonical form and digest, and evaluation (see
 * custos/policy.h, docs/fund-control.md).
 *
 * A rule is a check (what to compute), a scope (which transactions) and
 * parameters; the engine holds no state, it asks cu_policy_state.  Money
 * is integer fen, percentages basis points, times seconds of the day: no
 * floating point anywhere, and products that could leave int64 are taken
 * in 128 bits.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libconfig.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/policy.h"
#include "custos/record.h"
#include "custos/util.h"

/* The shipped policy, built into the binary so that `custos init` works
 * from any folder.  The Makefile rebuilds this object when they change. */
__asm__(".section .rodata\n"
	".global cu_policy_rules_bytes\n"
	"cu_policy_rules_bytes:\n"
	".incbin \"policy/fund-control.conf\"\n"
	".byte 0\n"
	".global cu_policy_staff_bytes\n"
	"cu_policy_staff_bytes:\n"
	".incbin \"policy/staff.conf\"\n"
	".byte 0\n"
	".previous\n");
extern const char cu_policy_rules_bytes[];
extern const char cu_policy_staff_bytes[];

const char *const cu_policy_severities[] = { "note", "review", "deny", "finding", NULL };
const char *const cu_policy_verdicts[] = { "allow", "review", "deny", NULL };
const char *const cu_policy_checks[] = {
	"separation", "authority", "duplicate_benefit", "dual_scheme", "after_death",
	"qualification", "account_change", "flow", "fund", "base", "hours", "velocity",
	"close", NULL
};
const char *const cu_staff_posts[] = { "business", "finance", "data", "audit", NULL };
const char *const cu_staff_authorities[] = { "clerk", "supervisor", "director", NULL };

static const char *const weekdays[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };
static const char *const weekday_names[] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
};

#define BIT(i) (1u << (i))
#define ALL_KINDS  (BIT(CU_KIND_COUNT) - 1)
#define MONEY_KINDS (BIT(CU_KIND_CONTRIBUTION) | BIT(CU_KIND_BENEFIT_PAYMENT) | \
	BIT(CU_KIND_REFUND) | BIT(CU_KIND_TRANSFER) | BIT(CU_KIND_INTEREST))
#define BENEFIT    BIT(CU_KIND_BENEFIT_PAYMENT)

/* A flow is (from class or none, to class); "none" is CU_ACCOUNT_COUNT. */
#define FLOW_BIT(from, to) (1u << ((from) * CU_ACCOUNT_COUNT + (to)))

/* Largest average wage accepted (100,000,000.00): with basis points up
 * to 100,000 its products stay far inside int64. */
#define AVERAGE_WAGE_MAX_FEN 10000000000LL
#define BP_MAX 100000

/* What each check judges and which parameters it takes. */
struct check_def {
	unsigned kinds;               /* kinds it can judge (0: none, period close) */
	const char *params[4];        /* its parameter members */
};

static const struct check_def checks[CU_CHECK_COUNT] = {
	[CU_CHECK_SEPARATION] = { ALL_KINDS,
		{ "maker_posts", "approver_not_posts", "payment_kinds", NULL } },
	[CU_CHECK_AUTHORITY] = { MONEY_KINDS, { "levels", NULL } },
	[CU_CHECK_DUPLICATE_BENEFIT] = { BENEFIT, { NULL } },
	[CU_CHECK_DUAL_SCHEME] = { BENEFIT, { NULL } },
	[CU_CHECK_AFTER_DEATH] = { BENEFIT, { NULL } },
	[CU_CHECK_QUALIFICATION] = { BENEFIT, { "months", NULL } },
	[CU_CHECK_ACCOUNT_CHANGE] = { MONEY_KINDS, { "days", NULL } },
	[CU_CHECK_FLOW] = { MONEY_KINDS, { "allow", NULL } },
	[CU_CHECK_FUND] = { MONEY_KINDS, { NULL } },
	[CU_CHECK_BASE] = { BIT(CU_KIND_CONTRIBUTION),
		{ "average_wage", "min_bp", "max_bp", NULL } },
	[CU_CHECK_HOURS] = { ALL_KINDS, { "start", "end", "days", NULL } },
	[CU_CHECK_VELOCITY] = { MONEY_KINDS, { "limit", NULL } },
	[CU_CHECK_CLOSE] = { 0, { "classes", NULL } },
};

struct level {
	int64_t above_fen;
	int authority;
};

struct rule {
	char id[CU_RULE_ID_MAX + 1];
	char *title;
	int check, severity, line;
	cu_policy_scope scope;
	/* separation */
	unsigned maker_posts, approver_not_posts, payment_kinds;
	/* authority */
	struct level *levels;
	size_t nlevels;
	/* qualification, account_change */
	int months, days;
	/* flow: allowed flows per kind */
	uint32_t flows[CU_KIND_COUNT];
	/* base */
	int64_t average_fen;
	int min_bp, max_bp;
	/* hours */
	int start_sec, end_sec;
	unsigned weekdays;
	/* velocity */
	int64_t limit_fen;
	/* close */
	unsigned classes;
};

struct staff {
	char *id, *name;
	int post, authority, line;
	cu_staff_member view;     /* what cu_policy_staff returns */
};

struct cu_policy {
	struct rule *rules;
	size_t nrules;
	struct staff *staff;      /* sorted by id */
	size_t nstaff;
	char digest[CU_SHA256_HEX];
};

const char *
cu_policy_default_rules(void)
{
	return cu_policy_rules_bytes;
}

const char *
cu_policy_default_staff(void)
{
	return cu_policy_staff_bytes;
}

/* ---- parsing: messages ------------------------------------------------ */

/* Where a message is: the file's name and the rule or staff member being
 * read ("" before its id is known). */
struct pctx {
	const char *name;
	char where[48];
};

/* CU_EINVALID with "NAME:LINE: WHERE: reason" (LINE of setting s; "NAME:
 * reason" for the file as a whole). */
static int
perr(const struct pctx *c, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
perr(const struct pctx *c, const config_setting_t *s, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	int line = s ? config_setting_source_line(s) : 0;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (line <= 0)     /* the file as a whole (libconfig's root setting) */
		return cu_error_set(CU_EINVALID, "%s: %s", c->name, reason);
	if (c->where[0])
		return cu_error_set(CU_EINVALID, "%s:%d: %s: %s", c->name, line, c->where, reason);
	return cu_error_set(CU_EINVALID, "%s:%d: %s", c->name, line, reason);
}

/* A list of names for messages: "a, b, c". */
static void
join_names(char *out, size_t outsz, const char *const *names)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; names[i] != NULL && used < outsz; i++)
		used += (size_t)snprintf(out + used, outsz - used, "%s%s", i ? ", " : "", names[i]);
}

/* The names whose bits are set in mask, separated by sep. */
static void
mask_names(char *out, size_t outsz, unsigned mask, const char *const *names, const char *sep)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; names[i] != NULL && used < outsz; i++)
		if (mask & BIT(i))
			used += (size_t)snprintf(out + used, outsz - used, "%s%s",
				used ? sep : "", names[i]);
}

/* A code from the input (staff id, account number) for a message.  Any
 * run of 15 or more digits in it (an X may end it) keeps only its first 6
 * and last 4 characters, "110105********002X": an agency that uses ID
 * numbers (18 characters, or 15 in the first generation) as user names or
 * inside codes does not get them into decisions.  Long account numbers are
 * masked the same way. */
static const char *
show(char out[72], const char *s)
{
	size_t n = strnlen(s, 71);

	memcpy(out, s, n);
	out[n] = '\0';
	cu_mask_digit_runs(out);
	return out;
}

/* ---- parsing: values -------------------------------------------------- */

/* Refuses members of group g not in the NULL-terminated lists a and b. */
static int
check_members(const struct pctx *c, const config_setting_t *g, const char *const *a,
	const char *const *b, const char *what)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *n = config_setting_name(m);

		if (n != NULL && (cu_fund_lookup(a, n) >= 0 || (b && cu_fund_lookup(b, n) >= 0)))
			continue;
		return perr(c, m, "unknown setting %s%s%s", n ? n : "?", what ? " for " : "",
			what ? what : "");
	}
	return 0;
}

/* A string member: *out = its value (owned by libconfig), NULL when absent
 * and not required. */
static int
get_string(const char **out, const struct pctx *c, const config_setting_t *g,
	const char *key, int required)
{
	config_setting_t *m = config_setting_get_member(g, key);
	const char *problem;

	*out = NULL;
	if (m == NULL)
		return required ? perr(c, g, "%s: missing", key) : 0;
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return perr(c, m, "%s: must be a string", key);
	*out = config_setting_get_string(m);
	if ((problem = cu_text_problem(*out, strlen(*out), 0)) != NULL)
		return perr(c, m, "%s: %s", key, problem);
	return 0;
}

/* A string member that must be one of names: *out its index. */
static int
get_enum(int *out, const struct pctx *c, const config_setting_t *g, const char *key,
	const char *const *names)
{
	const char *s;
	char all[256];
	int error;

	if ((error = get_string(&s, c, g, key, 1)) < 0)
		return error;
	if ((*out = cu_fund_lookup(names, s)) >= 0)
		return 0;
	join_names(all, sizeof(all), names);
	return perr(c, config_setting_get_member(g, key), "%s: must be one of %s", key, all);
}

/* An integer member in [min, max]. */
static int
get_int(int *out, const struct pctx *c, const config_setting_t *g, const char *key,
	int min, int max)
{
	config_setting_t *m = config_setting_get_member(g, key);
	long long v;

	if (m == NULL)
		return perr(c, g, "%s: missing", key);
	v = config_setting_get_int64(m);
	if ((config_setting_type(m) != CONFIG_TYPE_INT && config_setting_type(m) != CONFIG_TYPE_INT64) ||
	    v < min || v > max)
		return perr(c, m, "%s: must be an integer %d-%d", key, min, max);
	*out = (int)v;
	return 0;
}

/* A money member: a yuan decimal string (cu_money_parse), 0 to max fen. */
static int
get_money(int64_t *out, const struct pctx *c, const config_setting_t *g, const char *key,
	const char *field, int64_t max)
{
	config_setting_t *m = config_setting_get_member(g, key);
	char limit[32];

	if (m == NULL)
		return perr(c, g, "%s: missing", field);
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return perr(c, m, "%s: must be a string like \"50000.00\" "
			"(money is a decimal string, never a number)", field);
	if (cu_money_parse(out, config_setting_get_string(m)) < 0)
		return perr(c, m, "%s: %s", field, cu_error_last());
	if (*out < 0)
		return perr(c, m, "%s: must not be negative", field);
	if (*out > max) {
		cu_money_format(limit, sizeof(limit), max);
		return perr(c, m, "%s: must be at most %s", field, limit);
	}
	return 0;
}

/* A list (or array) member of names, as a bit mask.  Each name once; an
 * empty list gives 0. */
static int
get_set(unsigned *out, const struct pctx *c, const config_setting_t *g, const char *key,
	const char *field, const char *const *names, int required, int nonempty)
{
	config_setting_t *m = config_setting_get_member(g, key);
	char all[256];

	*out = 0;
	if (m == NULL)
		return required ? perr(c, g, "%s: missing", field) : 0;
	if (!config_setting_is_list(m) && !config_setting_is_array(m))
		return perr(c, m, "%s: must be a list like [\"a\", \"b\"]", field);
	if (nonempty && config_setting_length(m) == 0)
		return perr(c, m, "%s: must not be empty", field);
	for (int i = 0; i < config_setting_length(m); i++) {
		config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
		const char *s = config_setting_get_string(e);
		int k = s ? cu_fund_lookup(names, s) : -1;

		if (k < 0) {
			join_names(all, sizeof(all), names);
			return perr(c, e, "%s: each must be one of %s", field, all);
		}
		if (*out & BIT(k))
			return perr(c, e, "%s: %s listed twice", field, s);
		*out |= BIT(k);
	}
	return 0;
}

/* "HH:MM" or "HH:MM:SS" into seconds of the day. */
static int
get_clock(int *out, const struct pctx *c, const config_setting_t *g, const char *key)
{
	const char *s;
	int error, h, m, sec = 0;
	size_t n;

	if ((error = get_string(&s, c, g, key, 1)) < 0)
		return error;
	n = strlen(s);
	if ((n != 5 && n != 8) || s[2] != ':' || (n == 8 && s[5] != ':') ||
	    sscanf(s, "%2d:%2d", &h, &m) != 2 || (n == 8 && sscanf(s + 6, "%2d", &sec) != 1))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (i != 2 && i != 5 && (s[i] < '0' || s[i] > '9'))
			goto bad;
	if (h > 23 || m > 59 || sec > 59)
		goto bad;
	*out = h * 3600 + m * 60 + sec;
	return 0;
bad:
	return perr(c, config_setting_get_member(g, key),
		"%s: must be a time of day like \"08:00\" or \"18:00:00\"", key);
}

/* ---- parsing: rules ----------------------------------------------------- */

/* The rule's id: 1-CU_RULE_ID_MAX of A-Z 0-9 -. */
static int
parse_id(struct rule *r, struct pctx *c, const config_setting_t *g)
{
	const char *s;
	size_t n;
	int error;

	if ((error = get_string(&s, c, g, "id", 1)) < 0)
		return error;
	n = strlen(s);
	if (n == 0 || n > CU_RULE_ID_MAX)
		return perr(c, config_setting_get_member(g, "id"), "id: must be 1-%d characters",
			CU_RULE_ID_MAX);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return perr(c, config_setting_get_member(g, "id"),
				"id: only A-Z, 0-9 and - are allowed");
	memcpy(r->id, s, n + 1);
	snprintf(c->where, sizeof(c->where), "%s", s);
	return 0;
}

/* scope = { kinds = [...]; funds = [...]; schemes = [...]; } — all
 * optional; a kind the check cannot judge is refused. */
static int
parse_scope(struct rule *r, const struct pctx *c, const config_setting_t *g)
{
	static const char *const known[] = { "kinds", "funds", "schemes", NULL };
	const config_setting_t *s = config_setting_get_member(g, "scope");
	const struct check_def *d = &checks[r->check];
	char can[256];
	int error;

	if (s == NULL)
		return 0;
	if (!config_setting_is_group(s))
		return perr(c, s, "scope: must be a group { kinds = [...]; funds = [...]; schemes = [...]; }");
	if ((error = check_members(c, s, known, NULL, "scope")) < 0 ||
	    (error = get_set(&r->scope.kinds, c, s, "kinds", "scope.kinds", cu_fund_kinds, 0, 0)) < 0 ||
	    (error = get_set(&r->scope.funds, c, s, "funds", "scope.funds", cu_fund_codes, 0, 0)) < 0 ||
	    (error = get_set(&r->scope.schemes, c, s, "schemes", "scope.schemes", cu_fund_schemes, 0, 0)) < 0)
		return error;
	if (r->check == CU_CHECK_CLOSE && (r->scope.kinds || r->scope.schemes))
		return perr(c, s, "scope: a period close judges account balances; only scope.funds applies");
	if (r->scope.kinds & ~d->kinds) {
		mask_names(can, sizeof(can), d->kinds, cu_fund_kinds, ", ");
		return perr(c, config_setting_get_member(s, "kinds"),
			"scope.kinds: check %s judges only %s", cu_policy_checks[r->check], can);
	}
	return 0;
}

/* levels = ( { above = "50000.00"; authority = "supervisor"; }, … ):
 * thresholds strictly increasing. */
static int
parse_levels(struct rule *r, const struct pctx *c, const config_setting_t *g)
{
	static const char *const known[] = { "above", "authority", NULL };
	const config_setting_t *s = config_setting_get_member(g, "levels");
	char field[48];
	int error;

	if (s == NULL)
		return perr(c, g, "levels: missing");
	if (!config_setting_is_list(s) || config_setting_length(s) == 0)
		return perr(c, s, "levels: must be a non-empty list ( { above = \"…\"; authority = \"…\"; }, … )");
	r->nlevels = (size_t)config_setting_length(s);
	if ((r->levels = calloc(r->nlevels, sizeof(*r->levels))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (size_t i = 0; i < r->nlevels; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (!config_setting_is_group(e))
			return perr(c, e, "levels[%zu]: must be a group { above = \"…\"; authority = \"…\"; }", i);
		if ((error = check_members(c, e, known, NULL, "levels")) < 0)
			return error;
		snprintf(field, sizeof(field), "levels[%zu].above", i);
		if ((error = get_money(&r->levels[i].above_fen, c, e, "above", field,
		    CU_MONEY_MAX_FEN)) < 0 ||
		    (error = get_enum(&r->levels[i].authority, c, e, "authority",
		    cu_staff_authorities)) < 0)
			return error;
		if (i > 0 && r->levels[i].above_fen <= r->levels[i - 1].above_fen)
			return perr(c, e, "%s: must be above the level before it", field);
	}
	return 0;
}

/* allow = ( { kind = "contribution"; from = "payer"; to = "income"; }, … );
 * a missing `from` is a flow without a paying account (interest). */
static int
parse_flows(struct rule *r, const struct pctx *c, const config_setting_t *g)
{
	static const char *const known[] = { "kind", "from", "to", NULL };
	const config_setting_t *s = config_setting_get_member(g, "allow");
	int error;

	if (s == NULL)
		return perr(c, g, "allow: missing");
	if (!config_setting_is_list(s) || config_setting_length(s) == 0)
		return perr(c, s, "allow: must be a non-empty list ( { kind = \"…\"; from = \"…\"; to = \"…\"; }, … )");
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		int kind, from = CU_ACCOUNT_COUNT, to;

		if (!config_setting_is_group(e))
			return perr(c, e, "allow[%d]: must be a group { kind = \"…\"; from = \"…\"; to = \"…\"; }", i);
		if ((error = check_members(c, e, known, NULL, "allow")) < 0 ||
		    (error = get_enum(&kind, c, e, "kind", cu_fund_kinds)) < 0 ||
		    (config_setting_get_member(e, "from") != NULL &&
		     (error = get_enum(&from, c, e, "from", cu_account_classes)) < 0) ||
		    (error = get_enum(&to, c, e, "to", cu_account_classes)) < 0)
			return error;
		if (!cu_fund_kind_moves_money(kind))
			return perr(c, e, "allow[%d]: kind %s moves no money", i, cu_fund_kinds[kind]);
		if (r->flows[kind] & FLOW_BIT(from, to))
			return perr(c, e, "allow[%d]: the same flow is listed twice", i);
		r->flows[kind] |= FLOW_BIT(from, to);
	}
	return 0;
}

/* The parameters of the rule's check; every one is required. */
static int
parse_params(struct rule *r, const struct pctx *c, const config_setting_t *g)
{
	int error = 0;

	switch (r->check) {
	case CU_CHECK_SEPARATION:
		if ((error = get_set(&r->maker_posts, c, g, "maker_posts", "maker_posts",
		    cu_staff_posts, 1, 1)) < 0 ||
		    (error = get_set(&r->approver_not_posts, c, g, "approver_not_posts",
		    "approver_not_posts", cu_staff_posts, 1, 0)) < 0 ||
		    (error = get_set(&r->payment_kinds, c, g, "payment_kinds", "payment_kinds",
		    cu_fund_kinds, 1, 0)) < 0)
			return error;
		break;
	case CU_CHECK_AUTHORITY:
		return parse_levels(r, c, g);
	case CU_CHECK_QUALIFICATION:
		return get_int(&r->months, c, g, "months", 1, 1200);
	case CU_CHECK_ACCOUNT_CHANGE:
		return get_int(&r->days, c, g, "days", 0, 3650);
	case CU_CHECK_FLOW:
		return parse_flows(r, c, g);
	case CU_CHECK_BASE:
		if ((error = get_money(&r->average_fen, c, g, "average_wage", "average_wage",
		    AVERAGE_WAGE_MAX_FEN)) < 0 ||
		    (error = get_int(&r->min_bp, c, g, "min_bp", 0, BP_MAX)) < 0 ||
		    (error = get_int(&r->max_bp, c, g, "max_bp", 0, BP_MAX)) < 0)
			return error;
		if (r->average_fen == 0)
			return perr(c, config_setting_get_member(g, "average_wage"),
				"average_wage: must be more than 0");
		if (r->max_bp < r->min_bp)
			return perr(c, config_setting_get_member(g, "max_bp"),
				"max_bp: must not be below min_bp");
		break;
	case CU_CHECK_HOURS:
		if ((error = get_clock(&r->start_sec, c, g, "start")) < 0 ||
		    (error = get_clock(&r->end_sec, c, g, "end")) < 0 ||
		    (error = get_set(&r->weekdays, c, g, "days", "days", weekdays, 1, 1)) < 0)
			return error;
		if (r->end_sec < r->start_sec)
			return perr(c, config_setting_get_member(g, "end"), "end: must not be before start");
		break;
	case CU_CHECK_VELOCITY:
		return get_money(&r->limit_fen, c, g, "limit", "limit", CU_MONEY_MAX_FEN);
	case CU_CHECK_CLOSE:
		return get_set(&r->classes, c, g, "classes", "classes", cu_account_classes, 1, 1);
	default:
		break;
	}
	return error;
}

/* One rule group. */
static int
parse_rule(struct rule *r, struct pctx *c, const config_setting_t *g)
{
	static const char *const common[] = { "id", "check", "title", "severity", "scope", NULL };
	const char *title;
	int error;

	r->line = config_setting_source_line(g);
	if (!config_setting_is_group(g))
		return perr(c, g, "each rule must be a group { id = …; check = …; … }");
	if ((error = parse_id(r, c, g)) < 0 ||
	    (error = get_enum(&r->check, c, g, "check", cu_policy_checks)) < 0 ||
	    (error = check_members(c, g, common, checks[r->check].params,
	    cu_policy_checks[r->check])) < 0 ||
	    (error = get_string(&title, c, g, "title", 1)) < 0 ||
	    (error = get_enum(&r->severity, c, g, "severity", cu_policy_severities)) < 0)
		return error;
	if (title[0] == '\0' || strlen(title) > CU_TITLE_MAX)
		return perr(c, config_setting_get_member(g, "title"), "title: must be 1-%d bytes",
			CU_TITLE_MAX);
	if ((r->severity == CU_SEV_FINDING) != (r->check == CU_CHECK_CLOSE))
		return perr(c, config_setting_get_member(g, "severity"), r->check == CU_CHECK_CLOSE
			? "severity: a period close yields a finding (severity = \"finding\")"
			: "severity: must be deny, review or note (finding is for period close)");
	if ((r->title = strdup(title)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = parse_scope(r, c, g)) < 0)
		return error;
	return parse_params(r, c, g);
}

/* rules = ( … ); ids unique. */
static int
parse_rules(cu_policy *p, config_t *cfg, const char *name)
{
	static const char *const known[] = { "rules", NULL };
	struct pctx c = { name, "" };
	config_setting_t *root = config_root_setting(cfg), *s;
	int error;

	if ((error = check_members(&c, root, known, NULL, NULL)) < 0)
		return error;
	if ((s = config_lookup(cfg, "rules")) == NULL)
		return perr(&c, root, "rules: missing (rules = ( { id = …; … }, … );)");
	if (!config_setting_is_list(s))
		return perr(&c, s, "rules: must be a list ( { id = …; … }, … )");
	if (config_setting_length(s) > CU_RULES_MAX)
		return perr(&c, s, "rules: more than %d rules", CU_RULES_MAX);
	p->nrules = (size_t)config_setting_length(s);
	if (p->nrules && (p->rules = calloc(p->nrules, sizeof(*p->rules))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (size_t i = 0; i < p->nrules; i++) {
		config_setting_t *g = config_setting_get_elem(s, (unsigned)i);

		snprintf(c.where, sizeof(c.where), "rules[%zu]", i);
		if ((error = parse_rule(&p->rules[i], &c, g)) < 0)
			return error;
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->rules[j].id, p->rules[i].id) == 0)
				return perr(&c, config_setting_get_member(g, "id"),
					"id: already used at line %d", p->rules[j].line);
	}
	return 0;
}

/* ---- parsing: staff ----------------------------------------------------- */

static int
staff_cmp(const void *a, const void *b)
{
	const struct staff *x = a, *y = b;
	int k = strcmp(x->id, y->id);

	return k ? k : (x->line > y->line) - (x->line < y->line);
}

/* One staff group: id, name, post (one string), authority. */
static int
parse_member(struct staff *m, struct pctx *c, const config_setting_t *g)
{
	static const char *const known[] = { "id", "name", "post", "authority", NULL };
	config_setting_t *post;
	const char *id, *name;
	char shown[72];
	int error;

	m->line = config_setting_source_line(g);
	if (!config_setting_is_group(g))
		return perr(c, g, "each staff member must be a group { id = …; name = …; post = …; authority = …; }");
	if ((error = get_string(&id, c, g, "id", 1)) < 0 ||
	    cu_field_code("id", id, strlen(id), CU_CODE_MAX, 0) < 0)
		return error < 0 ? error : perr(c, config_setting_get_member(g, "id"), "%s", cu_error_last());
	/* ids are at most CU_CODE_MAX characters: nothing is cut */
	snprintf(c->where, sizeof(c->where), "%.*s", (int)sizeof(c->where) - 1, show(shown, id));
	if ((error = check_members(c, g, known, NULL, NULL)) < 0 ||
	    (error = get_string(&name, c, g, "name", 1)) < 0)
		return error;
	if (name[0] == '\0' || strlen(name) > CU_NAME_MAX)
		return perr(c, config_setting_get_member(g, "name"), "name: must be 1-%d bytes",
			CU_NAME_MAX);
	post = config_setting_get_member(g, "post");
	if (post != NULL && (config_setting_is_list(post) || config_setting_is_array(post)))
		return perr(c, post, "post: one post class per person, not a list "
			"(business, finance, data and audit may not be combined)");
	if ((error = get_enum(&m->post, c, g, "post", cu_staff_posts)) < 0 ||
	    (error = get_enum(&m->authority, c, g, "authority", cu_staff_authorities)) < 0)
		return error;
	if ((m->id = strdup(id)) == NULL || (m->name = strdup(name)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* staff = ( … ); ids unique.  Sorted by id afterwards for look-ups. */
static int
parse_staff(cu_policy *p, config_t *cfg, const char *name)
{
	static const char *const known[] = { "staff", NULL };
	struct pctx c = { name, "" };
	config_setting_t *root = config_root_setting(cfg), *s;
	const struct staff *dup = NULL;
	int error;

	if ((error = check_members(&c, root, known, NULL, NULL)) < 0)
		return error;
	if ((s = config_lookup(cfg, "staff")) == NULL)
		return perr(&c, root, "staff: missing (staff = ( { id = …; … }, … );)");
	if (!config_setting_is_list(s) || config_setting_length(s) == 0)
		return perr(&c, s, "staff: must be a non-empty list ( { id = …; … }, … )");
	if (config_setting_length(s) > CU_STAFF_MAX)
		return perr(&c, s, "staff: more than %d members", CU_STAFF_MAX);
	p->nstaff = (size_t)config_setting_length(s);
	if ((p->staff = calloc(p->nstaff, sizeof(*p->staff))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (size_t i = 0; i < p->nstaff; i++) {
		snprintf(c.where, sizeof(c.where), "staff[%zu]", i);
		if ((error = parse_member(&p->staff[i], &c, config_setting_get_elem(s, (unsigned)i))) < 0)
			return error;
	}
	qsort(p->staff, p->nstaff, sizeof(*p->staff), staff_cmp);
	for (size_t i = 0; i < p->nstaff; i++) {
		struct staff *m = &p->staff[i];

		m->view = (cu_staff_member){ m->id, m->name, m->post, m->authority };
	}
	/* report the duplicate that comes first in the file */
	for (size_t i = 1; i < p->nstaff; i++)
		if (strcmp(p->staff[i].id, p->staff[i - 1].id) == 0 &&
		    (dup == NULL || p->staff[i].line < dup->line))
			dup = &p->staff[i];
	if (dup != NULL) {
		const struct staff *first = dup - 1;

		while (first > p->staff && strcmp((first - 1)->id, dup->id) == 0)
			first--;
		char shown[72];

		return cu_error_set(CU_EINVALID, "%s:%d: %s: id: already declared at line %d",
			name, dup->line, show(shown, dup->id), first->line);
	}
	return 0;
}

/* ---- parsing: files ------------------------------------------------------ */

/* Reads text (len bytes) into cfg; refuses NUL bytes and @include (the
 * two files are the whole policy: an included file would escape the
 * archived copy and the digest's meaning). */
static int
read_config(config_t *cfg, const char *text, size_t len, const char *name)
{
	size_t line = 1;
	char *copy;
	int error = 0;

	if (memchr(text, '\0', len) != NULL)
		return cu_error_set(CU_EINVALID, "%s: holds a NUL byte", name);
	for (size_t i = 0; i < len; i++) {
		size_t j = i;

		while (j < len && (text[j] == ' ' || text[j] == '\t'))
			j++;
		if (len - j >= 8 && memcmp(text + j, "@include", 8) == 0)
			return cu_error_set(CU_EINVALID,
				"%s:%zu: @include is not allowed: a policy is its two files", name, line);
		while (j < len && text[j] != '\n')
			j++;
		i = j;
		line++;
	}
	if ((copy = strndup(text, len)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (config_read_string(cfg, copy) != CONFIG_TRUE)
		error = cu_error_set(CU_EINVALID, "%s:%d: %s", name, config_error_line(cfg),
			config_error_text(cfg));
	free(copy);
	return error;
}

static void
free_contents(cu_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].title);
		free(p->rules[i].levels);
	}
	free(p->rules);
	for (size_t i = 0; i < p->nstaff; i++) {
		free(p->staff[i].id);
		free(p->staff[i].name);
	}
	free(p->staff);
}

void
cu_policy_free(cu_policy *p)
{
	if (p == NULL)
		return;
	free_contents(p);
	free(p);
}

/* Parses one file into p: which = 0 rules, 1 staff. */
static int
parse_file(cu_policy *p, const char *text, size_t len, const char *name, int which)
{
	config_t cfg;
	int error;

	config_init(&cfg);
	if ((error = read_config(&cfg, text, len, name)) == 0)
		error = which ? parse_staff(p, &cfg, name) : parse_rules(p, &cfg, name);
	config_destroy(&cfg);
	return error;
}

int
cu_policy_parse(cu_policy **out, const char *rules_text, size_t rules_len,
	const char *rules_name, const char *staff_text, size_t staff_len,
	const char *staff_name)
{
	cu_policy *p;
	json_t *canon = NULL;
	int error;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = parse_file(p, rules_text, rules_len, rules_name, 0)) < 0 ||
	    (error = parse_file(p, staff_text, staff_len, staff_name, 1)) < 0 ||
	    (error = cu_policy_json(&canon, p)) < 0 ||
	    (error = cu_canon_digest(p->digest, canon)) < 0)
		goto done;
	*out = p;
	p = NULL;
done:
	json_decref(canon);
	cu_policy_free(p);
	return error;
}

int
cu_policy_load(cu_policy **out, const char *dir)
{
	char rules_path[4096], staff_path[4096];
	char *rules = NULL, *staff = NULL;
	size_t rules_len, staff_len;
	int error;

	*out = NULL;
	if ((error = cu_pathf(rules_path, sizeof(rules_path), "%s/fund-control.conf", dir)) < 0 ||
	    (error = cu_pathf(staff_path, sizeof(staff_path), "%s/staff.conf", dir)) < 0 ||
	    (error = cu_read_file(&rules, &rules_len, rules_path, 1024 * 1024)) < 0 ||
	    (error = cu_read_file(&staff, &staff_len, staff_path, 1024 * 1024)) < 0)
		goto done;
	error = cu_policy_parse(out, rules, rules_len, rules_path, staff, staff_len, staff_path);
done:
	free(rules);
	free(staff);
	return error;
}

int
cu_policy_check_text(const char *text, size_t len, const char *name, const char **kind)
{
	cu_policy p;
	config_t cfg;
	int has_rules, has_staff, error;

	memset(&p, 0, sizeof(p));
	config_init(&cfg);
	if ((error = read_config(&cfg, text, len, name)) < 0)
		goto done;
	has_rules = config_lookup(&cfg, "rules") != NULL;
	has_staff = config_lookup(&cfg, "staff") != NULL;
	if (has_rules == has_staff) {
		error = cu_error_set(CU_EINVALID, has_rules
			? "%s: holds both rules and staff; they are two files"
			: "%s: neither a rules file (rules = ( … );) nor a staff file (staff = ( … );)",
			name);
		goto done;
	}
	if (kind != NULL)
		*kind = has_rules ? "rules" : "staff";
	error = has_rules ? parse_rules(&p, &cfg, name) : parse_staff(&p, &cfg, name);
done:
	free_contents(&p);
	config_destroy(&cfg);
	return error;
}

/* ---- what a policy holds ------------------------------------------------ */

const char *
cu_policy_digest(const cu_policy *p)
{
	return p->digest;
}

size_t
cu_policy_rule_count(const cu_policy *p)
{
	return p->nrules;
}

int
cu_policy_rule(cu_policy_rule_info *out, const cu_policy *p, size_t i)
{
	const struct rule *r;

	if (i >= p->nrules)
		return cu_error_set(CU_ENOTFOUND, "no rule %zu (the policy has %zu)", i, p->nrules);
	r = &p->rules[i];
	out->id = r->id;
	out->title = r->title;
	out->check = r->check;
	out->severity = r->severity;
	out->scope = r->scope;
	out->line = r->line;
	return 0;
}

static int
staff_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct staff *)elem)->id);
}

/* The staff entry for id, or NULL.  The public cu_staff_member is a view
 * of it. */
static const struct staff *
find_staff(const cu_policy *p, const char *id)
{
	if (id == NULL || p->nstaff == 0)
		return NULL;
	return bsearch(id, p->staff, p->nstaff, sizeof(*p->staff), staff_key_cmp);
}

const cu_staff_member *
cu_policy_staff(const cu_policy *p, const char *id)
{
	const struct staff *s = find_staff(p, id);

	return s ? &s->view : NULL;
}

int
cu_policy_scope_match(const cu_policy_scope *s, int kind, int fund, int scheme)
{
	return (s->kinds == 0 || (s->kinds & BIT(kind))) &&
	       (s->funds == 0 || (s->funds & BIT(fund))) &&
	       (s->schemes == 0 || (s->schemes & BIT(scheme)));
}

/* ---- canonical form ----------------------------------------------------- */

/* A JSON array of the names whose bits are set, in enum order. */
static json_t *
names_json(unsigned mask, const char *const *names)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && names[i] != NULL; i++)
		if ((mask & BIT(i)) && json_array_append_new(a, json_string(names[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* "HH:MM:SS". */
static json_t *
clock_json(int sec)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%02d:%02d:%02d", sec / 3600, sec / 60 % 60, sec % 60);
	return json_string(buf);
}

/* Sets o[key] = v (stolen); a NULL v (allocation failed) makes it fail. */
static int
put(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* The parameters of a rule into o. */
static int
params_json(json_t *o, const struct rule *r)
{
	json_t *a;
	int error = 0;

	switch (r->check) {
	case CU_CHECK_SEPARATION:
		if ((error = put(o, "maker_posts", names_json(r->maker_posts, cu_staff_posts))) < 0 ||
		    (error = put(o, "approver_not_posts",
		    names_json(r->approver_not_posts, cu_staff_posts))) < 0)
			return error;
		return put(o, "payment_kinds", names_json(r->payment_kinds, cu_fund_kinds));
	case CU_CHECK_AUTHORITY:
		if ((error = put(o, "levels", a = json_array())) < 0)
			return error;
		for (size_t i = 0; i < r->nlevels; i++) {
			json_t *l = json_pack("{s:I,s:s}", "above_fen", (json_int_t)r->levels[i].above_fen,
				"authority", cu_staff_authorities[r->levels[i].authority]);
			if (l == NULL || json_array_append_new(a, l) < 0)
				return cu_error_set(CU_ERROR, "out of memory");
		}
		return 0;
	case CU_CHECK_QUALIFICATION:
		return put(o, "months", json_integer(r->months));
	case CU_CHECK_ACCOUNT_CHANGE:
		return put(o, "days", json_integer(r->days));
	case CU_CHECK_FLOW:
		if ((error = put(o, "allow", a = json_array())) < 0)
			return error;
		for (int k = 0; k < CU_KIND_COUNT; k++)
			for (int f = 0; f <= CU_ACCOUNT_COUNT; f++)
				for (int t = 0; t < CU_ACCOUNT_COUNT; t++) {
					json_t *fl;

					if (!(r->flows[k] & FLOW_BIT(f, t)))
						continue;
					fl = json_pack("{s:s,s:s}", "kind", cu_fund_kinds[k],
						"to", cu_account_classes[t]);
					if (fl != NULL && f < CU_ACCOUNT_COUNT &&
					    json_object_set_new(fl, "from",
					    json_string(cu_account_classes[f])) < 0) {
						json_decref(fl);
						fl = NULL;
					}
					if (fl == NULL || json_array_append_new(a, fl) < 0)
						return cu_error_set(CU_ERROR, "out of memory");
				}
		return 0;
	case CU_CHECK_BASE:
		if ((error = put(o, "average_wage_fen", json_integer(r->average_fen))) < 0 ||
		    (error = put(o, "min_bp", json_integer(r->min_bp))) < 0)
			return error;
		return put(o, "max_bp", json_integer(r->max_bp));
	case CU_CHECK_HOURS:
		if ((error = put(o, "start", clock_json(r->start_sec))) < 0 ||
		    (error = put(o, "end", clock_json(r->end_sec))) < 0)
			return error;
		return put(o, "days", names_json(r->weekdays, weekdays));
	case CU_CHECK_VELOCITY:
		return put(o, "limit_fen", json_integer(r->limit_fen));
	case CU_CHECK_CLOSE:
		return put(o, "classes", names_json(r->classes, cu_account_classes));
	default:
		return 0;
	}
}

/* See policy.h. */
int
cu_policy_json(json_t **out, const cu_policy *p)
{
	json_t *doc, *rules, *staff;
	int error;

	*out = NULL;
	if ((doc = json_object()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = put(doc, "format", json_integer(1))) < 0 ||
	    (error = put(doc, "rules", rules = json_array())) < 0 ||
	    (error = put(doc, "staff", staff = json_array())) < 0)
		goto done;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		json_t *o = json_object(), *scope = json_object();

		if (o == NULL || scope == NULL || json_array_append_new(rules, o) < 0) {
			json_decref(scope);
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		if ((error = put(o, "scope", scope)) < 0 ||
		    (error = put(scope, "kinds", names_json(r->scope.kinds, cu_fund_kinds))) < 0 ||
		    (error = put(scope, "funds", names_json(r->scope.funds, cu_fund_codes))) < 0 ||
		    (error = put(scope, "schemes", names_json(r->scope.schemes, cu_fund_schemes))) < 0 ||
		    (error = put(o, "id", json_string(r->id))) < 0 ||
		    (error = put(o, "check", json_string(cu_policy_checks[r->check]))) < 0 ||
		    (error = put(o, "title", json_string(r->title))) < 0 ||
		    (error = put(o, "severity", json_string(cu_policy_severities[r->severity]))) < 0 ||
		    (error = params_json(o, r)) < 0)
			goto done;
	}
	for (size_t i = 0; i < p->nstaff; i++) {
		const struct staff *s = &p->staff[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", s->id, "name", s->name,
			"post", cu_staff_posts[s->post], "authority", cu_staff_authorities[s->authority]);

		if (o == NULL || json_array_append_new(staff, o) < 0) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
	}
	*out = doc;
	doc = NULL;
done:
	json_decref(doc);
	return error;
}

/* ---- decisions ---------------------------------------------------------- */

void
cu_decision_init(cu_decision *d)
{
	memset(d, 0, sizeof(*d));
}

void
cu_decision_free(cu_decision *d)
{
	free(d->findings);
	cu_decision_init(d);
}

/* Starts a decision of policy p. */
static void
decision_reset(cu_decision *d, const cu_policy *p)
{
	d->verdict = CU_VERDICT_ALLOW;
	d->n = 0;
	memcpy(d->policy, p->digest, sizeof(d->policy));
}

/* Appends a finding. */
static int
add_finding(cu_decision *d, const char *rule, int severity, const char *message)
{
	cu_policy_finding *f;

	if (cu_grow(&d->findings, &d->cap, d->n + 1, sizeof(*d->findings)) < 0)
		return CU_ERROR;
	f = &d->findings[d->n++];
	snprintf(f->rule, sizeof(f->rule), "%s", rule);
	f->severity = severity;
	snprintf(f->message, sizeof(f->message), "%s", message);
	if (severity == CU_SEV_DENY)
		d->verdict = CU_VERDICT_DENY;
	else if ((severity == CU_SEV_REVIEW || severity == CU_SEV_FINDING) &&
	    d->verdict == CU_VERDICT_ALLOW)
		d->verdict = CU_VERDICT_REVIEW;
	return 0;
}

int
cu_decision_json(json_t **out, const cu_decision *d)
{
	json_t *doc, *a;

	*out = NULL;
	doc = json_pack("{s:s,s:s,s:[]}", "verdict", cu_policy_verdicts[d->verdict],
		"policy", d->policy, "findings");
	if (doc == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	a = json_object_get(doc, "findings");
	for (size_t i = 0; i < d->n; i++) {
		json_t *f = json_pack("{s:s,s:s,s:s}", "rule", d->findings[i].rule,
			"severity", cu_policy_severities[d->findings[i].severity],
			"message", d->findings[i].message);

		if (f == NULL || json_array_append_new(a, f) < 0) {
			json_decref(doc);
			return cu_error_set(CU_ERROR, "out of memory");
		}
	}
	*out = doc;
	return 0;
}

/* ---- evaluation --------------------------------------------------------- */

struct eval {
	const cu_policy *p;
	const cu_fund_txn *t;
	const cu_policy_state *st;
	const struct rule *r;
	char msg[CU_FINDING_MAX];   /* the problems found by the current rule, "; "-joined */
	size_t used;
};

/* Adds a problem to the current rule's message. */
static void
problem(struct eval *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct eval *ev, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ev->used + 1 >= sizeof(ev->msg))
		return;
	if (ev->used > 0) {
		n = snprintf(ev->msg + ev->used, sizeof(ev->msg) - ev->used, "; ");
		ev->used += (size_t)n;
		if (ev->used >= sizeof(ev->msg)) {
			ev->used = sizeof(ev->msg) - 1;
			return;
		}
	}
	va_start(ap, fmt);
	n = vsnprintf(ev->msg + ev->used, sizeof(ev->msg) - ev->used, fmt, ap);
	va_end(ap);
	ev->used += (size_t)n;
	if (ev->used >= sizeof(ev->msg))
		ev->used = sizeof(ev->msg) - 1;
}

/* Yuan text of fen. */
static const char *
yuan(char out[32], int64_t fen)
{
	cu_money_format(out, 32, fen);
	return out;
}

/* Fails when the state lacks a callback the rule needs. */
static int
need(const struct eval *ev, int present, const char *what)
{
	if (present)
		return 0;
	return cu_error_set(CU_EINVALID, "policy state has no %s (needed by %s)", what, ev->r->id);
}

/* SOD-1: maker, reviewer and approver present, pairwise different and on
 * the staff list; for payment kinds, the maker holds one of maker_posts
 * and the approver none of approver_not_posts. */
static int
check_separation(struct eval *ev)
{
	const struct rule *r = ev->r;
	const cu_fund_txn *t = ev->t;
	const char *role[3] = { "maker", "reviewer", "approver" };
	const char *who[3] = { t->maker, t->reviewer, t->approver };
	const struct staff *s[3];
	char a[72], b[72], posts[128];

	for (int i = 1; i < 3; i++)
		if (who[i] == NULL)
			problem(ev, "%s missing", role[i]);
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (who[i] && who[j] && strcmp(who[i], who[j]) == 0)
				problem(ev, "%s and %s are the same person (%s)", role[i], role[j],
					show(a, who[i]));
	for (int i = 0; i < 3; i++) {
		s[i] = find_staff(ev->p, who[i]);
		if (who[i] != NULL && s[i] == NULL)
			problem(ev, "%s %s is not on the staff list", role[i], show(a, who[i]));
	}
	if (!(r->payment_kinds & BIT(t->kind)))
		return 0;
	if (s[0] != NULL && !(r->maker_posts & BIT(s[0]->post))) {
		mask_names(posts, sizeof(posts), r->maker_posts, cu_staff_posts, " or ");
		problem(ev, "maker %s holds post %s; the maker of a %s must hold %s",
			show(a, s[0]->id), cu_staff_posts[s[0]->post], cu_fund_kinds[t->kind], posts);
	}
	if (s[2] != NULL && (r->approver_not_posts & BIT(s[2]->post)))
		problem(ev, "approver %s holds post %s, which may not approve a %s",
			show(b, s[2]->id), cu_staff_posts[s[2]->post], cu_fund_kinds[t->kind]);
	return 0;
}

/* AUTH-1: an amount above a level's threshold needs an approver with at
 * least that level's authority (the highest such level counts). */
static int
check_authority(struct eval *ev)
{
	const struct rule *r = ev->r;
	const cu_fund_txn *t = ev->t;
	const struct level *lv = NULL;
	const struct staff *s;
	char a[32], b[32], c[72];

	for (size_t i = 0; i < r->nlevels; i++)
		if (t->amount_fen > r->levels[i].above_fen &&
		    (lv == NULL || r->levels[i].authority > lv->authority))
			lv = &r->levels[i];
	if (lv == NULL)
		return 0;
	s = find_staff(ev->p, t->approver);
	if (s != NULL && s->authority >= lv->authority)
		return 0;
	if (t->approver == NULL)
		problem(ev, "amount %s is above %s and needs an approver with %s authority; there is none",
			yuan(a, t->amount_fen), yuan(b, lv->above_fen), cu_staff_authorities[lv->authority]);
	else if (s == NULL)
		problem(ev, "amount %s is above %s and needs an approver with %s authority; "
			"approver %s is not on the staff list", yuan(a, t->amount_fen),
			yuan(b, lv->above_fen), cu_staff_authorities[lv->authority], show(c, t->approver));
	else
		problem(ev, "amount %s is above %s and needs an approver with %s authority; "
			"approver %s has %s authority", yuan(a, t->amount_fen), yuan(b, lv->above_fen),
			cu_staff_authorities[lv->authority], show(c, s->id),
			cu_staff_authorities[s->authority]);
	return 0;
}

/* DUP-1 (same scheme) and DUP-2 (the other scheme): a benefit_payment for
 * a person, fund and period that already has one. */
static int
check_duplicate(struct eval *ev, int other)
{
	const cu_fund_txn *t = ev->t;
	int scheme = other ? 1 - t->scheme : t->scheme, error;
	uint64_t n = 0;
	char m[8];

	if (t->person_id == NULL || !t->has_period)
		return 0;
	if ((error = need(ev, ev->st->benefit_count != NULL, "benefit_count")) < 0 ||
	    (error = ev->st->benefit_count(ev->st->payload, t->person_id, t->fund, scheme,
	    t->period, &n)) < 0)
		return error;
	if (n == 0)
		return 0;
	cu_month_format(m, t->period);
	if (other)
		problem(ev, "the person already has a %s benefit of the %s scheme for %s",
			cu_fund_codes[t->fund], cu_fund_schemes[scheme], m);
	else
		problem(ev, "a %s benefit (%s scheme) for %s is already on record for the person",
			cu_fund_codes[t->fund], cu_fund_schemes[scheme], m);
	return 0;
}

/* DEATH-1: a benefit for a period after the month of a recorded death. */
static int
check_after_death(struct eval *ev)
{
	const cu_fund_txn *t = ev->t;
	int found = 0, month = 0, error;
	char a[8], b[8];

	if (t->person_id == NULL || !t->has_period)
		return 0;
	if ((error = need(ev, ev->st->death_month != NULL, "death_month")) < 0 ||
	    (error = ev->st->death_month(ev->st->payload, t->person_id, &found, &month)) < 0)
		return error;
	if (found && t->period > month) {
		cu_month_format(a, t->period);
		cu_month_format(b, month);
		problem(ev, "benefit for %s, after the month of the person's recorded death (%s)", a, b);
	}
	return 0;
}

/* QUAL-1: the last qualification is missing, or in a month more than
 * `months` before the period's. */
static int
check_qualification(struct eval *ev)
{
	const cu_fund_txn *t = ev->t;
	int found = 0, y, m, d, error;
	int64_t day = 0;
	char a[11], b[8];

	if (t->person_id == NULL || !t->has_period)
		return 0;
	if ((error = need(ev, ev->st->last_qualification != NULL, "last_qualification")) < 0 ||
	    (error = ev->st->last_qualification(ev->st->payload, t->person_id, &found, &day)) < 0)
		return error;
	if (!found) {
		problem(ev, "no qualification on record for the person");
		return 0;
	}
	cu_civil_from_days(day, &y, &m, &d);
	if ((int64_t)y * 12 + m - 1 + ev->r->months < t->period) {
		cu_day_format(a, day);
		cu_month_format(b, t->period);
		problem(ev, "the person's last qualification (%s) is more than %d months before %s",
			a, ev->r->months, b);
	}
	return 0;
}

/* ACCT-1: posted 0..days days after the person's last account change. */
static int
check_account_change(struct eval *ev)
{
	const cu_fund_txn *t = ev->t;
	int found = 0, error;
	int64_t day = 0;
	char a[11];

	if (t->person_id == NULL)
		return 0;
	if ((error = need(ev, ev->st->last_account_change != NULL, "last_account_change")) < 0 ||
	    (error = ev->st->last_account_change(ev->st->payload, t->person_id, t->posted_day,
	    &found, &day)) < 0)
		return error;
	if (found && day <= t->posted_day && t->posted_day - day <= ev->r->days) {
		cu_day_format(a, day);
		problem(ev, "posted %lld days after the person's account change of %s (within %d)",
			(long long)(t->posted_day - day), a, ev->r->days);
	}
	return 0;
}

/* FLOW-1: (kind, from class, to class) must be an allowed flow. */
static int
check_flow(struct eval *ev)
{
	const cu_fund_txn *t = ev->t;
	int from = t->from.present ? t->from.cls : CU_ACCOUNT_COUNT;

	if (!t->to.present)
		return 0;
	if (ev->r->flows[t->kind] & FLOW_BIT(from, t->to.cls))
		return 0;
	problem(ev, "flow %s -> %s is not allowed for a %s",
		from < CU_ACCOUNT_COUNT ? cu_account_classes[from] : "(no account)",
		cu_account_classes[t->to.cls], cu_fund_kinds[t->kind]);
	return 0;
}

/* FUND-1: both accounts belong to the transaction's fund. */
static int
check_fund(struct eval *ev)
{
	const cu_fund_txn *t = ev->t;

	if (t->from.present && t->from.fund != t->fund)
		problem(ev, "from_account belongs to fund %s, the transaction to %s",
			cu_fund_codes[t->from.fund], cu_fund_codes[t->fund]);
	if (t->to.present && t->to.fund != t->fund)
		problem(ev, "to_account belongs to fund %s, the transaction to %s",
			cu_fund_codes[t->to.fund], cu_fund_codes[t->fund]);
	return 0;
}

/* BASE-1: min_bp/10000 x average <= base <= max_bp/10000 x average,
 * compared as base x 10000 against average x bp (no division). */
static int
check_base(struct eval *ev)
{
	const struct rule *r = ev->r;
	const cu_fund_txn *t = ev->t;
	__int128 base = (__int128)t->base_fen * 10000;
	char a[32], b[32];

	if (!t->has_base)
		return 0;
	if (base < (__int128)r->average_fen * r->min_bp)
		problem(ev, "base %s is below %d.%02d %% of the average wage %s",
			yuan(a, t->base_fen), r->min_bp / 100, r->min_bp % 100, yuan(b, r->average_fen));
	else if (base > (__int128)r->average_fen * r->max_bp)
		problem(ev, "base %s is above %d.%02d %% of the average wage %s",
			yuan(a, t->base_fen), r->max_bp / 100, r->max_bp % 100, yuan(b, r->average_fen));
	return 0;
}

/* TIME-1: posted on a listed weekday between start and end inclusive, in
 * the posting's own offset. */
static int
check_hours(struct eval *ev)
{
	const struct rule *r = ev->r;
	const cu_fund_txn *t = ev->t;
	int off = t->posted.offset_min < 0 ? -t->posted.offset_min : t->posted.offset_min;
	char days[64];

	if ((r->weekdays & BIT(t->posted_wday)) && t->posted_sec >= r->start_sec &&
	    t->posted_sec <= r->end_sec)
		return 0;
	mask_names(days, sizeof(days), r->weekdays, weekdays, " ");
	problem(ev, "posted on a %s at %02d:%02d:%02d (%c%02d:%02d), outside the working hours "
		"%02d:%02d:%02d-%02d:%02d:%02d %s", weekday_names[t->posted_wday],
		t->posted_sec / 3600, t->posted_sec / 60 % 60, t->posted_sec % 60,
		t->posted.offset_min < 0 ? '-' : '+', off / 60, off % 60,
		r->start_sec / 3600, r->start_sec / 60 % 60, r->start_sec % 60,
		r->end_sec / 3600, r->end_sec / 60 % 60, r->end_sec % 60, days);
	return 0;
}

/* VEL-1: the maker's total for the day, this transaction included, above
 * the limit. */
static int
check_velocity(struct eval *ev)
{
	const cu_fund_txn *t = ev->t;
	int64_t total = 0;
	char a[32], b[32], c[11], d[72];
	int error;

	if ((error = need(ev, ev->st->maker_day_total != NULL, "maker_day_total")) < 0 ||
	    (error = ev->st->maker_day_total(ev->st->payload, t->maker, t->posted_day,
	    &ev->r->scope, &total)) < 0)
		return error;
	total = total > INT64_MAX - t->amount_fen ? INT64_MAX : total + t->amount_fen;
	if (total <= ev->r->limit_fen)
		return 0;
	cu_day_format(c, t->posted_day);
	problem(ev, "maker %s's total on %s would be %s, above the limit of %s",
		show(d, t->maker), c, yuan(a, total), yuan(b, ev->r->limit_fen));
	return 0;
}

/* Runs the current rule's check. */
static int
run_check(struct eval *ev)
{
	switch (ev->r->check) {
	case CU_CHECK_SEPARATION:         return check_separation(ev);
	case CU_CHECK_AUTHORITY:          return check_authority(ev);
	case CU_CHECK_DUPLICATE_BENEFIT:  return check_duplicate(ev, 0);
	case CU_CHECK_DUAL_SCHEME:        return check_duplicate(ev, 1);
	case CU_CHECK_AFTER_DEATH:        return check_after_death(ev);
	case CU_CHECK_QUALIFICATION:      return check_qualification(ev);
	case CU_CHECK_ACCOUNT_CHANGE:     return check_account_change(ev);
	case CU_CHECK_FLOW:               return check_flow(ev);
	case CU_CHECK_FUND:               return check_fund(ev);
	case CU_CHECK_BASE:               return check_base(ev);
	case CU_CHECK_HOURS:              return check_hours(ev);
	case CU_CHECK_VELOCITY:           return check_velocity(ev);
	default:                          return 0;   /* close: not per transaction */
	}
}

int
cu_policy_eval_view(const cu_policy *p, const cu_fund_txn *t, const cu_policy_state *st,
	cu_decision *out)
{
	struct eval ev = { p, t, st, NULL, "", 0 };
	int error;

	decision_reset(out, p);
	if (st == NULL)
		return cu_error_set(CU_EINVALID, "policy state missing");
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (r->check == CU_CHECK_CLOSE || !(checks[r->check].kinds & BIT(t->kind)) ||
		    !cu_policy_scope_match(&r->scope, t->kind, t->fund, t->scheme))
			continue;
		ev.r = r;
		ev.msg[0] = '\0';
		ev.used = 0;
		if ((error = run_check(&ev)) < 0)
			return error;
		if (ev.used > 0 && (error = add_finding(out, r->id, r->severity, ev.msg)) < 0)
			return error;
	}
	return 0;
}

int
cu_policy_eval(const cu_policy *p, const json_t *txn, const cu_policy_state *st,
	cu_decision *out)
{
	cu_fund_txn t;
	int error;

	decision_reset(out, p);
	if ((error = cu_fund_view(&t, txn)) < 0)
		return error;
	return cu_policy_eval_view(p, &t, st, out);
}

/* ---- period close ------------------------------------------------------- */

struct close_walk {
	const struct rule *r;
	cu_decision *out;
	int period;
};

/* One account's balance against the close rule. */
static int
close_account(void *arg, const cu_policy_balance *b)
{
	struct close_walk *w = arg;
	char msg[CU_FINDING_MAX], a[32], m[8], no[72];

	if (b->cls < 0 || b->cls >= CU_ACCOUNT_COUNT || b->fund < 0 || b->fund >= CU_FUND_COUNT)
		return cu_error_set(CU_EINVALID, "policy state gave an account of an unknown class or fund");
	if (!(w->r->classes & BIT(b->cls)) ||
	    (w->r->scope.funds && !(w->r->scope.funds & BIT(b->fund))) || b->balance_fen == 0)
		return 0;
	cu_month_format(m, w->period);
	snprintf(msg, sizeof(msg), "%s account %s (%s) has a balance of %s at the close of %s, "
		"expected 0.00", cu_account_classes[b->cls], show(no, b->no ? b->no : "?"),
		cu_fund_codes[b->fund], yuan(a, b->balance_fen), m);
	return add_finding(w->out, w->r->id, w->r->severity, msg);
}

int
cu_policy_close(const cu_policy *p, int period, const cu_policy_state *st, cu_decision *out)
{
	int error;

	decision_reset(out, p);
	if (st == NULL)
		return cu_error_set(CU_EINVALID, "policy state missing");
	for (size_t i = 0; i < p->nrules; i++) {
		struct close_walk w = { &p->rules[i], out, period };

		if (p->rules[i].check != CU_CHECK_CLOSE)
			continue;
		if (st->each_balance == NULL)
			return cu_error_set(CU_EINVALID, "policy state has no each_balance (needed by %s)",
				p->rules[i].id);
		if ((error = st->each_balance(st->payload, period, close_account, &w)) < 0)
			return error;
	}
	return 0;
}
