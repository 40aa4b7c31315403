/* cmd_backup.c — custos backup keygen|create|list|verify|prune (docs/backup.md) */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "custos/backup.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] backup keygen FILE\n"
		"       custos [-A DIR] backup create [--full|--incremental] --to DIR [--key FILE] [--json]\n"
		"       custos [-A DIR] backup list [--to DIR] [--json]\n"
		"       custos [-A DIR] backup verify FILE... [--key FILE]\n"
		"       custos [-A DIR] backup prune --to DIR --keep-daily N --keep-weekly N\n"
		"                       --keep-monthly N [--dry-run]\n\n"
		"keygen writes a backup key: 32 random bytes, mode 0600, never over a file.\n"
		"  Prints: key FILE id KEYID\n"
		"create writes one backup file into DIR, custos-<name>-<time>-<full|incr>.cbk:\n"
		"  a zstd-compressed tar with a signed manifest, the archive's files and its\n"
		"  history (not the index: restore rebuilds it).  Incremental (the default\n"
		"  when DIR holds a backup of this archive) holds what the newest backup's\n"
		"  chain does not (with another key than that chain's: full).  With --key\n"
		"  the stream is encrypted (AES-256-GCM chunks)\n"
		"  and holds the secret keys; without, it is signed, not encrypted, and\n"
		"  holds no secret key.  The backup is recorded as an event in the log.\n"
		"  Prints: backup FILE KIND id ID parent ID|- members N bytes B checkpoint S\n"
		"  head H; --json one object instead.  On a terminal, progress on stderr.\n"
		"list shows the backups in DIR (or, without --to, the ones the log records):\n"
		"  FILE, kind, time, id, parent, checkpoint size, bytes, encryption; a *.cbk\n"
		"  file that cannot be read is named on stderr (exit 1).\n"
		"verify reads every FILE back: signature, every member's digest, the chain.\n"
		"  Prints each problem, then a line per file; recorded in the log when the\n"
		"  archive (-A) is the one backed up.  Exit 1 if anything is wrong.\n"
		"prune removes the backups in DIR that no rule keeps: the newest, the newest\n"
		"  of each of the last N days, ISO weeks and months, and every backup a kept\n"
		"  incremental depends on.  Prints keep|remove FILE: why (would remove with\n"
		"  --dry-run).\n"
		"Exit 0 done, 1 problems found, 2 usage or system error.\n");
}

/* ---- progress on a terminal ----------------------------------------------------------- */

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void
cli_progress_begin(struct cli_progress *p, const char *what)
{
	p->what = what;
	p->start = now_s();
	p->shown = 0;
}

void
cli_progress(const struct cu_backup_progress *pr, void *payload)
{
	struct cli_progress *p = payload;
	double el = now_s() - p->start, rate = el > 0 ? (double)pr->bytes_done / el : 0;
	double left = rate > 0 && pr->bytes_total > pr->bytes_done
		? (double)(pr->bytes_total - pr->bytes_done) / rate : 0;

	fprintf(stderr, "\r%s: %.1f of %.1f MB, %.1f MB/s, %.0f s left, %llu of %llu files   ",
		p->what, (double)pr->bytes_done / 1e6, (double)pr->bytes_total / 1e6, rate / 1e6,
		left, (unsigned long long)pr->members_done, (unsigned long long)pr->members_total);
	p->shown = 1;
}

void
cli_progress_end(struct cli_progress *p)
{
	if (p->shown)
		fputc('\n', stderr);
	p->shown = 0;
}

/* ---- keygen ---------------------------------------------------------------------------- */

static int
do_keygen(int argc, char **argv)
{
	char id[17];

	if (argc - optind != 1)
		return cli_usage("backup", "keygen takes exactly one FILE");
	if (cu_backup_keygen(argv[optind], id) < 0)
		return cli_fail("backup keygen");
	printf("key %s id %s\n", argv[optind], id);
	return EXIT_DONE;
}

/* ---- create ----------------------------------------------------------------------------- */

