/* test_archive.c — the archive facade: init, open and lock, ingest, search,
 * resolve, get, index rebuild and crash replay, keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "custos/archive.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/util.h"

static char root[64];

/* Resident ID numbers used throughout (computed and checked in
 * test_id_numbers_are_valid). */
#define P1 "11010519491231002X"
#define P1_MASKED "110105********002X"
#define P2 "440524188001010014"
#define P2_MASKED "440524********0014"
#define USCC "91350100M000100Y43"

/* ---- fixture and helpers ------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/custos-test-archive.XXXXXX");
	return mkdtemp(root) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

/* Runs a shell command; fails the test unless it exits 0. */
static void
sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* Runs a shell command and returns its standard output (caller frees);
 * fails the test unless it exits 0. */
static char *
sh_out(const char *fmt, ...)
{
	char cmd[8192], *buf = NULL;
	size_t len = 0, cap = 0;
	va_list ap;
	FILE *p;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(p = popen(cmd, "r"));
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			assert_non_null(buf = realloc(buf, cap));
		}
		size_t r = fread(buf + len, 1, cap - len - 1, p);
		if (r == 0)
			break;
		len += r;
	}
	buf[len] = '\0';
	rc = pclose(p);
	if (rc != 0) {
		free(buf);
		fail_msg("command failed (%d): %s", rc, cmd);
	}
	return buf;
}

/* Number of commits on main in the archive's history. */
static long
commit_count(const char *arch)
{
	char *out = sh_out("git --git-dir='%s/history.git' rev-list --count main", arch);
	long n = strtol(out, NULL, 10);

	free(out);
	return n;
}

/* The one event file the last commit added (besides the log's checkpoint,
 * which every commit carries): returns its parsed document (new reference). */
static json_t *
last_event(const char *arch, char *path_out, size_t path_sz)
{
	char *names = sh_out("git --git-dir='%s/history.git' show --name-only --format= main", arch);
	char *nl = NULL, *text;
	json_t *ev;

	if (strncmp(names, "events/", 7) != 0 || (nl = strchr(names, '\n')) == NULL ||
	    strcmp(nl + 1, "log/checkpoint\n") != 0) {
		char copy[512];
		snprintf(copy, sizeof(copy), "%s", names);
		free(names);
		fail_msg("last commit should hold one events/ file and log/checkpoint, holds [%s]",
			copy);
	}
	*nl = '\0';
	snprintf(path_out, path_sz, "%s", names);
	text = sh_out("git --git-dir='%s/history.git' show 'main:%s'", arch, names);
	free(names);
	ev = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(ev);
	return ev;
}

static char *
last_subject(const char *arch)
{
	return sh_out("git --git-dir='%s/history.git' log -1 --format=%%s main", arch);
}

static int
exists(const char *fmt, ...)
{
	char p[4096];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	return lstat(p, &st) == 0;
}

static mode_t
mode_of(const char *fmt, ...)
{
	char p[4096];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	if (lstat(p, &st) != 0)
		fail_msg("%s: %s", p, strerror(errno));
	return st.st_mode;
}

/* The default archive.conf with another batch size. */
static char *
conf_with_batch(unsigned n)
{
	const char *def = cu_conf_default_text();
	const char *at = strstr(def, "batch_size = 10000;");
	char *out;

	assert_non_null(at);
	out = cu_asprintf("%.*sbatch_size = %u;%s", (int)(at - def), def, n,
		at + strlen("batch_size = 10000;"));
	assert_non_null(out);
	return out;
}

/* Creates ROOT/<name> as a new archive (fonds SI01) and returns its path. */
static void
new_archive(char *path, size_t sz, const char *name, const char *conf_text)
{
	cu_archive_init_opts o = { NULL, "SI01", conf_text };

	snprintf(path, sz, "%s/%s", root, name);
	if (cu_archive_init(path, &o) != 0)
		fail_msg("init %s: %s", path, cu_error_last());
}

static cu_archive *
open_arch(const char *path, int mode)
{
	cu_archive *a = NULL;

	if (cu_archive_open(&a, path, mode, 0) != 0)
		fail_msg("open %s: %s", path, cu_error_last());
	assert_non_null(a);
	return a;
}

/* GB 11643 MOD 11-2: the ID number from 17 digits. */
static void
make_idno(char out[19], const char *area6, const char *birth8, const char *seq3)
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char chk[] = "10X98765432";
	int s = 0;

	snprintf(out, 19, "%s%s%s", area6, birth8, seq3);
	assert_int_equal(strlen(out), 17);
	for (int i = 0; i < 17; i++)
		s += (out[i] - '0') * w[i];
	out[17] = chk[s % 11];
	out[18] = '\0';
}

/* One receipt as JSON text into out. */
struct rcpt {
	const char *no, *at, *agency, *channel, *service, *insurance;
	const char *person, *org, *name, *op, *summary, *amount;
};

static const char *
receipt(char *out, size_t sz, const struct rcpt *r)
{
	char subj[256], amount[64] = "";

	if (r->org)
		snprintf(subj, sizeof(subj), "{\"kind\":\"org\",\"uscc\":\"%s\",\"name\":\"%s\"}",
			r->org, r->name ? r->name : "福建某实业有限公司");
	else
		snprintf(subj, sizeof(subj), "{\"kind\":\"person\",\"id_no\":\"%s\",\"name\":\"%s\"}",
			r->person ? r->person : P1, r->name ? r->name : "张三");
	if (r->amount)
		snprintf(amount, sizeof(amount), ",\"amount\":\"%s\"", r->amount);
	int n = snprintf(out, sz,
		"{\"type\":\"receipt\",\"receipt_no\":\"%s\",\"issued_at\":\"%s\",\"agency\":\"%s\","
		"\"channel\":\"%s\",\"service\":\"%s\",\"insurance\":\"%s\",\"subject\":%s,"
		"\"operator\":\"%s\",\"summary\":\"%s\"%s}",
		r->no, r->at ? r->at : "2026-11-20T09:31:00+08:00", r->agency ? r->agency : "110105",
		r->channel ? r->channel : "window", r->service ? r->service : "registration",
		r->insurance ? r->insurance : "pension", subj, r->op ? r->op : "op-017",
		r->summary ? r->summary : "参保登记", amount);
	assert_true(n > 0 && (size_t)n < sz);
	return out;
}

#define RC(buf, ...) receipt(buf, sizeof(buf), &(struct rcpt){ __VA_ARGS__ })

/* Outcomes as delivered by the ingest callback. */
struct outcome {
	cu_ingest_status status;
	char source[256], ref[128], id[65], reason[512];
	int has_ref, has_id, eob;
};

struct outs {
	struct outcome o[64];
	int n;
};

static int
collect_outcome(const cu_ingest_result *r, void *payload)
{
	struct outs *os = payload;
	struct outcome *o;

	assert_true(os->n < 64);
	o = &os->o[os->n++];
	memset(o, 0, sizeof(*o));
	o->status = r->status;
	assert_non_null(r->source);
	snprintf(o->source, sizeof(o->source), "%s", r->source);
	o->has_ref = r->ref != NULL;
	o->has_id = r->id != NULL;
	if (r->ref)
		snprintf(o->ref, sizeof(o->ref), "%s", r->ref);
	if (r->id)
		snprintf(o->id, sizeof(o->id), "%s", r->id);
	if (r->reason)
		snprintf(o->reason, sizeof(o->reason), "%s", r->reason);
	o->eob = r->end_of_batch;
	return 0;
}

/* Ingests one buffer in one ingest; outcomes into os (appended). */
static void
ingest_one(cu_archive *a, const char *source, const char *buf, struct outs *os,
	cu_ingest_stats *st)
{
	cu_ingest *in = NULL;

	assert_int_equal(cu_ingest_begin(&in, a, collect_outcome, os), 0);
	if (cu_ingest_buffer(in, source, buf, strlen(buf)) != 0) {
		cu_ingest_abort(in);
		fail_msg("ingest %s: %s", source, cu_error_last());
	}
	if (cu_ingest_finish(in, st) != 0)
		fail_msg("finish %s: %s", source, cu_error_last());
}

static int
is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* Search hits collected in an array. */
static int
collect_hit(const json_t *hit, void *payload)
{
	json_array_append_new(payload, json_deep_copy(hit));
	return 0;
}

static json_t *
search(cu_archive *a, const cu_search_query *q)
{
	json_t *hits = json_array();
	size_t n = 12345;
	int error = cu_archive_search(a, q, collect_hit, hits, &n);

	if (error != 0) {
		json_decref(hits);
		fail_msg("search: %d %s", error, cu_error_last());
	}
	assert_int_equal(n, json_array_size(hits));
	return hits;
}

/* The first word of each hit's summary (the tests tag receipts "rN ..."),
 * space-separated, in hit order. */
static void
tags(char *out, size_t sz, const json_t *hits)
{
	size_t i, used = 0;
	json_t *h;

	out[0] = '\0';
	json_array_foreach(hits, i, h) {
		const char *s = json_string_value(json_object_get(h, "summary"));
		size_t w;
		assert_non_null(s);
		w = strcspn(s, " ");
		used += (size_t)snprintf(out + used, sz - used, "%s%.*s", used ? " " : "", (int)w, s);
		assert_true(used < sz);
	}
}

#define Q(...) (&(cu_search_query){ __VA_ARGS__ })

static void
expect_tags(cu_archive *a, const cu_search_query *q, const char *want)
{
	char got[512];
	json_t *hits = search(a, q);

	tags(got, sizeof(got), hits);
	json_decref(hits);
	if (strcmp(got, want) != 0)
		fail_msg("search gave [%s], want [%s]", got, want);
}

