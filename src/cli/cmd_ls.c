/* cmd_ls.c — custos ls [--json] [--version N] KEY: the volumes and files of a case */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] ls [--json] [--version N] KEY\n\n"
		"Lists the files of a case (KEY as for get), volume by volume, in item order,\n"
		"one line per file:\n"
		"  <file ref> TAB <volume> TAB <path> TAB <size> TAB <media type> TAB sha256:<hex>\n"
		"<file ref> is <case ref>-<volume number>-<item number>; <path> is under the\n"
		"bag's data/ folder.  custos get --content KEY --file PATH (or the file ref\n"
		"as KEY) retrieves a file.  --version N lists an earlier revision of a case\n"
		"that documents were added to.  Nothing personal is shown; ls is not recorded.\n");
}

int
cmd_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "version", required_argument, NULL, 'V' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	int json = 0, opt, status = EXIT_DONE;
	long version = 0;
	size_t i, j, nfiles = 0;
	json_t *volumes = NULL, *v, *f;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': json = 1; break;
		case 'V':
			if ((version = cli_revision("ls", optarg)) < 0)
				return EXIT_USAGE;
			break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("ls", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("ls", "exactly one KEY is needed");
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_case_volumes(a, argv[optind], version, &volumes) < 0) {
		cu_archive_free(a);
		return cli_fail("ls");
	}
	cu_archive_free(a);
	json_array_foreach(volumes, i, v) {
		json_array_foreach(json_object_get(v, "files"), j, f) {
			nfiles++;
			if (json) {
				json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}",
					"ref", json_object_get(f, "ref"), "volume", json_object_get(v, "volume"),
					"volume_name", json_object_get(v, "name"), "item", json_object_get(f, "item"),
					"path", json_object_get(f, "path"), "size", json_object_get(f, "size"),
					"media_type", json_object_get(f, "media_type"),
					"digest", json_object_get(f, "digest"),
					"added_in", json_object_get(f, "added_in"));
				char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
				json_decref(o);
				if (s == NULL) {
					fprintf(stderr, "custos: ls: a file entry of the case is malformed\n");
					status = EXIT_USAGE;
					continue;
				}
				puts(s);
				free(s);
				continue;
			}
			cli_put_field(json_string_value(json_object_get(f, "ref")));
			putchar('\t');
			cli_put_field(json_string_value(json_object_get(v, "name")));
			putchar('\t');
			cli_put_field(json_string_value(json_object_get(f, "path")));
			printf("\t%lld\t", (long long)json_integer_value(json_object_get(f, "size")));
			cli_put_field(json_string_value(json_object_get(f, "media_type")));
			putchar('\t');
			cli_put_field(json_string_value(json_object_get(f, "digest")));
			putchar('\n');
		}
	}
	fprintf(stderr, "custos: %zu file%s in %zu volume%s\n", nfiles, nfiles == 1 ? "" : "s",
		json_array_size(volumes), json_array_size(volumes) == 1 ? "" : "s");
	json_decref(volumes);
	return status;
}
