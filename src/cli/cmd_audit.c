/* cmd_audit.c — custos audit report --from DATE --to DATE -o FILE.html|FILE.json:
 * the internal-control audit report of a period. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/report.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] audit report --from DATE --to DATE -o FILE.html|FILE.json\n\n"
		"The internal-control audit report of the fund transactions posted from\n"
		"--from to --to (days YYYY-MM-DD in the archive's time zone, both included,\n"
		"at most 120 months): findings per rule and month, the review queue now and\n"
		"its ages, the denied attempts, the makers by findings.  FILE.html is one\n"
		"self-contained page with SVG charts, readable offline and printable;\n"
		"FILE.json is the report's model.  -o never overwrites a file.  Refs, maker\n"
		"ids and transaction numbers only: no personal data, so no access is\n"
		"recorded (a reader, no lock).  Prints\n"
		"  report <from>..<to>: <n> transactions, <d> denied, <q> queued -> FILE\n"
		"exit 0; 1 when no transaction was posted in the period (the report is\n"
		"written all the same); 2 for a usage or system error.\n");
}

int
cmd_audit(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *from = NULL, *to = NULL, *out = NULL;
	json_t *model = NULL;
	size_t n = 0;
	cu_archive *a;
	int opt;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		help();
		return EXIT_DONE;
	}
	if (argc < 2 || strcmp(argv[1], "report") != 0)
		return cli_usage("audit", "%s%s: expected report", argc < 2 ? "no subcommand" :
			"unknown subcommand ", argc < 2 ? "" : argv[1]);
	optind = 1;
	argc--;
	argv++;
	while ((opt = cli_next_opt(c, argc, argv, "A:ho:", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'o': out = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("audit", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("audit", "report: unexpected argument %s", argv[optind]);
	if (from == NULL || to == NULL || out == NULL)
		return cli_usage("audit", "report: --from, --to and -o FILE are required");
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_audit_model(a, from, to, &model, &n) < 0) {
		cu_archive_free(a);
		return cli_fail("audit report");
	}
	cu_archive_free(a);
	if (cu_report_write(out, model, 1) < 0) {
		json_decref(model);
		return cli_fail("audit report");
	}
	printf("report %s..%s: %zu transactions, %zu denied, %zu queued -> %s\n",
		json_string_value(json_object_get(json_object_get(model, "period"), "from")),
		json_string_value(json_object_get(json_object_get(model, "period"), "to")), n,
		json_array_size(json_object_get(model, "denied")),
		json_array_size(json_object_get(json_object_get(model, "queue"), "items")), out);
	json_decref(model);
	return n == 0 ? EXIT_PROBLEMS : EXIT_DONE;
}