static char *
dump_search(cu_archive *a, const cu_search_query *q)
{
	json_t *hits = search(a, q);
	char *s = json_dumps(hits, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(hits);
	assert_non_null(s);
	return s;
}

/* Item number: the digits after the last '-' of a ref. */
static unsigned long
item_of(const char *ref)
{
	const char *d = strrchr(ref, '-');

	assert_non_null(d);
	return strtoul(d + 1, NULL, 10);
}

static void
expect_err(int got, int want, const char *needle)
{
	if (got != want)
		fail_msg("got %d, want %d (%s)", got, want, cu_error_last());
	if (needle && strstr(cu_error_last(), needle) == NULL)
		fail_msg("message [%s] lacks [%s]", cu_error_last(), needle);
}

/* ---- identifiers used by the tests --------------------------------------- */

static void
test_id_numbers_are_valid(void **state)
{
	char id[19];

	(void)state;
	make_idno(id, "110105", "19491231", "002");
	assert_string_equal(id, P1);
	make_idno(id, "440524", "18800101", "001");
	assert_string_equal(id, P2);
}

/* ---- init ---------------------------------------------------------------- */

static void
test_init_layout(void **state)
{
	char arch[256], p[512], *text = NULL, *pub = NULL, *signers = NULL, *git_json;
	size_t len;
	cu_archive *a;
	json_t *ident;

	(void)state;
	new_archive(arch, sizeof(arch), "layout", NULL);
	assert_true(S_ISREG(mode_of("%s/archive.json", arch)));
	assert_true(S_ISREG(mode_of("%s/archive.conf", arch)));
	assert_true(S_ISREG(mode_of("%s/lock", arch)));
	assert_true(S_ISDIR(mode_of("%s/objects/sha256", arch)));
	assert_true(S_ISDIR(mode_of("%s/objects/packs", arch)));
	assert_true(S_ISDIR(mode_of("%s/history.git", arch)));
	assert_true(S_ISDIR(mode_of("%s/index", arch)));
	assert_true(S_ISREG(mode_of("%s/index/data.mdb", arch)));
	assert_int_equal(mode_of("%s/keys", arch) & 0777, 0700);
	assert_int_equal(mode_of("%s/keys/signing.pem", arch) & 0777, 0600);
	assert_int_equal(mode_of("%s/keys/person.hmac", arch) & 0777, 0600);
	assert_true(S_ISREG(mode_of("%s/keys/signing.pub", arch)));
	snprintf(p, sizeof(p), "%s/keys/person.hmac", arch);
	assert_int_equal(cu_read_file(&text, &len, p, 4096), 0);
	assert_int_equal(len, 32);
	free(text);

	/* the shipped settings when no conf text is given */
	snprintf(p, sizeof(p), "%s/archive.conf", arch);
	assert_int_equal(cu_read_file(&text, &len, p, 1 << 20), 0);
	assert_int_equal(len, strlen(cu_conf_default_text()));
	assert_memory_equal(text, cu_conf_default_text(), len);
	free(text);

	/* identity */
	snprintf(p, sizeof(p), "%s/archive.json", arch);
	assert_int_equal(cu_read_file(&text, &len, p, 1 << 20), 0);
	assert_non_null(ident = json_loadb(text, len, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(ident, "format")), 1);
	assert_string_equal(json_string_value(json_object_get(ident, "fonds")), "SI01");
	assert_string_equal(json_string_value(json_object_get(ident, "name")), "custos/SI01");

	/* one signed commit holding archive.json and archive.conf */
	assert_int_equal(commit_count(arch), 1);
	git_json = sh_out("git --git-dir='%s/history.git' show main:archive.json", arch);
	assert_int_equal(strlen(git_json), len);
	assert_memory_equal(git_json, text, len);
	free(git_json);
	free(text);

	/* no writer left behind */
	assert_int_equal(cu_archive_lock_holder(arch), 0);

	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_string_equal(cu_archive_name(a), "custos/SI01");
	assert_string_equal(cu_archive_fonds(a), "SI01");
	assert_non_null(pub = cu_archive_public_key(a));
	assert_memory_equal(pub, "ssh-ed25519 AAAA", 16);
	assert_string_equal(pub, json_string_value(json_object_get(ident, "signing_key")));
	assert_non_null(signers = cu_archive_allowed_signers(a));
	snprintf(p, sizeof(p), "custos/SI01 namespaces=\"git\" %s", pub);
	assert_string_equal(signers, p);
	/* signing.pub holds the same key */
	{
		char kp[512], *kt = NULL;
		size_t kl;
		snprintf(kp, sizeof(kp), "%s/keys/signing.pub", arch);
		assert_int_equal(cu_read_file(&kt, &kl, kp, 4096), 0);
		assert_int_equal(strncmp(kt, pub, strlen(pub)), 0);
		free(kt);
	}
	/* the first commit verifies with stock git and the allowed-signers line */
	{
		FILE *f;
		char sp[512];
		snprintf(sp, sizeof(sp), "%s/allowed_signers", root);
		assert_non_null(f = fopen(sp, "w"));
		fprintf(f, "%s\n", signers);
		fclose(f);
		sh("git --git-dir='%s/history.git' -c gpg.ssh.allowedSignersFile='%s' "
		   "verify-commit main >/dev/null 2>&1", arch, sp);
	}
	free(pub);
	free(signers);
	json_decref(ident);
	cu_archive_free(a);
}

static void
test_init_refuses_existing(void **state)
{
	char arch[256], p[512], *before = NULL, *after = NULL, other[256];
	size_t lb, la;
	cu_archive_init_opts o = { NULL, "SI02", NULL };
	FILE *f;

	(void)state;
	new_archive(arch, sizeof(arch), "twice", NULL);
	snprintf(p, sizeof(p), "%s/archive.json", arch);
	assert_int_equal(cu_read_file(&before, &lb, p, 1 << 20), 0);
	expect_err(cu_archive_init(arch, &o), CU_EEXISTS, arch);
	assert_int_equal(cu_read_file(&after, &la, p, 1 << 20), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	assert_int_equal(commit_count(arch), 1);
	free(before);
	free(after);

	/* a folder with anything in it is refused and left alone */
	snprintf(other, sizeof(other), "%s/notempty", root);
	assert_int_equal(mkdir(other, 0755), 0);
	snprintf(p, sizeof(p), "%s/keep.txt", other);
	assert_non_null(f = fopen(p, "w"));
	fputs("keep", f);
	fclose(f);
	expect_err(cu_archive_init(other, &o), CU_EEXISTS, NULL);
	assert_true(exists("%s/keep.txt", other));
	assert_false(exists("%s/archive.json", other));
	assert_false(exists("%s/keys", other));

	/* an empty folder is fine */
	snprintf(other, sizeof(other), "%s/emptydir", root);
	assert_int_equal(mkdir(other, 0755), 0);
	assert_int_equal(cu_archive_init(other, &o), 0);
	assert_true(exists("%s/archive.json", other));
}

static void
test_init_bad_input_leaves_nothing(void **state)
{
	static const char *bad_fonds[] = { "si01", "", "SI-01", "ABCDEFGHIJKLMNOPQ", "SI 1",
		"SÍ01" };
	char arch[256];

	(void)state;
	snprintf(arch, sizeof(arch), "%s/badfonds", root);
	for (size_t i = 0; i < sizeof(bad_fonds) / sizeof(bad_fonds[0]); i++) {
		cu_archive_init_opts o = { NULL, bad_fonds[i], NULL };
		int rc = cu_archive_init(arch, &o);
		if (rc != CU_EINVALID)
			fail_msg("fonds [%s]: got %d, want CU_EINVALID", bad_fonds[i], rc);
		assert_non_null(strstr(cu_error_last(), "fonds"));
		assert_false(exists("%s", arch));
	}
	{
		cu_archive_init_opts o = { NULL, NULL, NULL };
		expect_err(cu_archive_init(arch, &o), CU_EINVALID, "--fonds");
		assert_false(exists("%s", arch));
	}
	{
		cu_archive_init_opts o = { "bad name!", "SI01", NULL };
		expect_err(cu_archive_init(arch, &o), CU_EINVALID, "--name");
		assert_false(exists("%s", arch));
	}
	{
		cu_archive_init_opts o = { NULL, "SI01", "batch_size = 0;\n" };
		expect_err(cu_archive_init(arch, &o), CU_EINVALID, NULL);
		assert_false(exists("%s", arch));
	}
	/* the longest fonds (16) is fine */
	{
		cu_archive_init_opts o = { NULL, "ABCDEFGHIJKLMNOP", NULL };
		assert_int_equal(cu_archive_init(arch, &o), 0);
		assert_true(exists("%s/archive.json", arch));
	}
}

/* Runs init in a child process whose file size limit (1 KiB) lets the
 * folders, keys and history be made but not the index; the child sends back
 * "F<message>" (init failed) or "S" (init succeeded). */
static void
init_in_small_child(const char *arch, char *msg, size_t msgsz)
{
	int fds[2], status;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 1024, 1024 };
		cu_archive_init_opts o = { NULL, "SI01", NULL };
		char out[600];
		int n;
		close(fds[0]);
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(3);
		if (cu_archive_init(arch, &o) < 0)
			n = snprintf(out, sizeof(out), "F%s", cu_error_last());
		else
			n = snprintf(out, sizeof(out), "S");
		if (n < 0 || write(fds[1], out, (size_t)n > sizeof(out) - 1 ? sizeof(out) - 1
				: (size_t)n) < 0)
			_exit(4);
		_exit(0);
	}
	close(fds[1]);
	r = read(fds[0], msg, msgsz - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(r > 0);
	msg[r] = '\0';
}

/* A failure part-way (after the folder, keys and history exist) removes what
 * init created. */
static void
test_init_failure_midway_cleans_up(void **state)
{
	char arch[256], msg[640];

	(void)state;
	snprintf(arch, sizeof(arch), "%s/midway", root);
	init_in_small_child(arch, msg, sizeof(msg));
	if (msg[0] != 'F')
		fail_msg("init under a 1 KiB file size limit succeeded");
	/* it got as far as the index: the folder had been made */
	if (strstr(msg, "/midway/index") == NULL)
		fail_msg("init failed early, not part-way: [%s]", msg + 1);
	assert_false(exists("%s", arch));
}

/* The same failure in an empty folder the caller made: init created the
 * folder's contents, not the folder, so the folder stays (empty). */
static void
test_init_failure_keeps_callers_folder(void **state)
{
	char arch[256], msg[640];

	(void)state;
	snprintf(arch, sizeof(arch), "%s/given", root);
	assert_int_equal(mkdir(arch, 0750), 0);
	init_in_small_child(arch, msg, sizeof(msg));
	assert_int_equal(msg[0], 'F');
	assert_non_null(strstr(msg, "/given/index"));
	assert_false(exists("%s/keys", arch));
	assert_false(exists("%s/history.git", arch));
	assert_false(exists("%s/objects", arch));
	if (!exists("%s", arch))
		fail_msg("a failed init removed the empty folder the caller had made");
	assert_true(S_ISDIR(mode_of("%s", arch)));
}

static void
test_init_custom_conf_batches(void **state)
{
	char arch[256], p[512], *text = NULL, rc_[7][1024], *buf;
	char *conf = conf_with_batch(3);
	size_t len;
	struct outs os = { .n = 0 };
	cu_ingest_stats st;
	cu_archive *a;

	(void)state;
	new_archive(arch, sizeof(arch), "batch3", conf);
	snprintf(p, sizeof(p), "%s/archive.conf", arch);
	assert_int_equal(cu_read_file(&text, &len, p, 1 << 20), 0);
	assert_int_equal(len, strlen(conf));
	assert_memory_equal(text, conf, len);
	free(text);
	/* the first commit holds this conf */
	text = sh_out("git --git-dir='%s/history.git' show main:archive.conf", arch);
	assert_string_equal(text, conf);
	free(text);

	for (int i = 0; i < 7; i++) {
		char no[32];
		snprintf(no, sizeof(no), "B-%d", i + 1);
		RC(rc_[i], .no = no);
	}
	buf = cu_asprintf("%s\n%s\n%s\n%s\n%s\n%s\n%s\n", rc_[0], rc_[1], rc_[2], rc_[3], rc_[4],
		rc_[5], rc_[6]);
	assert_non_null(buf);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_one(a, "seven.jsonl", buf, &os, &st);
	assert_int_equal(os.n, 7);
	for (int i = 0; i < 7; i++) {
		char src[64];
		snprintf(src, sizeof(src), "seven.jsonl#%d", i + 1);
		assert_int_equal(os.o[i].status, CU_INGEST_ARCHIVED);
		assert_string_equal(os.o[i].source, src);
		assert_int_equal(item_of(os.o[i].ref), (unsigned long)i + 1);
		if (os.o[i].eob != (i == 2 || i == 5 || i == 6))
			fail_msg("outcome %d: end_of_batch %d", i + 1, os.o[i].eob);
	}
	assert_int_equal(st.archived, 7);
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.commits, 3);
	assert_int_equal(commit_count(arch), 4);
	cu_archive_free(a);
	free(buf);
	free(conf);
}

