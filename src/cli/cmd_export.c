/* cmd_export.c — custos export KEY -o OUT, custos export --search [FILTERS] -o OUT */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] export KEY -o OUT [--purpose TEXT]\n"
		"       custos [-A DIR] export --search [FILTERS] -o OUT [--purpose TEXT]\n\n"
		"Writes a BagIt 1.0 bag (RFC 8493) of a record for hand-over: a case with all\n"
		"its files, a receipt with its content, or with --search every record the\n"
		"filters of custos search find (--person, --org, --service, --insurance,\n"
		"--channel, --operator, --agency, --from, --to, --text, --type, --case,\n"
		"--file-name, --limit (default: all), --offset).  KEY as for get.\n"
		"OUT is a new .tar, .tar.gz, .tar.xz, .tar.zst or .zip file, or else a new\n"
		"folder; it must not exist.  data/ holds the content, custos/ the record\n"
		"documents exactly as logged, their inclusion proofs, the signed checkpoint\n"
		"and the verifier key (custos/README.txt says how to check them); SHA-256\n"
		"and SHA-512 manifests and tag manifests.  The documents hold ID numbers in\n"
		"clear: the export is recorded first as an access event (unmasked) with\n"
		"the purpose, and nothing is written if it cannot be.\n"
		"Prints: exported <n> record(s), <files> file(s), <bytes> bytes to OUT\n"
		"(the payload under data/).  Exit 0 done, 1 no such record, nothing found\n"
		"or OUT exists, 2 usage or system error (then OUT does not exist).\n");
}

int
cmd_export(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "purpose", required_argument, NULL, 'P' },
		{ "search", no_argument, NULL, 'S' },
		SEARCH_FILTER_LONG_OPTS,
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_search_query q;
	cu_export_opts eo = { NULL, NULL };
	cu_export_result r;
	const char *out = NULL;
	char outbuf[4096];
	int opt, search = 0, filters = 0, error, f;
	cu_archive *a;

	memset(&q, 0, sizeof(q));
	q.limit = 0;   /* every hit */
	while ((opt = cli_next_opt(c, argc, argv, "A:ho:", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		if ((f = cli_filter_opt(&q, opt, optarg, "export")) != 0) {
			if (f < 0)
				return EXIT_USAGE;
			filters = 1;
			continue;
		}
		switch (opt) {
		case 'o': out = optarg; break;
		case 'P': eo.purpose = optarg; break;
		case 'S': search = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("export", "bad option");
		}
	}
	if (out == NULL)
		return cli_usage("export", "-o OUT is required");
	if (search && optind != argc)
		return cli_usage("export", "--search takes filters, not a KEY (%s)", argv[optind]);
	if (!search && filters)
		return cli_usage("export", "filters go with --search");
	if (!search && argc - optind != 1)
		return cli_usage("export", "exactly one KEY is needed (or --search)");
	if (search)
		eo.search = &q;
	/* "-o newdir/" names the folder newdir */
	if (strlen(out) > 1 && out[strlen(out) - 1] == '/') {
		size_t n = strlen(out);
		while (n > 1 && out[n - 1] == '/')
			n--;
		if (n >= sizeof(outbuf))
			return cli_usage("export", "-o: name too long");
		snprintf(outbuf, sizeof(outbuf), "%.*s", (int)n, out);
		out = outbuf;
	}
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	error = cu_archive_export(a, search ? NULL : argv[optind], out, &eo, &r);
	cu_archive_free(a);
	if (error < 0) {
		cli_fail("export");
		return error == CU_ENOTFOUND || error == CU_EEXISTS ? EXIT_PROBLEMS : EXIT_USAGE;
	}
	printf("exported %zu record%s, %llu file%s, %llu byte%s to %s\n", r.records,
		r.records == 1 ? "" : "s", (unsigned long long)r.payload_files,
		r.payload_files == 1 ? "" : "s", (unsigned long long)r.payload_bytes,
		r.payload_bytes == 1 ? "" : "s", out);
	return EXIT_DONE;
}