static int
do_create(struct cli *c, const char *dir, int kind, const char *key, int json)
{
	cu_backup_opts o;
	cu_backup_result r;
	struct cli_progress pg;
	cu_archive *a;
	int error;

	if (dir == NULL)
		return cli_usage("backup", "create needs --to DIR");
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.kind = kind;
	o.key_file = key;
	cli_progress_begin(&pg, "backup");
	if (isatty(2)) {
		o.progress = cli_progress;
		o.progress_payload = &pg;
	}
	if ((a = cli_open(c, CU_ARCHIVE_WRITE)) == NULL)
		return EXIT_USAGE;
	error = cu_archive_backup(a, &o, &r);
	cli_progress_end(&pg);
	cu_archive_free(a);
	if (error < 0)
		return cli_fail("backup create");
	if (key == NULL)
		fprintf(stderr, "custos: backup: %s is signed but not encrypted, and it does not hold "
			"the secret keys (keys/signing.pem, keys/person.hmac): keep copies of them "
			"apart, or use --key\n", r.file);
	if (json) {
		json_t *o2 = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:s?, s:I, s:I, s:I, s:I, s:I, s:s, "
			"s:s}", "file", r.file, "kind", r.kind, "id", r.id,
			"parent", r.parent[0] ? r.parent : NULL, "encrypted", key != NULL,
			"key_id", r.key_id[0] ? r.key_id : NULL, "members", (json_int_t)r.members,
			"bytes_in", (json_int_t)r.bytes_in, "bytes_out", (json_int_t)r.bytes_out,
			"duration_ms", (json_int_t)r.duration_ms,
			"checkpoint_size", (json_int_t)r.log_size, "head", r.head, "event", r.event_id);
		char *s = o2 ? json_dumps(o2, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(o2);
		return EXIT_DONE;
	}
	printf("backup %s %s id %s parent %s members %llu bytes %llu checkpoint %llu head %s\n",
		r.file, r.kind, r.id, r.parent[0] ? r.parent : "-", (unsigned long long)r.members,
		(unsigned long long)r.bytes_out, (unsigned long long)r.log_size, r.head);
	return EXIT_DONE;
}

/* ---- list ------------------------------------------------------------------------------- */

struct lctx {
	int json;
	size_t unreadable;
};

static int
print_info(const cu_backup_info *b, void *payload)
{
	struct lctx *l = payload;
	int json = l->json;

	if (b->problem != NULL) {
		fprintf(stderr, "custos: backup list: %s\n", b->problem);
		l->unreadable++;
		return 0;
	}

	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:s, s:s?}",
			"file", b->file, "kind", b->kind, "created_at", b->created_at, "id", b->id,
			"parent", b->parent && b->parent[0] ? b->parent : NULL,
			"checkpoint_size", (json_int_t)b->log_size,
			"parent_checkpoint_size", (json_int_t)b->parent_log_size,
			"members", (json_int_t)b->members, "bytes_in", (json_int_t)b->bytes_in,
			"bytes", (json_int_t)b->bytes_out, "head", b->head,
			"key_id", b->key_id && b->key_id[0] ? b->key_id : NULL);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(o);
		return 0;
	}
	printf("%s\t%s\t%s\t%s\t%s\tcheckpoint %llu\t%llu bytes\t%s%s\n", b->file, b->kind,
		b->created_at, b->id, b->parent && b->parent[0] ? b->parent : "-",
		(unsigned long long)b->log_size, (unsigned long long)b->bytes_out,
		b->key_id && b->key_id[0] ? "encrypted " : "plain", b->key_id ? b->key_id : "");
	return 0;
}

static int
do_list(struct cli *c, const char *dir, int json)
{
	struct lctx l = { json, 0 };
	cu_archive *a;
	size_t n;
	int error;

	if (dir != NULL) {
		if (cu_backup_list(dir, print_info, &l, &n) < 0)
			return cli_fail("backup list");
		return l.unreadable ? EXIT_PROBLEMS : EXIT_DONE;
	}
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	error = cu_archive_backups(a, print_info, &l, &n);
	cu_archive_free(a);
	return error < 0 ? cli_fail("backup list") : EXIT_DONE;
}

/* ---- verify ----------------------------------------------------------------------------- */

struct vctx {
	json_t *files;
};

static int
print_problem(const cu_backup_problem *p, void *payload)
{
	(void)payload;
	printf("problem %s: %s%s", p->file, p->member ? p->member : "", p->member ? ": " : "");
	cli_put_field(p->message);
	putchar('\n');
	return 0;
}

static int
print_file(const cu_backup_info *b, size_t problems, void *payload)
{
	struct vctx *v = payload;

	if (problems == 0)
		printf("ok %s: %s %s, %llu files, %llu bytes, checkpoint %llu\n", b->file, b->kind,
			b->id, (unsigned long long)b->members, (unsigned long long)b->bytes_in,
			(unsigned long long)b->log_size);
	else
		printf("bad %s: %zu problem%s\n", b->file, problems, problems == 1 ? "" : "s");
	{
		const char *base = strrchr(b->file, '/');
		json_array_append_new(v->files, json_pack("{s:s, s:s, s:I}", "file",
			base ? base + 1 : b->file, "id", b->id ? b->id : "",
			"problems", (json_int_t)problems));
	}
	return 0;
}