/* ---- ingest -------------------------------------------------------------- */

static void
test_ingest_outcomes(void **state)
{
	char arch[256], ra[1024], rb[1024], rbad[1024], rconf[1024], rc_[1024], *buf;
	/* A again: other whitespace and member order, lower-case x */
	const char *ra_ws =
		"{ \"receipt_no\" : \"A-1\",  \"type\":\"receipt\", \"issued_at\":\"2026-11-20T09:31:00+08:00\","
		"\"agency\":\"110105\", \"channel\":\"window\",\"service\":\"registration\","
		"\"insurance\":\"pension\",\"subject\":{ \"name\":\"张三\",\"kind\":\"person\","
		"\"id_no\":\"11010519491231002x\"},\"operator\":\"op-017\",\"summary\":\"r1 参保登记\" }";
	struct outs os = { .n = 0 };
	cu_ingest_stats st;
	cu_ingest *in = NULL;
	cu_archive *a;

	(void)state;
	new_archive(arch, sizeof(arch), "outcomes", NULL);
	RC(ra, .no = "A-1", .summary = "r1 参保登记");
	RC(rb, .no = "B-1", .org = USCC, .summary = "r2 单位参保登记", .amount = "1234.50");
	RC(rbad, .no = "C-1", .person = "110105194912310021", .summary = "r3 bad");
	RC(rconf, .no = "B-1", .org = USCC, .summary = "r2 changed", .amount = "1234.50");
	RC(rc_, .no = "D-1", .person = P2, .summary = "r4 registration");
	buf = cu_asprintf("%s\n%s\n\n%s\n%s\n%s\n%s\n", ra, rb, ra_ws, rbad, rconf, rc_);
	assert_non_null(buf);

	/* a READ handle cannot ingest */
	a = open_arch(arch, CU_ARCHIVE_READ);
	expect_err(cu_ingest_begin(&in, a, collect_outcome, &os), CU_EINVALID, NULL);
	assert_null(in);
	cu_archive_free(a);

	a = open_arch(arch, CU_ARCHIVE_WRITE);
	assert_int_equal(cu_ingest_begin(&in, a, collect_outcome, &os), 0);
	assert_int_equal(cu_ingest_buffer(in, "day.jsonl", buf, strlen(buf)), 0);
	/* nothing acknowledged before the batch is committed */
	assert_int_equal(os.n, 0);
	assert_int_equal(cu_ingest_finish(in, &st), 0);

	assert_int_equal(os.n, 6);
	/* #1 archived */
	assert_int_equal(os.o[0].status, CU_INGEST_ARCHIVED);
	assert_string_equal(os.o[0].source, "day.jsonl#1");
	assert_string_equal(os.o[0].ref, "SI01-SB\xc2\xb7" "2026-D100-DJ-000001");
	assert_true(is_hex64(os.o[0].id));
	assert_int_equal(os.o[0].eob, 0);
	/* #2 archived, unit registration: permanent */
	assert_int_equal(os.o[1].status, CU_INGEST_ARCHIVED);
	assert_string_equal(os.o[1].source, "day.jsonl#2");
	assert_string_equal(os.o[1].ref, "SI01-SB\xc2\xb7" "2026-Y-DJ-000001");
	assert_true(is_hex64(os.o[1].id));
	assert_string_not_equal(os.o[1].id, os.o[0].id);
	/* #3 duplicate of #1 (the blank line is not an item) */
	assert_int_equal(os.o[2].status, CU_INGEST_DUPLICATE);
	assert_string_equal(os.o[2].source, "day.jsonl#3");
	assert_string_equal(os.o[2].ref, os.o[0].ref);
	assert_string_equal(os.o[2].id, os.o[0].id);
	/* #4 rejected: wrong check character */
	assert_int_equal(os.o[3].status, CU_INGEST_REJECTED);
	assert_string_equal(os.o[3].source, "day.jsonl#4");
	assert_false(os.o[3].has_ref);
	assert_false(os.o[3].has_id);
	assert_non_null(strstr(os.o[3].reason, "subject.id_no"));
	assert_null(strstr(os.o[3].reason, "110105194912310021"));
	/* #5 rejected: conflict naming the archived ref */
	assert_int_equal(os.o[4].status, CU_INGEST_REJECTED);
	assert_string_equal(os.o[4].source, "day.jsonl#5");
	assert_false(os.o[4].has_id);
	assert_non_null(strstr(os.o[4].reason, "conflict"));
	assert_non_null(strstr(os.o[4].reason, os.o[1].ref));
	/* #6 archived in the class of #1 and #4: no gap for the rejected one */
	assert_int_equal(os.o[5].status, CU_INGEST_ARCHIVED);
	assert_string_equal(os.o[5].source, "day.jsonl#6");
	assert_string_equal(os.o[5].ref, "SI01-SB\xc2\xb7" "2026-D100-DJ-000002");
	assert_int_equal(os.o[5].eob, 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(os.o[i].eob, 0);
	assert_int_equal(st.archived, 3);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(st.commits, 1);
	assert_int_equal(commit_count(arch), 2);

	/* a later ingest: a single-item buffer is named without #n; a duplicate
	 * names the first ref across commits; an all-duplicate ingest commits
	 * nothing but still ends its batch */
	{
		struct outs o2 = { .n = 0 };
		ingest_one(a, "again.json", ra_ws, &o2, &st);
		assert_int_equal(o2.n, 1);
		assert_int_equal(o2.o[0].status, CU_INGEST_DUPLICATE);
		assert_string_equal(o2.o[0].source, "again.json");
		assert_string_equal(o2.o[0].ref, os.o[0].ref);
		assert_string_equal(o2.o[0].id, os.o[0].id);
		assert_int_equal(o2.o[0].eob, 1);
		assert_int_equal(st.archived, 0);
		assert_int_equal(st.duplicates, 1);
		assert_int_equal(st.commits, 0);
		assert_int_equal(commit_count(arch), 2);
	}
	/* an array buffer: one item per element; a broken file is one rejection */
	{
		struct outs o3 = { .n = 0 };
		char r5[1024], r6[1024], *arr;
		RC(r5, .no = "E-1", .summary = "r5");
		RC(r6, .no = "E-2", .service = "contribution", .summary = "r6", .amount = "7");
		arr = cu_asprintf("[%s,\n %s]", r5, r6);
		assert_non_null(arr);
		assert_int_equal(cu_ingest_begin(&in, a, collect_outcome, &o3), 0);
		assert_int_equal(cu_ingest_buffer(in, "arr.json", arr, strlen(arr)), 0);
		assert_int_equal(cu_ingest_buffer(in, "broken.json", "{\"type\":", 8), 0);
		assert_int_equal(cu_ingest_finish(in, &st), 0);
		free(arr);
		assert_int_equal(o3.n, 3);
		assert_string_equal(o3.o[0].source, "arr.json#1");
		assert_string_equal(o3.o[0].ref, "SI01-SB\xc2\xb7" "2026-D100-DJ-000003");
		assert_string_equal(o3.o[1].source, "arr.json#2");
		assert_string_equal(o3.o[1].ref, "SI01-SB\xc2\xb7" "2026-D10-JF-000001");
		assert_int_equal(o3.o[2].status, CU_INGEST_REJECTED);
		assert_string_equal(o3.o[2].source, "broken.json");
		assert_true(o3.o[2].reason[0] != '\0');
		assert_int_equal(o3.o[0].eob + o3.o[1].eob + o3.o[2].eob, 1);
		assert_int_equal(o3.o[2].eob, 1);
		assert_int_equal(st.archived, 2);
		assert_int_equal(st.rejected, 1);
		assert_int_equal(st.commits, 1);
		assert_int_equal(commit_count(arch), 3);
	}
	cu_archive_free(a);
	free(buf);
}

/* Abort drops the pending batch: nothing archived, item numbers given back. */
static void
test_ingest_abort(void **state)
{
	char arch[256], r1[1024];
	struct outs os = { .n = 0 };
	cu_ingest_stats st;
	cu_ingest *in = NULL;
	cu_archive *a;
	json_t *hits;

	(void)state;
	new_archive(arch, sizeof(arch), "abort", NULL);
	RC(r1, .no = "X-1", .summary = "r1");
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	assert_int_equal(cu_ingest_begin(&in, a, collect_outcome, &os), 0);
	assert_int_equal(cu_ingest_buffer(in, "x.json", r1, strlen(r1)), 0);
	cu_ingest_abort(in);
	assert_int_equal(os.n, 0);
	assert_int_equal(commit_count(arch), 1);
	hits = search(a, Q(.limit = 0));
	assert_int_equal(json_array_size(hits), 0);
	json_decref(hits);
	ingest_one(a, "x.json", r1, &os, &st);
	assert_int_equal(os.n, 1);
	assert_int_equal(os.o[0].status, CU_INGEST_ARCHIVED);
	assert_int_equal(item_of(os.o[0].ref), 1);
	cu_archive_free(a);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A folder: files in name order, recursively; hidden names skipped; links
 * and bad files reported; a missing path reported. */
static void
test_ingest_path_folder(void **state)
{
	char arch[256], dir[300], p[400], r[6][1024], *lines;
	struct outs os = { .n = 0 };
	cu_ingest_stats st;
	cu_ingest *in = NULL;
	cu_archive *a;

	(void)state;
	new_archive(arch, sizeof(arch), "folder", NULL);
	snprintf(dir, sizeof(dir), "%s/folder-in", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	RC(r[0], .no = "F-1", .summary = "f1");
	RC(r[1], .no = "F-2", .summary = "f2");
	RC(r[2], .no = "F-3", .summary = "f3");
	RC(r[3], .no = "F-4", .summary = "f4");
	RC(r[4], .no = "F-9", .summary = "f9 hidden");
	lines = cu_asprintf("%s\n%s\n", r[0], r[1]);
	assert_non_null(lines);
	snprintf(p, sizeof(p), "%s/a.jsonl", dir);
	write_text(p, lines);
	free(lines);
	snprintf(p, sizeof(p), "%s/b.json", dir);
	write_text(p, r[2]);
	snprintf(p, sizeof(p), "%s/.hidden.json", dir);
	write_text(p, r[4]);
	snprintf(p, sizeof(p), "%s/link.json", dir);
	assert_int_equal(symlink("b.json", p), 0);
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	write_text(p, "{\"type\": }\n");
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub/c.json", dir);
	write_text(p, r[3]);

	a = open_arch(arch, CU_ARCHIVE_WRITE);
	assert_int_equal(cu_ingest_begin(&in, a, collect_outcome, &os), 0);
	assert_int_equal(cu_ingest_path(in, dir), 0);
	snprintf(p, sizeof(p), "%s/missing.json", dir);
	assert_int_equal(cu_ingest_path(in, p), 0);
	assert_int_equal(cu_ingest_finish(in, &st), 0);
	cu_archive_free(a);

	assert_int_equal(os.n, 7);
	snprintf(p, sizeof(p), "%s/a.jsonl#1", dir);
	assert_string_equal(os.o[0].source, p);
	assert_int_equal(os.o[0].status, CU_INGEST_ARCHIVED);
	assert_int_equal(item_of(os.o[0].ref), 1);
	snprintf(p, sizeof(p), "%s/a.jsonl#2", dir);
	assert_string_equal(os.o[1].source, p);
	assert_int_equal(item_of(os.o[1].ref), 2);
	snprintf(p, sizeof(p), "%s/b.json", dir);
	assert_string_equal(os.o[2].source, p);
	assert_int_equal(os.o[2].status, CU_INGEST_ARCHIVED);
	assert_int_equal(item_of(os.o[2].ref), 3);
	snprintf(p, sizeof(p), "%s/link.json", dir);
	assert_string_equal(os.o[3].source, p);
	assert_int_equal(os.o[3].status, CU_INGEST_REJECTED);
	assert_non_null(strstr(os.o[3].reason, "symbolic link"));
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	assert_string_equal(os.o[4].source, p);
	assert_int_equal(os.o[4].status, CU_INGEST_REJECTED);
	snprintf(p, sizeof(p), "%s/sub/c.json", dir);
	assert_string_equal(os.o[5].source, p);
	assert_int_equal(os.o[5].status, CU_INGEST_ARCHIVED);
	assert_int_equal(item_of(os.o[5].ref), 4);
	snprintf(p, sizeof(p), "%s/missing.json", dir);
	assert_string_equal(os.o[6].source, p);
	assert_int_equal(os.o[6].status, CU_INGEST_REJECTED);
	assert_non_null(strstr(os.o[6].reason, "No such file"));
	assert_int_equal(os.o[6].eob, 1);
	assert_int_equal(st.archived, 4);
	assert_int_equal(st.rejected, 3);
	assert_int_equal(st.commits, 1);
}

/* An empty folder holds nothing to ingest: no outcome, no error.  Run in a
 * child process so that a crash there fails this test only. */
static void
test_ingest_path_empty_folder(void **state)
{
	char arch[256], dir[300];
	int status;
	pid_t pid;

	(void)state;
	new_archive(arch, sizeof(arch), "emptyfolder", NULL);
	snprintf(dir, sizeof(dir), "%s/empty-in", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct outs os = { .n = 0 };
		cu_ingest_stats st = { 9, 9, 9, 9, 9 };
		cu_ingest *in = NULL;
		cu_archive *a = NULL;
		int rc;
		if (cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 5) != 0 ||
		    cu_ingest_begin(&in, a, collect_outcome, &os) != 0)
			_exit(10);
		rc = cu_ingest_path(in, dir);
		if (cu_ingest_finish(in, &st) != 0)
			_exit(11);
		cu_archive_free(a);
		_exit(rc != 0 ? 12 : os.n != 0 ? 13 : st.archived + st.rejected + st.commits != 0
			? 14 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("ingesting an empty folder: the child %s %d",
			WIFEXITED(status) ? "exited with" : "died of signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	assert_int_equal(commit_count(arch), 1);
}

/* ---- lock ---------------------------------------------------------------- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_lock(void **state)
{
	char arch[256], r1[1024], pidtext[64];
	int ready[2], go[2], status;
	struct outs os = { .n = 0 };
	cu_archive *a = NULL, *b = NULL;
	double t0;
	pid_t pid;
	char c;

	(void)state;
	new_archive(arch, sizeof(arch), "lock", NULL);
	RC(r1, .no = "L-1", .summary = "r1 lock");
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_one(a, "l.json", r1, &os, NULL);

	/* held by us */
	assert_int_equal(cu_archive_lock_holder(arch), (long)getpid());
	t0 = now_s();
	expect_err(cu_archive_open(&b, arch, CU_ARCHIVE_WRITE, 0), CU_ELOCKED, NULL);
	assert_true(now_s() - t0 < 1.0);
	assert_null(b);
	snprintf(pidtext, sizeof(pidtext), "pid %ld", (long)getpid());
	assert_non_null(strstr(cu_error_last(), pidtext));
	cu_archive_free(a);
	assert_int_equal(cu_archive_lock_holder(arch), 0);

	/* held by another process */
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		cu_archive *w = NULL;
		struct pollfd pfd = { go[0], POLLIN, 0 };
		char r = 'R';
		close(ready[0]);
		close(go[1]);
		if (cu_archive_open(&w, arch, CU_ARCHIVE_WRITE, 5) != 0)
			r = 'E';
		if (write(ready[1], &r, 1) != 1)
			_exit(2);
		poll(&pfd, 1, 30000);   /* until the parent says so, or 30 s */
		cu_archive_free(w);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'R');

	assert_int_equal(cu_archive_lock_holder(arch), (long)pid);
	t0 = now_s();
	expect_err(cu_archive_open(&b, arch, CU_ARCHIVE_WRITE, 0), CU_ELOCKED, NULL);
	assert_true(now_s() - t0 < 1.0);
	snprintf(pidtext, sizeof(pidtext), "pid %ld", (long)pid);
	assert_non_null(strstr(cu_error_last(), pidtext));
	/* waiting a second, then giving up */
	t0 = now_s();
	expect_err(cu_archive_open(&b, arch, CU_ARCHIVE_WRITE, 1), CU_ELOCKED, "gave up");
	assert_true(now_s() - t0 >= 0.9 && now_s() - t0 < 5.0);
	assert_null(b);

	/* a reader works alongside the writer */
	b = open_arch(arch, CU_ARCHIVE_READ);
	{
		json_t *hits = search(b, Q(.limit = 0));
		assert_int_equal(json_array_size(hits), 1);
		json_decref(hits);
	}
	/* ...but cannot record a retrieval */
	{
		json_t *doc = NULL;
		cu_get_opts go_ = { .unmask = 0, .content = 0, .purpose = "check" };
		assert_int_not_equal(cu_archive_get(b, os.o[0].ref, &go_, &doc, NULL, NULL), 0);
		assert_null(doc);
	}
	cu_archive_free(b);

	c = 'G';
	assert_int_equal(write(go[1], &c, 1), 1);
	close(go[1]);
	close(ready[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(cu_archive_lock_holder(arch), 0);

	/* free again: a writer gets it */
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	assert_int_equal(cu_archive_lock_holder(arch), (long)getpid());
	cu_archive_free(a);
	assert_int_equal(cu_archive_lock_holder(arch), 0);
	assert_int_equal(cu_archive_lock_holder("/nonexistent/custos"), 0);
}

/* ---- search -------------------------------------------------------------- */

/* Five receipts with distinct fields, newest first: r4 r3 r2 r1 r5. */
static void
fill_search_archive(char *arch, size_t sz, const char *name, struct outs *os)
{
	char r[6][1024], *buf;
	cu_ingest_stats st;
	cu_archive *a;

	new_archive(arch, sz, name, NULL);
	RC(r[1], .no = "S-1", .at = "2026-01-10T09:00:00+08:00", .person = P1,
		.service = "registration", .insurance = "pension", .channel = "window",
		.agency = "110105", .op = "op-017", .summary = "r1 alpha beta");
	RC(r[2], .no = "S-2", .at = "2026-01-31T20:00:00Z", .person = P2,
		.service = "contribution", .insurance = "medical", .channel = "web",
		.agency = "440524", .op = "op-020", .summary = "r2 gamma", .amount = "100.00",
		.name = "李四");
	RC(r[3], .no = "S-3", .at = "2026-03-01T10:00:00+08:00", .org = USCC,
		.service = "registration", .insurance = "medical", .channel = "phone",
		.agency = "350102", .op = "op-020", .summary = "r3 beta");
	RC(r[4], .no = "S-4", .at = "2026-04-01T10:00:00+08:00", .person = P1,
		.service = "benefit", .insurance = "unemployment", .channel = "self_service",
		.agency = "110105", .op = "op-018", .summary = "r4 alpha gamma");
	RC(r[5], .no = "S-5", .at = "2025-12-31T23:30:00+08:00", .person = P2,
		.service = "consultation", .insurance = "pension", .channel = "sms",
		.agency = "440524", .op = "op-017", .summary = "r5 delta", .name = "李四");
	buf = cu_asprintf("%s\n%s\n%s\n%s\n%s\n", r[1], r[2], r[3], r[4], r[5]);
	assert_non_null(buf);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_one(a, "s.jsonl", buf, os, &st);
	assert_int_equal(st.archived, 5);
	cu_archive_free(a);
	free(buf);
}

static void
test_search_filters(void **state)
{
	char arch[256];
	struct outs os = { .n = 0 };
	cu_archive *a;
	json_t *hits, *h;
	cu_search_query q;

	(void)state;
	fill_search_archive(arch, sizeof(arch), "search", &os);
	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_int_equal(cu_archive_index_behind(a), 0);

	expect_tags(a, Q(.limit = 0), "r4 r3 r2 r1 r5");
	expect_tags(a, Q(.person = P1), "r4 r1");
	expect_tags(a, Q(.person = "11010519491231002x"), "r4 r1");
	expect_tags(a, Q(.person = P2), "r2 r5");
	expect_tags(a, Q(.org = USCC), "r3");
	expect_tags(a, Q(.service = "registration"), "r3 r1");
	expect_tags(a, Q(.insurance = "medical"), "r3 r2");
	expect_tags(a, Q(.channel = "web"), "r2");
	expect_tags(a, Q(.operator_ = "op-020"), "r3 r2");
	expect_tags(a, Q(.agency = "440524"), "r2 r5");
	expect_tags(a, Q(.agency = "999999"), "");
	/* bare dates are taken in the archive's zone (+08:00): r2 at
	 * 2026-01-31T20:00Z is 1 February there */
	expect_tags(a, Q(.from = "2026-02-01"), "r4 r3 r2");
	expect_tags(a, Q(.to = "2026-01-31"), "r1 r5");
	expect_tags(a, Q(.to = "2025-12-31"), "r5");
	expect_tags(a, Q(.from = "2026-01-01", .to = "2026-03-01"), "r3 r2 r1");
	expect_tags(a, Q(.from = "2026-03-01T02:00:00Z", .to = "2026-03-01T02:00:00Z"), "r3");
	expect_tags(a, Q(.text = "alpha"), "r4 r1");
	expect_tags(a, Q(.text = "alpha gamma"), "r4");
	expect_tags(a, Q(.text = "beta"), "r3 r1");
	expect_tags(a, Q(.text = "alpha zeta"), "");
	/* AND of filters */
	expect_tags(a, Q(.person = P1, .insurance = "pension"), "r1");
	expect_tags(a, Q(.service = "registration", .channel = "phone"), "r3");
	expect_tags(a, Q(.person = P2, .channel = "window"), "");
	expect_tags(a, Q(.operator_ = "op-017", .agency = "440524", .text = "delta"), "r5");
	expect_tags(a, Q(.person = P1, .from = "2026-02-01"), "r4");
	expect_tags(a, Q(.insurance = "medical", .text = "beta", .org = USCC), "r3");
	/* limit and offset */
	expect_tags(a, Q(.limit = 2), "r4 r3");
	expect_tags(a, Q(.limit = 2, .offset = 2), "r2 r1");
	expect_tags(a, Q(.limit = 2, .offset = 4), "r5");
	expect_tags(a, Q(.offset = 3), "r1 r5");
	expect_tags(a, Q(.offset = 10), "");
	expect_tags(a, Q(.person = P1, .limit = 1, .offset = 1), "r1");

	/* bad filter values name the option */
	memset(&q, 0, sizeof(q));
	q.person = "110105194912310021";
	expect_err(cu_archive_search(a, &q, collect_hit, NULL, NULL), CU_EINVALID, "--person");
	q.person = "1101051949";
	expect_err(cu_archive_search(a, &q, collect_hit, NULL, NULL), CU_EINVALID, "--person");
	memset(&q, 0, sizeof(q));
	q.org = "91350100M000100Y44";
	expect_err(cu_archive_search(a, &q, collect_hit, NULL, NULL), CU_EINVALID, "--org");
	memset(&q, 0, sizeof(q));
	q.from = "2026-02-30";
	expect_err(cu_archive_search(a, &q, collect_hit, NULL, NULL), CU_EINVALID, "--from");
	memset(&q, 0, sizeof(q));
	q.to = "yesterday";
	expect_err(cu_archive_search(a, &q, collect_hit, NULL, NULL), CU_EINVALID, "--to");

	/* the hits: masked subject id and the summary fields */
	hits = search(a, Q(.person = P1));
	assert_int_equal(json_array_size(hits), 2);
	h = json_array_get(hits, 1);
	assert_string_equal(json_string_value(json_object_get(h, "ref")), os.o[0].ref);
	assert_string_equal(json_string_value(json_object_get(h, "id")), os.o[0].id);
	assert_string_equal(json_string_value(json_object_get(h, "kind")), "receipt");
	assert_string_equal(json_string_value(json_object_get(h, "time")),
		"2026-01-10T09:00:00+08:00");
	assert_string_equal(json_string_value(json_object_get(h, "service")), "registration");
	assert_string_equal(json_string_value(json_object_get(h, "insurance")), "pension");
	assert_string_equal(json_string_value(json_object_get(h, "channel")), "window");
	assert_string_equal(json_string_value(json_object_get(h, "agency")), "110105");
	assert_string_equal(json_string_value(json_object_get(h, "operator")), "op-017");
	assert_string_equal(json_string_value(json_object_get(h, "summary")), "r1 alpha beta");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "subject"),
		"kind")), "person");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "subject"),
		"id")), P1_MASKED);
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "subject"),
		"name")), "张三");
	assert_null(json_object_get(h, "amount_fen"));
	json_decref(hits);
	hits = search(a, Q(.channel = "web"));
	h = json_array_get(hits, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "subject"),
		"id")), P2_MASKED);
	assert_int_equal(json_integer_value(json_object_get(h, "amount_fen")), 10000);
	json_decref(hits);
	hits = search(a, Q(.org = USCC));
	h = json_array_get(hits, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "subject"),
		"kind")), "org");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "subject"),
		"id")), USCC);
	json_decref(hits);

	/* unmasking needs the lock; on a reader nothing is shown or recorded */
	{
		json_t *none = json_array();
		memset(&q, 0, sizeof(q));
		q.person = P1;
		q.unmask = 1;
		q.purpose = "audit";
		expect_err(cu_archive_search(a, &q, collect_hit, none, NULL), CU_EINVALID, NULL);
		assert_int_equal(json_array_size(none), 0);
		json_decref(none);
		assert_int_equal(commit_count(arch), 2);
	}
	cu_archive_free(a);
}

