/* cmd_spool.c — custos spool run --spool DIR: one pass of the spool intake */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/spool.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] spool run --spool DIR [--keep-archived|--remove-archived]\n"
		"                                  [--max-file-bytes N] [--json]\n\n"
		"One pass of the spool intake: archives every entry of DIR/incoming (receipt\n"
		"and fund-transaction files, bags as .tar, .tar.gz, .tgz, .tar.xz, .tar.zst,\n"
		".zip, bag folders holding " CU_SPOOL_MARKER "), in name order, then moves\n"
		"each to DIR/archived (NAME.refs next to it) or DIR/rejected (NAME.reason).\n"
		"Names starting with . or ending in .part are left alone.  See docs/spool.md.\n"
		"One line per entry, then a total:\n"
		"  archived NAME N records [as archived/NAME.n]\n"
		"  rejected NAME: REASON [(and K more)]\n"
		"  skipped NAME: WHY\n"
		"  total: A archived (R records), J rejected, S skipped\n"
		"exit status: 0 nothing rejected, 1 something rejected, 2 usage or system error\n");
}

struct out {
	int json;
};

static int
print_entry(const cu_spool_entry *e, void *payload)
{
	struct out *o = payload;
	static const char *const st[] = { "archived", "rejected", "skipped" };

	if (o->json) {
		json_t *j = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:s?}", "status", st[e->status],
			"name", e->name, "moved_to", e->moved_to, "records", (json_int_t)e->records,
			"rejected", (json_int_t)e->rejected, "reason", e->reason);
		if (j != NULL && e->moved_to == NULL)
			json_object_del(j, "moved_to");
		if (j != NULL && e->reason == NULL)
			json_object_del(j, "reason");
		char *s;
		if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL) {
			json_decref(j);
			return cu_error_set(CU_ERROR, "out of memory");
		}
		puts(s);
		free(s);
		json_decref(j);
	} else if (e->status == CU_SPOOL_ARCHIVED) {
		printf("archived %s %zu record%s", e->name, e->records, e->records == 1 ? "" : "s");
		if (e->moved_to && strcmp(e->moved_to + strlen("archived/"), e->name) != 0)
			printf(" as %s", e->moved_to);
		putchar('\n');
	} else if (e->status == CU_SPOOL_REJECTED) {
		printf("rejected %s: %s", e->name, e->reason);
		if (e->rejected > 1)
			printf(" (and %zu more)", e->rejected - 1);
		putchar('\n');
	} else {
		printf("skipped %s: %s\n", e->name, e->reason);
	}
	if (fflush(stdout) != 0)
		return cu_error_sys("standard output");
	return 0;
}

int
cmd_spool(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "keep-archived", no_argument, NULL, 'k' },
		{ "remove-archived", no_argument, NULL, 'r' },
		{ "max-file-bytes", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_spool_opts so = { .keep_archived = 1 };
	cu_spool_report rep;
	struct out o = { 0 };
	const char *dir = NULL;
	cu_archive *a;
	int opt, error;

	if ((opt = cli_one_subcommand("spool", "run", argc, argv, help)) >= 0)
		return opt;
	argc--;
	argv++;
	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 's': dir = optarg; break;
		case 'k': so.keep_archived = 1; break;
		case 'r': so.keep_archived = 0; break;
		case 'j': o.json = 1; break;
		case 'm': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v == 0)
				return cli_usage("spool", "--max-file-bytes: a positive number of bytes");
			so.max_file_bytes = v;
			break;
		}
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("spool", "bad option");
		}
	}
	if (argc != optind)
		return cli_usage("spool", "unexpected argument %s", argv[optind]);
	if (dir == NULL)
		return cli_usage("spool", "--spool DIR is needed");
	if (cu_spool_prepare(dir) < 0)
		return cli_fail("spool");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	error = cu_spool_pass(a, dir, &so, print_entry, &o, &rep);
	fflush(stdout);
	cu_archive_free(a);
	if (error < 0) {
		cli_fail("spool");
		fprintf(stderr, "custos: spool: the entries printed above were moved; "
			"the rest stay in incoming/ for the next pass\n");
		return EXIT_USAGE;
	}
	if (o.json)
		printf("{\"status\":\"total\",\"archived\":%zu,\"records\":%zu,\"rejected\":%zu,"
			"\"skipped\":%zu}\n", rep.archived, rep.records, rep.rejected, rep.skipped);
	else
		printf("total: %zu archived (%zu record%s), %zu rejected, %zu skipped\n",
			rep.archived, rep.records, rep.records == 1 ? "" : "s", rep.rejected,
			rep.skipped);
	return rep.rejected ? EXIT_PROBLEMS : EXIT_DONE;
}
