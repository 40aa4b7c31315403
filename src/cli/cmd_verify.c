/* cmd_verify.c — custos verify, custos reindex. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/util.h"

static void
help_verify(void)
{
	printf("usage: custos [-A DIR] verify [--json] [--quick] [--since-checkpoint FILE]\n\n"
		"Checks the whole archive and reports every problem, one line each:\n"
		"objects against their names, records against their ids and their objects,\n"
		"every commit's signature, every checkpoint's signature and root, item\n"
		"numbers without gaps, the index against the history.  The run is recorded\n"
		"in the history as a verify event (unless the history itself failed).\n"
		"  --quick                  skip re-hashing objects unchanged (size, mtime,\n"
		"                           inode) since the last run\n"
		"  --since-checkpoint FILE  also prove the log consistent with a checkpoint\n"
		"                           kept outside the archive\n"
		"exit status: 0 no problem, 1 problems found, 2 usage or system error\n");
}

struct out {
	int json;
};

static int
print_problem(const cu_verify_problem *p, void *payload)
{
	struct out *o = payload;

	if (o->json) {
		json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s}", "type", "problem",
			"kind", p->kind, "ref", p->ref, "id", p->id, "commit", p->commit,
			"message", p->message);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s == NULL) {
			json_decref(j);
			return cu_error_set(CU_ERROR, "out of memory");
		}
		puts(s);
		free(s);
		json_decref(j);
		return 0;
	}
	/* "<kind> [<ref> (<id>) | <id>] [in commit <c>]: message"; a commit
	 * problem is "commit <c>: message" */
	printf("%s", p->kind);
	if (p->ref)
		printf(" %s", p->ref);
	if (p->id && p->ref)
		printf(" (%.12s)", p->id);
	else if (p->id)
		printf(" %s", p->id);
	if (p->commit)
		printf(strcmp(p->kind, "commit") == 0 ? " %.12s" : " in commit %.12s", p->commit);
	printf(": %s\n", p->message);
	return 0;
}

int
cmd_verify(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "since-checkpoint", required_argument, NULL, 's' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_verify_opts vo = { 0, NULL };
	cu_verify_report r;
	struct out o = { 0 };
	const char *since = NULL;
	char *since_text = NULL;
	size_t len;
	cu_archive *a;
	int opt, error;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': o.json = 1; break;
		case 'q': vo.quick = 1; break;
		case 's': since = optarg; break;
		case 'h': help_verify(); return EXIT_DONE;
		default: return cli_usage("verify", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("verify", "unexpected argument %s", argv[optind]);
	if (since != NULL) {
		if (cu_read_file(&since_text, &len, since, 65536) < 0)
			return cli_fail("verify: --since-checkpoint");
		vo.since_checkpoint = since_text;
	}
	if ((a = cli_open(c, CU_ARCHIVE_REPAIR)) == NULL) {
		free(since_text);
		return EXIT_USAGE;
	}
	error = cu_archive_verify(a, &vo, print_problem, &o, &r);
	cu_archive_free(a);
	free(since_text);
	if (error < 0)
		return cli_fail("verify");
	if (o.json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b}",
			"type", "summary", "result", r.problems ? "problems" : "ok",
			"problems", (json_int_t)r.problems, "commits", (json_int_t)r.commits,
			"records", (json_int_t)r.records, "events", (json_int_t)r.events,
			"objects", (json_int_t)r.objects, "objects_skipped", (json_int_t)r.objects_skipped,
			"bytes_hashed", (json_int_t)r.bytes_hashed, "objects_usec", (json_int_t)r.objects_usec,
			"log_size", (json_int_t)r.log_size,
			"quick", r.quick, "recorded", r.recorded);
		if (j != NULL)
			json_object_set_new(j, "objects_disposed", json_integer((json_int_t)r.objects_disposed));
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(j);
	} else {
		printf("verify: %zu commits, %zu records, %zu events, %zu objects (%.1f MiB hashed",
			r.commits, r.records, r.events, r.objects, (double)r.bytes_hashed / 1048576.0);
		if (r.quick)
			printf(", %zu unchanged since the last run and not re-hashed (--quick)",
				r.objects_skipped);
		if (r.objects_disposed)
			printf(", %zu disposed of and absent as they should be", r.objects_disposed);
		printf("), log size %llu: %s", (unsigned long long)r.log_size,
			r.problems ? "" : "no problem");
		if (r.problems)
			printf("%zu problem%s", r.problems, r.problems == 1 ? "" : "s");
		printf("\n");
		if (!r.recorded)
			printf("verify: the run was not recorded in the history, because the history "
				"itself failed the check\n");
	}
	return r.problems ? EXIT_PROBLEMS : EXIT_DONE;
}

static void
help_reindex(void)
{
	printf("usage: custos [-A DIR] reindex\n\n"
		"Rebuilds the search index from history.git and the objects alone.\n");
}

int
cmd_reindex(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_archive *a;
	size_t commits = 0;
	int opt;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		if (opt == 'h') {
			help_reindex();
			return EXIT_DONE;
		}
		return cli_usage("reindex", "bad option");
	}
	if (optind != argc)
		return cli_usage("reindex", "unexpected argument %s", argv[optind]);
	if ((a = cli_open(c, CU_ARCHIVE_REPAIR)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_reindex(a, &commits) < 0) {
		cu_archive_free(a);
		return cli_fail("reindex");
	}
	cu_archive_free(a);
	printf("reindex: the index was rebuilt from %zu commits\n", commits);
	return EXIT_DONE;
}