static void
test_search_unmask(void **state)
{
	char arch[256], evpath[256], *subj;
	struct outs os = { .n = 0 };
	cu_archive *a;
	json_t *hits, *ev, *recs, *masked;
	long before;
	size_t i;

	(void)state;
	fill_search_archive(arch, sizeof(arch), "unmask", &os);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	masked = search(a, Q(.person = P1));
	assert_int_equal(commit_count(arch), 2);   /* a plain search records nothing */
	before = commit_count(arch);
	hits = search(a, Q(.person = P1, .unmask = 1, .purpose = "benefit audit"));
	assert_int_equal(commit_count(arch), before + 1);
	assert_int_equal(json_array_size(hits), 2);
	for (i = 0; i < 2; i++) {
		json_t *h = json_array_get(hits, i), *m = json_array_get(masked, i);
		assert_string_equal(json_string_value(json_object_get(json_object_get(h, "subject"),
			"id")), P1);
		/* only the id differs from the masked hit */
		json_object_set_new(json_object_get(h, "subject"), "id", json_string(P1_MASKED));
		assert_true(json_equal(h, m));
	}
	ev = last_event(arch, evpath, sizeof(evpath));
	assert_string_equal(json_string_value(json_object_get(ev, "action")), "search");
	assert_string_equal(json_string_value(json_object_get(ev, "purpose")), "benefit audit");
	assert_true(json_is_true(json_object_get(ev, "unmasked")));
	recs = json_object_get(ev, "records");
	assert_int_equal(json_array_size(recs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "id")),
		json_string_value(json_object_get(json_array_get(masked, 0), "id")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 1), "id")),
		json_string_value(json_object_get(json_array_get(masked, 1), "id")));
	subj = last_subject(arch);
	assert_null(strstr(subj, P1));
	free(subj);
	json_decref(ev);
	json_decref(hits);
	json_decref(masked);

	/* a bad person on a writer records nothing either */
	{
		cu_search_query q = { .person = "11010519491231002Y", .unmask = 1 };
		expect_err(cu_archive_search(a, &q, collect_hit, NULL, NULL), CU_EINVALID, "--person");
		assert_int_equal(commit_count(arch), before + 1);
	}
	cu_archive_free(a);
}

