/* cmd_policy.c — custos policy install DIR | check FILE | list [--json] |
 * close --period YYYY-MM | replay --policy DIR|FILE [--from D] [--to D] [--json] */
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
		"       custos [-A DIR] policy close --period YYYY-MM\n"
		"       custos [-A DIR] policy replay --policy FOLDER|FILE [--from DATE] [--to DATE]\n"
		"              [--json]\n\n"
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
		"<rule> TAB <message>; exit 1 when there is any, 0 when none.  The run is\n"
		"recorded as an event (period, policy, findings; shown by trace), its id\n"
		"on stderr.\n"
		"replay judges every archived fund transaction again, in log order, under a\n"
		"candidate policy (a FOLDER as for install, or one fund-control.conf judged\n"
		"with the staff in force), the state rebuilt from the first transaction with\n"
		"the candidate's verdicts.  For transactions posted from --from to --to\n"
		"(days, both included) it prints each whose decision differs:\n"
		"<ref> TAB <recorded verdict>[ RULE,…] TAB -> TAB <candidate verdict>[ RULE,…]\n"
		"then per rule: rule TAB <id> TAB recorded N TAB candidate N TAB newly N TAB\n"
		"no-longer N, and: total TAB replayed N TAB compared N TAB differ N TAB\n"
		"policy <digest> TAB reviews N (recorded reviews that settled a transaction\n"
		"the candidate queued, at their place in the log).  --json: one object per\n"
		"line instead.  Exit 1 when any\n"
		"decision differs, 0 when none.  Writes nothing.\n");
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
	char event_id[65];
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
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	cu_decision_init(&d);
	if (cu_archive_fund_close_record(a, month, &d, event_id) < 0) {
		cu_archive_free(a);
		return cli_fail("policy close");
	}
	for (size_t i = 0; i < d.n; i++) {
		printf("%s\t", d.findings[i].rule);
		cli_put_field(d.findings[i].message);
		putchar('\n');
	}
	/* the findings stay the whole of stdout; where the run is recorded
	 * goes with the other notes */
	fprintf(stderr, "custos: period close of %s recorded as event %s\n", period, event_id);
	status = d.n ? EXIT_PROBLEMS : EXIT_DONE;
	cu_decision_free(&d);
	cu_archive_free(a);
	return status;
}

/* verdict[ RULE,…] */
static void
put_decision(int verdict, const char *rules)
{
	printf("%s%s%s", cu_policy_verdicts[verdict], rules[0] ? " " : "", rules);
}

/* {"verdict":…,"rules":[…]} */
static json_t *
decision_json(int verdict, const char *rules)
{
	json_t *o = json_pack("{s:s, s:[]}", "verdict", cu_policy_verdicts[verdict], "rules");
	const char *p = rules;

	while (o != NULL && *p) {
		size_t n = strcspn(p, ",");
		json_array_append_new(json_object_get(o, "rules"), json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return o;
}

static void
put_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	puts(s ? s : "{}");
	free(s);
	json_decref(j);
}

static int
on_replay(const cu_replay_diff *d, void *payload)
{
	const int *json = payload;

	if (*json) {
		put_json(json_pack("{s:s?, s:s?, s:s?, s:s?, s:o, s:o}", "ref", d->ref, "id", d->id,
			"txn_no", d->txn_no, "posted_at", d->posted_at,
			"recorded", decision_json(d->recorded, d->recorded_rules),
			"candidate", decision_json(d->candidate, d->candidate_rules)));
		return 0;
	}
	cli_put_field(d->ref);
	putchar('\t');
	put_decision(d->recorded, d->recorded_rules);
	printf("\t->\t");
	put_decision(d->candidate, d->candidate_rules);
	putchar('\n');
	return 0;
}

static int
run_replay(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'P' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_replay_opts o = { 0 };
	cu_replay_report r;
	cu_archive *a;
	int opt, json = 0;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'P': o.policy = optarg; break;
		case 'f': o.from = optarg; break;
		case 't': o.to = optarg; break;
		case 'j': json = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("policy", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("policy", "replay: unexpected argument %s", argv[optind]);
	if (o.policy == NULL)
		return cli_usage("policy", "replay: --policy FOLDER|FILE is required");
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_policy_replay(a, &o, on_replay, &json, &r) < 0) {
		cu_archive_free(a);
		return cli_fail("policy replay");
	}
	if (json) {
		json_t *rules = json_array();
		for (size_t i = 0; rules != NULL && i < r.nrules; i++)
			json_array_append_new(rules, json_pack("{s:s, s:I, s:I, s:I, s:I}",
				"rule", r.rules[i].rule, "recorded", (json_int_t)r.rules[i].recorded,
				"candidate", (json_int_t)r.rules[i].candidate,
				"newly", (json_int_t)r.rules[i].newly,
				"no_longer", (json_int_t)r.rules[i].no_longer));
		put_json(json_pack("{s:{s:s, s:I, s:I, s:I, s:I, s:o}}", "summary", "policy", r.policy,
			"replayed", (json_int_t)r.replayed, "compared", (json_int_t)r.compared,
			"differ", (json_int_t)r.differ, "reviews", (json_int_t)r.reviews,
			"rules", rules));
	} else {
		for (size_t i = 0; i < r.nrules; i++)
			printf("rule\t%s\trecorded %zu\tcandidate %zu\tnewly %zu\tno-longer %zu\n",
				r.rules[i].rule, r.rules[i].recorded, r.rules[i].candidate,
				r.rules[i].newly, r.rules[i].no_longer);
		printf("total\treplayed %zu\tcompared %zu\tdiffer %zu\tpolicy %s\treviews %zu\n",
			r.replayed, r.compared, r.differ, r.policy, r.reviews);
	}
	opt = r.differ ? EXIT_PROBLEMS : EXIT_DONE;
	cu_replay_report_clear(&r);
	cu_archive_free(a);
	return opt;
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
	if (strcmp(sub, "replay") == 0)
		return run_replay(c, argc - 1, argv + 1);
	return cli_usage("policy", "%s%s: expected install, check, list, close or replay",
		sub[0] ? "unknown subcommand " : "no subcommand", sub);
}
