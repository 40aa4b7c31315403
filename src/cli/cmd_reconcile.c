/* cmd_reconcile.c — custos reconcile --statement FILE.csv --account NO [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/recon.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] reconcile --statement FILE.csv --account NO\n"
		"         [--tolerance DAYS] [--json]\n\n"
		"Matches a bank statement (CSV with the header\n"
		"  " CU_RECON_HEADER "\n"
		"see docs/fund-control.md) against the effective fund transactions on the\n"
		"account: by reference (= txn_no), then by date within --tolerance days\n"
		"(default 3), direction and amount.  Prints one line per item:\n"
		"  <outcome> TAB <date> TAB <amount> TAB <reference> TAB <counterparty>\n"
		"outcome: matched, missing_in_books, missing_at_bank, amount_differs; then a\n"
		"summary on stderr.  The statement and the report are archived (the report\n"
		"as a record in the log).  Exit 1 when anything is unmatched.\n");
}

int
cmd_reconcile(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "statement", required_argument, NULL, 's' },
		{ "account", required_argument, NULL, 'a' },
		{ "tolerance", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *statement = NULL, *account = NULL;
	int json = 0, opt, tolerance = CU_RECON_TOLERANCE_DEFAULT, status;
	char *text = NULL, id[65], *end;
	json_t *report = NULL;
	json_int_t unmatched;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 's': statement = optarg; break;
		case 'a': account = optarg; break;
		case 'j': json = 1; break;
		case 't':
			tolerance = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || tolerance < 0 ||
			    tolerance > CU_RECON_TOLERANCE_MAX)
				return cli_usage("reconcile", "--tolerance: 0 to %d days",
					CU_RECON_TOLERANCE_MAX);
			break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("reconcile", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("reconcile", "unexpected argument %s", argv[optind]);
	if (statement == NULL || account == NULL)
		return cli_usage("reconcile", "--statement FILE and --account NO are required");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_reconcile(a, statement, account, tolerance, &report, &text, id) < 0) {
		cu_archive_free(a);
		return cli_fail("reconcile");
	}
	cu_archive_free(a);
	if (json) {
		char *s = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS);
		if (s != NULL)
			puts(s);
		free(s);
	} else {
		fputs(text, stdout);
	}
	unmatched = json_integer_value(json_object_get(report, "unmatched"));
	fprintf(stderr, "custos: reconcile %s: %lld bank line%s, %lld book entr%s, %lld unmatched "
		"(report %.12s archived)\n", account,
		(long long)json_integer_value(json_object_get(report, "bank_lines")),
		json_integer_value(json_object_get(report, "bank_lines")) == 1 ? "" : "s",
		(long long)json_integer_value(json_object_get(report, "book_entries")),
		json_integer_value(json_object_get(report, "book_entries")) == 1 ? "y" : "ies",
		(long long)unmatched, id);
	status = unmatched > 0 ? EXIT_PROBLEMS : EXIT_DONE;
	free(text);
	json_decref(report);
	return status;
}
