/* cmd_ingest.c — custos ingest [--json] PATH... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] ingest [--json] [--wait SECONDS] PATH...\n\n"
		"Archives receipts and fund transactions from files (one JSON object, an\n"
		"array, or JSON lines), folders of such files (recursively, in name order)\n"
		"and - (standard input).  Each fund transaction is judged by the policy in\n"
		"force; its decision is archived with it and printed after it.\n"
		"One line per item, printed once the item's batch is committed:\n"
		"  <ref> <id> <source>                 archived\n"
		"  <ref> <id> <source> allow           a fund transaction, allowed\n"
		"  <ref> <id> <source> review R[,R]    archived, queued for review\n"
		"  <ref> <id> <source> deny R[,R]      archived, denied (never counts)\n"
		"  duplicate <ref> <source>            already archived with the same content\n"
		"  rejected <source>[#n]: <reason>     nothing stored for this item\n"
		"exit status: 0 all archived (fund transactions allowed or queued for\n"
		"review), 1 some rejected or denied, 2 usage or system error\n");
}

struct out {
	int json;
};

int
cli_ingest_print(FILE *out, const cu_ingest_result *r, int json)
{
	if (json) {
		json_t *j;
		char *s;
		switch (r->status) {
		case CU_INGEST_ARCHIVED:
			j = json_pack("{s:s, s:s, s:s, s:s}", "status", "archived", "ref", r->ref,
				"id", r->id, "source", r->source);
			break;
		case CU_INGEST_DUPLICATE:
			j = json_pack("{s:s, s:s, s:s?, s:s}", "status", "duplicate", "ref", r->ref,
				"id", r->id, "source", r->source);
			break;
		default:
			j = json_pack("{s:s, s:s, s:s}", "status", "rejected", "source", r->source,
				"reason", r->reason);
		}
		if (j != NULL && r->decision != NULL)
			json_object_set_new(j, "decision", json_string(r->decision));
		if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL) {
			json_decref(j);
			return cu_error_set(CU_ERROR, "out of memory");
		}
		fprintf(out, "%s\n", s);
		free(s);
		json_decref(j);
	} else if (r->status == CU_INGEST_ARCHIVED) {
		if (r->decision != NULL)
			fprintf(out, "%s %s %s %s\n", r->ref, r->id, r->source, r->decision);
		else
			fprintf(out, "%s %s %s\n", r->ref, r->id, r->source);
	} else if (r->status == CU_INGEST_DUPLICATE) {
		fprintf(out, "duplicate %s %s\n", r->ref, r->source);
	} else {
		fprintf(out, "rejected %s: %s\n", r->source, r->reason);
	}
	return 0;
}

void
cli_ingest_summary(FILE *err, const cu_ingest_stats *st)
{
	fprintf(err, "custos: %zu archived, %zu duplicate%s, %zu rejected, %zu commit%s\n",
		st->archived, st->duplicates, st->duplicates == 1 ? "" : "s", st->rejected,
		st->commits, st->commits == 1 ? "" : "s");
	if (st->denied)
		fprintf(err, "custos: %zu fund transaction%s denied (archived, never counted)\n",
			st->denied, st->denied == 1 ? "" : "s");
}

static int
print_result(const cu_ingest_result *r, void *payload)
{
	struct out *o = payload;

	if (cli_ingest_print(stdout, r, o->json) < 0)
		return CU_ERROR;
	/* an acknowledgement is only worth something once its reader has it */
	if (r->end_of_batch && fflush(stdout) != 0)
		return cu_error_sys("standard output");
	return 0;
}

int
cmd_ingest(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	struct out o = { 0 };
	cu_archive *a;
	cu_ingest *in;
	cu_ingest_stats st = { 0 };
	int opt, error = 0;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': o.json = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("ingest", "bad option");
		}
	}
	if (optind == argc)
		return cli_usage("ingest", "no PATH given");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	if (cu_ingest_begin(&in, a, print_result, &o) < 0) {
		cu_archive_free(a);
		return cli_fail("ingest");
	}
	for (int i = optind; i < argc && error == 0; i++)
		error = cu_ingest_path(in, argv[i]);
	if (error == 0)
		error = cu_ingest_finish(in, &st);
	else
		cu_ingest_abort(in);
	fflush(stdout);
	cu_archive_free(a);
	if (error < 0) {
		cli_fail("ingest");
		fprintf(stderr, "custos: ingest stopped; records printed above are archived, "
			"the rest of the input was not\n");
		return EXIT_USAGE;
	}
	cli_ingest_summary(stderr, &st);
	return st.rejected || st.denied ? EXIT_PROBLEMS : EXIT_DONE;
}
