/*
 * test_history.c — the ledger repository: batches, reads, replay, one pack
 * per batch, signatures that stock git verifies, compare-and-swap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "custos/error.h"
#include "custos/history.h"
#include "custos/sig.h"
#include "custos/util.h"

/* test seam in history.c (see there) */
extern void (*cu_history_test_before_publish)(cu_history *h, void *payload);
extern void *cu_history_test_payload;

#define PRINCIPAL "custos@example.org"

struct fixture {
	char dir[64];
	char repo[128];
	char key[128];
	char allowed[128];
	cu_signer *signer;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *line;
	FILE *fp;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/custos-history-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/history.git", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/signing.pem", f->dir);
	snprintf(f->allowed, sizeof(f->allowed), "%s/allowed_signers", f->dir);
	if (cu_sig_keygen(f->key) < 0 || cu_signer_load(&f->signer, f->key) < 0 ||
	    cu_history_init(f->repo) < 0) {
		fprintf(stderr, "setup: %s\n", cu_error_last());
		return -1;
	}
	if ((line = cu_sig_allowed_signers(cu_signer_pub(f->signer), PRINCIPAL)) == NULL ||
	    (fp = fopen(f->allowed, "w")) == NULL)
		return -1;
	fprintf(fp, "%s\n", line);
	fclose(fp);
	free(line);
	cu_history_test_before_publish = NULL;
	cu_history_test_payload = NULL;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	cu_history_test_before_publish = NULL;
	cu_signer_free(f->signer);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A batch of files whose paths and bytes the test owns. */
struct batch {
	cu_history_file *files;
	char           **paths;
	char           **data;
	size_t           n, cap;
};

static void
batch_add(struct batch *b, const char *path, const char *data)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->files = realloc(b->files, b->cap * sizeof(*b->files));
		b->paths = realloc(b->paths, b->cap * sizeof(*b->paths));
		b->data = realloc(b->data, b->cap * sizeof(*b->data));
		assert_non_null(b->files);
		assert_non_null(b->paths);
		assert_non_null(b->data);
	}
	b->paths[b->n] = strdup(path);
	b->data[b->n] = strdup(data);
	assert_non_null(b->paths[b->n]);
	assert_non_null(b->data[b->n]);
	b->files[b->n] = (cu_history_file){ b->paths[b->n], b->data[b->n], strlen(data) };
	b->n++;
}

/* A record document and its fan-out path, from a counter. */
static void
batch_add_record(struct batch *b, const char *dir, unsigned long k, size_t pad)
{
	unsigned char id[CU_SHA256_LEN];
	char hex[CU_SHA256_HEX], path[96], *doc;
	size_t n;

	doc = malloc(pad + 128);
	assert_non_null(doc);
	n = (size_t)snprintf(doc, pad + 128, "{\"kind\":\"receipt\",\"seq\":%lu,\"note\":\"", k);
	for (size_t i = 0; i < pad; i++)
		doc[n++] = (char)('a' + (k * 31 + i * 7) % 26);
	memcpy(doc + n, "\"}", 3);
	assert_int_equal(cu_sha256(id, doc, strlen(doc)), 0);
	cu_hex(hex, id, sizeof(id));
	cu_history_path(path, sizeof(path), dir, hex);
	batch_add(b, path, doc);
	free(doc);
}

static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->paths[i]);
		free(b->data[i]);
	}
	free(b->files);
	free(b->paths);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int
commit_batch(char head[CU_OID_HEX], cu_history *h, const struct batch *b,
	const char *msg, const struct fixture *f)
{
	return cu_history_commit(head, h, b->files, b->n, msg, "custos", PRINCIPAL, f->signer);
}

/* Counts the files in objects/pack with the given suffix, and the loose
 * objects (files in objects/xx/). */
static void
count_objects(const struct fixture *f, size_t *packs, size_t *idxs, size_t *loose)
{
	char path[256];
	struct dirent *de;
	DIR *d;

	*packs = *idxs = *loose = 0;
	snprintf(path, sizeof(path), "%s/objects/pack", f->repo);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > 5 && strcmp(de->d_name + n - 5, ".pack") == 0)
			(*packs)++;
		if (n > 4 && strcmp(de->d_name + n - 4, ".idx") == 0)
			(*idxs)++;
	}
	closedir(d);
	snprintf(path, sizeof(path), "%s/objects", f->repo);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == 2 && de->d_name[0] != '.') {
			char sub[600];
			struct dirent *e;
			DIR *sd;

			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			assert_non_null(sd = opendir(sub));
			while ((e = readdir(sd)) != NULL)
				if (e->d_name[0] != '.')
					(*loose)++;
			closedir(sd);
		}
	}
	closedir(d);
}

static void
expect_read(cu_history *h, const char *at, const char *path, const char *want)
{
	char *data = NULL;
	size_t len = 0;

	if (cu_history_read(&data, &len, h, at, path) != 0)
		fail_msg("%s: %s", path, cu_error_last());
	assert_int_equal(len, strlen(want));
	assert_string_equal(data, want);   /* NUL-terminated */
	free(data);
}

/* What a replay delivered, in order. */
struct seen {
	char  (*commit)[CU_OID_HEX];
	char  **path;
	char  **data;
	size_t  n, cap;
	size_t  stop_after;     /* 0 = never stop */
};

