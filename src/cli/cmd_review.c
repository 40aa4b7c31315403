/* cmd_review.c — custos review list|show|approve|reject: the review queue of
 * fund transactions (four eyes). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/record.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] review list [--json]\n"
		"       custos [-A DIR] review show [--json] [--purpose TEXT] KEY\n"
		"       custos [-A DIR] review approve KEY --note TEXT\n"
		"       custos [-A DIR] review reject KEY --note TEXT\n\n"
		"Fund transactions decided \"review\" wait here for a second person.  list\n"
		"prints them oldest first, one line each:\n"
		"  <ref> TAB <posted at> TAB <age in days> TAB <maker> TAB <amount> TAB <rules>\n"
		"show prints the transaction (ID numbers masked; recorded as an access) with\n"
		"its decision.  approve makes it effective (it counts in the balances from\n"
		"then on), reject takes it back; the reviewer is the calling user, who must\n"
		"not be its maker, reviewer or approver.  Each review is an event in the\n"
		"history (trace shows it).  Prints \"approved <ref> <event id>\" or\n"
		"\"rejected <ref> <event id>\"; a transaction not waiting for review, or a\n"
		"reviewer who is one of its hands, is refused: \"refused KEY: why\", exit 1.\n");
}

static int
collect(const json_t *item, void *payload)
{
	return json_array_append((json_t *)payload, (json_t *)item) < 0
		? cu_error_set(CU_ERROR, "out of memory") : 0;
}

static int
by_age(const void *x, const void *y)
{
	json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "age_days"));
	json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "age_days"));
	const char *ra = json_string_value(json_object_get(*(json_t *const *)x, "ref"));
	const char *rb = json_string_value(json_object_get(*(json_t *const *)y, "ref"));

	if (a != b)
		return a > b ? -1 : 1;
	return strcmp(ra ? ra : "", rb ? rb : "");
}

static int
run_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	json_t *items, **v;
	int json = 0, opt, status = EXIT_DONE;
	size_t n = 0, i;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': json = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("review", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("review", "list: unexpected argument %s", argv[optind]);
	if ((items = json_array()) == NULL || (a = cli_open(c, CU_ARCHIVE_READ)) == NULL) {
		json_decref(items);
		return EXIT_USAGE;
	}
	if (cu_archive_review_queue(a, collect, items, &n) < 0) {
		cu_archive_free(a);
		json_decref(items);
		return cli_fail("review list");
	}
	cu_archive_free(a);
	/* oldest first */
	if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL) {
		json_decref(items);
		return cli_fail("review list");
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(items, i);
	qsort(v, n, sizeof(*v), by_age);
	for (i = 0; i < n; i++) {
		const json_t *it = v[i], *r;
		char money[32] = "", *s;
		size_t k;
		if (json) {
			if ((s = json_dumps(it, JSON_COMPACT)) == NULL) {
				status = cli_fail("review list");
				break;
			}
			puts(s);
			free(s);
			continue;
		}
		if (json_is_integer(json_object_get(it, "amount_fen")))
			cu_money_format(money, sizeof(money),
				(int64_t)json_integer_value(json_object_get(it, "amount_fen")));
		cli_put_field(json_string_value(json_object_get(it, "ref")));
		putchar('\t');
		cli_put_field(json_string_value(json_object_get(it, "time")));
		printf("\t%lld\t", (long long)json_integer_value(json_object_get(it, "age_days")));
		cli_put_field(json_string_value(json_object_get(it, "operator")));
		printf("\t%s\t", money);
		json_array_foreach(json_object_get(it, "rules"), k, r)
			printf("%s%s", k ? "," : "", json_string_value(r) ? json_string_value(r) : "?");
		putchar('\n');
	}
	free(v);
	json_decref(items);
	fprintf(stderr, "custos: %zu transaction%s waiting for review\n", n, n == 1 ? "" : "s");
	return status;
}

static int
run_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "purpose", required_argument, NULL, 'P' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_get_opts g;
	json_t *doc = NULL;
	char *text;
	int json = 0, opt;
	cu_archive *a;

	memset(&g, 0, sizeof(g));
	g.purpose = "review";
	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': json = 1; break;
		case 'P': g.purpose = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("review", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("review", "show: exactly one KEY is needed");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	/* a retrieval like get: recorded, masked, with the decision */
	if (cu_archive_get(a, argv[optind], &g, &doc, NULL, NULL) < 0) {
		cu_archive_free(a);
		return cli_fail("review show");
	}
	if (json_string_value(json_object_get(doc, "kind")) == NULL ||
	    strcmp(json_string_value(json_object_get(doc, "kind")), "fund_txn") != 0) {
		cu_archive_free(a);
		json_decref(doc);
		fprintf(stderr, "custos: review show: %s is not a fund transaction\n", argv[optind]);
		return EXIT_USAGE;
	}
	{
		json_t *mark = NULL;
		if (cu_archive_decision(&mark, a, json_string_value(json_object_get(doc, "id"))) == 0)
			json_object_set_new(doc, "decision", mark);
		cu_error_clear();
	}
	cu_archive_free(a);
	text = json_dumps(doc, json ? JSON_COMPACT | JSON_SORT_KEYS : JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL)
		return cli_fail("review show");
	puts(text);
	free(text);
	return EXIT_DONE;
}

static int
run_review(struct cli *c, int argc, char **argv, int approve)
{
	static const struct option opts[] = {
		{ "note", required_argument, NULL, 'n' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *note = NULL, *what = approve ? "approve" : "reject";
	char ref[128], id[65];
	int opt, error;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'n': note = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("review", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("review", "%s: exactly one KEY is needed", what);
	if (note == NULL)
		return cli_usage("review", "%s: --note is required", what);
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	error = cu_archive_review(a, argv[optind], approve, note, ref, id);
	cu_archive_free(a);
	if (error == CU_ECONFLICT)
		return cli_refused("review", argv[optind]);
	if (error < 0)
		return cli_fail(approve ? "review approve" : "review reject");
	printf("%s %s %s\n", approve ? "approved" : "rejected", ref, id);
	return EXIT_DONE;
}

int
cmd_review(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		help();
		return EXIT_DONE;
	}
	optind = 1;
	if (strcmp(sub, "list") == 0)
		return run_list(c, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return run_show(c, argc - 1, argv + 1);
	if (strcmp(sub, "approve") == 0)
		return run_review(c, argc - 1, argv + 1, 1);
	if (strcmp(sub, "reject") == 0)
		return run_review(c, argc - 1, argv + 1, 0);
	return cli_usage("review", "%s%s: expected list, show, approve or reject",
		sub[0] ? "unknown subcommand " : "no subcommand", sub);
}
