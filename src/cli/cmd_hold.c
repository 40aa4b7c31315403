/* cmd_hold.c — custos hold add|release KEY --reason TEXT, custos hold list */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] hold add KEY --reason TEXT\n"
		"       custos [-A DIR] hold release KEY --reason TEXT\n"
		"       custos [-A DIR] hold list [--json]\n\n"
		"A legal hold keeps a record from disposal: it cannot be proposed for\n"
		"disposal, and a destruction list holding it cannot be approved, until the\n"
		"hold is released.  Adding and releasing are events in the history (trace\n"
		"shows them).  Prints \"held <ref> <event id>\" or \"released <ref> <event id>\";\n"
		"a record already held (add), not held (release) or already disposed of is\n"
		"refused: \"refused KEY: why\", exit 1.  list prints the records on hold in ref\n"
		"order: <ref> TAB <since> TAB <user> (uid N) TAB <reason>.\n");
}

static int
print_hold(const char *ref, const char *since, const char *user, unsigned long uid,
	const char *reason, void *payload)
{
	if (*(int *)payload) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "ref", ref, "since", since,
			"user", user, "uid", (json_int_t)uid, "reason", reason);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (s == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		puts(s);
		free(s);
		return 0;
	}
	printf("%s\t%s\t%s (uid %lu)\t", ref, since, user, uid);
	cli_put_field(reason);
	putchar('\n');
	return 0;
}

static int
run_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	int json = 0, opt;
	size_t n = 0;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': json = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("hold", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("hold", "list: unexpected argument %s", argv[optind]);
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_holds(a, print_hold, &json, &n) < 0) {
		cu_archive_free(a);
		return cli_fail("hold list");
	}
	cu_archive_free(a);
	if (!json && isatty(1))
		fprintf(stderr, "custos: %zu record%s on hold\n", n, n == 1 ? "" : "s");
	return EXIT_DONE;
}

static int
run_change(struct cli *c, int argc, char **argv, int add)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *reason = NULL;
	char ref[128], id[65];
	int opt, error;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'r': reason = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("hold", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("hold", "%s: exactly one KEY is needed", add ? "add" : "release");
	if (reason == NULL)
		return cli_usage("hold", "%s: --reason is required", add ? "add" : "release");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	error = cu_archive_hold(a, argv[optind], add, reason, ref, id);
	cu_archive_free(a);
	if (error == CU_ECONFLICT)
		return cli_refused("hold", argv[optind]);
	if (error < 0)
		return cli_fail(add ? "hold add" : "hold release");
	printf("%s %s %s\n", add ? "held" : "released", ref, id);
	return EXIT_DONE;
}

int
cmd_hold(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		help();
		return EXIT_DONE;
	}
	optind = 1;
	if (strcmp(sub, "add") == 0)
		return run_change(c, argc - 1, argv + 1, 1);
	if (strcmp(sub, "release") == 0)
		return run_change(c, argc - 1, argv + 1, 0);
	if (strcmp(sub, "list") == 0)
		return run_list(c, argc - 1, argv + 1);
	return cli_usage("hold", "%s%s: expected add, release or list",
		sub[0] ? "unknown subcommand " : "no subcommand", sub);
}