/* ---- resolve ------------------------------------------------------------- */

static void
test_resolve(void **state)
{
	char arch[256], r1[1024], r2[1024], *buf, id[65], key[128], dig[65];
	unsigned char d[32];
	struct outs os = { .n = 0 };
	cu_archive *a;
	const char *ref;

	(void)state;
	new_archive(arch, sizeof(arch), "resolve", NULL);
	RC(r1, .no = "R-1", .summary = "r1");
	RC(r2, .no = "R-2", .person = P2, .summary = "r2");
	buf = cu_asprintf("%s\n%s\n", r1, r2);
	assert_non_null(buf);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_one(a, "r.jsonl", buf, &os, NULL);
	cu_archive_free(a);
	assert_int_equal(os.n, 2);
	ref = os.o[1].ref;
	assert_string_equal(ref, "SI01-SB\xc2\xb7" "2026-D100-DJ-000002");

	a = open_arch(arch, CU_ARCHIVE_READ);   /* resolving is a read */
	memset(id, 0, sizeof(id));
	assert_int_equal(cu_archive_resolve(id, a, ref), 0);
	assert_string_equal(id, os.o[1].id);
	memset(id, 0, sizeof(id));
	assert_int_equal(cu_archive_resolve(id, a, "SI01-SB-2026-D100-DJ-000002"), 0);
	assert_string_equal(id, os.o[1].id);
	memset(id, 0, sizeof(id));
	assert_int_equal(cu_archive_resolve(id, a, "SI01-SB-2026-D100-DJ-000001"), 0);
	assert_string_equal(id, os.o[0].id);
	/* id prefixes: 12 and 13 digits, the full id, upper case */
	snprintf(key, sizeof(key), "%.12s", os.o[1].id);
	memset(id, 0, sizeof(id));
	assert_int_equal(cu_archive_resolve(id, a, key), 0);
	assert_string_equal(id, os.o[1].id);
	snprintf(key, sizeof(key), "%.13s", os.o[0].id);
	memset(id, 0, sizeof(id));
	assert_int_equal(cu_archive_resolve(id, a, key), 0);
	assert_string_equal(id, os.o[0].id);
	memset(id, 0, sizeof(id));
	assert_int_equal(cu_archive_resolve(id, a, os.o[0].id), 0);
	assert_string_equal(id, os.o[0].id);
	snprintf(key, sizeof(key), "%.16s", os.o[1].id);
	for (char *k = key; *k; k++)
		if (*k >= 'a' && *k <= 'f')
			*k = (char)(*k - 'a' + 'A');
	memset(id, 0, sizeof(id));
	assert_int_equal(cu_archive_resolve(id, a, key), 0);
	assert_string_equal(id, os.o[1].id);
	/* the digest of the exact bytes of the second line */
	assert_int_equal(cu_sha256(d, r2, strlen(r2)), 0);
	cu_hex(dig, d, 32);
	snprintf(key, sizeof(key), "sha256:%s", dig);
	memset(id, 0, sizeof(id));
	assert_int_equal(cu_archive_resolve(id, a, key), 0);
	assert_string_equal(id, os.o[1].id);
	/* the line with its newline is other bytes */
	{
		char *withnl = cu_asprintf("%s\n", r2);
		assert_non_null(withnl);
		assert_int_equal(cu_sha256(d, withnl, strlen(withnl)), 0);
		free(withnl);
		cu_hex(dig, d, 32);
		snprintf(key, sizeof(key), "sha256:%s", dig);
		expect_err(cu_archive_resolve(id, a, key), CU_ENOTFOUND, NULL);
	}

	/* unknown */
	expect_err(cu_archive_resolve(id, a, "SI01-SB-2026-D100-DJ-000003"), CU_ENOTFOUND, NULL);
	expect_err(cu_archive_resolve(id, a, "SI01-SB\xc2\xb7" "2026-D30-DY-000001"), CU_ENOTFOUND,
		NULL);
	snprintf(key, sizeof(key), "%.12s", os.o[0].id);
	key[0] = key[0] == '0' ? '1' : '0';
	if (strncmp(key, os.o[1].id, 12) != 0)
		expect_err(cu_archive_resolve(id, a, key), CU_ENOTFOUND, NULL);
	snprintf(key, sizeof(key), "sha256:%064d", 0);
	expect_err(cu_archive_resolve(id, a, key), CU_ENOTFOUND, NULL);
	/* malformed */
	snprintf(key, sizeof(key), "%.11s", os.o[0].id);
	assert_int_equal(cu_archive_resolve(id, a, key), CU_EINVALID);
	assert_int_equal(cu_archive_resolve(id, a, "sha256:abc"), CU_EINVALID);
	assert_int_equal(cu_archive_resolve(id, a, "zzzzzzzzzzzzzzzz"), CU_EINVALID);
	cu_archive_free(a);
	free(buf);
}