static int
collect(const char *commit, const char *path, const char *data, size_t len, void *payload)
{
	struct seen *s = payload;

	assert_int_equal(data[len], '\0');
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->commit = realloc(s->commit, s->cap * sizeof(*s->commit));
		s->path = realloc(s->path, s->cap * sizeof(*s->path));
		s->data = realloc(s->data, s->cap * sizeof(*s->data));
		assert_non_null(s->commit);
		assert_non_null(s->path);
		assert_non_null(s->data);
	}
	snprintf(s->commit[s->n], CU_OID_HEX, "%s", commit);
	s->path[s->n] = strdup(path);
	s->data[s->n] = strndup(data, len);
	s->n++;
	if (s->stop_after > 0 && s->n == s->stop_after)
		return 42;
	return 0;
}

static void
seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->path[i]);
		free(s->data[i]);
	}
	free(s->commit);
	free(s->path);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

static int
cmp_index_by_path(const void *a, const void *b, void *paths)
{
	char **p = paths;

	return strcmp(p[*(const size_t *)a], p[*(const size_t *)b]);
}

/* Checks that s[*at..] holds exactly the files of batch b (minus those
 * listed in skip) for `commit`, in path order, and advances *at. */
static void
expect_replayed(const struct seen *s, size_t *at, const char *commit,
	const struct batch *b, const char *skip)
{
	size_t *order = malloc(b->n * sizeof(*order)), k = 0;

	assert_non_null(order);
	for (size_t i = 0; i < b->n; i++)
		order[i] = i;
	qsort_r(order, b->n, sizeof(*order), cmp_index_by_path, b->paths);
	for (size_t i = 0; i < b->n; i++) {
		size_t j = order[i];

		if (skip != NULL && strcmp(b->paths[j], skip) == 0)
			continue;
		assert_true(*at + k < s->n);
		assert_string_equal(s->commit[*at + k], commit);
		assert_string_equal(s->path[*at + k], b->paths[j]);
		assert_string_equal(s->data[*at + k], b->data[j]);
		k++;
	}
	*at += k;
	free(order);
}

