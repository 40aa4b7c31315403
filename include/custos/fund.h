/*
 * fund.h — fund transactions (基金交易, GB/T 27768-2011 §6.3): validating the
 * input object and a typed view of the validated one.
 *
 * Nothing here touches the archive or the policy; these are pure functions
 * over JSON values, like record.h.  The format, each kind's required
 * fields and accounts, and the messages are in docs/fund-control.md.
 */
#ifndef CUSTOS_FUND_H
#define CUSTOS_FUND_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "custos/record.h"

/* ---- codes ---------------------------------------------------------- */

/* The kinds of fund transaction.  The first five move money. */
enum cu_fund_kind {
	CU_KIND_CONTRIBUTION,     /* payer -> income */
	CU_KIND_BENEFIT_PAYMENT,  /* expenditure -> beneficiary */
	CU_KIND_REFUND,           /* income -> payer; beneficiary -> expenditure (returned) */
	CU_KIND_TRANSFER,         /* income -> fiscal; fiscal -> expenditure; expenditure -> fiscal */
	CU_KIND_INTEREST,         /* -> income, expenditure or fiscal */
	CU_KIND_ACCOUNT_CHANGE,   /* a person's payment account changed (no money) */
	CU_KIND_QUALIFICATION,    /* a person's benefit qualification certified (no money) */
	CU_KIND_DEATH_REPORT,     /* a person's death recorded (no money) */
	CU_KIND_COUNT
};

/* The funds (险种), each accounted for separately. */
enum cu_fund_code {
	CU_FUND_PENSION,
	CU_FUND_MEDICAL,
	CU_FUND_WORK_INJURY,
	CU_FUND_UNEMPLOYMENT,
	CU_FUND_MATERNITY,
	CU_FUND_COUNT
};

/* The schemes: 城镇职工 (employee) and 城乡居民 (resident); resident only
 * for pension and medical. */
enum cu_fund_scheme {
	CU_SCHEME_EMPLOYEE,
	CU_SCHEME_RESIDENT,
	CU_SCHEME_COUNT
};

/* Account classes (收支两条线: income and expenditure accounts, the fiscal
 * special account, and the outside parties). */
enum cu_account_class {
	CU_ACCOUNT_INCOME,
	CU_ACCOUNT_EXPENDITURE,
	CU_ACCOUNT_FISCAL,
	CU_ACCOUNT_PAYER,
	CU_ACCOUNT_BENEFICIARY,
	CU_ACCOUNT_COUNT
};

/* NULL-terminated lists of the codes, in enum order ("contribution", …). */
extern const char *const cu_fund_kinds[];
extern const char *const cu_fund_codes[];
extern const char *const cu_fund_schemes[];
extern const char *const cu_account_classes[];

/* Index of s in one of the lists above, or -1. */
int cu_fund_lookup(const char *const *list, const char *s);

/* 1 if the kind moves money (has an amount and accounts). */
int cu_fund_kind_moves_money(int kind);

/* ---- validation ------------------------------------------------------- */

/* Field limits (bytes). */
#define CU_TXN_NO_MAX     64
#define CU_ACCOUNT_NO_MAX 64

/* Validates one fund transaction object as documented in
 * docs/fund-control.md and returns its normalised form (*out, a new
 * object):
 *   type "fund_txn", txn_no, kind, fund, scheme, amount_fen (money kinds),
 *   period ("YYYY-MM"), posted_at (as given), from_account / to_account
 *   {no, class[, fund]}, person {id_no (normalised, upper-case X), name},
 *   org {uscc, name}, base_fen (contributions), event_date ("YYYY-MM-DD"),
 *   maker, reviewer, approver, ext — each only when given or required.
 * Per kind: money kinds need amount (> 0), period and their accounts
 * (interest: to_account only); contributions need base (> 0) and a person
 * or an org; benefit payments a person; refunds a person or an org;
 * account_change, qualification and death_report a person and an
 * event_date not after posted_at's date, and no amount, accounts or base.
 * A field a kind does not use is refused rather than ignored.
 * On failure CU_EINVALID and the first problem as "FIELD: reason", e.g.
 * "person.id_no: check character is 3, expected X" or "amount: must be
 * more than 0"; a message never repeats an ID number. */
int cu_fund_validate(json_t **out, const json_t *in);

/* The identity of a fund transaction: "txn/<txn_no>" into a new string,
 * or NULL (with the last error set) when txn_no is missing. */
char *cu_fund_key(const json_t *txn);

/* ---- a typed view of a validated transaction -------------------------- */

typedef struct cu_fund_account {
	int present;        /* 0 when the transaction has no such account */
	const char *no;     /* account number */
	int cls;            /* enum cu_account_class */
	int fund;           /* the account's fund: its own "fund", else the transaction's */
	int own_fund;       /* 1 when the account named its fund itself */
} cu_fund_account;

typedef struct cu_fund_txn {
	const char *txn_no;
	int kind, fund, scheme;     /* enum cu_fund_kind, cu_fund_code, cu_fund_scheme */
	int64_t amount_fen;         /* 0 for kinds without money */
	int has_base;
	int64_t base_fen;
	int has_period;
	int period;                 /* month number (cu_month_parse) */
	cu_time posted;             /* posted_at */
	int64_t posted_day;         /* its calendar day in its own offset (cu_civil_days) */
	int posted_sec;             /* seconds after that day's midnight, 0-86399 */
	int posted_wday;            /* 0 Sunday ... 6 Saturday */
	int has_event;
	int64_t event_day;          /* event_date (cu_day_parse) */
	cu_fund_account from, to;
	const char *person_id;      /* normalised ID number, or NULL */
	const char *org_uscc;       /* or NULL */
	const char *maker;          /* never NULL in a validated transaction */
	const char *reviewer, *approver;   /* or NULL */
} cu_fund_txn;

/* Fills *out from a transaction as cu_fund_validate returns it; the
 * strings point into txn, which must outlive the view.  CU_EINVALID
 * ("fund_txn: FIELD …") if txn is not such an object. */
int cu_fund_view(cu_fund_txn *out, const json_t *txn);

#endif