/* Records a verify or prune run in the archive when it is the one backed up. */
static void
record(struct cli *c, const char *action, const char *archive_id, json_t *details)
{
	cu_archive *a = NULL;
	char id[65];

	if (cu_archive_open(&a, cli_archive_path(c), CU_ARCHIVE_WRITE, c->wait) < 0 ||
	    cu_archive_backup_event(a, action, archive_id, details, id) < 0)
		fprintf(stderr, "custos: backup %s: not recorded in the log: %s\n", action,
			cu_error_last());
	cu_archive_free(a);
}

static int
do_verify(struct cli *c, int argc, char **argv, const char *key)
{
	cu_backup_verify_report rep;
	struct vctx v;
	cu_archive *a = NULL;
	int error;

	if (argc - optind < 1)
		return cli_usage("backup", "verify needs one FILE or more");
	/* the archive's own key, when it is at hand, is the one to trust */
	if (cu_archive_open(&a, cli_archive_path(c), CU_ARCHIVE_READ, 0) < 0)
		a = NULL;
	cu_error_clear();
	v.files = json_array();
	error = cu_backup_verify((const char *const *)argv + optind, (size_t)(argc - optind), key,
		a, print_problem, print_file, &v, &rep);
	cu_archive_free(a);
	if (error < 0) {
		json_decref(v.files);
		return cli_fail("backup verify");
	}
	printf("verify: %zu file%s, %llu files inside, %llu bytes: ", rep.files,
		rep.files == 1 ? "" : "s", (unsigned long long)rep.members,
		(unsigned long long)rep.bytes);
	if (rep.problems == 0)
		printf("no problem\n");
	else
		printf("%zu problem%s\n", rep.problems, rep.problems == 1 ? "" : "s");
	if (rep.archive_id[0]) {
		json_t *d = json_pack("{s:s, s:I, s:o}", "result", rep.problems ? "problems found" : "ok",
			"problems", (json_int_t)rep.problems, "files", json_incref(v.files));
		record(c, "verify", rep.archive_id, d);
		json_decref(d);
	}
	json_decref(v.files);
	return rep.problems ? EXIT_PROBLEMS : EXIT_DONE;
}

/* ---- prune ----------------------------------------------------------------------------- */

struct plist {
	cu_prune_item *v;
	char **files, **ids, **parents, **archive;
	size_t n, cap;
};

static int
collect(const cu_backup_info *b, void *payload)
{
	struct plist *p = payload;

	if (b->problem != NULL) {
		/* never removed: what it is cannot be told */
		printf("keep %s: cannot be read (", b->file);
		cli_put_field(b->problem);
		printf(")\n");
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		cu_prune_item *v = realloc(p->v, cap * sizeof(*v));
		char **f = realloc(p->files, cap * sizeof(*f));
		if (v) p->v = v;
		if (f) p->files = f;
		char **i = realloc(p->ids, cap * sizeof(*i));
		if (i) p->ids = i;
		char **pa = realloc(p->parents, cap * sizeof(*pa));
		if (pa) p->parents = pa;
		char **ar = realloc(p->archive, cap * sizeof(*ar));
		if (ar) p->archive = ar;
		if (!v || !f || !i || !pa || !ar)
			return cu_error_set(CU_ERROR, "out of memory");
		p->cap = cap;
	}
	memset(&p->v[p->n], 0, sizeof(p->v[p->n]));
	p->files[p->n] = strdup(b->file);
	p->ids[p->n] = strdup(b->id);
	p->parents[p->n] = strdup(b->parent ? b->parent : "");
	p->archive[p->n] = strdup(b->archive_id ? b->archive_id : "");
	p->v[p->n].time = b->time;
	p->v[p->n].incremental = strcmp(b->kind, "incremental") == 0;
	p->v[p->n].id = p->ids[p->n];
	p->v[p->n].parent = p->parents[p->n];
	p->n++;
	return 0;
}

static int
count_arg(const char *arg, const char *opt)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v < 0 || v > 100000) {
		cli_usage("backup", "%s: a number, 0 or more", opt);
		return -1;
	}
	return (int)v;
}

