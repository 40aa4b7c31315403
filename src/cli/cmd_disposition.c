/* cmd_disposition.c — custos disposition due|propose|approve|reject */
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
	printf("usage: custos [-A DIR] disposition due [--at DATE] [--json]\n"
		"       custos [-A DIR] disposition propose KEY... --reason TEXT\n"
		"       custos [-A DIR] disposition approve LIST\n"
		"       custos [-A DIR] disposition reject LIST --reason TEXT\n\n"
		"A record may be disposed of from 1 January of the year after it was formed\n"
		"plus its retention period (the year and the retention code of its ref); Y is\n"
		"never.  due lists the records due on DATE (YYYY-MM-DD, default today in the\n"
		"archive's time zone), in ref order, one line each:\n"
		"  <ref> TAB <disposal date> TAB <kind> TAB <state> TAB <summary>\n"
		"state: due, held (on legal hold), or proposed <list ref>.\n"
		"propose makes a destruction list (销毁清册), a record kept permanently, and\n"
		"prints \"<list ref> <list id>\"; a record not yet due, held, disposed of or\n"
		"on another open list is refused (\"refused KEY: why\") and no list is made.\n"
		"approve, by another user than the proposer, commits the approval, then\n"
		"removes the content objects that no other record holds; the documents, refs\n"
		"and history stay.  It prints \"disposed <ref>\", \"removed sha256:<hex> <bytes>\n"
		"<where>\", \"kept sha256:<hex> <bytes> <ref still holding it>\", then\n"
		"\"approved <list ref> <id>\".  reject closes an open list; its records may be\n"
		"proposed again.  LIST is the list's ref or id.\n"
		"exit status: 0 done, 1 refused, 2 usage or system error\n");
}

static int
print_json(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (s == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	puts(s);
	free(s);
	return 0;
}

static int
print_due(const cu_due_entry *e, void *payload)
{
	if (*(int *)payload)
		return print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*, s:s}", "ref", e->ref,
			"id", e->id, "kind", e->kind, "disposal_date", e->disposal_date, "state",
			e->state, "list", e->list_ref, "summary", e->summary));
	printf("%s\t%s\t%s\t%s%s%s\t", e->ref, e->disposal_date, e->kind, e->state,
		e->list_ref ? " " : "", e->list_ref ? e->list_ref : "");
	cli_put_field(e->summary);
	putchar('\n');
	return 0;
}

static int
print_line(const cu_disposal_line *l, void *payload)
{
	int *refused = payload;

	if (strcmp(l->action, "refused") == 0) {
		(*refused)++;
		printf("refused %s: ", l->key);
		cli_put_field(l->detail);
		putchar('\n');
	} else if (strcmp(l->action, "disposed") == 0) {
		printf("disposed %s\n", l->key);
	} else {
		printf("%s %s %llu %s\n", l->action, l->digest, (unsigned long long)l->size,
			l->detail ? l->detail : "");
	}
	return fflush(stdout) == 0 ? 0 : cu_error_set(CU_ERROR, "writing to standard output failed");
}

/* A refusal the facade reported only as its error (nothing printed yet). */
static int
refused_exit(const char *key, int printed)
{
	if (!printed)
		return cli_refused("disposition", key);
	fprintf(stderr, "custos: disposition: %s\n", cu_error_last());
	return EXIT_PROBLEMS;
}

static int
run_due(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *at = NULL;
	int json = 0, opt;
	size_t n = 0;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'a': at = optarg; break;
		case 'j': json = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("disposition", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("disposition", "due: unexpected argument %s", argv[optind]);
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_index_behind(a))
		fprintf(stderr, "custos: disposition: the index is behind the history while another "
			"writer works; the newest records may be missing\n");
	if (cu_archive_due(a, at, print_due, &json, &n) < 0) {
		cu_archive_free(a);
		return cli_fail("disposition due");
	}
	cu_archive_free(a);
	if (!json && isatty(1))
		fprintf(stderr, "custos: %zu record%s due\n", n, n == 1 ? "" : "s");
	return EXIT_DONE;
}

static int
run_propose(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *reason = NULL;
	char ref[128], id[65];
	int opt, refused = 0, error;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'r': reason = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("disposition", "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage("disposition", "propose: at least one KEY is needed");
	if (reason == NULL)
		return cli_usage("disposition", "propose: --reason is required");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	error = cu_archive_propose(a, (const char *const *)argv + optind, (size_t)(argc - optind),
		reason, print_line, &refused, ref, id);
	cu_archive_free(a);
	if (error == CU_ECONFLICT)
		return refused_exit(argv[optind], refused);
	if (error < 0)
		return cli_fail("disposition propose");
	printf("%s %s\n", ref, id);
	fprintf(stderr, "custos: destruction list %s proposed (%d record%s); another user approves "
		"it: custos disposition approve %s\n", ref, argc - optind, argc - optind == 1 ? "" : "s",
		ref);
	return EXIT_DONE;
}

static int
run_approve(struct cli *c, int argc, char **argv, int reject)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *reason = NULL;
	cu_disposal_report r;
	char ref[128], id[65];
	int opt, refused = 0, error;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'r': reason = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("disposition", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("disposition", "%s: exactly one LIST is needed",
			reject ? "reject" : "approve");
	if (reject && reason == NULL)
		return cli_usage("disposition", "reject: --reason is required");
	if (!reject && reason != NULL)
		return cli_usage("disposition", "approve takes no --reason");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	if (reject)
		error = cu_archive_reject(a, argv[optind], reason, ref, id);
	else
		error = cu_archive_approve(a, argv[optind], print_line, &refused, &r);
	cu_archive_free(a);
	if (error == CU_ECONFLICT)
		return refused_exit(argv[optind], refused);
	if (error < 0)
		return cli_fail(reject ? "disposition reject" : "disposition approve");
	if (reject) {
		printf("rejected %s %s\n", ref, id);
		return EXIT_DONE;
	}
	printf("approved %s %s\n", r.list_ref, r.list_id);
	fprintf(stderr, "custos: %s: %zu record%s disposed of; %zu object%s removed (%llu bytes), "
		"%zu kept (held by other records)\n", r.list_ref, r.records, r.records == 1 ? "" : "s",
		r.removed, r.removed == 1 ? "" : "s", (unsigned long long)r.bytes_removed, r.kept);
	return EXIT_DONE;
}

int
cmd_disposition(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		help();
		return EXIT_DONE;
	}
	optind = 1;
	if (strcmp(sub, "due") == 0)
		return run_due(c, argc - 1, argv + 1);
	if (strcmp(sub, "propose") == 0)
		return run_propose(c, argc - 1, argv + 1);
	if (strcmp(sub, "approve") == 0)
		return run_approve(c, argc - 1, argv + 1, 0);
	if (strcmp(sub, "reject") == 0)
		return run_approve(c, argc - 1, argv + 1, 1);
	return cli_usage("disposition", "%s%s: expected due, propose, approve or reject",
		sub[0] ? "unknown subcommand " : "no subcommand", sub);
}
