/* cmd_policy.c — custos policy install DIR | check FILE | list [--json] |
 * close --period YYYY-MM */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/policy.h"
#include "custos/record.h"
#include "custos/util.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] policy install FOLDER\n"
		"       custos policy check FILE\n"
		"       custos [-A DIR] policy list [--json]\n"
		"       custos [-A DIR] policy close --period YYYY-MM\n\n"
		"The fund-control policy in force belongs to the archive (docs/fund-control.md).\n"
		"install checks FOLDER/fund-control.conf and FOLDER/staff.conf and makes them\n"
		"the archive's policy: both files are committed under policy/ with a policy\n"
		"event in the log; later decisions name its digest.  Prints\n"
		"\"installed <digest> <N> rules\"; an invalid policy changes nothing and prints\n"
		"FILE:LINE: reason (exit 1).\n"
		"check validates one file, a rules file or a staff file, without an archive:\n"
		"\"ok FILE (rules|staff)\", or FILE:LINE: reason and exit 1.\n"
		"list prints \"policy <digest>\", then one line per rule in force:\n"
		"<id> TAB <check> TAB <severity> TAB <scope> TAB <title> TAB <parameters JSON>\n"
		"(scope: kinds=…;funds=…;schemes=…, \"all\" when open); --json prints the\n"
		"policy's canonical JSON with \"digest\".\n"
		"close runs the period-close rules (CLOSE-1) over the balances of the\n"
		"effective transactions up to the end of the month: one line per finding,\n"
		"<rule> TAB <message>; exit 1 when there is any, 0 when none.  Writes nothing.\n");
}

static int
run_install(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const cu_policy *p;
	char digest[65];
	cu_archive *a;
	int opt, error;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("policy", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("policy", "install: exactly one FOLDER is needed");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	error = cu_archive_policy_install(a, argv[optind], digest);
	if (error == CU_EINVALID) {
		fprintf(stderr, "custos: policy install: %s\n", cu_error_last());
		cu_archive_free(a);
		return EXIT_PROBLEMS;
	}
	if (error < 0) {
		cu_archive_free(a);
		return cli_fail("policy install");
	}
	if (cu_archive_policy(&p, a) == 0)
		printf("installed %s %zu rules\n", digest, cu_policy_rule_count(p));
	cu_archive_free(a);
	return EXIT_DONE;
}

static int
run_check(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *kind = NULL;
	char *text = NULL;
	size_t len;
	int opt, error;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("policy", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("policy", "check: exactly one FILE is needed");
	if (cu_read_file(&text, &len, argv[optind], 1 << 20) < 0)
		return cli_fail("policy check");
	error = cu_policy_check_text(text, len, argv[optind], &kind);
	free(text);
	if (error < 0) {
		printf("%s\n", cu_error_last());
		return EXIT_PROBLEMS;
	}
	printf("ok %s (%s)\n", argv[optind], kind ? kind : "?");
	return EXIT_DONE;
}

/* kinds=a,b;funds=…;schemes=… of a rule's canonical scope, or "all". */
static void
put_scope(const json_t *scope)
{
	static const char *const parts[] = { "kinds", "funds", "schemes" };
	int any = 0;

	for (size_t k = 0; k < 3; k++) {
		const json_t *l = json_object_get(scope, parts[k]), *v;
		size_t i;
		if (json_array_size(l) == 0)
			continue;
		printf("%s%s=", any++ ? ";" : "", parts[k]);
		json_array_foreach(l, i, v)
			printf("%s%s", i ? "," : "", json_string_value(v) ? json_string_value(v) : "?");
	}
	if (!any)
		printf("all");
}

static int
run_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const cu_policy *p;
	json_t *j = NULL, *rule;
	cu_archive *a;
	size_t i;
	int opt, json = 0, status = EXIT_DONE;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': json = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("policy", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("policy", "list: unexpected argument %s", argv[optind]);
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_policy(&p, a) < 0 || cu_policy_json(&j, p) < 0) {
		cu_archive_free(a);
		return cli_fail("policy list");
	}
	json_object_set_new(j, "digest", json_string(cu_policy_digest(p)));
	if (json) {
		char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		if (s == NULL)
			status = cli_fail("policy list");
		else
			puts(s);
		free(s);
		goto done;
	}
	printf("policy %s\n", cu_policy_digest(p));
	json_array_foreach(json_object_get(j, "rules"), i, rule) {
		json_t *params = json_deep_copy(rule);
		char *ps;
		static const char *const fixed[] = { "id", "check", "severity", "scope", "title" };
		for (size_t k = 0; k < 5; k++)
			json_object_del(params, fixed[k]);
		ps = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		cli_put_field(json_string_value(json_object_get(rule, "id")));
		putchar('\t');
		cli_put_field(json_string_value(json_object_get(rule, "check")));
		putchar('\t');
		cli_put_field(json_string_value(json_object_get(rule, "severity")));
		putchar('\t');
		put_scope(json_object_get(rule, "scope"));
		putchar('\t');
		cli_put_field(json_string_value(json_object_get(rule, "title")));
		printf("\t%s\n", ps ? ps : "{}");
		free(ps);
		json_decref(params);
	}
done:
	json_decref(j);
	cu_archive_free(a);
	return status;
}

static int
run_close(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "period", required_argument, NULL, 'p' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *period = NULL;
	cu_decision d;
	cu_archive *a;
	int opt, month, status;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'p': period = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("policy", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("policy", "close: unexpected argument %s", argv[optind]);
	if (period == NULL)
		return cli_usage("policy", "close: --period YYYY-MM is required");
	if (cu_month_parse(&month, period) < 0)
		return cli_usage("policy", "close: --period: %s", cu_error_last());
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	cu_decision_init(&d);
	if (cu_archive_fund_close(a, month, &d) < 0) {
		cu_archive_free(a);
		return cli_fail("policy close");
	}
	for (size_t i = 0; i < d.n; i++) {
		printf("%s\t", d.findings[i].rule);
		cli_put_field(d.findings[i].message);
		putchar('\n');
	}
	status = d.n ? EXIT_PROBLEMS : EXIT_DONE;
	cu_decision_free(&d);
	cu_archive_free(a);
	return status;
}

int
cmd_policy(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		help();
		return EXIT_DONE;
	}
	optind = 1;
	if (strcmp(sub, "install") == 0)
		return run_install(c, argc - 1, argv + 1);
	if (strcmp(sub, "check") == 0)
		return run_check(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return run_list(c, argc - 1, argv + 1);
	if (strcmp(sub, "close") == 0)
		return run_close(c, argc - 1, argv + 1);
	return cli_usage("policy", "%s%s: expected install, check, list or close",
		sub[0] ? "unknown subcommand " : "no subcommand", sub);
}