/* ---- get ----------------------------------------------------------------- */

static void
check_get_event(const char *arch, const char *id, const char *ref, const char *purpose,
	int unmasked, const char *output)
{
	char evpath[256];
	json_t *ev = last_event(arch, evpath, sizeof(evpath)), *recs;
	char *subj;

	assert_string_equal(json_string_value(json_object_get(ev, "kind")), "access");
	assert_string_equal(json_string_value(json_object_get(ev, "action")), "get");
	recs = json_object_get(ev, "records");
	assert_int_equal(json_array_size(recs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "id")), id);
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "ref")), ref);
	assert_string_equal(json_string_value(json_object_get(ev, "purpose")), purpose);
	assert_true(json_is_boolean(json_object_get(ev, "unmasked")));
	assert_int_equal(json_is_true(json_object_get(ev, "unmasked")), unmasked);
	assert_string_equal(json_string_value(json_object_get(ev, "output")), output);
	/* the event is named by its id */
	assert_non_null(strstr(evpath, json_string_value(json_object_get(ev, "id"))));
	subj = last_subject(arch);
	assert_non_null(strstr(subj, ref));
	assert_int_equal(strstr(subj, "(unmasked)") != NULL, unmasked);
	free(subj);
	json_decref(ev);
}

static void
test_get(void **state)
{
	char arch[256], r1[1024], r2[1024], *buf, *content = NULL;
	size_t clen = 0;
	struct outs os = { .n = 0 };
	cu_archive *a;
	json_t *doc = NULL, *rec;
	cu_get_opts o;
	long n;

	(void)state;
	new_archive(arch, sizeof(arch), "get", NULL);
	RC(r1, .no = "G-1", .summary = "r1 get");
	RC(r2, .no = "G-2", .person = P2, .summary = "r2 get", .amount = "0.5");
	buf = cu_asprintf("%s\n%s\n", r1, r2);
	assert_non_null(buf);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_one(a, "g.jsonl", buf, &os, NULL);
	assert_int_equal(os.n, 2);
	n = commit_count(arch);

	/* masked by default; the actor set is recorded */
	cu_archive_set_actor(a, "clerk7", 1007);
	o = (cu_get_opts){ .unmask = 0, .content = 0, .purpose = "case 17" };
	assert_int_equal(cu_archive_get(a, os.o[0].ref, &o, &doc, NULL, NULL), 0);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "id")), os.o[0].id);
	assert_string_equal(json_string_value(json_object_get(doc, "ref")), os.o[0].ref);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "receipt");
	assert_string_equal(json_string_value(json_object_get(doc, "source")), "g.jsonl#1");
	rec = json_object_get(doc, "receipt");
	assert_string_equal(json_string_value(json_object_get(rec, "receipt_no")), "G-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "subject"),
		"id_no")), P1_MASKED);
	json_decref(doc);
	doc = NULL;
	assert_int_equal(commit_count(arch), n + 1);
	check_get_event(arch, os.o[0].id, os.o[0].ref, "case 17", 0, "record");
	{
		char evpath[256], *msg;
		json_t *ev = last_event(arch, evpath, sizeof(evpath));
		json_t *by = json_object_get(ev, "by");
		assert_string_equal(json_string_value(json_object_get(by, "user")), "clerk7");
		assert_int_equal(json_integer_value(json_object_get(by, "uid")), 1007);
		json_decref(ev);
		msg = sh_out("git --git-dir='%s/history.git' log -1 --format=%%B main", arch);
		assert_non_null(strstr(msg, "Actor: clerk7 (uid 1007)"));
		free(msg);
	}

	/* unmasked, by id prefix */
	o = (cu_get_opts){ .unmask = 1, .content = 0, .purpose = "case 18" };
	{
		char key[16];
		snprintf(key, sizeof(key), "%.12s", os.o[1].id);
		assert_int_equal(cu_archive_get(a, key, &o, &doc, NULL, NULL), 0);
	}
	rec = json_object_get(doc, "receipt");
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "subject"),
		"id_no")), P2);
	assert_int_equal(json_integer_value(json_object_get(rec, "amount_fen")), 50);
	json_decref(doc);
	doc = NULL;
	assert_int_equal(commit_count(arch), n + 2);
	check_get_event(arch, os.o[1].id, os.o[1].ref, "case 18", 1, "record");

	/* content: exactly the bytes of that line */
	o = (cu_get_opts){ .unmask = 0, .content = 1, .purpose = "case 19" };
	assert_int_equal(cu_archive_get(a, "SI01-SB-2026-D100-DJ-000002", &o, &doc, &content,
		&clen), 0);
	assert_non_null(doc);
	assert_non_null(content);
	assert_int_equal(clen, strlen(r2));
	assert_memory_equal(content, r2, clen);
	/* the document stays masked without unmask */
	rec = json_object_get(doc, "receipt");
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "subject"),
		"id_no")), P2_MASKED);
	free(content);
	content = NULL;
	json_decref(doc);
	doc = NULL;
	assert_int_equal(commit_count(arch), n + 3);
	/* the content holds the number in clear: recorded as unmasked */
	check_get_event(arch, os.o[1].id, os.o[1].ref, "case 19", 1, "content");

	o = (cu_get_opts){ .unmask = 0, .content = 1, .purpose = "case 20" };
	assert_int_equal(cu_archive_get(a, os.o[0].ref, &o, &doc, &content, &clen), 0);
	assert_int_equal(clen, strlen(r1));
	assert_memory_equal(content, r1, clen);
	free(content);
	content = NULL;
	json_decref(doc);
	doc = NULL;
	assert_int_equal(commit_count(arch), n + 4);

	/* unknown: nothing returned, nothing recorded */
	o = (cu_get_opts){ .unmask = 0, .content = 0, .purpose = "case 21" };
	expect_err(cu_archive_get(a, "SI01-SB-2026-D100-DJ-000009", &o, &doc, NULL, NULL),
		CU_ENOTFOUND, NULL);
	assert_null(doc);
	assert_int_equal(commit_count(arch), n + 4);
	cu_archive_free(a);

	/* a single-object file: the content is the bytes given */
	{
		char r3[1024];
		struct outs o3 = { .n = 0 };
		RC(r3, .no = "G-3", .summary = "r3 single");
		a = open_arch(arch, CU_ARCHIVE_WRITE);
		ingest_one(a, "single.json", r3, &o3, NULL);
		assert_int_equal(o3.o[0].status, CU_INGEST_ARCHIVED);
		o = (cu_get_opts){ .unmask = 0, .content = 1, .purpose = "case 22" };
		assert_int_equal(cu_archive_get(a, o3.o[0].ref, &o, &doc, &content, &clen), 0);
		assert_int_equal(clen, strlen(r3));
		assert_memory_equal(content, r3, clen);
		free(content);
		content = NULL;
		json_decref(doc);
		doc = NULL;
		cu_archive_free(a);
	}

	/* a reader cannot get: nothing returned, nothing recorded */
	n = commit_count(arch);
	a = open_arch(arch, CU_ARCHIVE_READ);
	o = (cu_get_opts){ .unmask = 1, .content = 1, .purpose = "case 23" };
	content = (char *)"sentinel";
	assert_int_not_equal(cu_archive_get(a, os.o[0].ref, &o, &doc, &content, &clen), 0);
	assert_null(doc);
	assert_null(content);
	assert_int_equal(commit_count(arch), n);
	cu_archive_free(a);
	free(buf);
}