static void
test_init(void **state)
{
	struct fixture *f = *state;
	char path[256], *head = NULL;
	size_t len;
	FILE *fp;

	/* HEAD names main, so stock git sees the ledger */
	snprintf(path, sizeof(path), "%s/HEAD", f->repo);
	assert_int_equal(cu_read_file(&head, &len, path, 4096), 0);
	assert_string_equal(head, "ref: refs/heads/main\n");
	free(head);
	assert_int_equal(run("test \"$(git --git-dir='%s' rev-parse --is-bare-repository)\" = true",
		f->repo), 0);

	assert_int_equal(cu_history_init(f->repo), CU_EEXISTS);

	/* an empty folder is fine, a file or a non-empty folder is not */
	snprintf(path, sizeof(path), "%s/empty.git", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(cu_history_init(path), 0);
	snprintf(path, sizeof(path), "%s/file", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_int_equal(cu_history_init(path), CU_EEXISTS);
	snprintf(path, sizeof(path), "%s/new/deeper.git", f->dir);
	assert_int_equal(cu_history_init(path), 0);
}

static void
test_empty_history(void **state)
{
	struct fixture *f = *state;
	struct seen s = { 0 };
	char head[CU_OID_HEX], *data = NULL, missing[256];
	cu_history *h = NULL;
	size_t len, n = 99;

	assert_int_equal(cu_history_open(&h, f->repo), 0);
	assert_int_equal(cu_history_head(head, h), CU_ENOTFOUND);
	assert_int_equal(cu_history_count_since(&n, h, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cu_history_replay(h, NULL, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(cu_history_read(&data, &len, h, NULL, "archive.json"), CU_ENOTFOUND);
	assert_null(data);
	cu_history_free(h);

	snprintf(missing, sizeof(missing), "%s/nothing.git", f->dir);
	assert_int_equal(cu_history_open(&h, missing), CU_ENOTFOUND);
	assert_null(h);
}

/* Three batches, read back, replayed, counted, and checked by git. */
static void
test_batches(void **state)
{
	struct fixture *f = *state;
	struct batch b1 = { 0 }, b2 = { 0 }, b3 = { 0 };
	char c1[CU_OID_HEX], c2[CU_OID_HEX], c3[CU_OID_HEX], head[CU_OID_HEX];
	size_t packs, idxs, loose, n, at;
	struct seen s = { 0 };
	cu_history *h = NULL;
	char *text = NULL;
	size_t len;

	assert_int_equal(cu_history_open(&h, f->repo), 0);

	batch_add(&b1, "archive.json", "{\"name\":\"test archive\",\"v\":1}");
	batch_add(&b1, "archive.conf", "fonds = \"J001\";\n");
	for (unsigned long k = 0; k < 10; k++)
		batch_add_record(&b1, "records", k, 200);
	assert_int_equal(commit_batch(c1, h, &b1, "archive created", f), 0);
	assert_int_equal(cu_history_head(head, h), 0);
	assert_string_equal(head, c1);

	for (unsigned long k = 10; k < 2010; k++)
		batch_add_record(&b2, "records", k, 300);
	for (unsigned long k = 0; k < 20; k++)
		batch_add_record(&b2, "events", k, 50);
	if (commit_batch(c2, h, &b2, "batch 2\n", f) != 0)
		fail_msg("%s", cu_error_last());

	/* a changed file, an unchanged one, a new deep path, new records */
	batch_add(&b3, "archive.json", "{\"name\":\"test archive\",\"v\":2}");
	batch_add(&b3, "archive.conf", "fonds = \"J001\";\n");
	batch_add(&b3, "a/b/c/d.json", "{}");
	batch_add(&b3, "a.json", "[]");
	for (unsigned long k = 5000; k < 5005; k++)
		batch_add_record(&b3, "records", k, 100);
	assert_int_equal(commit_batch(c3, h, &b3, "batch 3", f), 0);
	assert_int_equal(cu_history_head(head, h), 0);
	assert_string_equal(head, c3);

	/* reads at head and at older commits */
	expect_read(h, NULL, "archive.json", "{\"name\":\"test archive\",\"v\":2}");
	expect_read(h, c1, "archive.json", "{\"name\":\"test archive\",\"v\":1}");
	expect_read(h, c2, "archive.json", "{\"name\":\"test archive\",\"v\":1}");
	expect_read(h, NULL, b2.paths[1234], b2.data[1234]);
	expect_read(h, c2, b2.paths[0], b2.data[0]);
	expect_read(h, NULL, b1.paths[5], b1.data[5]);
	expect_read(h, NULL, "a/b/c/d.json", "{}");
	{
		char *data = NULL;

		assert_int_equal(cu_history_read(&data, &len, h, c1, b2.paths[0]), CU_ENOTFOUND);
		assert_int_equal(cu_history_read(&data, &len, h, NULL, "records/zz/none.json"),
			CU_ENOTFOUND);
		assert_int_equal(cu_history_read(&data, &len, h, NULL, "records"), CU_ENOTFOUND);
		assert_int_equal(cu_history_read(&data, &len, h, "nothex", "archive.json"),
			CU_EINVALID);
		assert_int_equal(cu_history_read(&data, &len, h,
			"0123456789012345678901234567890123456789", "archive.json"), CU_ENOTFOUND);
		assert_null(data);
	}

	/* replay from the root: every batch's files, oldest first, in path
	 * order; the unchanged archive.conf of batch 3 is not delivered */
	assert_int_equal(cu_history_replay(h, NULL, collect, &s), 0);
	at = 0;
	expect_replayed(&s, &at, c1, &b1, NULL);
	expect_replayed(&s, &at, c2, &b2, NULL);
	expect_replayed(&s, &at, c3, &b3, "archive.conf");
	assert_int_equal(at, s.n);
	seen_free(&s);

	/* replay from the first commit */
	assert_int_equal(cu_history_replay(h, c1, collect, &s), 0);
	at = 0;
	expect_replayed(&s, &at, c2, &b2, NULL);
	expect_replayed(&s, &at, c3, &b3, "archive.conf");
	assert_int_equal(at, s.n);
	seen_free(&s);

	/* from the head: nothing; a callback's non-zero return stops the walk */
	assert_int_equal(cu_history_replay(h, c3, collect, &s), 0);
	assert_int_equal(s.n, 0);
	s.stop_after = 3;
	assert_int_equal(cu_history_replay(h, NULL, collect, &s), 42);
	assert_int_equal(s.n, 3);
	seen_free(&s);
	assert_int_equal(cu_history_replay(h, "0123456789012345678901234567890123456789",
		collect, &s), CU_ENOTFOUND);

	assert_int_equal(cu_history_count_since(&n, h, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(cu_history_count_since(&n, h, c1), 0);
	assert_int_equal(n, 2);
	assert_int_equal(cu_history_count_since(&n, h, c2), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cu_history_count_since(&n, h, c3), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cu_history_count_since(&n, h, "xyz"), CU_EINVALID);

	/* the commit text carries the signature, which checks out */
	assert_int_equal(cu_history_commit_text(&text, &len, h, c2), 0);
	assert_int_equal(strlen(text), len);
	assert_memory_equal(text, "tree ", 5);
	assert_non_null(strstr(text, "\ngpgsig -----BEGIN SSH SIGNATURE-----\n"));
	assert_non_null(strstr(text, "\nauthor custos <" PRINCIPAL "> "));
	assert_non_null(strstr(text, "\n\nbatch 2\n"));
	{
		/* unfold the gpgsig header: the rest is the signed payload */
		char *sig = malloc(len + 1), *payload = malloc(len + 1), *p = text;
		size_t sn = 0, pn = 0;
		unsigned char pub[CU_ED25519_PUB];

		assert_non_null(sig);
		assert_non_null(payload);
		while (*p != '\0') {
			char *eol = strchr(p, '\n');
			size_t ll = eol != NULL ? (size_t)(eol - p) + 1 : strlen(p);

			if (strncmp(p, "gpgsig ", 7) == 0) {
				memcpy(sig + sn, p + 7, ll - 7), sn += ll - 7;
				p += ll;
				while (*p == ' ') {
					eol = strchr(p, '\n');
					ll = (size_t)(eol - p) + 1;
					memcpy(sig + sn, p + 1, ll - 1), sn += ll - 1;
					p += ll;
				}
				continue;
			}
			memcpy(payload + pn, p, ll), pn += ll;
			p += ll;
		}
		sig[sn] = payload[pn] = '\0';
		assert_int_equal(cu_sshsig_verify(pub, sig, "git", payload, pn), 0);
		assert_memory_equal(pub, cu_signer_pub(f->signer), CU_ED25519_PUB);
		payload[pn - 2] ^= 1;
		assert_int_equal(cu_sshsig_verify(NULL, sig, "git", payload, pn), CU_EINVALID);
		free(sig);
		free(payload);
	}
	free(text);
	assert_int_equal(cu_history_commit_text(&text, &len, h, "nope"), CU_EINVALID);

	/* stock git: every signature verifies, the repository is sound */
	{
		const char *commits[] = { c1, c2, c3 };

		for (size_t i = 0; i < 3; i++)
			assert_int_equal(run("git --git-dir='%s' -c gpg.ssh.allowedSignersFile='%s' "
				"verify-commit %s >/dev/null 2>&1", f->repo, f->allowed, commits[i]), 0);
	}
	assert_int_equal(run("git --git-dir='%s' fsck --strict --no-progress >/dev/null 2>&1",
		f->repo), 0);
	/* the packs and their hand-written indexes, as git itself reads them:
	 * each index entry's offset and CRC-32 checked against its pack, and
	 * the index git would build from the pack identical to ours */
	assert_int_equal(run("cd '%s/objects/pack' && n=0 && for i in pack-*.idx; do "
		"git --git-dir='%s' verify-pack \"$i\" >/dev/null 2>&1 || exit 1; "
		"rm -f ../git-built.idx && git index-pack -o ../git-built.idx \"${i%%.idx}.pack\" "
		">/dev/null 2>&1 && cmp -s ../git-built.idx \"$i\" || exit 2; "
		"test \"$(stat -c %%a \"$i\")\" = 444 || exit 3; n=$((n + 1)); done; rm -f ../git-built.idx; test $n -ge 3",
		f->repo, f->repo), 0);
	assert_int_equal(run("test \"$(git --git-dir='%s' rev-list --count main)\" = 3",
		f->repo), 0);
	assert_int_equal(run("test \"$(git --git-dir='%s' ls-tree -r main records | wc -l)\" = 2015",
		f->repo), 0);
	assert_int_equal(run("test \"$(git --git-dir='%s' show main:a.json)\" = '[]'", f->repo), 0);

	/* one pack (and its index) per batch, nothing loose */
	count_objects(f, &packs, &idxs, &loose);
	assert_int_equal(packs, 3);
	assert_int_equal(idxs, 3);
	assert_int_equal(loose, 0);

	/* a second handle sees the same ledger */
	{
		cu_history *h2 = NULL;

		assert_int_equal(cu_history_open(&h2, f->repo), 0);
		assert_int_equal(cu_history_head(head, h2), 0);
		assert_string_equal(head, c3);
		expect_read(h2, c1, "archive.conf", "fonds = \"J001\";\n");
		cu_history_free(h2);
	}

	batch_free(&b1);
	batch_free(&b2);
	batch_free(&b3);
	cu_history_free(h);
}

/* Bad batches are refused whole: no ref move, no pack. */
static void
test_bad_batches(void **state)
{
	struct fixture *f = *state;
	static const char *const bad_paths[] = {
		"", "/abs.json", "a//b.json", "a/../b.json", "./a.json", "dir/",
		".git/config", "x/.GIT/y",
	};
	char c1[CU_OID_HEX], head[CU_OID_HEX], again[CU_OID_HEX], longname[300];
	struct batch b = { 0 };
	size_t packs, idxs, loose;
	cu_history *h = NULL;

	assert_int_equal(cu_history_open(&h, f->repo), 0);
	batch_add(&b, "archive.json", "{}");
	batch_add(&b, "records/ab/x.json", "{\"x\":1}");
	assert_int_equal(commit_batch(c1, h, &b, "first", f), 0);
	batch_free(&b);

	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(*bad_paths); i++) {
		batch_add(&b, "records/cd/ok.json", "{}");
		batch_add(&b, bad_paths[i], "{}");
		assert_int_equal(commit_batch(head, h, &b, "bad", f), CU_EINVALID);
		batch_free(&b);
	}
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	batch_add(&b, longname, "{}");
	assert_int_equal(commit_batch(head, h, &b, "bad", f), CU_EINVALID);
	batch_free(&b);

	/* the same path twice */
	batch_add(&b, "records/cd/ok.json", "{}");
	batch_add(&b, "records/cd/ok.json", "{\"other\":1}");
	assert_int_equal(commit_batch(head, h, &b, "bad", f), CU_EINVALID);
	batch_free(&b);
	/* a file over an existing folder, a folder over an existing file */
	batch_add(&b, "records", "{}");
	assert_int_equal(commit_batch(head, h, &b, "bad", f), CU_EINVALID);
	batch_free(&b);
	batch_add(&b, "archive.json/inner.json", "{}");
	assert_int_equal(commit_batch(head, h, &b, "bad", f), CU_EINVALID);
	batch_free(&b);
	/* and both within one batch */
	batch_add(&b, "new", "{}");
	batch_add(&b, "new-sibling", "{}");
	batch_add(&b, "new/inner.json", "{}");
	assert_int_equal(commit_batch(head, h, &b, "bad", f), CU_EINVALID);
	batch_free(&b);
	/* an identity git refuses */
	batch_add(&b, "records/cd/ok.json", "{}");
	assert_true(cu_history_commit(head, h, b.files, b.n, "bad", "name <x>", "e@x",
		f->signer) < 0);

	/* nothing of that reached the ledger or the disk */
	assert_int_equal(cu_history_head(head, h), 0);
	assert_string_equal(head, c1);
	count_objects(f, &packs, &idxs, &loose);
	assert_int_equal(packs, 1);
	assert_int_equal(loose, 0);

	/* and the handle still works; an empty batch is a commit too */
	assert_int_equal(commit_batch(again, h, &b, "good", f), 0);
	expect_read(h, NULL, "records/cd/ok.json", "{}");
	batch_free(&b);
	assert_int_equal(cu_history_commit(head, h, NULL, 0, "empty", "custos", PRINCIPAL,
		f->signer), 0);
	assert_int_equal(run("git --git-dir='%s' fsck --strict --no-progress >/dev/null 2>&1",
		f->repo), 0);
	cu_history_free(h);
}

/* The hook commits from a second handle while the first one is between
 * reading the head and moving the ref. */
struct race {
	const struct fixture *f;
	cu_history *other;
	char other_head[CU_OID_HEX];
	int fired;
};

static void
race_hook(cu_history *h, void *payload)
{
	struct race *r = payload;
	struct batch b = { 0 };

	(void)h;
	if (r->fired++)
		return;
	batch_add(&b, "records/ee/racer.json", "{\"racer\":true}");
	if (commit_batch(r->other_head, r->other, &b, "racer", r->f) != 0)
		fail_msg("racer: %s", cu_error_last());
	batch_free(&b);
}

static void
test_conflict(void **state)
{
	struct fixture *f = *state;
	struct race r = { 0 };
	struct batch b = { 0 };
	char head[CU_OID_HEX], mine[CU_OID_HEX], *data = NULL;
	cu_history *h = NULL;
	size_t len, n;

	assert_int_equal(cu_history_open(&h, f->repo), 0);
	assert_int_equal(cu_history_open(&r.other, f->repo), 0);
	r.f = f;
	cu_history_test_before_publish = race_hook;
	cu_history_test_payload = &r;

	/* the very first commit races too: the ref must still not exist */
	batch_add(&b, "records/aa/mine.json", "{\"mine\":1}");
	assert_int_equal(commit_batch(mine, h, &b, "mine", f), CU_ECONFLICT);
	assert_int_equal(cu_history_head(head, h), 0);
	assert_string_equal(head, r.other_head);

	/* and a later one: the ref moved away from the parent */
	r.fired = 0;
	assert_int_equal(commit_batch(mine, h, &b, "mine", f), CU_ECONFLICT);
	assert_int_equal(cu_history_head(head, h), 0);
	assert_string_equal(head, r.other_head);
	assert_int_equal(cu_history_read(&data, &len, h, NULL, "records/aa/mine.json"),
		CU_ENOTFOUND);
	assert_int_equal(cu_history_count_since(&n, h, NULL), 0);
	assert_int_equal(n, 2);

	/* without a race the same batch goes through on top of the winner */
	cu_history_test_before_publish = NULL;
	assert_int_equal(commit_batch(mine, h, &b, "mine", f), 0);
	expect_read(h, NULL, "records/aa/mine.json", "{\"mine\":1}");
	expect_read(h, NULL, "records/ee/racer.json", "{\"racer\":true}");
	assert_int_equal(cu_history_count_since(&n, h, r.other_head), 0);
	assert_int_equal(n, 1);
	assert_int_equal(run("git --git-dir='%s' fsck --strict --no-progress >/dev/null 2>&1",
		f->repo), 0);

	batch_free(&b);
	cu_history_free(r.other);
	cu_history_free(h);
}

static void
test_path(void **state)
{
	const char *id = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
	char out[96];

	(void)state;
	cu_history_path(out, sizeof(out), "records", id);
	assert_string_equal(out,
		"records/ab/cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789.json");
	cu_history_path(out, sizeof(out), "events", id);
	assert_memory_equal(out, "events/ab/cdef", 14);
}

/* Runs a shell command and keeps the first line of its output (without
 * the newline) in out; returns the exit status. */
static int
capture(char *out, size_t outsz, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(out, (int)outsz, p) == NULL)
		out[0] = '\0';
	st = pclose(p);
	out[strcspn(out, "\n")] = '\0';
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A one-file batch signed by `signer`. */
static void
commit_one(char id[CU_OID_HEX], cu_history *h, const cu_signer *signer,
	const char *path, const char *data, const char *msg)
{
	cu_history_file file = { path, data, strlen(data) };

	if (cu_history_commit(id, h, &file, 1, msg, "custos", PRINCIPAL, signer) != 0)
		fail_msg("%s: %s", msg, cu_error_last());
}

/* What a history walk delivered, in order. */
struct walked {
	char   commit[8][CU_OID_HEX];
	char   parent[8][CU_OID_HEX];
	size_t n[8];
	size_t count;
	size_t stop_after;      /* 0 = never stop */
};

static int
walk_collect(const char *commit, const char *parent, size_t n, void *payload)
{
	struct walked *w = payload;

	assert_true(w->count < 8);
	snprintf(w->commit[w->count], CU_OID_HEX, "%s", commit);
	snprintf(w->parent[w->count], CU_OID_HEX, "%s", parent);
	w->n[w->count] = n;
	w->count++;
	return w->stop_after > 0 && w->count == w->stop_after ? 42 : 0;
}

static void
expect_error(int got, int want, const char *msg)
{
	assert_int_equal(got, want);
	if (strcmp(cu_error_last(), msg) != 0)
		fail_msg("error \"%s\", expected \"%s\"", cu_error_last(), msg);
}

static void
expect_error_prefix(int got, int want, const char *prefix)
{
	assert_int_equal(got, want);
	if (strncmp(cu_error_last(), prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\", expected \"%s…\"", cu_error_last(), prefix);
}

static void
test_walk(void **state)
{
	struct fixture *f = *state;
	char c1[CU_OID_HEX], c2[CU_OID_HEX], c3[CU_OID_HEX], merge[CU_OID_HEX];
	char want[256];
	struct walked w = { 0 };
	cu_history *h = NULL;

	assert_int_equal(cu_history_open(&h, f->repo), 0);
	assert_int_equal(cu_history_walk(h, walk_collect, &w), CU_ENOTFOUND);
	assert_int_equal(w.count, 0);

	commit_one(c1, h, f->signer, "archive.json", "{\"v\":1}", "first");
	commit_one(c2, h, f->signer, "records/aa/one.json", "{\"n\":1}", "second");
	commit_one(c3, h, f->signer, "archive.json", "{\"v\":2}", "third");

	/* oldest first, each with its parent and position */
	assert_int_equal(cu_history_walk(h, walk_collect, &w), 0);
	assert_int_equal(w.count, 3);
	assert_string_equal(w.commit[0], c1);
	assert_string_equal(w.parent[0], "");
	assert_int_equal(w.n[0], 0);
	assert_string_equal(w.commit[1], c2);
	assert_string_equal(w.parent[1], c1);
	assert_int_equal(w.n[1], 1);
	assert_string_equal(w.commit[2], c3);
	assert_string_equal(w.parent[2], c2);
	assert_int_equal(w.n[2], 2);

	/* a non-zero return stops the walk and comes back as is */
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	assert_int_equal(cu_history_walk(h, walk_collect, &w), 42);
	assert_int_equal(w.count, 2);
	assert_string_equal(w.commit[1], c2);

	/* a merge on the chain is refused before any callback */
	assert_int_equal(capture(merge, sizeof(merge), "git --git-dir='%s' -c user.name=x "
		"-c user.email=y@example.org -c commit.gpgsign=false commit-tree '%s^{tree}' "
		"-p %s -p %s -m merge 2>/dev/null", f->repo, c3, c3, c1), 0);
	assert_int_equal(strlen(merge), CU_OID_HEX - 1);
	assert_int_equal(run("git --git-dir='%s' update-ref refs/heads/main %s %s", f->repo,
		merge, c3), 0);
	memset(&w, 0, sizeof(w));
	snprintf(want, sizeof(want), "history: commit %s has 2 parents (custos never merges)",
		merge);
	expect_error(cu_history_walk(h, walk_collect, &w), CU_EINVALID, want);
	assert_int_equal(w.count, 0);

	/* and one further back, under a linear commit on top of it */
	commit_one(c1, h, f->signer, "archive.json", "{\"v\":3}", "after the merge");
	expect_error(cu_history_walk(h, walk_collect, &w), CU_EINVALID, want);
	assert_int_equal(w.count, 0);

	cu_history_free(h);
}

/* The text of a commit split around its gpgsig header block: head is
 * everything before it, sig the block (each line with its LF), rest the
 * blank line and the message. */
struct split {
	char       *text;
	size_t      len;
	const char *head, *sig, *rest;
	size_t      headlen, siglen, restlen;
};

static void
split_commit(struct split *s, cu_history *h, const char *id)
{
	const char *p;

	assert_int_equal(cu_history_commit_text(&s->text, &s->len, h, id), 0);
	assert_non_null(p = strstr(s->text, "\ngpgsig -----BEGIN SSH SIGNATURE-----\n"));
	s->head = s->text;
	s->headlen = (size_t)(p + 1 - s->text);
	s->sig = p + 1;
	p = strchr(s->sig, '\n') + 1;
	while (*p == ' ')
		p = strchr(p, '\n') + 1;
	assert_int_equal(*p, '\n');
	s->siglen = (size_t)(p - s->sig);
	s->rest = p;
	s->restlen = s->len - (size_t)(p - s->text);
}

/* Writes the concatenation of up to four parts as a commit object with
 * stock git; `literally` skips git's format check. */
static void
forge(char id[CU_OID_HEX], const struct fixture *f, int literally,
	const char *a, size_t an, const char *b, size_t bn,
	const char *c, size_t cn, const char *d, size_t dn)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/forged", f->dir);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(a, 1, an, fp), an);
	assert_int_equal(fwrite(b, 1, bn, fp), bn);
	assert_int_equal(fwrite(c, 1, cn, fp), cn);
	assert_int_equal(fwrite(d, 1, dn, fp), dn);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(capture(id, CU_OID_HEX, "git --git-dir='%s' hash-object %s-t commit "
		"-w '%s'", f->repo, literally ? "--literally " : "", path), 0);
	assert_int_equal(strlen(id), CU_OID_HEX - 1);
}

/* Whether git_commit_extract_signature and cu_sshsig_verify alone would
 * accept the commit: shows that a forgery below is one only the extra
 * checks of cu_history_check_signature catch. */
static int
extract_alone_verifies(const struct fixture *f, const char *id)
{
	git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	git_repository *repo = NULL;
	git_oid oid;
	int ok;

	assert_true(git_libgit2_init() > 0);
	assert_int_equal(git_repository_open_bare(&repo, f->repo), 0);
	assert_int_equal(git_oid_fromstr(&oid, id), 0);
	ok = git_commit_extract_signature(&sig, &data, repo, &oid, NULL) == 0 &&
		cu_sshsig_verify(NULL, sig.ptr, "git", data.ptr, data.size) == 0;
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ok;
}

static void
test_check_signature(void **state)
{
	struct fixture *f = *state;
	char c[3][CU_OID_HEX], other_id[CU_OID_HEX], unsigned_id[CU_OID_HEX];
	char forged[CU_OID_HEX], tree[CU_OID_HEX], other_key[160], want[256];
	unsigned char pub[CU_ED25519_PUB], zero[CU_ED25519_PUB] = { 0 };
	cu_signer *other = NULL;
	struct walked w = { 0 };
	struct split s = { 0 };
	cu_history *h = NULL;
	char *edit, *q;

	assert_int_equal(cu_history_open(&h, f->repo), 0);
	commit_one(c[0], h, f->signer, "archive.json", "{\"v\":1}", "first");
	commit_one(c[1], h, f->signer, "records/aa/one.json", "{\"n\":1}", "second");
	commit_one(c[2], h, f->signer, "archive.json", "{\"v\":2}", "third");

	/* every custos commit: good, by the archive's key */
	for (size_t i = 0; i < 3; i++) {
		memset(pub, 0xaa, sizeof(pub));
		if (cu_history_check_signature(pub, h, c[i]) != 0)
			fail_msg("%s: %s", c[i], cu_error_last());
		assert_memory_equal(pub, cu_signer_pub(f->signer), CU_ED25519_PUB);
	}

	/* a good signature by another key passes and names that key, so
	 * the caller can tell */
	snprintf(other_key, sizeof(other_key), "%s/other.pem", f->dir);
	assert_int_equal(cu_sig_keygen(other_key), 0);
	assert_int_equal(cu_signer_load(&other, other_key), 0);
	commit_one(other_id, h, other, "records/aa/two.json", "{\"n\":2}", "other key");
	assert_int_equal(cu_history_check_signature(pub, h, other_id), 0);
	assert_memory_equal(pub, cu_signer_pub(other), CU_ED25519_PUB);
	assert_memory_not_equal(pub, cu_signer_pub(f->signer), CU_ED25519_PUB);

	/* an unsigned commit made by stock git, published on main */
	assert_int_equal(capture(tree, sizeof(tree), "git --git-dir='%s' rev-parse '%s^{tree}'",
		f->repo, other_id), 0);
	assert_int_equal(capture(unsigned_id, sizeof(unsigned_id), "git --git-dir='%s' "
		"-c user.name=x -c user.email=y@example.org -c commit.gpgsign=false "
		"commit-tree %s -p %s -m unsigned 2>/dev/null", f->repo, tree, other_id), 0);
	assert_int_equal(strlen(unsigned_id), CU_OID_HEX - 1);
	assert_int_equal(run("git --git-dir='%s' update-ref refs/heads/main %s %s", f->repo,
		unsigned_id, other_id), 0);
	memset(pub, 0xaa, sizeof(pub));
	snprintf(want, sizeof(want), "commit %s: no signature", unsigned_id);
	expect_error(cu_history_check_signature(pub, h, unsigned_id), CU_EINVALID, want);
	assert_memory_equal(pub, zero, CU_ED25519_PUB);
	/* the walk is not about signatures: it still sees all five */
	assert_int_equal(cu_history_walk(h, walk_collect, &w), 0);
	assert_int_equal(w.count, 5);
	assert_string_equal(w.commit[4], unsigned_id);
	assert_string_equal(w.parent[4], other_id);

	split_commit(&s, h, c[1]);
	assert_non_null(edit = malloc(s.len + 1));

	/* the commit re-written unchanged is the same object: the forgeries
	 * below differ only by their edits */
	forge(forged, f, 0, s.text, s.len, "", 0, "", 0, "", 0);
	assert_string_equal(forged, c[1]);

	/* a byte of the signature changed */
	memcpy(edit, s.sig, s.siglen);
	q = edit;
	for (int line = 0; line < 3; line++)
		q = strchr(q, '\n') + 1;
	q += 1 + 35;            /* the third base64 line: the Ed25519 signature */
	*q = *q == 'A' ? 'B' : 'A';
	forge(forged, f, 0, s.head, s.headlen, edit, s.siglen, s.rest, s.restlen, "", 0);
	snprintf(want, sizeof(want), "commit %s: bad signature: ", forged);
	memset(pub, 0xaa, sizeof(pub));
	expect_error_prefix(cu_history_check_signature(pub, h, forged), CU_EINVALID, want);
	assert_memory_equal(pub, zero, CU_ED25519_PUB);

	/* the signature block replaced by garbage */
	forge(forged, f, 0, s.head, s.headlen, "gpgsig garbage\n", 15, s.rest, s.restlen,
		"", 0);
	snprintf(want, sizeof(want), "commit %s: bad signature: ", forged);
	expect_error_prefix(cu_history_check_signature(pub, h, forged), CU_EINVALID, want);

	/* the signature kept, the message changed */
	memcpy(edit, s.rest, s.restlen);
	assert_non_null(q = strstr(edit, "second"));
	*q = 'S';
	forge(forged, f, 0, s.head, s.headlen, s.sig, s.siglen, edit, s.restlen, "", 0);
	snprintf(want, sizeof(want),
		"commit %s: bad signature: SSH signature does not match the data", forged);
	expect_error(cu_history_check_signature(pub, h, forged), CU_EINVALID, want);

	/* the signature moved into the message: git sees an unsigned
	 * commit, though libgit2's extraction alone would find it good */
	forge(forged, f, 0, s.head, s.headlen, "\n", 1, s.sig, s.siglen, s.rest + 1,
		s.restlen - 1);
	assert_true(extract_alone_verifies(f, forged));
	snprintf(want, sizeof(want), "commit %s: no signature", forged);
	expect_error(cu_history_check_signature(pub, h, forged), CU_EINVALID, want);

	/* a bare "gpgsig" line in place of the blank line: libgit2 drops it
	 * from the signed data, so the old signature still verifies over a
	 * commit that git reads without its message */
	forge(forged, f, 1, s.head, s.headlen, "gpgsig\n", 7, s.sig, s.siglen, s.rest + 1,
		s.restlen - 1);
	assert_true(extract_alone_verifies(f, forged));
	snprintf(want, sizeof(want), "commit %s: bad signature: the gpgsig header is "
		"repeated, misplaced or malformed", forged);
	expect_error(cu_history_check_signature(pub, h, forged), CU_EINVALID, want);
	assert_memory_equal(pub, zero, CU_ED25519_PUB);

	/* bytes after a NUL, which libgit2's extraction does not see */
	forge(forged, f, 1, s.text, s.len, "\0appended\n", 10, "", 0, "", 0);
	assert_true(extract_alone_verifies(f, forged));
	expect_error_prefix(cu_history_check_signature(pub, h, forged), CU_EINVALID,
		"commit ");
	assert_non_null(strstr(cu_error_last(), ": bad signature: the gpgsig header"));

	/* no such commit, not a commit, not an id */
	assert_int_equal(cu_history_check_signature(pub, h,
		"0123456789012345678901234567890123456789"), CU_ENOTFOUND);
	assert_int_equal(cu_history_check_signature(pub, h, tree), CU_ENOTFOUND);
	assert_int_equal(cu_history_check_signature(pub, h, "nope"), CU_EINVALID);
	assert_int_equal(cu_history_check_signature(pub, h, NULL), CU_EINVALID);
	assert_memory_equal(pub, zero, CU_ED25519_PUB);

	free(edit);
	free(s.text);
	cu_signer_free(other);
	cu_history_free(h);
}

/* The rollback an attacker with write access could do (with git itself,
 * outside custos), and what the handle sees afterwards. */
static void
test_external_rollback(void **state)
{
	struct fixture *f = *state;
	char c1[CU_OID_HEX], c2[CU_OID_HEX], c3[CU_OID_HEX], c4[CU_OID_HEX];
	char head[CU_OID_HEX];
	struct walked w = { 0 };
	cu_history *h = NULL;
	size_t n;

	assert_int_equal(cu_history_open(&h, f->repo), 0);
	commit_one(c1, h, f->signer, "archive.json", "{\"v\":1}", "first");
	commit_one(c2, h, f->signer, "archive.json", "{\"v\":2}", "second");
	commit_one(c3, h, f->signer, "archive.json", "{\"v\":3}", "third");

	/* back to the first commit */
	assert_int_equal(run("git --git-dir='%s' update-ref refs/heads/main %s", f->repo, c1), 0);
	assert_int_equal(cu_history_head(head, h), 0);
	assert_string_equal(head, c1);
	expect_read(h, NULL, "archive.json", "{\"v\":1}");
	assert_int_equal(cu_history_count_since(&n, h, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cu_history_walk(h, walk_collect, &w), 0);
	assert_int_equal(w.count, 1);
	assert_string_equal(w.commit[0], c1);

	/* after a rollback, the next batch builds on the rolled-back head */
	assert_int_equal(run("git --git-dir='%s' update-ref refs/heads/main %s", f->repo, c2), 0);
	commit_one(c4, h, f->signer, "archive.json", "{\"v\":4}", "fourth");
	memset(&w, 0, sizeof(w));
	assert_int_equal(cu_history_walk(h, walk_collect, &w), 0);
	assert_int_equal(w.count, 3);
	assert_string_equal(w.commit[1], c2);
	assert_string_equal(w.commit[2], c4);
	assert_string_equal(w.parent[2], c2);
	(void)c3;
	cu_history_free(h);
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A writer killed while writing a pack leaves tmp_pack_* / tmp_idx_*;
 * cu_history_clean_tmp removes exactly those, and the repository reads as
 * before. */
static void
test_clean_tmp(void **state)
{
	struct fixture *f = *state;
	char head[CU_OID_HEX], path[600], *text = NULL;
	struct batch b = { 0 };
	cu_history *h = NULL;
	size_t len, packs, idxs, loose;

	assert_int_equal(cu_history_open(&h, f->repo), 0);
	batch_add(&b, "a.json", "{\"a\":1}");
	assert_int_equal(commit_batch(head, h, &b, "one", f), 0);
	batch_free(&b);
	assert_int_equal(run("cd '%s/objects/pack' && head -c 5000 /dev/urandom > tmp_pack_Ab12Cd && "
		"printf x > tmp_idx_Zz9 && printf y > keep-me.txt", f->repo), 0);
	assert_int_equal(cu_history_clean_tmp(h), 0);
	snprintf(path, sizeof(path), "%s/objects/pack/tmp_pack_Ab12Cd", f->repo);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/objects/pack/tmp_idx_Zz9", f->repo);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/objects/pack/keep-me.txt", f->repo);
	assert_int_equal(access(path, F_OK), 0);
	count_objects(f, &packs, &idxs, &loose);
	assert_int_equal(packs, 1);
	assert_int_equal(idxs, 1);
	assert_int_equal(cu_history_read(&text, &len, h, NULL, "a.json"), 0);
	assert_string_equal(text, "{\"a\":1}");
	free(text);
	cu_history_free(h);
}

/* Not an assertion: the cost of a 10,000-file batch of ~1 KB records. */
static void
test_throughput(void **state)
{
	struct fixture *f = *state;
	char head[CU_OID_HEX];
	cu_history *h = NULL;
	size_t packs, idxs, loose;

	assert_int_equal(cu_history_open(&h, f->repo), 0);
	for (int round = 0; round < 3; round++) {
		struct batch b = { 0 };
		double t0, dt;

		for (unsigned long k = 0; k < 10000; k++)
			batch_add_record(&b, "records", (unsigned long)round * 10000 + k, 950);
		t0 = seconds();
		assert_int_equal(commit_batch(head, h, &b, "throughput", f), 0);
		dt = seconds() - t0;
		print_message("history: batch %d of 10,000 files (~1 KB): %.3f s, %.0f files/s\n",
			round + 1, dt, 10000 / dt);
		batch_free(&b);
	}
	count_objects(f, &packs, &idxs, &loose);
	assert_int_equal(packs, 3);
	assert_int_equal(loose, 0);
	cu_history_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_rollback, setup, teardown),
		cmocka_unit_test(test_path),
		cmocka_unit_test_setup_teardown(test_clean_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
