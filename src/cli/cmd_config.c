/* cmd_config.c — custos config check [FILE]: the daemon's configuration */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custos/dconf.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos config check [FILE]\n\n"
		"Checks the daemon's configuration file (default %s) as custosd\n"
		"reads it: every setting's type and range, absolute paths, known roles and\n"
		"groups, schedules; unknown settings are errors.\n"
		"Prints \"ok FILE\" (exit 0), or one line per problem,\n"
		"\"FILE:LINE: SETTING: REASON\", on standard output (exit 1).  A file that\n"
		"cannot be read: exit 2.  See custos.conf(5).\n", CU_DCONF_DEFAULT_PATH);
}

int
cmd_config(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *path = CU_DCONF_DEFAULT_PATH;
	cu_dconf *d = NULL;
	char *errors = NULL;
	int opt, error;

	if (argc >= 2 && strcmp(argv[1], "reload") == 0) {
		/* here only when no daemon answered (main.c sends it there) */
		fprintf(stderr, "custos: config reload: no daemon answers; custosd re-reads its "
			"configuration on SIGHUP or on this request through its socket\n");
		return EXIT_USAGE;
	}
	if ((opt = cli_one_subcommand("config", "check", argc, argv, help)) >= 0)
		return opt;
	argc--;
	argv++;
	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("config", "bad option");
		}
	}
	if (argc - optind > 1)
		return cli_usage("config", "at most one FILE");
	if (argc - optind == 1)
		path = argv[optind];
	error = cu_dconf_load(&d, path, &errors);
	if (error == CU_EINVALID) {
		fputs(errors ? errors : cu_error_last(), stdout);
		if (errors == NULL)
			putchar('\n');
		free(errors);
		return EXIT_PROBLEMS;
	}
	if (error < 0)
		return cli_fail("config check");
	printf("ok %s\n", path);
	cu_dconf_free(d);
	return EXIT_DONE;
}