/* The exact bytes of a one-receipt file, surrounding whitespace included
 * (docs/archive.md: "for a file holding one receipt, the whole file"). */
static void
test_get_content_whole_file(void **state)
{
	char arch[256], r1[1024], *file, *content = NULL, key[128], dig[65], id[65];
	unsigned char d[32];
	size_t clen = 0;
	struct outs os = { .n = 0 };
	cu_archive *a;
	json_t *doc = NULL;
	cu_get_opts o = { .unmask = 0, .content = 1, .purpose = "whole file" };

	(void)state;
	new_archive(arch, sizeof(arch), "wholefile", NULL);
	RC(r1, .no = "W-1", .summary = "r1 whole");
	file = cu_asprintf("%s\n", r1);   /* as written by any editor */
	assert_non_null(file);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_one(a, "window-0001.json", file, &os, NULL);
	assert_int_equal(os.n, 1);
	assert_int_equal(os.o[0].status, CU_INGEST_ARCHIVED);
	assert_string_equal(os.o[0].source, "window-0001.json");
	assert_int_equal(cu_archive_get(a, os.o[0].ref, &o, &doc, &content, &clen), 0);
	json_decref(doc);
	/* `sha256sum window-0001.json` finds the record */
	assert_int_equal(cu_sha256(d, file, strlen(file)), 0);
	cu_hex(dig, d, 32);
	snprintf(key, sizeof(key), "sha256:%s", dig);
	int rc = cu_archive_resolve(id, a, key);
	int same = clen == strlen(file) && memcmp(content, file, clen) == 0;
	free(content);
	free(file);
	cu_archive_free(a);
	if (!same)
		fail_msg("content of a one-receipt file is %zu bytes, the file %zu: not the whole "
			"file", clen, strlen(r1) + 1);
	assert_int_equal(rc, 0);
}

/* ---- index rebuild and crash replay --------------------------------------- */

static void
test_index_rebuild(void **state)
{
	char arch[256], r6[1024];
	struct outs os = { .n = 0 }, o2 = { .n = 0 };
	cu_archive *a;
	char *all, *p1, *txt, *org, *all2, *p12, *txt2, *org2;
	unsigned long maxitem = 0;

	(void)state;
	fill_search_archive(arch, sizeof(arch), "rebuild", &os);
	/* an access event in the history too */
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	{
		json_t *doc = NULL;
		cu_get_opts o = { .unmask = 0, .content = 0, .purpose = "before rebuild" };
		assert_int_equal(cu_archive_get(a, os.o[0].ref, &o, &doc, NULL, NULL), 0);
		json_decref(doc);
	}
	cu_archive_free(a);

	a = open_arch(arch, CU_ARCHIVE_READ);
	all = dump_search(a, Q(.limit = 0));
	p1 = dump_search(a, Q(.person = P1));
	txt = dump_search(a, Q(.text = "alpha"));
	org = dump_search(a, Q(.org = USCC));
	cu_archive_free(a);
	assert_non_null(strstr(all, "r5 delta"));

	sh("rm -rf '%s'/index/*", arch);
	assert_false(exists("%s/index/data.mdb", arch));
	a = open_arch(arch, CU_ARCHIVE_READ);
	assert_true(exists("%s/index/data.mdb", arch));
	assert_int_equal(cu_archive_lock_holder(arch), 0);
	all2 = dump_search(a, Q(.limit = 0));
	p12 = dump_search(a, Q(.person = P1));
	txt2 = dump_search(a, Q(.text = "alpha"));
	org2 = dump_search(a, Q(.org = USCC));
	{
		char id[65];
		assert_int_equal(cu_archive_resolve(id, a, os.o[2].ref), 0);
		assert_string_equal(id, os.o[2].id);
	}
	cu_archive_free(a);
	assert_string_equal(all2, all);
	assert_string_equal(p12, p1);
	assert_string_equal(txt2, txt);
	assert_string_equal(org2, org);
	free(all2);
	free(p12);
	free(txt2);
	free(org2);

	/* a writer after the index is gone: numbers continue from the history,
	 * duplicates are still recognised, content is still found */
	for (int i = 0; i < os.n; i++)
		if (strstr(os.o[i].ref, "D100-DJ") != NULL && item_of(os.o[i].ref) > maxitem)
			maxitem = item_of(os.o[i].ref);
	assert_int_equal(maxitem, 1);
	sh("rm -rf '%s'/index/*", arch);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	RC(r6, .no = "S-6", .at = "2026-05-01T10:00:00+08:00", .summary = "r6 new");
	ingest_one(a, "s6.json", r6, &o2, NULL);
	assert_int_equal(o2.o[0].status, CU_INGEST_ARCHIVED);
	assert_string_equal(o2.o[0].ref, "SI01-SB\xc2\xb7" "2026-D100-DJ-000002");
	assert_int_equal(item_of(o2.o[0].ref), maxitem + 1);
	{
		char r1[1024];
		struct outs o3 = { .n = 0 };
		RC(r1, .no = "S-1", .at = "2026-01-10T09:00:00+08:00", .person = P1,
			.service = "registration", .insurance = "pension", .channel = "window",
			.agency = "110105", .op = "op-017", .summary = "r1 alpha beta");
		ingest_one(a, "s1.json", r1, &o3, NULL);
		assert_int_equal(o3.o[0].status, CU_INGEST_DUPLICATE);
		assert_string_equal(o3.o[0].ref, os.o[0].ref);
	}
	{
		json_t *doc = NULL;
		char *content = NULL;
		size_t clen;
		cu_get_opts o = { .unmask = 0, .content = 1, .purpose = "after rebuild" };
		assert_int_equal(cu_archive_get(a, os.o[3].ref, &o, &doc, &content, &clen), 0);
		assert_non_null(content);
		assert_non_null(memmem(content, clen, "r4 alpha gamma", 14));
		free(content);
		json_decref(doc);
	}
	cu_archive_free(a);
	free(all);
	free(p1);
	free(txt);
	free(org);
}

