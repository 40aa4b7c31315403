/* cmd_log.c — the tamper-evident log: custos checkpoint, custos prove. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cli.h"
#include "custos/error.h"

static void
help_checkpoint(void)
{
	printf("usage: custos [-A DIR] checkpoint\n\n"
		"Prints the log's latest checkpoint: a C2SP signed note (origin, tree size,\n"
		"base64 root hash, then the signature by the archive key).  Keep copies\n"
		"outside the archive: custos verify --since-checkpoint and anyone's\n"
		"consistency check can then prove the log only grew.\n");
}

int
cmd_checkpoint(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_archive *a;
	char *note = NULL;
	int opt;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		if (opt == 'h') {
			help_checkpoint();
			return EXIT_DONE;
		}
		return cli_usage("checkpoint", "bad option");
	}
	if (optind != argc)
		return cli_usage("checkpoint", "unexpected argument %s", argv[optind]);
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_checkpoint(&note, a) < 0) {
		cu_archive_free(a);
		return cli_fail("checkpoint");
	}
	fputs(note, stdout);
	free(note);
	cu_archive_free(a);
	return EXIT_DONE;
}

static void
help_prove(void)
{
	printf("usage: custos [-A DIR] prove [--json] KEY [--size N]\n"
		"       custos [-A DIR] prove [--json] --consistency M [N]\n\n"
		"Prints the inclusion proof of a record's log leaf against the signed\n"
		"checkpoint of size N (default: the latest), in the c2sp.org/tlog-proof@v1\n"
		"text form, or the consistency proof between log sizes M and N.  Anyone can\n"
		"check them without custos (docs/proofs.md, tests/tools/verify_proof.c).\n");
}

static int
parse_size(uint64_t *out, const char *arg, const char *name)
{
	char *end;
	unsigned long long v = strtoull(arg, &end, 10);

	if (*arg == '\0' || *arg == '-' || *end != '\0') {
		fprintf(stderr, "custos prove: %s: must be a whole number\n", name);
		return -1;
	}
	*out = v;
	return 0;
}

static json_t *
b64(const unsigned char h[CU_MLOG_HASH])
{
	char buf[48];

	EVP_EncodeBlock((unsigned char *)buf, h, CU_MLOG_HASH);
	return json_string(buf);
}

static int
print_json(const cu_proof *p, int consistency)
{
	json_t *o, *path = json_array();
	char *s;

	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(path, b64(p->path[i]));
	if (consistency)
		o = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:s}", "type", "consistency",
			"old_size", (json_int_t)p->index, "tree_size", (json_int_t)p->size,
			"old_root", b64(p->old_root), "root", b64(p->root), "proof", path,
			"checkpoint", p->checkpoint);
	else
		o = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:s, s:s}", "type", "inclusion",
			"index", (json_int_t)p->index, "tree_size", (json_int_t)p->size,
			"leaf_hash", b64(p->leaf), "root", b64(p->root), "proof", path,
			"checkpoint", p->checkpoint, "history_path", p->history_path);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	puts(s);
	free(s);
	json_decref(o);
	return 0;
}

int
cmd_prove(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "size", required_argument, NULL, 's' },
		{ "consistency", no_argument, NULL, 'C' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	int json = 0, consistency = 0, opt, error;
	uint64_t size = 0, m = 0;
	cu_proof p;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': json = 1; break;
		case 's': if (parse_size(&size, optarg, "--size") < 0) return EXIT_USAGE; break;
		case 'C': consistency = 1; break;
		case 'h': help_prove(); return EXIT_DONE;
		default: return cli_usage("prove", "bad option");
		}
	}
	if (consistency) {
		if (argc - optind < 1 || argc - optind > 2)
			return cli_usage("prove", "--consistency needs M and optionally N");
		if (parse_size(&m, argv[optind], "M") < 0 ||
		    (argc - optind == 2 && parse_size(&size, argv[optind + 1], "N") < 0))
			return EXIT_USAGE;
	} else if (argc - optind != 1) {
		return cli_usage("prove", "exactly one KEY is needed");
	}
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	error = consistency ? cu_archive_prove_consistency(&p, a, m, size)
			    : cu_archive_prove(&p, a, argv[optind], size);
	cu_archive_free(a);
	if (error < 0)
		return cli_fail("prove");
	if (json)
		error = print_json(&p, consistency);
	else
		fputs(p.text, stdout);
	cu_proof_clear(&p);
	return error < 0 ? cli_fail("prove") : EXIT_DONE;
}

static void
help_trace(void)
{
	printf("usage: custos [-A DIR] trace [--json] KEY\n\n"
		"The whole life of a record in time order — ingested (who, when, from which\n"
		"source), accessed (who, purpose, masked or not), the verify runs that\n"
		"checked it, the backups that hold it — each with the commit and the log\n"
		"leaf that prove it.\n"
		"Tab-separated: time, action, who, detail, commit, leaf.\n");
}

static int
print_trace(const cu_trace_entry *e, void *payload)
{
	int json = *(int *)payload;

	if (json) {
		json_t *o = json_pack("{s:s?, s:s, s:s?, s:I, s:s, s:s, s:I, s:s}", "time", e->time,
			"action", e->action, "user", e->user, "uid", (json_int_t)e->uid,
			"detail", e->detail, "commit", e->commit, "leaf", (json_int_t)e->leaf,
			"id", e->id);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s == NULL) {
			json_decref(o);
			return cu_error_set(CU_ERROR, "out of memory");
		}
		puts(s);
		free(s);
		json_decref(o);
		return 0;
	}
	printf("%s\t%s\t%s (uid %lu)\t%s\tcommit %.12s\tleaf %llu\n", e->time ? e->time : "?",
		e->action, e->user ? e->user : "?", e->uid, e->detail,
		e->commit[0] ? e->commit : "unknown", (unsigned long long)e->leaf);
	return 0;
}

int
cmd_trace(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	int json = 0, opt;
	cu_archive *a;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'j': json = 1; break;
		case 'h': help_trace(); return EXIT_DONE;
		default: return cli_usage("trace", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("trace", "exactly one KEY is needed");
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (cu_archive_trace(a, argv[optind], print_trace, &json) < 0) {
		cu_archive_free(a);
		return cli_fail("trace");
	}
	cu_archive_free(a);
	return EXIT_DONE;
}
