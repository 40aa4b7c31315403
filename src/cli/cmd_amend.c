/* cmd_amend.c — custos amend KEY --set FIELD=VALUE... --reason TEXT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] amend KEY --set FIELD=VALUE... --reason TEXT\n\n"
		"Records are never edited: an amendment appends a new revision with the same\n"
		"ref and a new id, linked to the one it supersedes, holding the changes and\n"
		"the reason.  get shows the current revision (get --version N an earlier\n"
		"one), search matches current values, trace shows every revision.\n"
		"FIELD: channel, insurance, operator, summary, amount, subject.name,\n"
		"subject.id_no, subject.uscc.  The ref, type, agency, receipt_no, service,\n"
		"issued_at and subject.kind identify the record and cannot be amended.\n"
		"Prints: <ref> <new id> revision <N>\n");
}

int
cmd_amend(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "set", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char **sets = NULL, *reason = NULL;
	size_t nsets = 0;
	char id[65], ref[128];
	long revision = 0;
	cu_archive *a;
	int opt, status = EXIT_DONE;

	if ((sets = calloc((size_t)argc, sizeof(*sets))) == NULL)
		return cli_usage("amend", "out of memory");
	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD) {
			free(sets);
			return EXIT_USAGE;
		}
		switch (opt) {
		case 's': sets[nsets++] = optarg; break;
		case 'r': reason = optarg; break;
		case 'h': help(); free(sets); return EXIT_DONE;
		default: free(sets); return cli_usage("amend", "bad option");
		}
	}
	if (argc - optind != 1) {
		free(sets);
		return cli_usage("amend", "exactly one KEY is needed");
	}
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL) {
		free(sets);
		return EXIT_USAGE;
	}
	if (cu_archive_amend(a, argv[optind], sets, nsets, reason, id, ref, &revision) < 0)
		status = cli_fail("amend");
	else
		printf("%s %s revision %ld\n", ref, id, revision);
	cu_archive_free(a);
	free(sets);
	return status;
}
