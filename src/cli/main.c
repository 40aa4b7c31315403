/* main.c — `custos`: dispatch to one command (see custos(1)). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custos/dconf.h"
#include "custos/error.h"

#ifndef CUSTOS_VERSION
#define CUSTOS_VERSION "0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f, "usage: custos [-A DIR] [--socket PATH | --direct] COMMAND [OPTIONS] [ARGS]\n\n"
		"The archive is -A DIR / --archive DIR, else $CUSTOS_ARCHIVE, else %s.\n"
		"When custosd answers at --socket PATH, else $CUSTOS_SOCKET, else %s,\n"
		"the command runs there (the same output); --direct opens the archive here.\n\n"
		"commands:\n", CLI_DEFAULT_ARCHIVE, CU_DCONF_DEFAULT_SOCKET);
	for (const struct cli_command *k = cli_commands(); k->name; k++)
		fprintf(f, "  %-10s %s\n", k->name, k->summary);
	fprintf(f, "\n`custos COMMAND --help` describes a command; man custos for everything.\n"
		"exit status: 0 done, 1 problems found (some input rejected), 2 usage or system error\n");
}

/* 1 if the arguments ask for a command's help, which is printed here. */
static int
asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli c = { NULL, CLI_DEFAULT_WAIT, NULL, 0, 0, NULL };
	const struct cli_command *cmd;
	const char *sock = NULL;
	int i = 1, direct = 0, named = 0, r;

	/* options before the command: -A DIR, --archive DIR, --archive=DIR,
	 * --socket PATH, --direct */
	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-A") == 0 || strcmp(argv[i], "--archive") == 0) && i + 1 < argc) {
			c.archive = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--archive=", 10) == 0) {
			c.archive = argv[i] + 10;
			i++;
		} else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			sock = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			sock = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "--direct") == 0) {
			direct = 1;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_DONE;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("custos %s\n", CUSTOS_VERSION);
			return EXIT_DONE;
		} else {
			fprintf(stderr, "custos: unknown option %s\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		usage(stdout);
		return EXIT_DONE;
	}
	if ((cmd = cli_command_find(argv[i])) == NULL) {
		fprintf(stderr, "custos: unknown command %s\n", argv[i]);
		usage(stderr);
		return EXIT_USAGE;
	}
	/* through the daemon when one listens (docs/protocol.md), unless the
	 * command is one that never touches the served archive */
	if (sock != NULL)
		named = 1;
	else if ((sock = getenv("CUSTOS_SOCKET")) != NULL && sock[0])
		named = 1;
	else
		sock = CU_DCONF_DEFAULT_SOCKET;
	if (!direct && !(cmd->flags & CLI_LOCAL) && !asks_help(argc - i, argv + i) &&
	    !(strcmp(cmd->name, "config") == 0 && (i + 1 >= argc || strcmp(argv[i + 1], "reload") != 0))) {
		if ((r = cli_remote(&c, sock, argc - i, argv + i)) >= 0)
			return r;
		if (named || (cmd->flags & CLI_DAEMON)) {
			fprintf(stderr, "custos: %s: no daemon answers at %s%s\n", cmd->name, sock,
				cmd->flags & CLI_DAEMON ? "" : " (--direct opens the archive itself)");
			return EXIT_USAGE;
		}
	}
	if (cmd->flags & CLI_DAEMON) {
		fprintf(stderr, "custos: %s: only the daemon answers this (not with --direct)\n", cmd->name);
		return EXIT_USAGE;
	}
	optind = 1;
	return cmd->run(&c, argc - i, argv + i);
}
