/* cmd_get.c — custos get [--json] [--content [--file PATH]] [-o FILE] [--purpose TEXT]
 * [--unmask] KEY */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/util.h"

/* Content goes straight to its destination in chunks (a case file may be
 * larger than memory): standard output, or a temporary file beside -o FILE
 * that takes FILE's name only once every byte has been checked. */
struct out_file {
	int fd;
	char tmp[4200];
	const char *path;
};

static int
out_chunk(const void *data, size_t len, void *payload)
{
	struct out_file *o = payload;

	if (cu_write_all(o->fd, data, len) < 0)
		return cu_error_sys("%s", o->path ? o->path : "standard output");
	return 0;
}

/* Creates the temporary file for -o FILE (which must not exist). */
static int
out_open(struct out_file *o, const char *path)
{
	char *copy = strdup(path);

	o->path = path;
	if (copy == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (access(path, F_OK) == 0) {
		free(copy);
		return cu_error_set(CU_EEXISTS, "%s: exists (never overwritten)", path);
	}
	snprintf(o->tmp, sizeof(o->tmp), "%s/.custos-get.%ld.tmp", dirname(copy), (long)getpid());
	free(copy);
	if ((o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return cu_error_sys("%s", o->tmp);
	return 0;
}

/* fsync, then the temporary file takes FILE's name (link: never overwrites). */
static int
out_commit(struct out_file *o)
{
	char *copy;
	int error = 0;

	if (fsync(o->fd) < 0)
		error = cu_error_sys("%s", o->path);
	close(o->fd);
	o->fd = -1;
	if (error == 0 && link(o->tmp, o->path) < 0)
		error = errno == EEXIST ? cu_error_set(CU_EEXISTS, "%s: exists (never overwritten)",
			o->path) : cu_error_sys("%s", o->path);
	unlink(o->tmp);
	o->tmp[0] = '\0';
	if (error == 0 && (copy = strdup(o->path)) != NULL) {
		error = cu_fsync_dir(dirname(copy));
		free(copy);
	}
	return error;
}

static void
out_abort(struct out_file *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp[0])
		unlink(o->tmp);
}

static void
help(void)
{
	printf("usage: custos [-A DIR] get [--json] [--content [--file PATH]] [-o FILE]\n"
		"         [--purpose TEXT] [--unmask] [--version N] KEY\n\n"
		"Prints a record (ID numbers masked unless --unmask), or with --content the\n"
		"exact bytes received.  KEY is a ref (- may stand for ·), an id or a unique\n"
		"prefix of at least 12 hex digits, or sha256:<content digest>.  Every\n"
		"retrieval is recorded in the history first: who, when, which record, the\n"
		"purpose, and whether personal data was shown in clear (--unmask, --content).\n"
		"  -o FILE       write to FILE (mode 0600, never overwrites) instead of stdout\n"
		"  --version N   an earlier revision of an amended record (default: the current)\n"
		"  --file PATH   the content of one file of a case: its path under data/ as\n"
		"                custos ls shows it (implies --content); a file ref\n"
		"                <case ref>-<volume>-<item> as KEY does the same\n");
}

int
cmd_get(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "content", no_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ "purpose", required_argument, NULL, 'P' },
		{ "unmask", no_argument, NULL, 'U' },
		{ "version", required_argument, NULL, 'V' },
		{ "file", required_argument, NULL, 'f' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_get_opts g = { 0, 0, NULL, 0, 0, NULL, NULL, NULL };
	struct out_file of = { -1, "", NULL };
	const char *outfile = NULL;
	int json = 0, opt, status = EXIT_DONE;
	cu_archive *a;
	json_t *doc = NULL;
	char *content = NULL, *text = NULL;
	size_t clen = 0;

	while ((opt = cli_next_opt(c, argc, argv, "A:ho:", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': json = 1; break;
		case 'C': g.content = 1; break;
		case 'o': outfile = optarg; break;
		case 'P': g.purpose = optarg; break;
		case 'U': g.unmask = 1; break;
		case 'f': g.file = optarg; g.content = 1; break;
		case 'V':
			if ((g.version = cli_revision("get", optarg)) < 0)
				return EXIT_USAGE;
			break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("get", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("get", "exactly one KEY is needed");
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	if (g.content) {
		if (outfile != NULL && out_open(&of, outfile) < 0) {
			cu_archive_free(a);
			return cli_fail("get");
		}
		if (outfile == NULL)
			of.fd = STDOUT_FILENO;
		g.sink = out_chunk;
		g.sink_payload = &of;
	}
	if (cu_archive_get(a, argv[optind], &g, &doc, &content, &clen) < 0) {
		cu_archive_free(a);
		if (outfile != NULL)
			out_abort(&of);
		return cli_fail("get");
	}
	{
		/* the document stays when the content goes: say so */
		static cu_record_state st;
		if (cu_archive_record_state(a, argv[optind], &st) == 0 && st.disposed)
			fprintf(stderr, "custos: %s: content disposed of on %s by destruction list %s "
				"(approved by %s); the document remains\n", st.ref, st.disposed_at,
				st.disposed_by_list, st.approved_by);
		else if (st.held)
			fprintf(stderr, "custos: %s: on legal hold since %s\n", st.ref, st.held_since);
	}
	if (!g.content && json_is_string(json_object_get(doc, "kind")) &&
	    strcmp(json_string_value(json_object_get(doc, "kind")), "fund_txn") == 0) {
		/* a fund transaction's decision is an event of its own: shown
		 * beside the document, under "decision" (the record's id does not
		 * cover it) */
		json_t *dec = NULL;
		if (cu_archive_decision(&dec, a, json_string_value(json_object_get(doc, "id"))) == 0)
			json_object_set_new(doc, "decision", dec);
		else
			cu_error_clear();
	}
	cu_archive_free(a);
	if (g.revisions > 1)
		fprintf(stderr, "custos: %s: revision %ld of %ld (amended; custos trace shows how)\n",
			json_string_value(json_object_get(doc, "ref")),
			g.version ? g.version : g.revisions, g.revisions);
	if (g.content) {
		if (outfile != NULL && out_commit(&of) < 0)
			status = cli_fail("get");
		goto done;
	}
	text = json_dumps(doc, json ? JSON_COMPACT | JSON_SORT_KEYS : JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL) {
		status = cli_fail("get");
		goto done;
	}
	content = cu_asprintf("%s\n", text);
	clen = content ? strlen(content) : 0;
	if (outfile) {
		if (cu_write_file_durable(outfile, content, clen, 0600, 1) < 0)
			status = cli_fail("get");
	} else if (fwrite(content, 1, clen, stdout) != clen || fflush(stdout) != 0) {
		fprintf(stderr, "custos: get: writing to standard output failed\n");
		status = EXIT_USAGE;
	}
done:
	free(text);
	free(content);
	json_decref(doc);
	return status;
}
