/* cmd_bag.c — custos bag validate PATH... */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "custos/bag.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos bag validate [--strict-names] PATH...\n\n"
		"Checks BagIt bags (RFC 8493): folders, or one bag in a .tar, .tar.gz,\n"
		".tar.xz, .tar.zst or .zip file.  Nothing is extracted or archived.\n"
		"Tag files are read in the encoding bagit.txt declares (UTF-8, GB18030,\n"
		"GBK, Big5, UTF-16 and any other iconv knows).\n"
		"Each problem is printed on its own line, \"PATH[: FILE]: message\";\n"
		"warnings go to standard error.  Exit 0 when every bag is complete and\n"
		"valid, 1 when any is not, 2 for a usage or system error.\n\n"
		"  --strict-names  names that differ only by case (after Unicode case\n"
		"                  folding) are an error, not a warning, as for ingest\n");
}

/* Prints one problem: errors on stdout (the report), warnings on stderr. */
static void
print_problem(const char *bag, const char *file, int warning, const char *message,
	void *payload)
{
	FILE *f = warning ? stderr : stdout;

	(void)payload;
	fprintf(f, "%s%s%s%s: %s\n", warning ? "warning: " : "", bag,
		file != NULL ? ": " : "", file != NULL ? file : "", message);
}

enum { OPT_STRICT_NAMES = 1100 };

/* Reads options up to the end (or, with a shortopts starting with '+', up
 * to the first operand).  Returns -1 to go on, or the exit status. */
static int
bag_opts(struct cli *c, int argc, char **argv, const char *shortopts, cu_bag_limits *lim)
{
	static const struct option opts[] = {
		{ "strict-names", no_argument, NULL, OPT_STRICT_NAMES },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	int opt;

	while ((opt = cli_next_opt(c, argc, argv, shortopts, opts)) != -1) {
		switch (opt) {
		case OPT_BAD: return EXIT_USAGE;
		case OPT_STRICT_NAMES: lim->strict_names = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("bag", "bad option");
		}
	}
	return -1;
}

int
cmd_bag(struct cli *c, int argc, char **argv)
{
	cu_bag_limits lim = cu_bag_limits_default();
	int r, status = EXIT_DONE;

	if ((r = bag_opts(c, argc, argv, "+A:h", &lim)) >= 0)
		return r;
	if (optind >= argc)
		return cli_usage("bag", "missing subcommand (validate)");
	if (strcmp(argv[optind], "validate") != 0)
		return cli_usage("bag", "unknown subcommand %s", argv[optind]);
	/* the subcommand's options may stand anywhere among the paths */
	argc -= optind;
	argv += optind;
	optind = 0;
	if ((r = bag_opts(c, argc, argv, "A:h", &lim)) >= 0)
		return r;
	if (optind >= argc)
		return cli_usage("bag", "validate needs at least one PATH");
	for (; optind < argc; optind++) {
		int rc = cu_bag_validate(argv[optind], &lim, print_problem, NULL, NULL);
		if (rc == CU_EINVALID) {
			if (status == EXIT_DONE)
				status = EXIT_PROBLEMS;
		} else if (rc < 0) {
			cli_fail("bag");
			status = EXIT_USAGE;
		}
	}
	fflush(stdout);
	return status;
}