static int
do_prune(struct cli *c, const char *dir, int daily, int weekly, int monthly, int dry)
{
	struct plist p;
	json_t *removed, *d;
	size_t n, kept = 0;
	int status = EXIT_DONE;

	if (dir == NULL)
		return cli_usage("backup", "prune needs --to DIR");
	if (daily < 0 || weekly < 0 || monthly < 0)
		return cli_usage("backup", "prune needs --keep-daily N --keep-weekly N --keep-monthly N");
	memset(&p, 0, sizeof(p));
	if (cu_backup_list(dir, collect, &p, &n) < 0) {
		status = cli_fail("backup prune");
		goto done;
	}
	cu_backup_prune_select(p.v, p.n, daily, weekly, monthly);
	removed = json_array();
	for (size_t i = 0; i < p.n; i++) {
		if (p.v[i].keep) {
			printf("keep %s: %s\n", p.files[i], p.v[i].why);
			kept++;
			continue;
		}
		if (!dry && unlink(p.files[i]) < 0) {
			fprintf(stderr, "custos: backup prune: %s: cannot remove it\n", p.files[i]);
			status = EXIT_USAGE;
			continue;
		}
		printf("%s %s: %s\n", dry ? "would remove" : "remove", p.files[i], p.v[i].why);
		const char *base = strrchr(p.files[i], '/');
		json_array_append_new(removed, json_pack("{s:s, s:s}", "file", base ? base + 1 :
			p.files[i], "id", p.ids[i]));
	}
	if (!dry && p.n > 0) {
		d = json_pack("{s:s, s:I, s:i, s:i, s:i, s:O}", "result", "done", "kept", (json_int_t)kept,
			"keep_daily", daily, "keep_weekly", weekly, "keep_monthly", monthly,
			"removed", removed);
		record(c, "prune", p.archive[0], d);
		json_decref(d);
	}
	json_decref(removed);
done:
	for (size_t i = 0; i < p.n; i++) {
		free(p.files[i]);
		free(p.ids[i]);
		free(p.parents[i]);
		free(p.archive[i]);
	}
	free(p.v);
	free(p.files);
	free(p.ids);
	free(p.parents);
	free(p.archive);
	return status;
}

int
cmd_backup(struct cli *c, int argc, char **argv)
{
	enum { O_FULL = 2000, O_INCR, O_TO, O_KEY, O_JSON, O_DAILY, O_WEEKLY, O_MONTHLY, O_DRY };
	static const struct option opts[] = {
		{ "full", no_argument, NULL, O_FULL },
		{ "incremental", no_argument, NULL, O_INCR },
		{ "to", required_argument, NULL, O_TO },
		{ "key", required_argument, NULL, O_KEY },
		{ "json", no_argument, NULL, O_JSON },
		{ "keep-daily", required_argument, NULL, O_DAILY },
		{ "keep-weekly", required_argument, NULL, O_WEEKLY },
		{ "keep-monthly", required_argument, NULL, O_MONTHLY },
		{ "dry-run", no_argument, NULL, O_DRY },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	const char *sub, *dir = NULL, *key = NULL;
	int opt, kind = CU_BACKUP_AUTO, json = 0, dry = 0, daily = -1, weekly = -1, monthly = -1;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		if (argc < 2)
			return cli_usage("backup", "keygen, create, list, verify or prune?");
		help();
		return EXIT_DONE;
	}
	sub = argv[1];
	argc--;
	argv++;
	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case O_FULL:
			if (kind == CU_BACKUP_INCREMENTAL)
				return cli_usage("backup", "--full or --incremental, not both");
			kind = CU_BACKUP_FULL;
			break;
		case O_INCR:
			if (kind == CU_BACKUP_FULL)
				return cli_usage("backup", "--full or --incremental, not both");
			kind = CU_BACKUP_INCREMENTAL;
			break;
		case O_TO: dir = optarg; break;
		case O_KEY: key = optarg; break;
		case O_JSON: json = 1; break;
		case O_DRY: dry = 1; break;
		case O_DAILY: if ((daily = count_arg(optarg, "--keep-daily")) < 0) return EXIT_USAGE; break;
		case O_WEEKLY: if ((weekly = count_arg(optarg, "--keep-weekly")) < 0) return EXIT_USAGE; break;
		case O_MONTHLY: if ((monthly = count_arg(optarg, "--keep-monthly")) < 0) return EXIT_USAGE; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("backup", "bad option");
		}
	}
	if (strcmp(sub, "keygen") == 0)
		return do_keygen(argc, argv);
	if (strcmp(sub, "create") == 0) {
		if (optind != argc)
			return cli_usage("backup", "create takes no argument (%s)", argv[optind]);
		return do_create(c, dir, kind, key, json);
	}
	if (strcmp(sub, "list") == 0)
		return optind != argc ? cli_usage("backup", "list takes no argument") : do_list(c, dir, json);
	if (strcmp(sub, "verify") == 0)
		return do_verify(c, argc, argv, key);
	if (strcmp(sub, "prune") == 0)
		return optind != argc ? cli_usage("backup", "prune takes no argument")
			: do_prune(c, dir, daily, weekly, monthly, dry);
	return cli_usage("backup", "unknown subcommand %s (keygen, create, list, verify, prune)", sub);
}
