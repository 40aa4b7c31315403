/* cmd_init.c — custos init [--name NAME] --fonds CODE [--conf FILE] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/util.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] init --fonds CODE [--name NAME] [--conf FILE]\n\n"
		"Creates an archive in DIR (which must not exist or be empty): content objects,\n"
		"the signed git history, the search index and new keys.\n\n"
		"  --fonds CODE   全宗号, the fonds code that starts every 档号 (A-Z, 0-9)\n"
		"  --name NAME    the archive's name (default custos/CODE)\n"
		"  --conf FILE    archive settings and classification table (default: the\n"
		"                 shipped conf/archive.conf)\n");
}

int
cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fonds", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ "conf", required_argument, NULL, 'c' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_archive_init_opts o = { NULL, NULL, NULL };
	const char *conf_path = NULL;
	char *conf_text = NULL;
	size_t len;
	int opt;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'f': o.fonds = optarg; break;
		case 'n': o.name = optarg; break;
		case 'c': conf_path = optarg; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("init", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("init", "unexpected argument %s", argv[optind]);
	if (o.fonds == NULL)
		return cli_usage("init", "--fonds CODE is required");
	if (conf_path) {
		if (cu_read_file(&conf_text, &len, conf_path, 1024 * 1024) < 0)
			return cli_fail(NULL);
		o.conf_text = conf_text;
	}
	if (cu_archive_init(cli_archive_path(c), &o) < 0) {
		free(conf_text);
		return cli_fail("init");
	}
	free(conf_text);
	/* the name the archive was given: custos/<fonds> unless --name */
	printf("initialised archive %s%s (fonds %s) in %s\n", o.name ? "" : "custos/",
		o.name ? o.name : o.fonds, o.fonds, cli_archive_path(c));
	return EXIT_DONE;
}
