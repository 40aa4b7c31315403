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
	printf("usage: custos bag validate PATH...\n\n"
		"Checks BagIt bags (RFC 8493): folders, or one bag in a .tar, .tar.gz,\n"
		".tar.xz, .tar.zst or .zip file.  Nothing is extracted or archived.\n"
		"Tag files are read in the encoding bagit.txt declares (UTF-8, GB18030,\n"
		"GBK, Big5, UTF-16 and any other iconv knows).\n"
		"Each problem is printed on its own line, \"PATH[: FILE]: message\";\n"
		"warnings go to standard error.  Exit 0 when every bag is complete and\n"
		"valid, 1 when any is not, 2 for a usage or system error.\n");
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

int
cmd_bag(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	int opt, r, status = EXIT_DONE;

	while ((opt = getopt_long(argc, argv, "+A:h", opts, NULL)) != -1) {
		if ((r = cli_common_opt(c, opt, optarg)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
			continue;
		}
		if (opt == 'h') {
			help();
			return EXIT_DONE;
		}
		return cli_usage("bag", "bad option");
	}
	if (optind >= argc)
		return cli_usage("bag", "missing subcommand (validate)");
	if (strcmp(argv[optind], "validate") != 0)
		return cli_usage("bag", "unknown subcommand %s", argv[optind]);
	if (++optind >= argc)
		return cli_usage("bag", "validate needs at least one PATH");
	for (; optind < argc; optind++) {
		cu_bag_limits lim = cu_bag_limits_default();
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