/* A child process holding the writers' lock (as a busy writer would, its
 * pid in the lock file) until release_lock(). */
static pid_t
hold_lock(const char *arch, int *go_fd)
{
	int ready[2], go[2];
	pid_t pid;
	char c = 0;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char p[512], buf[32];
		struct pollfd pfd = { go[0], POLLIN, 0 };
		int fd, n;
		close(ready[0]);
		close(go[1]);
		snprintf(p, sizeof(p), "%s/lock", arch);
		if ((fd = open(p, O_RDWR)) < 0 || flock(fd, LOCK_EX) != 0)
			_exit(2);
		n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n ||
		    write(ready[1], "R", 1) != 1)
			_exit(3);
		poll(&pfd, 1, 30000);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(c, 'R');
	*go_fd = go[1];
	return pid;
}

static void
release_lock(pid_t pid, int go_fd)
{
	int status;

	assert_int_equal(write(go_fd, "G", 1), 1);
	close(go_fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The history holds a batch the index never committed (a crash between the
 * two): the next open replays it. */
static void
crash_case(int reopen_mode)
{
	char arch[256], name[32], r1[1024], r2[1024], r3[1024], r4[1024], r5[1024], *x;
	struct outs os = { .n = 0 }, ox = { .n = 0 }, oy = { .n = 0 }, oz = { .n = 0 };
	cu_ingest_stats st;
	cu_archive *a;
	long n;

	snprintf(name, sizeof(name), "crash%d", reopen_mode);
	new_archive(arch, sizeof(arch), name, NULL);
	RC(r1, .no = "K-1", .summary = "r1 before");
	RC(r2, .no = "K-2", .org = USCC, .summary = "r2 before");
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	x = cu_asprintf("%s\n%s\n", r1, r2);
	assert_non_null(x);
	ingest_one(a, "k1.jsonl", x, &os, NULL);
	free(x);
	cu_archive_free(a);

	sh("cp -a '%s/index' '%s/index.saved'", arch, arch);
	n = commit_count(arch);
	RC(r3, .no = "K-3", .summary = "r3 lost", .at = "2026-11-21T09:00:00+08:00");
	RC(r4, .no = "K-4", .person = P2, .summary = "r4 lost", .at = "2026-11-22T09:00:00+08:00");
	x = cu_asprintf("%s\n%s\n", r3, r4);
	assert_non_null(x);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	ingest_one(a, "k2.jsonl", x, &ox, &st);
	assert_int_equal(st.archived, 2);
	cu_archive_free(a);
	assert_int_equal(commit_count(arch), n + 1);
	sh("rm -rf '%s/index' && mv '%s/index.saved' '%s/index'", arch, arch, arch);

	if (reopen_mode == CU_ARCHIVE_READ) {
		/* a reader cannot repair while a writer is busy: it says so and
		 * answers from the index as it is */
		int go;
		pid_t pid = hold_lock(arch, &go);
		char id[65];
		json_t *hits;
		a = open_arch(arch, CU_ARCHIVE_READ);
		assert_int_equal(cu_archive_lock_holder(arch), (long)pid);
		assert_int_equal(cu_archive_index_behind(a), 1);
		hits = search(a, Q(.text = "lost"));
		assert_int_equal(json_array_size(hits), 0);
		json_decref(hits);
		assert_int_equal(cu_archive_resolve(id, a, ox.o[1].ref), CU_ENOTFOUND);
		cu_archive_free(a);
		release_lock(pid, go);
	}
	a = open_arch(arch, reopen_mode);
	assert_int_equal(cu_archive_index_behind(a), 0);
	{
		char id[65];
		assert_int_equal(cu_archive_resolve(id, a, ox.o[1].ref), 0);
		assert_string_equal(id, ox.o[1].id);
	}
	{
		char got[256];
		json_t *hits = search(a, Q(.text = "lost"));
		tags(got, sizeof(got), hits);
		json_decref(hits);
		assert_string_equal(got, "r4 r3");
		hits = search(a, Q(.person = P2));
		tags(got, sizeof(got), hits);
		json_decref(hits);
		assert_string_equal(got, "r4");
	}
	if (reopen_mode == CU_ARCHIVE_READ) {
		cu_archive_free(a);
		a = open_arch(arch, CU_ARCHIVE_WRITE);
	}
	/* the same input again: duplicates, nothing archived twice */
	ingest_one(a, "k2.jsonl", x, &oy, &st);
	assert_int_equal(oy.n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(oy.o[i].status, CU_INGEST_DUPLICATE);
		assert_string_equal(oy.o[i].ref, ox.o[i].ref);
		assert_string_equal(oy.o[i].id, ox.o[i].id);
	}
	assert_int_equal(st.archived, 0);
	assert_int_equal(st.commits, 0);
	assert_int_equal(commit_count(arch), n + 1);
	/* numbers continue after the replayed ones */
	RC(r5, .no = "K-5", .summary = "r5 after");
	ingest_one(a, "k5.json", r5, &oz, NULL);
	assert_int_equal(oz.o[0].status, CU_INGEST_ARCHIVED);
	assert_int_equal(item_of(oz.o[0].ref), item_of(ox.o[1].ref) + 1);
	assert_int_equal(item_of(ox.o[1].ref), 3);
	/* the replayed batch's content is found (its pack registered) */
	{
		json_t *doc = NULL;
		char *content = NULL;
		size_t clen = 0;
		cu_get_opts o = { .unmask = 0, .content = 1, .purpose = "after crash" };
		assert_int_equal(cu_archive_get(a, ox.o[0].ref, &o, &doc, &content, &clen), 0);
		assert_int_equal(clen, strlen(r3));
		assert_memory_equal(content, r3, clen);
		free(content);
		json_decref(doc);
	}
	{
		json_t *hits = search(a, Q(.limit = 0));
		assert_int_equal(json_array_size(hits), 5);
		json_decref(hits);
	}
	cu_archive_free(a);
	free(x);
}

static void
test_crash_replay_writer(void **state)
{
	(void)state;
	crash_case(CU_ARCHIVE_WRITE);
}

static void
test_crash_replay_reader(void **state)
{
	(void)state;
	crash_case(CU_ARCHIVE_READ);
}

/* ---- privacy of the index ------------------------------------------------- */

static void
test_index_has_no_clear_id(void **state)
{
	static const char *ids[] = { P1, "11010519491231002x", P2 };
	char arch[256], p[512], *data = NULL;
	size_t len = 0;
	struct outs os = { .n = 0 };
	cu_archive *a;

	(void)state;
	fill_search_archive(arch, sizeof(arch), "privacy", &os);
	/* unmasking retrievals are indexed too */
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	{
		json_t *doc = NULL, *hits;
		cu_get_opts o = { .unmask = 1, .content = 0, .purpose = "privacy" };
		assert_int_equal(cu_archive_get(a, os.o[0].ref, &o, &doc, NULL, NULL), 0);
		json_decref(doc);
		hits = search(a, Q(.person = P2, .unmask = 1, .purpose = "privacy"));
		assert_int_equal(json_array_size(hits), 2);
		json_decref(hits);
	}
	cu_archive_free(a);

	snprintf(p, sizeof(p), "%s/index/data.mdb", arch);
	assert_int_equal(cu_read_file(&data, &len, p, 1u << 30), 0);
	assert_true(len > 0);
	/* the masked form is there: the bytes are the index's */
	assert_non_null(memmem(data, len, P1_MASKED, 18));
	assert_non_null(memmem(data, len, P2_MASKED, 18));
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char hexl[37], hexu[37];
		cu_hex(hexl, (const unsigned char *)ids[i], 18);
		for (int k = 0; k < 37; k++)
			hexu[k] = (char)((hexl[k] >= 'a' && hexl[k] <= 'f') ? hexl[k] - 32 : hexl[k]);
		if (memmem(data, len, ids[i], 18) != NULL)
			fail_msg("index holds ID number %zu in clear", i);
		if (memmem(data, len, hexl, 36) != NULL || memmem(data, len, hexu, 36) != NULL)
			fail_msg("index holds ID number %zu in hex", i);
		/* nor its 17 digits without the check character */
		if (memmem(data, len, ids[i], 17) != NULL)
			fail_msg("index holds the digits of ID number %zu", i);
	}
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_numbers_are_valid),
		cmocka_unit_test(test_init_layout),
		cmocka_unit_test(test_init_refuses_existing),
		cmocka_unit_test(test_init_bad_input_leaves_nothing),
		cmocka_unit_test(test_init_failure_midway_cleans_up),
		cmocka_unit_test(test_init_failure_keeps_callers_folder),
		cmocka_unit_test(test_init_custom_conf_batches),
		cmocka_unit_test(test_ingest_outcomes),
		cmocka_unit_test(test_ingest_abort),
		cmocka_unit_test(test_ingest_path_folder),
		cmocka_unit_test(test_ingest_path_empty_folder),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_search_filters),
		cmocka_unit_test(test_search_unmask),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_get_content_whole_file),
		cmocka_unit_test(test_index_rebuild),
		cmocka_unit_test(test_crash_replay_writer),
		cmocka_unit_test(test_crash_replay_reader),
		cmocka_unit_test(test_index_has_no_clear_id),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
