/* cmd_search.c — custos search [filters] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] search [--json] [--person ID] [--org USCC] [--service S]\n"
		"         [--insurance I] [--channel C] [--operator OP] [--agency A]\n"
		"         [--from DATE] [--to DATE] [--text WORDS] [--limit N] [--offset N]\n"
		"         [--type receipt|case|disposal_list|fund_txn] [--case NO] [--file-name WORDS]\n"
		"         [--scheme employee|resident] [--period YYYY-MM]\n"
		"         [--unmask [--purpose TEXT]]\n\n"
		"Filters combine with AND; results newest first, one line per record:\n"
		"  <ref> TAB <time> TAB <service> TAB <insurance> TAB <subject> <name> TAB <summary>\n"
		"For a case file the service column holds case:<case type>, the summary its\n"
		"title; --text also finds words of case titles, --file-name words of the\n"
		"names of a case's files, --case one case number; --scheme and --period\n"
		"select fund transactions.  A record on legal hold has\n"
		"[held] before its summary, one whose content was disposed of [disposed].\n"
		"Resident ID numbers are masked (110105********002X); --unmask shows them and\n"
		"is recorded as an access event.  DATE is YYYY-MM-DD (in the archive's time\n"
		"zone, --to inclusive) or an RFC 3339 time.  --limit defaults to 100 (0 = all).\n");
}

struct out {
	int json;
};

static int
print_hit(const json_t *hit, void *payload)
{
	struct out *o = payload;
	const json_t *subj = json_object_get(hit, "subject");

	if (o->json) {
		char *s = json_dumps(hit, JSON_COMPACT);
		if (s == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		puts(s);
		free(s);
		return 0;
	}
	cli_put_field(json_string_value(json_object_get(hit, "ref")));
	putchar('\t');
	cli_put_field(json_string_value(json_object_get(hit, "time")));
	putchar('\t');
	if (json_string_value(json_object_get(hit, "case_type")) != NULL) {
		fputs("case:", stdout);
		cli_put_field(json_string_value(json_object_get(hit, "case_type")));
	} else if (json_object_get(hit, "kind") != NULL &&
		   strcmp(json_string_value(json_object_get(hit, "kind")), "disposal_list") == 0) {
		fputs("disposal_list", stdout);
	} else {
		cli_put_field(json_string_value(json_object_get(hit, "service")));
	}
	putchar('\t');
	cli_put_field(json_string_value(json_object_get(hit, "insurance")));
	putchar('\t');
	cli_put_field(json_string_value(json_object_get(subj, "id")));
	putchar(' ');
	cli_put_field(json_string_value(json_object_get(subj, "name")));
	putchar('\t');
	/* a record on legal hold, or whose content was disposed of, says so */
	if (json_object_get(hit, "held") != NULL)
		fputs("[held] ", stdout);
	if (json_object_get(hit, "disposed") != NULL)
		fputs("[disposed] ", stdout);
	/* a fund transaction denied or waiting for review says so */
	if (json_is_string(json_object_get(hit, "decision")) &&
	    strcmp(json_string_value(json_object_get(hit, "decision")), "allow") != 0)
		printf("[%s] ", json_string_value(json_object_get(hit, "decision")));
	cli_put_field(json_string_value(json_object_get(hit, "summary")));
	putchar('\n');
	return 0;
}

int
cmd_search(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "unmask", no_argument, NULL, 'U' },
		{ "purpose", required_argument, NULL, 'P' },
		SEARCH_FILTER_LONG_OPTS,
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_search_query q;
	struct out o = { 0 };
	cu_archive *a;
	size_t n = 0;
	int opt, r;

	memset(&q, 0, sizeof(q));
	q.limit = 100;
	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		if ((r = cli_filter_opt(&q, opt, optarg, "search")) != 0) {
			if (r < 0)
				return EXIT_USAGE;
			continue;
		}
		switch (opt) {
		case 'j': o.json = 1; break;
		case 'U': q.unmask = 1; break;
		case 'P': q.purpose = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("search", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("search", "unexpected argument %s (filters are options)", argv[optind]);
	if (q.purpose && !q.unmask)
		return cli_usage("search", "--purpose goes with --unmask");
	if ((a = cli_open(c, q.unmask ? CU_ARCHIVE_WRITE : CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_index_behind(a))
		fprintf(stderr, "custos: search: the index is behind the history while another "
			"writer works; the newest records may be missing\n");
	if (cu_archive_search(a, &q, print_hit, &o, &n) < 0) {
		cu_archive_free(a);
		return cli_fail("search");
	}
	cu_archive_free(a);
	if (!o.json && isatty(1))
		fprintf(stderr, "custos: %zu record%s\n", n, n == 1 ? "" : "s");
	return EXIT_DONE;
}
