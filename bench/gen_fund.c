/*
 * gen_fund — deterministic fund transactions for `make bench`, one JSON
 * object per line (docs/fund-control.md):
 *
 *   gen_fund N [SEED]
 *
 * A year (2026) of business of one agency over up to 2,000 people, in posting
 * order on working days: each person's qualification first, then benefit
 * payments (one per person and month), contributions, transfers, account
 * changes and a few death reports.  Most are allowed under the shipped
 * policy; some fire rules on purpose: a second payment for a month (DUP-1),
 * a payment after a reported death (DEATH-1), one soon after an account
 * change (ACCT-1), a low contribution base (BASE-1), a posting after hours
 * (TIME-1).  The same N and SEED give the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEOPLE 2000

static uint32_t seed;

static unsigned
rnd(unsigned n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

/* A resident ID number for person k, with its GB 11643 check character. */
static void
idno(char out[19], unsigned k)
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	int sum = 0;

	snprintf(out, 19, "1101051950%02u%02u%03u", 1 + k % 12, 1 + (k / 12) % 28, (k / 336) % 1000);
	for (int i = 0; i < 17; i++)
		sum += (out[i] - '0') * w[i];
	out[17] = "10X98765432"[sum % 11];
	out[18] = '\0';
}

/* Month and day of day-of-year d (0-based) of 2026. */
static void
month_day(int d, int *m, int *day)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	*m = 0;
	while (*m < 11 && d >= len[*m])
		d -= len[(*m)++];
	*m += 1;
	*day = d + 1;
}

int
main(int argc, char **argv)
{
	static int last_period[PEOPLE];   /* month of the last benefit, 0 none */
	static int died[PEOPLE];
	static const char *const makers[] = { "op-011", "op-017", "op-018" };
	long n, q;
	char id[19];

	if (argc < 2 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: gen_fund N [SEED]\n");
		return 2;
	}
	seed = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1;
	q = n / 4 < PEOPLE ? n / 4 : PEOPLE;   /* qualifications, in the first weeks */
	if (q < 1)
		q = 1;
	for (long i = 0; i < n; i++) {
		/* working days of 2026 (1 January was a Thursday), 2 … 364 */
		int doy, m, d, hh, mm, wd, qual = i < q;
		unsigned k, roll = rnd(100);
		char at[40];

		doy = qual ? 1 + (int)(i * 15 / q) : 21 + (int)((i - q) * 340 / (n - q));
		wd = (doy + 4) % 7;               /* 0 Sunday */
		if (wd == 0)
			doy++;
		else if (wd == 6)
			doy += 2;
		month_day(doy, &m, &d);
		hh = rnd(200) == 0 ? 19 : 8 + rnd(10);
		mm = rnd(60);
		snprintf(at, sizeof(at), "2026-%02d-%02dT%02d:%02d:%02u+08:00", m, d, hh, mm, rnd(60));
		if (qual) {
			idno(id, (unsigned)i);
			printf("{\"type\":\"fund_txn\",\"txn_no\":\"F-%07ld\",\"kind\":\"qualification\","
				"\"fund\":\"pension\",\"scheme\":\"employee\",\"posted_at\":\"%s\","
				"\"event_date\":\"2026-%02d-%02d\",\"person\":{\"id_no\":\"%s\",\"name\":\"张三\"},"
				"\"maker\":\"%s\",\"reviewer\":\"op-020\",\"approver\":\"op-031\"}\n",
				i, at, m, d, id, makers[rnd(3)]);
			continue;
		}
		k = rnd((unsigned)q);
		idno(id, k);
		if (roll < 45) {
			/* a benefit for this month, or (1 in 100) a second one */
			if (last_period[k] == m && rnd(100) != 0) {
				for (int tries = 0; tries < 20 && last_period[k] == m; tries++)
					k = rnd((unsigned)q);
				idno(id, k);
			}
			last_period[k] = m;
			printf("{\"type\":\"fund_txn\",\"txn_no\":\"F-%07ld\",\"kind\":\"benefit_payment\","
				"\"fund\":\"pension\",\"scheme\":\"employee\",\"amount\":\"%u.%02u\","
				"\"period\":\"2026-%02d\",\"posted_at\":\"%s\","
				"\"from_account\":{\"no\":\"EXP-P\",\"class\":\"expenditure\"},"
				"\"to_account\":{\"no\":\"62220202%08u\",\"class\":\"beneficiary\"},"
				"\"person\":{\"id_no\":\"%s\",\"name\":\"张三\"},\"maker\":\"%s\","
				"\"reviewer\":\"op-020\",\"approver\":\"op-031\"}\n",
				i, 1500 + rnd(4000), rnd(100), m, at, k, id, makers[rnd(3)]);
		} else if (roll < 80) {
			unsigned base = rnd(20) == 0 ? 4000 + rnd(1000) : 8000 + rnd(20000);
			printf("{\"type\":\"fund_txn\",\"txn_no\":\"F-%07ld\",\"kind\":\"contribution\","
				"\"fund\":\"pension\",\"scheme\":\"employee\",\"amount\":\"%u.%02u\","
				"\"base\":\"%u.00\",\"period\":\"2026-%02d\",\"posted_at\":\"%s\","
				"\"from_account\":{\"no\":\"PAY-%u\",\"class\":\"payer\"},"
				"\"to_account\":{\"no\":\"INC-P\",\"class\":\"income\"},"
				"\"org\":{\"uscc\":\"91350100M000100Y43\",\"name\":\"Example Co.\"},"
				"\"maker\":\"%s\"}\n",
				i, base * 16 / 100, rnd(100), base, m, at, rnd(50), makers[rnd(3)]);
		} else if (roll < 90) {
			printf("{\"type\":\"fund_txn\",\"txn_no\":\"F-%07ld\",\"kind\":\"transfer\","
				"\"fund\":\"pension\",\"scheme\":\"employee\",\"amount\":\"%u.00\","
				"\"period\":\"2026-%02d\",\"posted_at\":\"%s\","
				"\"from_account\":{\"no\":\"INC-P\",\"class\":\"income\"},"
				"\"to_account\":{\"no\":\"FIS-P\",\"class\":\"fiscal\"},"
				"\"maker\":\"op-031\",\"reviewer\":\"op-032\",\"approver\":\"op-033\"}\n",
				i, 1000 + rnd(40000), m, at);
		} else if (roll < 98 || died[k]) {
			printf("{\"type\":\"fund_txn\",\"txn_no\":\"F-%07ld\",\"kind\":\"account_change\","
				"\"fund\":\"pension\",\"scheme\":\"employee\",\"posted_at\":\"%s\","
				"\"event_date\":\"2026-%02d-%02d\",\"person\":{\"id_no\":\"%s\",\"name\":\"张三\"},"
				"\"maker\":\"%s\",\"reviewer\":\"op-020\",\"approver\":\"op-031\"}\n",
				i, at, m, d, id, makers[rnd(3)]);
		} else {
			died[k] = 1;
			printf("{\"type\":\"fund_txn\",\"txn_no\":\"F-%07ld\",\"kind\":\"death_report\","
				"\"fund\":\"pension\",\"scheme\":\"employee\",\"posted_at\":\"%s\","
				"\"event_date\":\"2026-%02d-01\",\"person\":{\"id_no\":\"%s\",\"name\":\"张三\"},"
				"\"maker\":\"%s\",\"reviewer\":\"op-020\",\"approver\":\"op-031\"}\n",
				i, at, m, id, makers[rnd(3)]);
		}
	}
	return 0;
}
