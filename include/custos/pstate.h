/*
 * pstate.h — the policy state in memory: a cu_policy_state over plain
 * tables, for the unit tests and for `policy replay`, which rebuilds the
 * state as it was by recording the archived transactions in their order.
 *
 * It is also the reference for what the archive's LMDB state must do: the
 * three update functions below say which facts a transaction establishes
 * and when (docs/fund-control.md, "State"):
 *
 *   decision          record   post
 *   allow             yes      yes
 *   review (queued)   yes      no      (post when approved; withdraw when rejected)
 *   deny              no       no
 *
 * Nothing here is written anywhere; ID numbers stay in this process's
 * memory only.
 */
#ifndef CUSTOS_PSTATE_H
#define CUSTOS_PSTATE_H

#include "custos/fund.h"
#include "custos/policy.h"

typedef struct cu_pstate cu_pstate;

int cu_pstate_new(cu_pstate **out);
void cu_pstate_free(cu_pstate *s);

/* Fills *out with the callbacks over s (payload = s).  s must outlive
 * every use of *out. */
void cu_pstate_iface(cu_policy_state *out, cu_pstate *s);

/* Records the facts of a standing transaction (allowed, or queued for
 * review):
 *   death_report    the month of event_date as a death month of the person
 *   qualification   event_date as a qualification day of the person
 *   account_change  event_date as an account-change day of the person
 *   benefit_payment one benefit for (person, fund, scheme, period)
 *   money kinds     amount_fen added to the maker's total for posted_at's
 *                   day, under the transaction's kind, fund and scheme
 * Balances are not touched (cu_pstate_post). */
int cu_pstate_record(cu_pstate *s, const cu_fund_txn *t);

/* Takes back what cu_pstate_record added for t (a review that was
 * rejected).  CU_ENOTFOUND if t's facts are not recorded. */
int cu_pstate_withdraw(cu_pstate *s, const cu_fund_txn *t);

/* Posts an effective money transaction (allowed, or approved in review)
 * to the balances: amount_fen leaves from_account and enters to_account,
 * in the transaction's period; each account is (class, fund, number),
 * its fund being its own "fund" or the transaction's.  Kinds without
 * money change nothing. */
int cu_pstate_post(cu_pstate *s, const cu_fund_txn *t);

/* After an evaluation: records t unless the verdict is deny, and posts it
 * when it is allow (the table above). */
int cu_pstate_apply(cu_pstate *s, const cu_fund_txn *t, int verdict);

#endif
