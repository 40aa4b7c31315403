/* main.c — `custos`: dispatch to one command (see custos(1)). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custos/error.h"

#ifndef CUSTOS_VERSION
#define CUSTOS_VERSION "0.1.0"
#endif

static const struct command {
	const char *name;
	int (*run)(struct cli *, int, char **);
	const char *summary;
} commands[] = {
	{ "init",   cmd_init,   "create an archive" },
	{ "ingest", cmd_ingest, "archive receipts and case files (BagIt bags)" },
	{ "search", cmd_search, "find records by person, organisation, service, time, words" },
	{ "get",    cmd_get,    "retrieve a record or its content (the access is recorded)" },
	{ "ls",     cmd_ls,     "list the volumes and files of a case" },
	{ "export", cmd_export, "a record or a search result as a BagIt bag with proofs (recorded)" },
	{ "keys",   cmd_keys,   "print the archive's public key, allowed-signers line, note key" },
	{ "checkpoint", cmd_checkpoint, "print the log's latest signed checkpoint" },
	{ "prove",  cmd_prove,  "inclusion proof of a record, or consistency between log sizes" },
	{ "amend",  cmd_amend,  "correct a record: a new revision with the changes and the reason" },
	{ "trace",  cmd_trace,  "the whole life of a record: ingested, accessed, verified" },
	{ "verify", cmd_verify, "check everything; report every problem (recorded as an event)" },
	{ "reindex", cmd_reindex, "rebuild the search index from the history and the objects" },
	{ "bag", cmd_bag, "check BagIt bags (custos bag validate PATH...)" },
	{ "disposition", cmd_disposition, "retention: records due, destruction lists, approval" },
	{ "hold",   cmd_hold,   "legal holds: keep records from disposal" },
	{ "review", cmd_review, "the review queue of fund transactions (four eyes)" },
	{ "reconcile", cmd_reconcile, "a bank statement against the books of one account" },
	{ "policy", cmd_policy, "the fund-control policy in force: install, check, list, replay" },
	{ "audit",  cmd_audit,  "the internal-control audit report of a period (HTML or JSON)" },
	{ "backup", cmd_backup, "backups: keygen, create, list, verify, prune" },
	{ "restore", cmd_restore, "restore a chain of backups into a new archive folder" },
	{ "config", cmd_config, "check the daemon's configuration (custos config check [FILE])" },
	{ "spool",  cmd_spool,  "one pass of the spool intake (custos spool run --spool DIR)" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: custos [-A DIR] COMMAND [OPTIONS] [ARGS]\n\n"
		"The archive is -A DIR / --archive DIR, else $CUSTOS_ARCHIVE, else %s.\n\n"
		"commands:\n", CLI_DEFAULT_ARCHIVE);
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`custos COMMAND --help` describes a command; man custos for everything.\n"
		"exit status: 0 done, 1 problems found (some input rejected), 2 usage or system error\n");
}

void
cli_put_field(const char *s)
{
	for (; s && *s; s++)
		putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

int
cli_refused(const char *cmd, const char *key)
{
	printf("refused %s: ", key);
	cli_put_field(cu_error_last());
	putchar('\n');
	fprintf(stderr, "custos: %s: %s\n", cmd, cu_error_last());
	return EXIT_PROBLEMS;
}

long
cli_revision(const char *cmd, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v < 1) {
		cli_usage(cmd, "--version: a revision number, 1 or more");
		return -1;
	}
	return v;
}

const char *
cli_archive_path(const struct cli *c)
{
	const char *env;

	if (c->archive)
		return c->archive;
	if ((env = getenv("CUSTOS_ARCHIVE")) != NULL && env[0])
		return env;
	return CLI_DEFAULT_ARCHIVE;
}

cu_archive *
cli_open(const struct cli *c, int mode)
{
	cu_archive *a = NULL;
	const char *path = cli_archive_path(c);
	int error;

	error = cu_archive_open(&a, path, mode, 0);
	if (error == CU_ELOCKED && c->wait > 0) {
		long pid = cu_archive_lock_holder(path);
		char who[32] = "pid unknown";
		if (pid > 0)
			snprintf(who, sizeof(who), "pid %ld", pid);
		fprintf(stderr, "custos: %s is locked by another writer (%s); waiting up to %d s\n",
			path, who, c->wait);
		error = cu_archive_open(&a, path, mode, c->wait);
	}
	if (error < 0) {
		cli_fail(NULL);
		return NULL;
	}
	return a;
}

int
cli_fail(const char *what)
{
	if (what)
		fprintf(stderr, "custos: %s: %s\n", what, cu_error_last());
	else
		fprintf(stderr, "custos: %s\n", cu_error_last());
	return EXIT_USAGE;
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "custos %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see custos %s --help)\n", cmd);
	return EXIT_USAGE;
}

int
cli_common_opt(struct cli *c, int opt, const char *arg)
{
	char *end;
	long v;

	switch (opt) {
	case OPT_ARCHIVE:
		c->archive = arg;
		return 1;
	case OPT_WAIT:
		v = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || v < 0 || v > 86400) {
			fprintf(stderr, "custos: --wait: must be 0-86400 seconds\n");
			return -1;
		}
		c->wait = (int)v;
		return 1;
	}
	return 0;
}

int
cli_next_opt(struct cli *c, int argc, char **argv, const char *shortopts,
	const struct option *longopts)
{
	int opt, r;

	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if ((r = cli_common_opt(c, opt, optarg)) == 0)
			return opt;
		if (r < 0)
			return OPT_BAD;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct cli c = { NULL, CLI_DEFAULT_WAIT };
	int i = 1;

	/* options before the command: -A DIR, --archive DIR, --archive=DIR */
	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-A") == 0 || strcmp(argv[i], "--archive") == 0) && i + 1 < argc) {
			c.archive = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--archive=", 10) == 0) {
			c.archive = argv[i] + 10;
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
	for (size_t k = 0; k < sizeof(commands) / sizeof(*commands); k++)
		if (strcmp(argv[i], commands[k].name) == 0) {
			optind = 1;
			return commands[k].run(&c, argc - i, argv + i);
		}
	fprintf(stderr, "custos: unknown command %s\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
