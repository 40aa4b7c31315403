/* common.c — what the `custos` commands share (cli.h): the archive path,
 * opening it, error and usage messages, the common options. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custos/error.h"

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

	if (c->shared != NULL && mode == CU_ARCHIVE_READ)
		return cu_archive_ref(c->shared);
	error = cu_archive_open(&a, path, mode, 0);
	if (error == 0 && c->actor)
		cu_archive_set_actor(a, c->actor, c->actor_uid);
	if (error == CU_ELOCKED && c->wait > 0) {
		long pid = cu_archive_lock_holder(path);
		char who[32] = "pid unknown";
		if (pid > 0)
			snprintf(who, sizeof(who), "pid %ld", pid);
		fprintf(stderr, "custos: %s is locked by another writer (%s); waiting up to %d s\n",
			path, who, c->wait);
		error = cu_archive_open(&a, path, mode, c->wait);
		if (error == 0 && c->actor)
			cu_archive_set_actor(a, c->actor, c->actor_uid);
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
		if (c->archive_fixed) {
			fprintf(stderr, "custos: -A: the daemon serves one archive (%s)\n", c->archive);
			return -1;
		}
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
cli_one_subcommand(const char *cmd, const char *sub, int argc, char **argv, void (*help)(void))
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		if (argc < 2)
			return cli_usage(cmd, "the subcommand is %s", sub);
		help();
		return EXIT_DONE;
	}
	if (strcmp(argv[1], sub) != 0)
		return cli_usage(cmd, "unknown subcommand %s (the subcommand is %s)", argv[1], sub);
	return -1;
}
