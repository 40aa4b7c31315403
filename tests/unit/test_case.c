/* test_case.c — case files (案卷) taken in through the archive facade:
 * BagIt bags in every container become case records with volumes, file
 * refs and media types; bad metadata and hostile archives are refused
 * with nothing written; supplements make revisions; search, get, ls and
 * reindex see the cases (src/case.c, src/media.c, the case rows of
 * src/conf.c, the object writer of src/cas.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "custos/archive.h"
#include "custos/bag.h"
#include "custos/cas.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/media.h"
#include "custos/record.h"
#include "custos/util.h"

static char tmpdir[] = "/tmp/custos-test-case-XXXXXX";

#include "tbag.h"

/* Resident ID numbers and a unified social credit code (GB 11643, GB 32100
 * vectors; test_record checks them). */
#define P1 "11010519491231002X"
#define P1_MASKED "110105********002X"
#define P2 "440524188001010014"
#define USCC "91350100M000100Y43"

#define CASE_TYPE "work_injury_determination"

/* ---- bytes of every kind ------------------------------------------------- */

/* Deterministic noise (a linear congruential generator). */
static void
noise(unsigned char *out, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		out[i] = (unsigned char)(seed >> 24);
	}
}

/* A file of len bytes: magic (mlen bytes) followed by noise. */
static void
put_noise(struct tbag *b, const char *name, const void *magic, size_t mlen, size_t len,
	uint32_t seed)
{
	unsigned char *buf = malloc(len);

	assert_non_null(buf);
	noise(buf, len, seed);
	memcpy(buf, magic, mlen);
	put(b, name, buf, len, 0);
	free(buf);
}

/* A zip archive holding one file, made with libarchive, into a new buffer. */
static char *
zip_bytes(size_t *len, const char *member, const char *text)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t cap = 65536, used = 0;
	char *buf = malloc(cap);

	assert_non_null(a);
	assert_non_null(e);
	assert_non_null(buf);
	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, member);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(text));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, text, strlen(text)), (la_ssize_t)strlen(text));
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	*len = used;
	return buf;
}

/* bag-info.txt of a case: the labels every test case carries, then extra. */
static char *
case_info(const char *case_no, const char *extra)
{
	char *s = cu_asprintf("External-Identifier: %s\nCase-Type: " CASE_TYPE "\n"
		"Title: 张三工伤认定材料\nSource-Organization: 北京市朝阳区社会保险事业管理中心\n"
		"Bagging-Date: 2025-06-30\nSubject-Id: " P1 "\nSubject-Name: 张三\n"
		"Insurance: work_injury\n%s", case_no, extra ? extra : "");

	assert_non_null(s);
	return s;
}

/* Finishes a bag: tag files from info (freed), then the tag manifest. */
static void
seal(struct tbag *b, char *info)
{
	tags_with(b, info);
	free(info);
	tagmanifest(b);
}

/* The size of the rich bag's large file (above the default pack
 * threshold of 65,536 bytes, so streamed to a loose object). */
#define LARGE_LEN (300u * 1024)

/* A bag of five files in two folders: a PDF named .bin, a PNG, UTF-8 text,
 * random bytes and a large TIFF. */
static struct tbag *
rich_bag(const char *case_no, const char *extra)
{
	struct tbag *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	puts_(b, "data/申请材料/form.bin", "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n", 0);
	put_noise(b, "data/申请材料/photo.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, 2000, 7);
	puts_(b, "data/证明/note.txt", "工伤认定申请：张三于2025年6月1日在车间受伤。\n", 0);
	put_noise(b, "data/证明/blob.dat", "", 0, 1500, 11);
	put_noise(b, "data/证明/scan.tif", "II*\0", 4, LARGE_LEN, 13);
	seal(b, case_info(case_no, extra));
	return b;
}

/* A small bag: two text files, one per folder. */
static struct tbag *
small_bag(const char *info_text)
{
	struct tbag *b = calloc(1, sizeof(*b));
	char *info = strdup(info_text);

	assert_non_null(b);
	assert_non_null(info);
	puts_(b, "data/申请材料/a.txt", "申请表\n", 0);
	puts_(b, "data/证明/b.txt", "证明材料\n", 0);
	seal(b, info);
	return b;
}

/* ---- archives and outcomes ------------------------------------------------ */

/* The shipped archive.conf with each "old" replaced by "new" (pairs, NULL
 * ends them); new text. */
static char *
conf_edit(const char *old, ...)
{
	char *text = strdup(cu_conf_default_text());
	va_list ap;

	assert_non_null(text);
	va_start(ap, old);
	for (const char *o = old; o != NULL; o = va_arg(ap, const char *)) {
		const char *n = va_arg(ap, const char *);
		char *at = strstr(text, o), *next;
		if (at == NULL)
			fail_msg("archive.conf has no [%s]", o);
		next = cu_asprintf("%.*s%s%s", (int)(at - text), text, n, at + strlen(o));
		assert_non_null(next);
		free(text);
		text = next;
	}
	va_end(ap);
	return text;
}

/* Creates tmpdir/name as a new archive (fonds SI01); conf_text NULL for the
 * shipped settings.  Returns the path (caller frees). */
static char *
new_archive(const char *name, const char *conf_text)
{
	cu_archive_init_opts o = { NULL, "SI01", conf_text };
	char *path = tpath(name);

	if (cu_archive_init(path, &o) != 0)
		fail_msg("init %s: %s", path, cu_error_last());
	return path;
}

static cu_archive *
open_arch(const char *path, int mode)
{
	cu_archive *a = NULL;

	if (cu_archive_open(&a, path, mode, 0) != 0)
		fail_msg("open %s: %s", path, cu_error_last());
	return a;
}

struct outcome {
	cu_ingest_status status;
	char source[512], ref[160], id[65], reason[1024];
	int has_ref, has_id, has_reason;
};

struct outs {
	struct outcome o[64];
	size_t n;
};

static int
on_outcome(const cu_ingest_result *r, void *payload)
{
	struct outs *os = payload;
	struct outcome *o;

	assert_true(os->n < 64);
	o = &os->o[os->n++];
	memset(o, 0, sizeof(*o));
	o->status = r->status;
	snprintf(o->source, sizeof(o->source), "%s", r->source ? r->source : "");
	if ((o->has_ref = r->ref != NULL))
		snprintf(o->ref, sizeof(o->ref), "%s", r->ref);
	if ((o->has_id = r->id != NULL))
		snprintf(o->id, sizeof(o->id), "%s", r->id);
	if ((o->has_reason = r->reason != NULL))
		snprintf(o->reason, sizeof(o->reason), "%s", r->reason);
	return 0;
}

/* Ingests n paths in one ingest; outcomes into os. */
static void
ingest_all(const char *arch, struct outs *os, char *const *paths, size_t n)
{
	cu_archive *a = open_arch(arch, CU_ARCHIVE_WRITE);
	cu_ingest *in = NULL;
	char msg[1024];

	memset(os, 0, sizeof(*os));
	assert_int_equal(cu_ingest_begin(&in, a, on_outcome, os), 0);
	for (size_t i = 0; i < n; i++) {
		if (cu_ingest_path(in, paths[i]) != 0) {
			snprintf(msg, sizeof(msg), "%s: %s", paths[i], cu_error_last());
			cu_ingest_abort(in);
			cu_archive_free(a);
			fail_msg("ingest %s", msg);
		}
	}
	if (cu_ingest_finish(in, NULL) != 0) {
		snprintf(msg, sizeof(msg), "%s", cu_error_last());
		cu_archive_free(a);
		fail_msg("finish: %s", msg);
	}
	cu_archive_free(a);
}

/* Ingests the paths (NULL-terminated) in one ingest; outcomes into os. */
static void
ingest(const char *arch, struct outs *os, ...)
{
	char *paths[16];
	size_t n = 0;
	va_list ap;

	va_start(ap, os);
	while ((paths[n] = va_arg(ap, char *)) != NULL)
		assert_true(++n < 16);
	va_end(ap);
	ingest_all(arch, os, paths, n);
}

static const char *
status_name(cu_ingest_status s)
{
	return s == CU_INGEST_ARCHIVED ? "archived" : s == CU_INGEST_DUPLICATE ? "duplicate"
									    : "rejected";
}

static void
expect_status(const struct outcome *o, cu_ingest_status want)
{
	if (o->status != want)
		fail_msg("%s: %s (%s), want %s", o->source, status_name(o->status), o->reason,
			status_name(want));
}

/* Ingests one bag that must be archived; its ref and id into ref and id. */
static void
archive_case(const char *arch, const char *path, char ref[160], char id[65])
{
	struct outs os;

	ingest(arch, &os, path, NULL);
	assert_int_equal(os.n, 1);
	expect_status(&os.o[0], CU_INGEST_ARCHIVED);
	assert_string_equal(os.o[0].source, path);
	assert_true(os.o[0].has_ref && os.o[0].has_id);
	snprintf(ref, 160, "%s", os.o[0].ref);
	snprintf(id, 65, "%s", os.o[0].id);
}

/* The history head (hex). */
static void
head_of(char out[41], const char *arch)
{
	char *cmd = cu_asprintf("git --git-dir='%s/history.git' rev-parse main", arch);
	FILE *p;

	assert_non_null(cmd);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(out, 41, p));
	assert_int_equal(pclose(p), 0);
	assert_int_equal(strlen(out), 40);
	free(cmd);
}

/* ---- what is on disk -------------------------------------------------------- */

/* Every file under a folder as sorted lines "path size type", and the
 * SHA-256 of the bytes for files under one folder (an archive), for
 * comparing a tree before and after.  The lock files (the archive's holds
 * the pid of the last writer, LMDB's its readers) are left out. */
static struct {
	char **lines;
	size_t n, cap;
	size_t skip;           /* length of the root's path */
	const char *hashed;    /* files under this folder are hashed */
} snap;

static int
snap_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *rel = path + snap.skip;
	size_t l = strlen(rel);
	char hex[65];

	(void)ftw;
	if (type == FTW_D || type == FTW_DP)
		return 0;
	if ((l >= 5 && strcmp(rel + l - 5, "/lock") == 0) ||
	    (l >= 9 && strcmp(rel + l - 9, "/lock.mdb") == 0))
		return 0;
	if (snap.n == snap.cap) {
		snap.cap = snap.cap ? snap.cap * 2 : 256;
		assert_non_null(snap.lines = realloc(snap.lines, snap.cap * sizeof(*snap.lines)));
	}
	hex[0] = '\0';
	if (type == FTW_F && strncmp(path, snap.hashed, strlen(snap.hashed)) == 0) {
		char *data = NULL;
		size_t len = 0;
		unsigned char d[32];
		assert_int_equal(cu_read_file(&data, &len, path, (size_t)1 << 30), 0);
		assert_int_equal(cu_sha256(d, data ? data : "", len), 0);
		cu_hex(hex, d, 32);
		free(data);
	}
	assert_non_null(snap.lines[snap.n++] = cu_asprintf("%s %lld %o %s", rel,
		(long long)st->st_size, (unsigned)(st->st_mode & S_IFMT), hex));
	return 0;
}

static int
cmp_line(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The tree under root as one string, the bytes of the files under hashed
 * included (caller frees). */
static char *
tree(const char *root, const char *hashed)
{
	size_t len = 1, o = 0;
	char *out;

	memset(&snap, 0, sizeof(snap));
	snap.skip = strlen(root);
	snap.hashed = hashed;
	assert_int_equal(nftw(root, snap_entry, 16, FTW_PHYS), 0);
	if (snap.n > 1)
		qsort(snap.lines, snap.n, sizeof(*snap.lines), cmp_line);
	for (size_t i = 0; i < snap.n; i++)
		len += strlen(snap.lines[i]) + 1;
	assert_non_null(out = malloc(len));
	for (size_t i = 0; i < snap.n; i++) {
		o += (size_t)sprintf(out + o, "%s\n", snap.lines[i]);
		free(snap.lines[i]);
	}
	out[o] = '\0';
	free(snap.lines);
	return out;
}

/* Files in ARCHIVE/objects/incoming/ (0 when the folder does not exist). */
static size_t
incoming_count(const char *arch)
{
	char *dir = cu_asprintf("%s/objects/incoming", arch);
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	assert_non_null(dir);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL)
			n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
		closedir(d);
	}
	free(dir);
	return n;
}

/* 1 if a loose object with the SHA-256 of data exists. */
static int
has_loose(const char *arch, const void *data, size_t len)
{
	unsigned char d[32];
	char hex[65], *p;
	struct stat st;
	int found;

	assert_int_equal(cu_sha256(d, data, len), 0);
	cu_hex(hex, d, 32);
	assert_non_null(p = cu_asprintf("%s/objects/sha256/%.2s/%s", arch, hex, hex + 2));
	found = stat(p, &st) == 0;
	if (found)
		assert_int_equal(st.st_mode & 0777, 0444);
	free(p);
	return found;
}

/* Names a hostile entry may point at, outside the archive: the test fails
 * if anything by these names exists. */
static char evil_abs[128], evil_rel[128];

static void
expect_no_evil(void)
{
	glob_t g;
	char *pat;

	assert_non_null(pat = cu_asprintf("/tmp/custos-case-evil-%ld*", (long)getpid()));
	if (glob(pat, 0, NULL, &g) == 0) {
		char first[256];
		snprintf(first, sizeof(first), "%s", g.gl_pathv[0]);
		globfree(&g);
		free(pat);
		fail_msg("a hostile entry reached the file system: %s", first);
	}
	free(pat);
	assert_int_equal(access(evil_rel, F_OK), -1);   /* relative to the working folder */
}

/* Ingests path into arch, expecting it refused with a one-line reason that
 * holds needle, and nothing written: the history head as before, every
 * file of the archive (objects, history, index) the same bytes, no file
 * added or changed anywhere under tmpdir, nothing left in
 * objects/incoming/, nothing created where a hostile entry pointed. */
static void
expect_refused(const char *arch, const char *path, const char *needle)
{
	char before_head[41], after_head[41];
	char *before = tree(tmpdir, arch), *after;
	struct outs os;

	head_of(before_head, arch);
	ingest(arch, &os, path, NULL);
	if (os.n != 1)
		fail_msg("%s: %zu outcomes, want 1", path, os.n);
	expect_status(&os.o[0], CU_INGEST_REJECTED);
	assert_string_equal(os.o[0].source, path);
	assert_false(os.o[0].has_ref);
	assert_false(os.o[0].has_id);
	assert_true(os.o[0].has_reason);
	if (strstr(os.o[0].reason, needle) == NULL)
		fail_msg("%s: reason [%s] lacks [%s]", path, os.o[0].reason, needle);
	/* one line of valid UTF-8, whatever the names in the bag were */
	if (cu_text_problem(os.o[0].reason, strlen(os.o[0].reason), 0) != NULL)
		fail_msg("%s: reason is not one printable line: [%s]", path, os.o[0].reason);
	assert_null(strchr(os.o[0].reason, '\n'));
	head_of(after_head, arch);
	assert_string_equal(before_head, after_head);
	after = tree(tmpdir, arch);
	if (strcmp(before, after) != 0) {
		print_message("before:\n%s\nafter:\n%s\n", before, after);
		fail_msg("%s: refused, yet files changed", path);
	}
	assert_int_equal(incoming_count(arch), 0);
	expect_no_evil();
	free(before);
	free(after);
}

/* Bags refused one by one, kept to be given again all together. */
struct refused {
	char *path[64];
	size_t n;
};

/* expect_refused, then keeps path (taken over) for refused_again. */
static void
refuse(struct refused *r, const char *arch, char *path, const char *needle)
{
	expect_refused(arch, path, needle);
	assert_true(r->n < 63);
	r->path[r->n++] = path;
}

static unsigned long item_of(const char *ref);

/* Every refused bag and then good, in ONE ingest (one batch that commits):
 * each is refused again, and good becomes the item after `after`, so no
 * refused bag took a number even in a batch that was kept.  Frees the
 * paths. */
static void
refused_again(struct refused *r, const char *arch, char *good, const char *after)
{
	struct outs os;

	r->path[r->n] = good;
	ingest_all(arch, &os, r->path, r->n + 1);
	assert_int_equal(os.n, r->n + 1);
	for (size_t i = 0; i < r->n; i++) {
		expect_status(&os.o[i], CU_INGEST_REJECTED);
		assert_string_equal(os.o[i].source, r->path[i]);
		free(r->path[i]);
	}
	expect_status(&os.o[r->n], CU_INGEST_ARCHIVED);
	assert_int_equal(item_of(os.o[r->n].ref), item_of(after) + 1);
	assert_int_equal(incoming_count(arch), 0);
	r->n = 0;
}

/* Item number: the digits after the last '-' of a ref. */
static unsigned long
item_of(const char *ref)
{
	const char *d = strrchr(ref, '-');

	assert_non_null(d);
	return strtoul(d + 1, NULL, 10);
}

/* ---- reading cases back ------------------------------------------------------ */

/* The exact bytes of a case's file (key, and path or NULL for a file ref
 * as key); returns the error code and fills *out (caller frees). */
static int
get_file(cu_archive *a, const char *key, const char *path, char **out, size_t *len)
{
	cu_get_opts o = { .content = 1, .purpose = "单元测试", .file = path };
	json_t *doc = NULL;
	int error = cu_archive_get(a, key, &o, &doc, out, len);

	json_decref(doc);
	return error;
}

static void
expect_file(cu_archive *a, const char *key, const char *path, const struct file *want)
{
	char *got = NULL;
	size_t len = 0;

	if (get_file(a, key, path, &got, &len) != 0)
		fail_msg("get %s --file %s: %s", key, path ? path : "-", cu_error_last());
	assert_int_equal(len, want->len);
	assert_memory_equal(got, want->data, len);
	free(got);
}

/* The record document (masked) of a case, revision version (0: current). */
static json_t *
get_doc(cu_archive *a, const char *key, long version)
{
	cu_get_opts o = { .purpose = "单元测试", .version = version };
	json_t *doc = NULL;

	if (cu_archive_get(a, key, &o, &doc, NULL, NULL) != 0)
		fail_msg("get %s: %s", key, cu_error_last());
	return doc;
}

static json_t *
volumes_of(cu_archive *a, const char *key, long version)
{
	json_t *v = NULL;

	if (cu_archive_case_volumes(a, key, version, &v) != 0)
		fail_msg("volumes of %s: %s", key, cu_error_last());
	return v;
}

static size_t
file_count(const json_t *volumes)
{
	size_t i, n = 0;
	json_t *v;

	json_array_foreach(volumes, i, v)
		n += json_array_size(json_object_get(v, "files"));
	return n;
}

/* The file listed under path (relative to data/), or NULL. */
static const json_t *
listed_file(const json_t *volumes, const char *path, long *volume)
{
	size_t i, j;
	json_t *v, *f;

	json_array_foreach(volumes, i, v)
		json_array_foreach(json_object_get(v, "files"), j, f)
			if (strcmp(json_string_value(json_object_get(f, "path")), path) == 0) {
				if (volume)
					*volume = (long)json_integer_value(json_object_get(v, "volume"));
				return f;
			}
	return NULL;
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Checks the listing of a file against the bag's bytes. */
static void
expect_listed(const json_t *volumes, const struct file *bf, const char *case_ref, long vol,
	long item, const char *media)
{
	char hex[65], dig[80], fref[200];
	long got_vol = 0;
	const json_t *f = listed_file(volumes, bf->name + 5, &got_vol);

	if (f == NULL)
		fail_msg("%s is not listed", bf->name);
	digest_hex(hex, "sha256", bf->data, bf->len);
	snprintf(dig, sizeof(dig), "sha256:%s", hex);
	snprintf(fref, sizeof(fref), "%s-%02ld-%04ld", case_ref, vol, item);
	assert_string_equal(jstr(f, "digest"), dig);
	assert_int_equal(json_integer_value(json_object_get(f, "size")), bf->len);
	if (strcmp(jstr(f, "media_type"), media) != 0)
		fail_msg("%s: media type %s, want %s", bf->name, jstr(f, "media_type"), media);
	assert_int_equal(got_vol, vol);
	assert_int_equal(json_integer_value(json_object_get(f, "item")), item);
	assert_string_equal(jstr(f, "ref"), fref);
}

/* Every object, record and commit checks out. */
static void
expect_verified(const char *arch)
{
	cu_archive *a = open_arch(arch, CU_ARCHIVE_REPAIR);
	cu_verify_opts o = { 0 };
	cu_verify_report r;

	memset(&r, 0, sizeof(r));
	if (cu_archive_verify(a, &o, NULL, NULL, &r) != 0)
		fail_msg("verify: %s", cu_error_last());
	cu_archive_free(a);
	assert_int_equal(r.problems, 0);
	assert_true(r.records > 0);
}

/* ---- media types ------------------------------------------------------------- */

static void
expect_media(const void *head, size_t n, const char *name, const char *want)
{
	const char *got = cu_media_type(head, n, name);

	if (strcmp(got, want) != 0)
		fail_msg("%s (%zu bytes): %s, want %s", name ? name : "(no name)", n, got, want);
}

static void
test_media_signatures(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		const char *name, *want;
	} table[] = {
		{ "%PDF-1.7\n", 9, "a.bin", "application/pdf" },
		{ "\x89PNG\r\n\x1a\n\0\0", 10, "a.jpg", "image/png" },
		{ "\xff\xd8\xff\xe0\0\x10JFIF", 10, NULL, "image/jpeg" },
		{ "GIF87a\x01\0", 8, NULL, "image/gif" },
		{ "GIF89a\x01\0", 8, NULL, "image/gif" },
		{ "II*\0\x08\0\0\0", 8, NULL, "image/tiff" },
		{ "MM\0*\0\0\0\x08", 8, NULL, "image/tiff" },
		{ "RIFF\x24\0\0\0WEBPVP8 ", 16, NULL, "image/webp" },
		{ "RIFF\x24\0\0\0WAVEfmt ", 16, NULL, "audio/wav" },
		{ "\0\0\0\x18" "ftypmp42", 12, NULL, "video/mp4" },
		{ "BM\x3e\0\0\0\0\0", 8, "scan.BMP", "image/bmp" },
		{ "PK\x03\x04\x14\0", 6, "f.ofd", "application/ofd" },
		{ "PK\x03\x04\x14\0", 6, "f.docx",
		  "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		{ "PK\x03\x04\x14\0", 6, "f.xlsx",
		  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ "PK\x03\x04\x14\0", 6, "f.pptx",
		  "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
		{ "PK\x03\x04\x14\0", 6, "f.zip", "application/zip" },
		{ "PK\x03\x04\x14\0", 6, "dir.docx/inner", "application/zip" },
		{ "PK\x05\x06\0\0", 6, NULL, "application/zip" },
		{ "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, "a.doc", "application/msword" },
		{ "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, "a.XLS", "application/vnd.ms-excel" },
		{ "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, "a.ppt", "application/vnd.ms-powerpoint" },
		{ "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, "a.msg", "application/x-ole-storage" },
		{ "\x1f\x8b\x08\0", 4, "a.tar.gz", "application/gzip" },
		{ "\xfd" "7zXZ\0\0", 7, NULL, "application/x-xz" },
		{ "\x28\xb5\x2f\xfd\0", 5, NULL, "application/zstd" },
		{ "BZh9", 4, NULL, "application/x-bzip2" },
		{ "BZhx", 4, NULL, "text/plain; charset=utf-8" },
		{ "7z\xbc\xaf\x27\x1c\0", 7, NULL, "application/x-7z-compressed" },
		{ "Rar!\x1a\x07\0", 7, NULL, "application/vnd.rar" },
		{ "\xff\xfe" "a\0", 4, NULL, "text/plain; charset=utf-16" },
		{ "\xfe\xff\0a", 4, NULL, "text/plain; charset=utf-16" },
		{ "", 0, "empty.txt", "application/octet-stream" },
		{ "\xef\xbb\xbf" "你好\n", 10, NULL, "text/plain; charset=utf-8" },
		{ "  <?xml version=\"1.0\"?><a/>", 27, "a.txt", "application/xml" },
		{ "<!DOCTYPE html><p>", 18, NULL, "text/html; charset=utf-8" },
		{ "<!doctype html><p>", 18, NULL, "text/html; charset=utf-8" },
		{ "\n<html><body>", 13, NULL, "text/html; charset=utf-8" },
		{ "{\"a\":1}", 7, "x.json", "application/json" },
		{ "{\"a\":1}", 7, "x.txt", "text/plain; charset=utf-8" },
		{ "a,b\n1,2\n", 8, "t.csv", "text/csv; charset=utf-8" },
		{ "<a/>", 4, "t.xml", "application/xml" },
		{ "just words", 10, "t.JSON", "application/json" },
		{ "BM but text", 11, NULL, "text/plain; charset=utf-8" },
	};
	unsigned char tarhead[512];

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++)
		expect_media(table[i].bytes, table[i].n, table[i].name, table[i].want);
	/* the name never overrides content: a PDF named .txt is a PDF, text
	 * named .pdf is text */
	expect_media("%PDF-1.4", 8, "report.txt", "application/pdf");
	expect_media("plain words", 11, "report.pdf", "text/plain; charset=utf-8");
	/* a ustar header: "ustar" at offset 257 */
	memset(tarhead, 0, sizeof(tarhead));
	memcpy(tarhead, "data/a.txt", 10);
	memcpy(tarhead + 257, "ustar\0" "00", 8);
	expect_media(tarhead, sizeof(tarhead), "x", "application/x-tar");
	expect_media(tarhead, 261, "x", "application/octet-stream");  /* "ustar" cut short */
	/* an OpenDocument text: its first member is "mimetype", stored */
	{
		unsigned char od[128];
		memset(od, 0, sizeof(od));
		memcpy(od, "PK\x03\x04", 4);
		memcpy(od + 30, "mimetypeapplication/vnd.oasis.opendocument.text", 47);
		expect_media(od, sizeof(od), "a.bin", "application/vnd.oasis.opendocument.text");
		memcpy(od + 30, "mimetypeapplication/vnd.oasis.opendocument.spreadsheet", 54);
		expect_media(od, sizeof(od), NULL, "application/vnd.oasis.opendocument.spreadsheet");
	}
}

static void
test_media_text_or_binary(void **state)
{
	unsigned char h[CU_MEDIA_SNIFF];

	(void)state;
	/* tab, line feed, carriage return, form feed and ESC are text */
	expect_media("a\tb\r\nc\fd\x1b[0m", 12, NULL, "text/plain; charset=utf-8");
	/* NUL, other control characters and DEL are not */
	expect_media("a\0b", 3, NULL, "application/octet-stream");
	expect_media("a\x01" "b", 3, NULL, "application/octet-stream");
	expect_media("a\x7f" "b", 3, NULL, "application/octet-stream");
	/* malformed UTF-8: a stray continuation byte, overlong forms,
	 * surrogates, code points above U+10FFFF, bytes never used */
	expect_media("a\x80", 2, NULL, "application/octet-stream");
	expect_media("\xc0\xaf", 2, NULL, "application/octet-stream");
	expect_media("\xc1\xbf", 2, NULL, "application/octet-stream");
	expect_media("\xe0\x80\xaf", 3, NULL, "application/octet-stream");
	expect_media("\xed\xa0\x80", 3, NULL, "application/octet-stream");
	expect_media("\xf0\x80\x80\xaf", 4, NULL, "application/octet-stream");
	expect_media("\xf4\x90\x80\x80", 4, NULL, "application/octet-stream");
	expect_media("\xf5\x80\x80\x80", 4, NULL, "application/octet-stream");
	expect_media("\xe4\xb8\x41", 3, NULL, "application/octet-stream");
	/* well formed: two, three and four bytes, the largest code point */
	expect_media("\xc2\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", 16, NULL,
		"text/plain; charset=utf-8");

	/* a character cut by the end of the sniffed bytes: the file goes on,
	 * so it is still text ... */
	memset(h, 'a', sizeof(h));
	h[CU_MEDIA_SNIFF - 2] = 0xe4;
	h[CU_MEDIA_SNIFF - 1] = 0xb8;
	expect_media(h, CU_MEDIA_SNIFF, "t", "text/plain; charset=utf-8");
	h[CU_MEDIA_SNIFF - 2] = 'a';
	h[CU_MEDIA_SNIFF - 1] = 0xf0;   /* a lead byte alone at the end */
	expect_media(h, CU_MEDIA_SNIFF, "t", "text/plain; charset=utf-8");
	/* ... but not if what is there already is wrong */
	h[CU_MEDIA_SNIFF - 2] = 0xe4;
	h[CU_MEDIA_SNIFF - 1] = 0x41;
	expect_media(h, CU_MEDIA_SNIFF, "t", "application/octet-stream");
	h[CU_MEDIA_SNIFF - 2] = 0xf0;
	h[CU_MEDIA_SNIFF - 1] = 0x41;
	expect_media(h, CU_MEDIA_SNIFF, "t", "application/octet-stream");
	/* a short file that ends inside a character is not text */
	h[CU_MEDIA_SNIFF - 3] = 0xe4;
	h[CU_MEDIA_SNIFF - 2] = 0xb8;
	expect_media(h, CU_MEDIA_SNIFF - 1, "t", "application/octet-stream");
	/* a character that ends exactly at the boundary is whole */
	h[CU_MEDIA_SNIFF - 3] = 0xe4;
	h[CU_MEDIA_SNIFF - 2] = 0xb8;
	h[CU_MEDIA_SNIFF - 1] = 0xad;
	expect_media(h, CU_MEDIA_SNIFF, "t", "text/plain; charset=utf-8");
	expect_media(h, CU_MEDIA_SNIFF - 1, "t", "application/octet-stream");
	/* binary beyond the first bytes is judged on what was sniffed */
	memset(h, 'a', sizeof(h));
	h[100] = 0;
	expect_media(h, sizeof(h), NULL, "application/octet-stream");
}

/* ---- archive.conf: case rows and bag limits ------------------------------------ */

/* Parses text and expects CU_EINVALID with a message holding want. */
static void
expect_conf_bad(const char *text, const char *want)
{
	cu_conf *c = NULL;
	int rc = cu_conf_parse(&c, text, "t.conf");

	if (rc != CU_EINVALID)
		fail_msg("parsed (%d), want CU_EINVALID [%s]", rc, want);
	assert_null(c);
	if (strstr(cu_error_last(), want) == NULL)
		fail_msg("message [%s] lacks [%s]", cu_error_last(), want);
	assert_null(strchr(cu_error_last(), '\n'));
}

#define RECEIPT_ROW "{ kind = \"receipt\"; category = \"SB\"; class = \"ZX\"; retention = \"D10\"; }"

static void
test_conf_case_rows(void **state)
{
	cu_conf *c = NULL;
	cu_class k;

	(void)state;
	/* the shipped table */
	assert_int_equal(cu_conf_parse(&c, cu_conf_default_text(), "archive.conf"), 0);
	assert_int_equal(cu_conf_classify(&k, c, "case", CASE_TYPE, "person"), 0);
	assert_string_equal(k.category, "YW");
	assert_string_equal(k.class_, "GS");
	assert_string_equal(k.retention, "D50");
	assert_int_equal(cu_conf_classify(&k, c, "case", "unit_registration", "org"), 0);
	assert_string_equal(k.class_, "DW");
	assert_string_equal(k.retention, "Y");
	assert_int_equal(cu_conf_classify(&k, c, "case", "internal_control", NULL), 0);
	assert_string_equal(k.retention, "D30");
	assert_int_equal(cu_conf_classify(&k, c, "case", "no_such_type", NULL), CU_ENOTFOUND);
	/* a case type is not a receipt service, nor the other way round */
	assert_int_equal(cu_conf_classify(&k, c, "receipt", CASE_TYPE, "person"), CU_ENOTFOUND);
	assert_int_equal(cu_conf_classify(&k, c, "case", "registration", "person"), CU_ENOTFOUND);
	cu_conf_free(c);

	/* case rows by subject, first match wins, a row without case_type
	 * takes every other type */
	assert_int_equal(cu_conf_parse(&c,
		"classes = ( " RECEIPT_ROW ",\n"
		"  { kind = \"case\"; case_type = \"x\"; subject = \"org\"; category = \"YW\"; class = \"XO\"; retention = \"Y\"; },\n"
		"  { kind = \"case\"; case_type = \"x\"; category = \"YW\"; class = \"XP\"; retention = \"D30\"; },\n"
		"  { kind = \"case\"; category = \"YW\"; class = \"QT\"; retention = \"D10\"; } );\n",
		"t.conf"), 0);
	assert_int_equal(cu_conf_classify(&k, c, "case", "x", "org"), 0);
	assert_string_equal(k.class_, "XO");
	assert_int_equal(cu_conf_classify(&k, c, "case", "x", "person"), 0);
	assert_string_equal(k.class_, "XP");
	assert_int_equal(cu_conf_classify(&k, c, "case", "x", NULL), 0);
	assert_string_equal(k.class_, "XP");
	assert_int_equal(cu_conf_classify(&k, c, "case", "anything", NULL), 0);
	assert_string_equal(k.class_, "QT");
	assert_string_equal(k.retention, "D10");
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "x", NULL), 0);
	assert_string_equal(k.class_, "ZX");
	cu_conf_free(c);

	/* case_type belongs on case rows only, and not beside service */
	expect_conf_bad("classes = ( " RECEIPT_ROW ",\n"
		"  { kind = \"receipt\"; case_type = \"x\"; category = \"SB\"; class = \"A\"; retention = \"Y\"; } );",
		"t.conf:2: case_type: only for kind = \"case\" rows");
	expect_conf_bad("classes = (\n\n"
		"  { kind = \"case\"; service = \"benefit\"; case_type = \"x\"; category = \"YW\"; class = \"A\"; retention = \"Y\"; } );",
		"t.conf:3: a row has service or case_type, not both");
	expect_conf_bad("classes = (\n"
		"  { kind = \"case\"; case_type = 7; category = \"YW\"; class = \"A\"; retention = \"Y\"; } );",
		"t.conf:2: case_type: must be a string");
	expect_conf_bad("classes = (\n"
		"  { kind = \"case\"; case_type = \"x\"; category = \"YW\"; class = \"A\"; retention = \"D5\"; } );",
		"t.conf:2: retention");
}

static void
test_conf_bag_limits(void **state)
{
	cu_conf *c = NULL;
	cu_conf_bag_limits l;
	cu_bag_limits d = cu_bag_limits_default();

	(void)state;
	/* shipped and missing give the same safe defaults as bag validate */
	assert_int_equal(cu_conf_parse(&c, cu_conf_default_text(), "archive.conf"), 0);
	l = cu_conf_bag(c);
	assert_int_equal(l.max_entries, d.max_entries);
	assert_int_equal(l.max_file_bytes, d.max_file_bytes);
	assert_int_equal(l.max_bag_bytes, d.max_bag_bytes);
	assert_int_equal(l.max_ratio, d.max_ratio);
	cu_conf_free(c);
	assert_int_equal(cu_conf_parse(&c, "classes = ( " RECEIPT_ROW " );", "t.conf"), 0);
	l = cu_conf_bag(c);
	assert_int_equal(l.max_entries, 100000);
	assert_int_equal(l.max_file_bytes, 4ULL << 30);
	assert_int_equal(l.max_bag_bytes, 16ULL << 30);
	assert_int_equal(l.max_ratio, 200);
	cu_conf_free(c);

	/* given values, and the ones left out keep their defaults */
	assert_int_equal(cu_conf_parse(&c, "classes = ( " RECEIPT_ROW " );\n"
		"bag_limits = { entries = 12; file_bytes = 70000000000L; ratio = 2; };", "t.conf"), 0);
	l = cu_conf_bag(c);
	assert_int_equal(l.max_entries, 12);
	assert_int_equal(l.max_file_bytes, 70000000000ULL);
	assert_int_equal(l.max_bag_bytes, 16ULL << 30);
	assert_int_equal(l.max_ratio, 2);
	cu_conf_free(c);

	/* out of range, wrong type, unknown keys: refused with the line */
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = {\n entries = 0;\n};",
		"t.conf:3: bag_limits.entries: must be an integer 1-10000000");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = { entries = 10000001; };",
		"t.conf:2: bag_limits.entries");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = {\n\n ratio = 1; };",
		"t.conf:4: bag_limits.ratio: must be an integer 2-100000");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = { ratio = 100001; };",
		"bag_limits.ratio");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = { file_bytes = -1; };",
		"bag_limits.file_bytes");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = { bag_bytes = 70368744177665L; };",
		"bag_limits.bag_bytes");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = { file_bytes = \"4G\"; };",
		"bag_limits.file_bytes: must be an integer");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = { ratio = 2.5; };",
		"bag_limits.ratio: must be an integer");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = {\n depth = 3; };",
		"t.conf:3: bag_limits: unknown setting depth");
	expect_conf_bad("classes = ( " RECEIPT_ROW " );\nbag_limits = 5;",
		"t.conf:2: bag_limits: must be a group");
}

/* ---- the object writer ------------------------------------------------------------ */

static void
test_cas_writer(void **state)
{
	char *objs = tpath("writer-objects"), *leftover;
	unsigned char big[200000], d[32], want[32];
	uint64_t size;
	cu_cas_writer *w = NULL;
	cu_cas *c = NULL;
	char *got = NULL;
	size_t len;
	int fd;

	(void)state;
	noise(big, sizeof(big), 99);
	assert_int_equal(cu_sha256(want, big, sizeof(big)), 0);
	assert_int_equal(cu_cas_open(&c, objs, 1), 0);

	/* freed before its commit: no trace */
	assert_int_equal(cu_cas_writer_new(&w, c), 0);
	assert_int_equal(cu_cas_writer_write(w, big, 1000), 0);
	assert_int_equal(cu_cas_writer_write(w, big + 1000, sizeof(big) - 1000), 0);
	assert_int_equal(cu_cas_writer_close(w, d, &size), 0);
	assert_memory_equal(d, want, 32);
	assert_int_equal(size, sizeof(big));
	cu_cas_writer_free(w);
	assert_int_equal(cu_cas_has_loose(c, want), 0);
	{
		char *inc = cu_asprintf("%s/incoming", objs);
		DIR *dir = opendir(inc);
		struct dirent *e;
		size_t n = 0;
		assert_non_null(dir);
		while ((e = readdir(dir)) != NULL)
			n += e->d_name[0] != '.';
		closedir(dir);
		assert_int_equal(n, 0);
		free(inc);
	}

	/* committed: a read-only loose object, readable and checked */
	assert_int_equal(cu_cas_writer_new(&w, c), 0);
	assert_int_equal(cu_cas_writer_write(w, big, sizeof(big)), 0);
	assert_int_equal(cu_cas_writer_commit(w), CU_EINVALID);   /* not closed yet */
	assert_int_equal(cu_cas_writer_close(w, d, &size), 0);
	assert_int_equal(cu_cas_writer_write(w, "x", 1), CU_EINVALID);
	assert_int_equal(cu_cas_writer_commit(w), 0);
	cu_cas_writer_free(w);
	assert_int_equal(cu_cas_has_loose(c, want), 1);
	assert_int_equal(cu_cas_read_loose(&got, &len, c, want), 0);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(got, big, len);
	free(got);

	/* the same bytes again: the object stays, the temporary file goes */
	assert_int_equal(cu_cas_writer_new(&w, c), 0);
	assert_int_equal(cu_cas_writer_write(w, big, sizeof(big)), 0);
	assert_int_equal(cu_cas_writer_close(w, d, NULL), 0);
	assert_int_equal(cu_cas_writer_commit(w), 0);
	cu_cas_writer_free(w);
	assert_int_equal(cu_cas_has_loose(c, want), 1);

	/* what a killed writer left is removed by clean_incoming */
	leftover = cu_asprintf("%s/incoming/4242-1", objs);
	assert_non_null(leftover);
	assert_true((fd = open(leftover, O_WRONLY | O_CREAT | O_EXCL, 0444)) >= 0);
	assert_int_equal(write(fd, big, 5000), 5000);
	close(fd);
	assert_int_equal(cu_cas_clean_incoming(c), 0);
	assert_int_equal(access(leftover, F_OK), -1);
	assert_int_equal(cu_cas_has_loose(c, want), 1);
	free(leftover);
	cu_cas_free(c);
	free(objs);
}

/* Opening an archive for writing removes what a killed writer left in
 * objects/incoming/; a reader leaves it alone. */
static void
test_clean_incoming_on_open(void **state)
{
	char *arch = new_archive("arch-clean", NULL), *inc, *leftover;
	cu_archive *a;
	int fd;

	(void)state;
	assert_non_null(inc = cu_asprintf("%s/objects/incoming", arch));
	assert_non_null(leftover = cu_asprintf("%s/12345-7", inc));
	mkdir(inc, 0700);
	assert_true((fd = open(leftover, O_WRONLY | O_CREAT | O_EXCL, 0444)) >= 0);
	assert_int_equal(write(fd, "half a scan", 11), 11);
	close(fd);
	a = open_arch(arch, CU_ARCHIVE_READ);
	cu_archive_free(a);
	assert_int_equal(access(leftover, F_OK), 0);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	assert_int_equal(access(leftover, F_OK), -1);
	cu_archive_free(a);
	assert_int_equal(incoming_count(arch), 0);
	free(leftover);
	free(inc);
	free(arch);
}

/* ---- a case in every container ------------------------------------------------------ */

static const char *const rich_media[] = {
	"application/pdf", "image/png", "text/plain; charset=utf-8",
	"application/octet-stream", "image/tiff",
};

/* Volume and item of each rich bag file: files sorted by name, volumes by
 * their first file (申请材料 sorts before 证明). */
static const long rich_vol[] = { 1, 1, 2, 2, 2 };
static const long rich_item[] = { 1, 2, 2, 1, 3 };

static void
check_rich_case(const char *arch, struct tbag *b, const char *path, const char *ref,
	const char *id)
{
	cu_archive *a = open_arch(arch, CU_ARCHIVE_WRITE);
	json_t *doc, *vols, *c, *subj;
	char dashed[200], *got = NULL;
	size_t len;

	/* the record */
	doc = get_doc(a, ref, 0);
	assert_string_equal(jstr(doc, "kind"), "case");
	assert_string_equal(jstr(doc, "ref"), ref);
	assert_string_equal(jstr(doc, "id"), id);
	assert_string_equal(jstr(doc, "source"), path);
	c = json_object_get(doc, "case");
	assert_string_equal(jstr(c, "case_type"), CASE_TYPE);
	assert_string_equal(jstr(c, "title"), "张三工伤认定材料");
	assert_string_equal(jstr(c, "source_org"), "北京市朝阳区社会保险事业管理中心");
	assert_string_equal(jstr(c, "bagging_date"), "2025-06-30");
	assert_string_equal(jstr(c, "insurance"), "work_injury");
	subj = json_object_get(c, "subject");
	assert_string_equal(jstr(subj, "kind"), "person");
	assert_string_equal(jstr(subj, "id_no"), P1_MASKED);
	assert_string_equal(jstr(subj, "name"), "张三");
	assert_string_equal(jstr(json_object_get(doc, "bag"), "version"), "1.0");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "bag"),
		"payload_files")), 5);
	vols = json_object_get(doc, "volumes");
	assert_int_equal(json_array_size(vols), 2);
	assert_string_equal(jstr(json_array_get(vols, 0), "name"), "申请材料");
	assert_string_equal(jstr(json_array_get(vols, 1), "name"), "证明");
	assert_int_equal(file_count(vols), 5);
	for (size_t i = 0; i < 5; i++) {
		expect_listed(vols, &b->f[i], ref, rich_vol[i], rich_item[i], rich_media[i]);
		assert_int_equal(json_integer_value(json_object_get(listed_file(vols,
			b->f[i].name + 5, NULL), "added_in")), 1);
	}
	json_decref(doc);

	/* every file's exact bytes, by path (with or without data/) and by its
	 * file ref as the key, '·' or '-' */
	for (size_t i = 0; i < 5; i++) {
		char fref[200];
		expect_file(a, ref, b->f[i].name + 5, &b->f[i]);
		snprintf(fref, sizeof(fref), "%s-%02ld-%04ld", ref, rich_vol[i], rich_item[i]);
		expect_file(a, fref, NULL, &b->f[i]);
	}
	expect_file(a, ref, b->f[0].name, &b->f[0]);
	snprintf(dashed, sizeof(dashed), "%s", ref);
	{
		char *dot = strstr(dashed, "\xc2\xb7");
		assert_non_null(dot);
		memmove(dot + 1, dot + 2, strlen(dot + 2) + 1);
		*dot = '-';
	}
	strcat(dashed, "-02-0003");
	expect_file(a, dashed, NULL, &b->f[4]);
	/* a case of several files needs one named; unknown ones are not found */
	assert_int_equal(get_file(a, ref, NULL, &got, &len), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "--file"));
	assert_int_equal(get_file(a, ref, "证明/none.txt", &got, &len), CU_ENOTFOUND);
	snprintf(dashed, sizeof(dashed), "%s-02-0009", ref);
	assert_int_equal(get_file(a, dashed, NULL, &got, &len), CU_ENOTFOUND);
	snprintf(dashed, sizeof(dashed), "%s-03-0001", ref);
	assert_int_equal(get_file(a, dashed, NULL, &got, &len), CU_ENOTFOUND);
	assert_null(got);

	/* ls's listing is the document's */
	vols = volumes_of(a, ref, 0);
	assert_int_equal(file_count(vols), 5);
	expect_listed(vols, &b->f[4], ref, 2, 3, "image/tiff");
	json_decref(vols);
	cu_archive_free(a);
}

static void
test_case_in_every_container(void **state)
{
	static const struct {
		const char *name;
		int dir;
		enum fmt fmt;
		const char *prefix;
	} forms[] = {
		{ "case-dir", 1, F_TAR, "" },
		{ "case.tar", 0, F_TAR, "GS-2025-0002/" },
		{ "case.tar.gz", 0, F_TGZ, "bag/" },
		{ "case.tar.xz", 0, F_TXZ, "bag/" },
		{ "case.tar.zst", 0, F_TZST, "bag/" },
		{ "case.zip", 0, F_ZIP, "" },
	};
	char *arch = new_archive("arch-forms", NULL);
	char ref[160], id[65], want[160], case_no[32];

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++) {
		struct tbag *b;
		char *path;
		snprintf(case_no, sizeof(case_no), "GS-2025-%04zu", i + 1);
		b = rich_bag(case_no, NULL);
		path = forms[i].dir ? write_dir(b, forms[i].name) :
			write_arc(b, forms[i].name, forms[i].fmt, forms[i].prefix);
		archive_case(arch, path, ref, id);
		/* work_injury_determination: YW, D50, GS; the year of Bagging-Date */
		snprintf(want, sizeof(want), "SI01-YW\xc2\xb7" "2025-D50-GS-%06zu", i + 1);
		assert_string_equal(ref, want);
		check_rich_case(arch, b, path, ref, id);
		/* the large file streamed to a loose object, the small ones packed */
		assert_true(has_loose(arch, b->f[4].data, b->f[4].len));
		assert_false(has_loose(arch, b->f[0].data, b->f[0].len));
		assert_int_equal(incoming_count(arch), 0);
		free(path);
		tbag_free(b);
	}
	expect_verified(arch);
	free(arch);
}

/* A Volume label puts every file in that one volume; a file directly in
 * data/ without one is in the volume named "". */
static void
test_case_volumes(void **state)
{
	char *arch = new_archive("arch-volumes", NULL), *path;
	struct tbag *b = calloc(1, sizeof(*b));
	char ref[160], id[65];
	cu_archive *a;
	json_t *vols;

	(void)state;
	assert_non_null(b);
	puts_(b, "data/申请材料/a.txt", "a\n", 0);
	puts_(b, "data/证明/b.txt", "b\n", 0);
	puts_(b, "data/c.txt", "c\n", 0);
	seal(b, case_info("GS-2025-0100", "Volume: 第一卷\n"));
	/* lower-case x in a resident ID number is the same number */
	{
		struct file *info = lookup(b, "bag-info.txt");
		char *x = strstr(info->data, P1);
		assert_non_null(x);
		x[17] = 'x';
		tagmanifest(b);
	}
	path = write_dir(b, "vol-label");
	archive_case(arch, path, ref, id);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	vols = volumes_of(a, ref, 0);
	assert_int_equal(json_array_size(vols), 1);
	assert_string_equal(jstr(json_array_get(vols, 0), "name"), "第一卷");
	expect_listed(vols, &b->f[2], ref, 1, 1, "text/plain; charset=utf-8");
	expect_listed(vols, &b->f[0], ref, 1, 2, "text/plain; charset=utf-8");
	expect_listed(vols, &b->f[1], ref, 1, 3, "text/plain; charset=utf-8");
	json_decref(vols);
	{
		json_t *doc = get_doc(a, ref, 0);
		assert_string_equal(jstr(json_object_get(json_object_get(doc, "case"), "subject"),
			"id_no"), P1_MASKED);
		json_decref(doc);
	}
	cu_archive_free(a);
	free(path);

	/* the same large bytes under two names: two files, one object */
	{
		struct tbag *d = calloc(1, sizeof(*d));
		assert_non_null(d);
		put_noise(d, "data/卷一/scan.tif", "II*\0", 4, 120000, 77);
		put_noise(d, "data/卷二/copy.tif", "II*\0", 4, 120000, 77);
		/* an empty file, and a name with a space and a percent sign */
		put(d, "data/卷二/empty", "", 0, 0);
		puts_(d, "data/卷二/100% 完成.txt", "完成\n", 0);
		seal(d, case_info("GS-2025-0102", NULL));
		path = write_arc(d, "twice.tar.gz", F_TGZ, "bag/");
		archive_case(arch, path, ref, id);
		assert_true(has_loose(arch, d->f[0].data, d->f[0].len));
		assert_int_equal(incoming_count(arch), 0);
		a = open_arch(arch, CU_ARCHIVE_WRITE);
		vols = volumes_of(a, ref, 0);
		expect_listed(vols, &d->f[0], ref, 1, 1, "image/tiff");
		expect_listed(vols, &d->f[1], ref, 2, 2, "image/tiff");
		expect_file(a, ref, "卷二/copy.tif", &d->f[1]);
		expect_listed(vols, &d->f[2], ref, 2, 3, "application/octet-stream");
		expect_listed(vols, &d->f[3], ref, 2, 1, "text/plain; charset=utf-8");
		expect_file(a, ref, "卷二/empty", &d->f[2]);
		expect_file(a, ref, "卷二/100% 完成.txt", &d->f[3]);
		json_decref(vols);
		cu_archive_free(a);
		free(path);
		tbag_free(d);
	}

	/* no label: the file at the top of data/ is in volume "" */
	seal(b, case_info("GS-2025-0101", NULL));
	path = write_arc(b, "vol-top.tar", F_TAR, "bag/");
	archive_case(arch, path, ref, id);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	vols = volumes_of(a, ref, 0);
	assert_int_equal(json_array_size(vols), 3);
	assert_string_equal(jstr(json_array_get(vols, 0), "name"), "");
	assert_string_equal(jstr(json_array_get(vols, 1), "name"), "申请材料");
	assert_string_equal(jstr(json_array_get(vols, 2), "name"), "证明");
	expect_listed(vols, &b->f[2], ref, 1, 1, "text/plain; charset=utf-8");
	expect_listed(vols, &b->f[1], ref, 3, 1, "text/plain; charset=utf-8");
	expect_file(a, ref, "c.txt", &b->f[2]);
	json_decref(vols);
	cu_archive_free(a);
	expect_verified(arch);
	free(path);
	tbag_free(b);
	free(arch);
}

/* ---- bad metadata ------------------------------------------------------------------ */

static void
test_case_metadata_errors(void **state)
{
	static const struct {
		const char *info, *needle, *absent;
	} bad[] = {
		{ "Case-Type: " CASE_TYPE "\n",
		  "bag-info.txt: External-Identifier: missing", NULL },
		{ "External-Identifier: M-1\n", "bag-info.txt: Case-Type: missing", NULL },
		{ "External-Identifier: M-1\nCase-Type: moon_landing\n",
		  "bag-info.txt: Case-Type: no class in archive.conf for case type moon_landing", NULL },
		{ "External-Identifier: M-1\nCase-Type: Work-Injury\n",
		  "bag-info.txt: Case-Type: only a-z", NULL },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nSubject-Id: 110105194912310023\n",
		  "bag-info.txt: Subject-Id: check character", "11010519491231002" },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nSubject-Id: 110105194902300024\n",
		  "bag-info.txt: Subject-Id:", "1101051949023" },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nSubject-Id: 91350100M000100Y44\n",
		  "bag-info.txt: Subject-Id:", "91350100M000100Y4" },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nSubject-Name: 张三\n",
		  "bag-info.txt: Subject-Name: given without Subject-Id", NULL },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nInsurance: lottery\n",
		  "bag-info.txt: Insurance: must be one of", NULL },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nBagging-Date: 2025-02-30\n",
		  "bag-info.txt: Bagging-Date: must be a date", NULL },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nBagging-Date: 30.06.2025\n",
		  "bag-info.txt: Bagging-Date: must be a date", NULL },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nBagging-Date: 2025-06-30T00:00:00Z\n",
		  "bag-info.txt: Bagging-Date:", NULL },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nTitle: 一\nTitle: 二\n",
		  "bag-info.txt: Title: given 2 times, expected once", NULL },
		{ "External-Identifier: M-1\nExternal-Identifier: M-2\nCase-Type: " CASE_TYPE "\n",
		  "bag-info.txt: External-Identifier: given 2 times", NULL },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\ncase-type: benefit_approval\n",
		  "bag-info.txt: Case-Type: given 2 times", NULL },
		{ "External-Identifier: M-1\nCase-Type: " CASE_TYPE "\nVolume: a/b\n",
		  "bag-info.txt: Volume: must not contain /", NULL },
		{ "External-Identifier: \nCase-Type: " CASE_TYPE "\n",
		  "bag-info.txt: External-Identifier: empty", NULL },
	};
	char *arch = new_archive("arch-meta", NULL), *path;
	char id[65], first[160];
	struct refused rl = { .n = 0 };
	struct tbag *b;

	(void)state;
	b = small_bag("External-Identifier: M-0\nCase-Type: " CASE_TYPE "\n");
	path = write_dir(b, "meta-good-0");
	archive_case(arch, path, first, id);
	free(path);
	tbag_free(b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char name[32];
		struct outs os;
		b = small_bag(bad[i].info);
		snprintf(name, sizeof(name), "meta-%zu%s", i, i % 2 ? ".tar.gz" : "");
		path = i % 2 ? write_arc(b, name, F_TGZ, "bag/") : write_dir(b, name);
		/* a complete and valid bag: only its metadata is wrong */
		assert_int_equal(cu_bag_validate(path, NULL, NULL, NULL, NULL), 0);
		if (bad[i].absent != NULL) {
			/* the reason never repeats the number */
			ingest(arch, &os, path, NULL);
			if (strstr(os.o[0].reason, bad[i].absent) != NULL)
				fail_msg("reason shows the number: %s", os.o[0].reason);
		}
		refuse(&rl, arch, path, bad[i].needle);
		tbag_free(b);
	}
	/* a bag without bag-info.txt at all */
	b = small_bag("External-Identifier: M-9\n");
	drop(b, "bag-info.txt");
	tagmanifest(b);
	path = write_dir(b, "meta-noinfo");
	refuse(&rl, arch, path, "bag-info.txt");
	tbag_free(b);
	/* a valid bag with nothing in data/ */
	b = small_bag("External-Identifier: M-11\nCase-Type: " CASE_TYPE "\n");
	drop(b, "data/申请材料/a.txt");
	drop(b, "data/证明/b.txt");
	seal(b, strdup("External-Identifier: M-11\nCase-Type: " CASE_TYPE "\n"));
	path = write_dir(b, "meta-empty");
	{
		char *data = cu_asprintf("%s/data", path);
		assert_non_null(data);
		assert_int_equal(mkdir(data, 0700), 0);
		free(data);
	}
	assert_int_equal(cu_bag_validate(path, NULL, NULL, NULL, NULL), 0);
	refuse(&rl, arch, path, "data/: the bag holds no payload files");
	tbag_free(b);
	/* numbers were not used up: the next good case is the next item */
	b = small_bag("External-Identifier: M-10\nCase-Type: " CASE_TYPE "\n");
	path = write_dir(b, "meta-good-1");
	refused_again(&rl, arch, path, first);
	free(path);
	tbag_free(b);
	free(arch);
}

/* ---- hostile archives ------------------------------------------------------------------ */

/* A base bag for hostile variants: valid as it stands. */
static struct tbag *
base_bag(const char *case_no)
{
	char *info = cu_asprintf("External-Identifier: %s\nCase-Type: " CASE_TYPE "\n", case_no);
	struct tbag *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	assert_non_null(info);
	puts_(b, "data/a.txt", "hello\n", 0);
	puts_(b, "data/sub/b.txt", "world\n", 0);
	seal(b, info);
	return b;
}

#define LIMIT_FILE (4u << 20)
#define LIMIT_BAG  (6u << 20)

static void
test_case_hostile(void **state)
{
	char *conf = conf_edit("entries = 100000;", "entries = 16;",
		"file_bytes = 4294967296L;", "file_bytes = 4194304;",
		"bag_bytes = 17179869184L;", "bag_bytes = 6291456;",
		"ratio = 200;", "ratio = 50;", NULL);
	char *arch = new_archive("arch-hostile", conf), *path, *p;
	char id[65], first[160];
	struct refused rl = { .n = 0 };
	struct tbag *b;
	char *zeros;

	(void)state;
	snprintf(evil_abs, sizeof(evil_abs), "/tmp/custos-case-evil-%ld", (long)getpid());
	snprintf(evil_rel, sizeof(evil_rel), "../custos-case-evil-%ld", (long)getpid());
	b = base_bag("H-0");
	path = write_arc(b, "good-0.tar", F_TAR, "bag/");
	archive_case(arch, path, first, id);
	free(path);
	tbag_free(b);

	/* an absolute name and a ".." name, in tar and zip */
	b = base_bag("H-1");
	puts_(b, evil_abs, "x", 0);
	path = write_arc(b, "abs.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "absolute path");
	path = write_arc(b, "abs.zip", F_ZIP, "");
	refuse(&rl, arch, path, "absolute path");
	tbag_free(b);
	b = base_bag("H-2");
	puts_(b, evil_rel, "x", 0);
	path = write_arc(b, "dotdot.tar.gz", F_TGZ, "bag/");
	refuse(&rl, arch, path, "\"..\" in path");
	path = write_arc(b, "dotdot.zip", F_ZIP, "");
	refuse(&rl, arch, path, "\"..\" in path");
	tbag_free(b);
	b = base_bag("H-3");
	assert_non_null(p = cu_asprintf("data/../../custos-case-evil-%ld-2", (long)getpid()));
	puts_(b, p, "x", 0);
	free(p);
	path = write_arc(b, "dotdot2.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "\"..\" in path");
	tbag_free(b);

	/* links, devices, FIFOs */
	b = base_bag("H-4");
	put_special(b, "data/link", K_SYMLINK, evil_abs);
	path = write_arc(b, "symlink.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "bag/data/link: symbolic link entry refused");
	path = write_arc(b, "symlink.zip", F_ZIP, "");
	refuse(&rl, arch, path, "symbolic link entry refused");
	path = write_dir(b, "symlink-dir");
	refuse(&rl, arch, path, "data/link: symbolic link refused");
	tbag_free(b);
	b = base_bag("H-5");
	put_special(b, "data/hard", K_HARDLINK, "bag/data/a.txt");
	path = write_arc(b, "hardlink.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "hard link entry refused");
	tbag_free(b);
	b = base_bag("H-6");
	put_special(b, "data/null", K_CHARDEV, NULL);
	path = write_arc(b, "device.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "device entry refused");
	tbag_free(b);
	b = base_bag("H-7");
	put_special(b, "data/pipe", K_FIFO, NULL);
	path = write_arc(b, "fifo.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "FIFO entry refused");
	path = write_dir(b, "fifo-dir");
	refuse(&rl, arch, path, "not a regular file");
	tbag_free(b);

	/* the same name twice, with other bytes the second time */
	b = base_bag("H-8");
	puts_(b, "data/a.txt", "HELLO\n", 0);
	path = write_arc(b, "dup.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "duplicate entry name");
	path = write_arc(b, "dup.zip", F_ZIP, "");
	refuse(&rl, arch, path, "duplicate entry name");
	tbag_free(b);

	/* names that are not UTF-8 or hold control characters */
	b = base_bag("H-9");
	puts_(b, "data/bad\xff\xfename.txt", "x", 0);
	path = write_arc(b, "utf8.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "name is not valid UTF-8");
	tbag_free(b);
	b = base_bag("H-10");
	puts_(b, "data/two\nlines.txt", "x", 0);
	path = write_arc(b, "newline.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "control character in name");
	tbag_free(b);

	/* more entries than bag_limits.entries (16) */
	b = base_bag("H-11");
	for (int i = 0; i < 12; i++) {
		char name[32];
		snprintf(name, sizeof(name), "data/many/%02d.txt", i);
		puts_(b, name, name, 0);
	}
	seal(b, strdup("External-Identifier: H-11\nCase-Type: " CASE_TYPE "\n"));
	path = write_arc(b, "many.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "more than 16 entries");
	path = write_dir(b, "many-dir");
	refuse(&rl, arch, path, "more than 16 entries");
	tbag_free(b);

	/* a file larger than file_bytes, a bag larger than bag_bytes */
	assert_non_null(zeros = calloc(1, LIMIT_FILE + 4096));
	b = base_bag("H-12");
	put(b, "data/big.bin", zeros, LIMIT_FILE + 1, 0);
	seal(b, strdup("External-Identifier: H-12\nCase-Type: " CASE_TYPE "\n"));
	path = write_arc(b, "bigfile.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "data/big.bin: larger than the limit of 4194304 bytes");
	path = write_dir(b, "bigfile-dir");
	refuse(&rl, arch, path, "larger than the limit of 4194304 bytes");
	tbag_free(b);
	b = base_bag("H-13");
	put(b, "data/half1.bin", zeros, LIMIT_BAG / 2, 0);
	put(b, "data/half2.bin", zeros, LIMIT_BAG / 2, 0);
	seal(b, strdup("External-Identifier: H-13\nCase-Type: " CASE_TYPE "\n"));
	path = write_arc(b, "bigbag.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "larger than the limit of 6291456 bytes");
	tbag_free(b);

	/* expansion above the ratio (50): gzip and a zip bomb, counted on the
	 * bytes really decompressed */
	b = base_bag("H-14");
	put(b, "data/zeros.bin", zeros, 3u << 20, 0);
	seal(b, strdup("External-Identifier: H-14\nCase-Type: " CASE_TYPE "\n"));
	path = write_arc(b, "bomb.tar.gz", F_TGZ, "bag/");
	refuse(&rl, arch, path, "expands more than 50 times");
	path = write_arc(b, "bomb.zip", F_ZIP, "");
	refuse(&rl, arch, path, "expands more than 50 times");
	path = write_arc(b, "bomb.tar.xz", F_TXZ, "bag/");
	refuse(&rl, arch, path, "expands more than 50 times");
	/* the same bag uncompressed is within every limit: kept for the end */
	char *plain = write_arc(b, "bomb-plain.tar", F_TAR, "bag/");
	tbag_free(b);
	free(zeros);

	/* truncated and corrupt archives */
	{
		unsigned char *rnd = malloc(256u << 10);
		struct stat st;
		assert_non_null(rnd);
		noise(rnd, 256u << 10, 5);
		b = base_bag("H-15");
		put(b, "data/noise.bin", rnd, 256u << 10, 0);
		free(rnd);
		seal(b, strdup("External-Identifier: H-15\nCase-Type: " CASE_TYPE "\n"));
		path = write_arc(b, "trunc.tar.gz", F_TGZ, "bag/");
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(truncate(path, st.st_size / 2), 0);
		refuse(&rl, arch, path, "corrupt or truncated archive");
		path = write_arc(b, "trunc.zip", F_ZIP, "");
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(truncate(path, st.st_size / 2), 0);
		refuse(&rl, arch, path, "not a complete and valid bag");
		tbag_free(b);
		path = tpath("garbage.tar.gz");
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fputs("\x1f\x8b this is not gzip at all", f);
		fclose(f);
		refuse(&rl, arch, path, "not a complete and valid bag");
	}

	/* fetch.txt: custos fetches nothing */
	b = base_bag("H-16");
	puts_(b, "fetch.txt", "https://example.org/evil 5 data/x\n", 0);
	tagmanifest(b);
	path = write_arc(b, "fetch.tar", F_TAR, "bag/");
	refuse(&rl, arch, path, "fetch.txt: custos fetches nothing from the network");
	tbag_free(b);

	/* nothing was numbered: the next good bag takes the next item, even
	 * in a batch with every refused bag */
	refused_again(&rl, arch, plain, first);
	free(plain);
	expect_no_evil();
	expect_verified(arch);
	free(arch);
	free(conf);
}

/* A nested archive is a file of the case, never opened. */
static void
test_case_nested_archive(void **state)
{
	char *arch = new_archive("arch-nested", NULL), *path, *zip;
	struct tbag *b = calloc(1, sizeof(*b));
	char ref[160], id[65];
	cu_archive *a;
	json_t *vols;
	size_t zlen, n = 12345;

	(void)state;
	assert_non_null(b);
	zip = zip_bytes(&zlen, "secret-inner.txt", "inside the inner zip\n");
	put(b, "data/附件/inner.zip", zip, zlen, 0);
	free(zip);
	puts_(b, "data/附件/readme.txt", "说明\n", 0);
	seal(b, case_info("GS-2025-0200", NULL));
	path = write_arc(b, "nested.zip", F_ZIP, "");
	archive_case(arch, path, ref, id);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	vols = volumes_of(a, ref, 0);
	assert_int_equal(file_count(vols), 2);
	expect_listed(vols, &b->f[0], ref, 1, 1, "application/zip");
	assert_null(listed_file(vols, "附件/inner.zip/secret-inner.txt", NULL));
	assert_null(listed_file(vols, "secret-inner.txt", NULL));
	expect_file(a, ref, "附件/inner.zip", &b->f[0]);
	json_decref(vols);
	/* the inner names are not the case's file names */
	assert_int_equal(cu_archive_search(a, &(cu_search_query){ .file_name = "secret" }, NULL,
		NULL, &n), 0);
	assert_int_equal(n, 0);
	cu_archive_free(a);
	free(path);
	tbag_free(b);
	free(arch);
}

/* Large files are streamed to temporary objects while the bag is read; a
 * bag found invalid after that leaves none of them behind. */
static void
test_case_streamed_then_invalid(void **state)
{
	char *arch = new_archive("arch-streamed", NULL), *path;
	struct tbag *b = calloc(1, sizeof(*b));
	char *objs_before, *objs_after, *objdir, ref[160], id[65];
	struct file *last;

	(void)state;
	assert_non_null(b);
	assert_non_null(objdir = cu_asprintf("%s/objects", arch));
	put_noise(b, "data/扫描/p1.tif", "II*\0", 4, 200000, 1);
	put_noise(b, "data/扫描/p2.tif", "II*\0", 4, 300000, 2);
	put_noise(b, "data/扫描/p3.tif", "II*\0", 4, 250000, 3);
	put_noise(b, "data/扫描/p4.tif", "II*\0", 4, 100000, 4);
	seal(b, case_info("GS-2025-0300", NULL));
	/* the last file read is damaged after the manifests were made */
	assert_non_null(last = lookup(b, "data/扫描/p4.tif"));
	last->data[50000] ^= 1;
	objs_before = tree(objdir, objdir);
	path = write_dir(b, "streamed-dir");
	expect_refused(arch, path, "data/扫描/p4.tif: md5 checksum does not match");
	free(path);
	path = write_arc(b, "streamed.tar.gz", F_TGZ, "bag/");
	expect_refused(arch, path, "checksum does not match");
	free(path);
	path = write_arc(b, "streamed.zip", F_ZIP, "");
	expect_refused(arch, path, "checksum does not match");
	free(path);
	objs_after = tree(objdir, objdir);
	assert_string_equal(objs_before, objs_after);
	for (size_t i = 0; i < 4; i++)
		assert_false(has_loose(arch, b->f[i].data, b->f[i].len));
	free(objs_after);

	/* repaired, the same bag is archived with every large file loose */
	last->data[50000] ^= 1;
	path = write_arc(b, "streamed-ok.tar.gz", F_TGZ, "bag/");
	archive_case(arch, path, ref, id);
	for (size_t i = 0; i < 4; i++)
		assert_true(has_loose(arch, b->f[i].data, b->f[i].len));
	assert_int_equal(incoming_count(arch), 0);
	assert_int_equal(item_of(ref), 1);
	free(path);
	free(objs_before);
	free(objdir);
	tbag_free(b);
	free(arch);
}

/* ---- supplements ------------------------------------------------------------------------ */

/* The steps of a trace. */
struct steps {
	char action[64][32], detail[64][512];
	size_t n, count_supplemented, files_read;
};

static int
on_step(const cu_trace_entry *e, void *payload)
{
	struct steps *st = payload;

	assert_true(st->n < 64);
	/* a trace shows no personal data */
	assert_null(strstr(e->detail, "11010519491231002"));
	assert_non_null(e->commit);
	assert_int_equal(strlen(e->commit), 40);
	snprintf(st->action[st->n], sizeof(st->action[0]), "%s", e->action);
	snprintf(st->detail[st->n], sizeof(st->detail[0]), "%s", e->detail);
	st->count_supplemented += strcmp(e->action, "supplemented") == 0;
	st->files_read += strcmp(e->action, "accessed") == 0 && strstr(e->detail, " of file ");
	st->n++;
	return 0;
}

static void
test_case_supplements(void **state)
{
	char *arch = new_archive("arch-supplement", NULL), *path;
	struct tbag *b1 = calloc(1, sizeof(*b1)), *b2 = calloc(1, sizeof(*b2)), *bad;
	char ref[160], id1[65], ref2[160], id2[65], ref3[160], id3[65];
	cu_archive *a;
	json_t *vols, *doc;
	struct outs os;
	struct file *note2;

	(void)state;
	assert_non_null(b1);
	assert_non_null(b2);
	puts_(b1, "data/申请材料/form.pdf", "%PDF-1.4 申请表", 0);
	puts_(b1, "data/证明/note.txt", "证明一\n", 0);
	seal(b1, case_info("GS-2025-0400", NULL));
	path = write_dir(b1, "sup-1");
	archive_case(arch, path, ref, id1);
	free(path);

	/* 补充材料: one file the case has, one new */
	puts_(b2, "data/证明/note.txt", "证明一\n", 0);
	puts_(b2, "data/证明/extra.txt", "补充证明\n", 0);
	seal(b2, case_info("GS-2025-0400", "Contact-Name: 李四\n"));
	path = write_arc(b2, "sup-2.tar", F_TAR, "bag/");
	archive_case(arch, path, ref2, id2);
	assert_string_equal(ref2, ref);
	assert_string_not_equal(id2, id1);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	vols = volumes_of(a, ref, 0);
	assert_int_equal(file_count(vols), 3);
	expect_listed(vols, &b1->f[0], ref, 1, 1, "application/pdf");
	expect_listed(vols, &b1->f[1], ref, 2, 1, "text/plain; charset=utf-8");
	expect_listed(vols, &b2->f[1], ref, 2, 2, "text/plain; charset=utf-8");
	assert_int_equal(json_integer_value(json_object_get(listed_file(vols, "证明/note.txt",
		NULL), "added_in")), 1);
	assert_int_equal(json_integer_value(json_object_get(listed_file(vols, "证明/extra.txt",
		NULL), "added_in")), 2);
	json_decref(vols);
	/* revision 1 as it was */
	vols = volumes_of(a, ref, 1);
	assert_int_equal(file_count(vols), 2);
	assert_null(listed_file(vols, "证明/extra.txt", NULL));
	json_decref(vols);
	doc = get_doc(a, ref, 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "revision")), 2);
	assert_string_equal(jstr(doc, "supersedes"), id1);
	assert_string_equal(jstr(doc, "id"), id2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "supplement"),
		"files_added")), 1);
	/* labels custos does not use are kept, with the supplement's own */
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(
		json_object_get(doc, "supplement"), "labels"), "Contact-Name"), 0)), "李四");
	json_decref(doc);
	doc = get_doc(a, ref, 1);
	assert_string_equal(jstr(doc, "id"), id1);
	assert_null(json_object_get(doc, "supersedes"));
	json_decref(doc);
	expect_file(a, ref, "证明/extra.txt", &b2->f[1]);
	expect_file(a, ref, "申请材料/form.pdf", &b1->f[0]);
	assert_int_equal(cu_archive_case_volumes(a, ref, 3, &vols), CU_ENOTFOUND);
	cu_archive_free(a);

	/* the same supplement again: a duplicate of revision 2 */
	ingest(arch, &os, path, NULL);
	assert_int_equal(os.n, 1);
	expect_status(&os.o[0], CU_INGEST_DUPLICATE);
	assert_string_equal(os.o[0].ref, ref);
	assert_string_equal(os.o[0].id, id2);
	/* and the first bag again: all its files are listed */
	free(path);
	path = write_dir(b1, "sup-1");
	ingest(arch, &os, path, NULL);
	expect_status(&os.o[0], CU_INGEST_DUPLICATE);
	assert_string_equal(os.o[0].id, id2);
	free(path);

	/* a supplement about another case type or another person is refused */
	bad = calloc(1, sizeof(*bad));
	assert_non_null(bad);
	puts_(bad, "data/证明/other.txt", "其他\n", 0);
	/* large enough to be streamed before the case is looked up */
	put_noise(bad, "data/证明/other.tif", "II*\0", 4, 150000, 21);
	seal(bad, strdup("External-Identifier: GS-2025-0400\nCase-Type: benefit_approval\n"
		"Subject-Id: " P1 "\n"));
	path = write_dir(bad, "sup-type");
	expect_refused(arch, path, "bag-info.txt: Case-Type: benefit_approval, but case "
		"GS-2025-0400 is archived as " CASE_TYPE);
	free(path);
	seal(bad, strdup("External-Identifier: GS-2025-0400\nCase-Type: " CASE_TYPE "\n"
		"Subject-Id: " P2 "\n"));
	path = write_dir(bad, "sup-person");
	expect_refused(arch, path, "bag-info.txt: Subject-Id: differs");
	ingest(arch, &os, path, NULL);
	assert_null(strstr(os.o[0].reason, P1));
	assert_null(strstr(os.o[0].reason, P2));
	free(path);
	seal(bad, strdup("External-Identifier: GS-2025-0400\nCase-Type: " CASE_TYPE "\n"
		"Subject-Id: " USCC "\n"));
	path = write_dir(bad, "sup-org");
	expect_refused(arch, path, "bag-info.txt: Subject-Id: differs");
	free(path);
	tbag_free(bad);

	/* a newer file under a name the case has: added, never replacing */
	puts_(b2, "data/证明/note.txt", "证明一（更正）\n", 1);
	seal(b2, case_info("GS-2025-0400", NULL));
	path = write_arc(b2, "sup-3.zip", F_ZIP, "");
	archive_case(arch, path, ref3, id3);
	assert_string_equal(ref3, ref);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	vols = volumes_of(a, ref, 0);
	assert_int_equal(file_count(vols), 4);
	json_decref(vols);
	/* by name, the newest; the old bytes keep their file ref */
	note2 = lookup(b2, "data/证明/note.txt");
	expect_file(a, ref, "证明/note.txt", note2);
	{
		char fref[200];
		snprintf(fref, sizeof(fref), "%s-02-0001", ref);
		expect_file(a, fref, NULL, &b1->f[1]);
		snprintf(fref, sizeof(fref), "%s-02-0003", ref);
		expect_file(a, fref, NULL, note2);
	}
	doc = get_doc(a, ref, 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "revision")), 3);
	assert_string_equal(jstr(doc, "supersedes"), id2);
	json_decref(doc);
	/* the life of the case: ingested, two supplements, the files read */
	{
		struct steps st = { .n = 0 };
		assert_int_equal(cu_archive_trace(a, ref, on_step, &st), 0);
		assert_true(st.n >= 4);
		assert_string_equal(st.action[0], "ingested");
		assert_non_null(strstr(st.detail[0], "case GS-2025-0400, 2 files in 2 volumes"));
		assert_int_equal(st.count_supplemented, 2);
		assert_true(st.files_read >= 4);
	}
	cu_archive_free(a);
	free(path);
	expect_verified(arch);
	tbag_free(b1);
	tbag_free(b2);
	free(arch);
}

/* A case and its supplement in one ingest call: the batch is committed
 * before the supplement reads the case. */
static void
test_case_supplement_same_batch(void **state)
{
	char *arch = new_archive("arch-samebatch", NULL), *p1, *p2, *p3;
	struct tbag *b1, *b2 = calloc(1, sizeof(*b2)), *b3;
	cu_archive *a;
	json_t *vols, *doc;
	struct outs os;

	(void)state;
	assert_non_null(b2);
	b1 = small_bag("External-Identifier: SB-1\nCase-Type: " CASE_TYPE "\nSubject-Id: " P1 "\n");
	puts_(b2, "data/证明/c.txt", "第三份\n", 0);
	puts_(b2, "data/补充/d.txt", "第四份\n", 0);
	seal(b2, strdup("External-Identifier: SB-1\nCase-Type: " CASE_TYPE "\n"));
	b3 = small_bag("External-Identifier: SB-2\nCase-Type: " CASE_TYPE "\n");
	p1 = write_dir(b1, "same-1");
	p2 = write_arc(b2, "same-2.tar.zst", F_TZST, "bag/");
	p3 = write_dir(b3, "same-3");
	/* the supplement given twice: the second time it adds nothing */
	ingest(arch, &os, p1, p2, p3, p2, NULL);
	assert_int_equal(os.n, 4);
	expect_status(&os.o[0], CU_INGEST_ARCHIVED);
	expect_status(&os.o[1], CU_INGEST_ARCHIVED);
	expect_status(&os.o[2], CU_INGEST_ARCHIVED);
	expect_status(&os.o[3], CU_INGEST_DUPLICATE);
	assert_string_equal(os.o[3].ref, os.o[1].ref);
	assert_string_equal(os.o[3].id, os.o[1].id);
	assert_string_equal(os.o[0].ref, os.o[1].ref);
	assert_string_not_equal(os.o[0].id, os.o[1].id);
	assert_int_equal(item_of(os.o[0].ref), 1);
	assert_int_equal(item_of(os.o[2].ref), 2);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	vols = volumes_of(a, os.o[0].ref, 0);
	assert_int_equal(json_array_size(vols), 3);
	assert_int_equal(file_count(vols), 4);
	expect_listed(vols, &b2->f[0], os.o[0].ref, 2, 2, "text/plain; charset=utf-8");
	expect_listed(vols, &b2->f[1], os.o[0].ref, 3, 1, "text/plain; charset=utf-8");
	assert_string_equal(jstr(json_array_get(vols, 2), "name"), "补充");
	json_decref(vols);
	doc = get_doc(a, os.o[0].ref, 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "revision")), 2);
	assert_string_equal(jstr(doc, "supersedes"), os.o[0].id);
	/* the supplement gave no Subject-Id: the case keeps its subject */
	assert_string_equal(jstr(json_object_get(json_object_get(doc, "case"), "subject"),
		"id_no"), P1_MASKED);
	json_decref(doc);
	cu_archive_free(a);
	expect_verified(arch);
	free(p1);
	free(p2);
	free(p3);
	tbag_free(b1);
	tbag_free(b2);
	tbag_free(b3);
	free(arch);
}

/* ---- search, privacy, reindex ------------------------------------------------------ */

static int
collect_hit(const json_t *hit, void *payload)
{
	return json_array_append_new(payload, json_deep_copy(hit));
}

static json_t *
search(cu_archive *a, const cu_search_query *q)
{
	json_t *hits = json_array();
	size_t n = 12345;

	if (cu_archive_search(a, q, collect_hit, hits, &n) != 0)
		fail_msg("search: %s", cu_error_last());
	assert_int_equal(n, json_array_size(hits));
	return hits;
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

/* The refs of the hits, space-separated, in hit order. */
static void
hit_refs(char *out, size_t sz, cu_archive *a, const cu_search_query *q)
{
	json_t *hits = search(a, q), *h;
	size_t i, o = 0;

	out[0] = '\0';
	json_array_foreach(hits, i, h)
		o += (size_t)snprintf(out + o, sz - o, "%s%s", o ? " " : "", jstr(h, "ref"));
	assert_true(o < sz);
	json_decref(hits);
}

#define Q(...) (&(cu_search_query){ __VA_ARGS__ })

static void
expect_refs(cu_archive *a, const cu_search_query *q, const char *want)
{
	char got[1024];

	hit_refs(got, sizeof(got), a, q);
	if (strcmp(got, want) != 0)
		fail_msg("search gave [%s], want [%s]", got, want);
}

/* A receipt has no volumes and no files; a case is not amended (documents
 * come as supplements). */
static void
expect_receipt_is_no_case(const char *arch, const char *receipt_ref, const char *case_ref)
{
	const char *sets[] = { "summary=改" };
	cu_archive *a = open_arch(arch, CU_ARCHIVE_WRITE);
	char key[200], new_id[65], ref[128], *got = NULL, head[41], head2[41];
	json_t *vols = NULL;
	size_t len;
	long rev = 0;

	assert_int_equal(cu_archive_case_volumes(a, receipt_ref, 0, &vols), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "not a case"));
	assert_null(vols);
	assert_int_equal(get_file(a, receipt_ref, "a.txt", &got, &len), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "not a case"));
	/* the shape of a file ref on a receipt names nothing */
	snprintf(key, sizeof(key), "%s-01-0001", receipt_ref);
	assert_int_equal(get_file(a, key, NULL, &got, &len), CU_ENOTFOUND);
	assert_null(got);
	assert_int_equal(cu_archive_resolve(new_id, a, key), CU_ENOTFOUND);
	cu_archive_free(a);
	head_of(head, arch);
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	assert_int_equal(cu_archive_amend(a, case_ref, sets, 1, "更正", new_id, ref, &rev),
		CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "case"));
	cu_archive_free(a);
	head_of(head2, arch);
	assert_string_equal(head, head2);
}

/* The queries whose answers must survive a reindex. */
static const cu_search_query reindex_queries[] = {
	{ .type = "case" }, { .type = "receipt" }, { .person = P1 }, { .org = USCC },
	{ .case_no = "GS-2025-0500" }, { .file_name = "scan" }, { .file_name = "新证据" },
	{ .text = "工伤认定" }, { .text = "张三" }, { .insurance = "work_injury" },
	{ .service = "registration" }, { .from = "2025-06-30", .to = "2025-06-30" },
};

static void
test_case_search_and_reindex(void **state)
{
	char *arch = new_archive("arch-search", NULL), *path;
	char rec[1024], ref1[160], id1[65], ref2[160], id2[65], want[400];
	char *before[4], *dumps[sizeof(reindex_queries) / sizeof(*reindex_queries)];
	struct tbag *b1, *b2, *b3 = calloc(1, sizeof(*b3));
	cu_archive *a;
	struct outs os;
	json_t *hits, *h;
	size_t n;

	(void)state;
	/* a receipt first, and what search says about receipts */
	snprintf(rec, sizeof(rec), "{\"type\":\"receipt\",\"receipt_no\":\"R-1\","
		"\"issued_at\":\"2026-11-20T09:31:00+08:00\",\"agency\":\"110105\","
		"\"channel\":\"window\",\"service\":\"registration\",\"insurance\":\"pension\","
		"\"subject\":{\"kind\":\"person\",\"id_no\":\"%s\",\"name\":\"张三\"},"
		"\"operator\":\"op-017\",\"summary\":\"参保登记\"}\n", P1);
	path = tpath("receipt.json");
	{
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(rec, f);
		fclose(f);
	}
	ingest(arch, &os, path, NULL);
	expect_status(&os.o[0], CU_INGEST_ARCHIVED);
	free(path);
	a = open_arch(arch, CU_ARCHIVE_READ);
	before[0] = dump_search(a, Q(.person = P1));
	before[1] = dump_search(a, Q(.service = "registration"));
	before[2] = dump_search(a, Q(.text = "参保登记"));
	before[3] = dump_search(a, Q(.text = "张三"));
	cu_archive_free(a);

	/* a person's case, and an organisation's */
	b1 = rich_bag("GS-2025-0500", NULL);
	path = write_arc(b1, "search-1.tar.gz", F_TGZ, "bag/");
	archive_case(arch, path, ref1, id1);
	free(path);
	b2 = small_bag("External-Identifier: DW-2025-0001\nCase-Type: unit_registration\n"
		"Title: 福建某实业有限公司参保单位登记\nSubject-Id: " USCC "\n"
		"Subject-Name: 福建某实业有限公司\nBagging-Date: 2025-03-01\n");
	path = write_dir(b2, "search-2");
	archive_case(arch, path, ref2, id2);
	free(path);
	assert_string_equal(ref2, "SI01-YW\xc2\xb7" "2025-Y-DW-000001");
	/* documents added to the first case */
	puts_(b3, "data/补充/新证据.txt", "新的证据\n", 0);
	seal(b3, case_info("GS-2025-0500", NULL));
	path = write_dir(b3, "search-3");
	archive_case(arch, path, want, id1);
	assert_string_equal(want, ref1);
	free(path);

	a = open_arch(arch, CU_ARCHIVE_READ);
	/* by type: cases newest first (by Bagging-Date), receipts as before */
	snprintf(want, sizeof(want), "%s %s", ref1, ref2);
	expect_refs(a, Q(.type = "case"), want);
	{
		char *s = dump_search(a, Q(.person = P1, .type = "receipt"));
		assert_string_equal(s, before[0]);
		free(s);
		s = dump_search(a, Q(.service = "registration"));
		assert_string_equal(s, before[1]);
		free(s);
		s = dump_search(a, Q(.text = "参保登记"));
		assert_string_equal(s, before[2]);
		free(s);
		s = dump_search(a, Q(.type = "receipt"));
		assert_string_equal(s, before[0]);
		free(s);
	}
	/* by case number, file names (old and added), title words, person */
	expect_refs(a, Q(.case_no = "GS-2025-0500"), ref1);
	expect_refs(a, Q(.case_no = "DW-2025-0001"), ref2);
	expect_refs(a, Q(.case_no = "GS-2025-9999"), "");
	expect_refs(a, Q(.file_name = "scan"), ref1);
	expect_refs(a, Q(.file_name = "SCAN tif"), ref1);
	expect_refs(a, Q(.file_name = "新证据"), ref1);
	expect_refs(a, Q(.file_name = "scan", .type = "receipt"), "");
	expect_refs(a, Q(.file_name = "nosuchfile"), "");
	expect_refs(a, Q(.text = "scan"), "");   /* file names are not title words */
	expect_refs(a, Q(.text = "工伤认定"), ref1);
	expect_refs(a, Q(.text = "参保单位"), ref2);
	expect_refs(a, Q(.text = "工伤认定", .file_name = "note"), ref1);
	expect_refs(a, Q(.org = USCC), ref2);
	expect_refs(a, Q(.insurance = "work_injury"), ref1);
	hits = search(a, Q(.person = P1));
	assert_int_equal(json_array_size(hits), 2);
	n = 0;
	{
		size_t i;
		json_array_foreach(hits, i, h) {
			const json_t *s = json_object_get(h, "subject");
			char *text = json_dumps(h, JSON_COMPACT);
			assert_string_equal(jstr(s, "id"), P1_MASKED);
			assert_null(strstr(text, P1));
			free(text);
			if (strcmp(jstr(h, "kind"), "case") == 0) {
				n++;
				assert_string_equal(jstr(h, "ref"), ref1);
				assert_string_equal(jstr(h, "case_no"), "GS-2025-0500");
				assert_string_equal(jstr(h, "case_type"), CASE_TYPE);
				assert_string_equal(jstr(h, "summary"), "张三工伤认定材料");
				assert_int_equal(json_integer_value(json_object_get(h, "files")), 6);
				assert_int_equal(json_integer_value(json_object_get(h, "volumes")), 3);
				assert_int_equal(json_integer_value(json_object_get(h, "revision")), 2);
				assert_string_equal(jstr(h, "id"), id1);
			}
		}
	}
	assert_int_equal(n, 1);   /* the current revision only */
	json_decref(hits);
	assert_int_equal(cu_archive_search(a, Q(.type = "fund"), collect_hit, NULL, NULL),
		CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "--type"));
	assert_int_equal(cu_archive_search(a, Q(.file_name = "-- //"), collect_hit, NULL, NULL),
		CU_EINVALID);
	for (size_t i = 0; i < sizeof(reindex_queries) / sizeof(*reindex_queries); i++)
		dumps[i] = dump_search(a, &reindex_queries[i]);
	cu_archive_free(a);

	/* the index never holds an ID number in clear, nor does history's log */
	{
		char *p = cu_asprintf("%s/index/data.mdb", arch), *data = NULL;
		size_t len = 0;
		assert_non_null(p);
		assert_int_equal(cu_read_file(&data, &len, p, (size_t)1 << 30), 0);
		assert_non_null(memmem(data, len, P1_MASKED, strlen(P1_MASKED)));
		assert_null(memmem(data, len, P1, strlen(P1)));
		assert_null(memmem(data, len, "11010519491231002", 17));
		free(data);
		free(p);
		p = cu_asprintf("git --git-dir='%s/history.git' log --format=%%B main | grep -q "
			"11010519491231002", arch);
		assert_non_null(p);
		assert_int_not_equal(system(p), 0);   /* grep found nothing */
		free(p);
	}

	/* rebuilt from history and objects alone, the index answers the same */
	a = open_arch(arch, CU_ARCHIVE_REPAIR);
	if (cu_archive_reindex(a, &n) != 0)
		fail_msg("reindex: %s", cu_error_last());
	cu_archive_free(a);
	assert_true(n >= 4);
	a = open_arch(arch, CU_ARCHIVE_READ);
	for (size_t i = 0; i < sizeof(reindex_queries) / sizeof(*reindex_queries); i++) {
		char *s = dump_search(a, &reindex_queries[i]);
		if (strcmp(s, dumps[i]) != 0)
			fail_msg("query %zu after reindex:\n%s\nbefore:\n%s", i, s, dumps[i]);
		free(s);
		free(dumps[i]);
	}
	expect_refs(a, Q(.file_name = "新证据"), ref1);
	cu_archive_free(a);
	/* and every file is still found by its ref */
	a = open_arch(arch, CU_ARCHIVE_WRITE);
	{
		char fref[200];
		snprintf(fref, sizeof(fref), "%s-03-0001", ref1);
		expect_file(a, fref, NULL, &b3->f[0]);
		snprintf(fref, sizeof(fref), "%s-02-0003", ref1);
		expect_file(a, fref, NULL, &b1->f[4]);
	}
	cu_archive_free(a);
	expect_receipt_is_no_case(arch, os.o[0].ref, ref1);
	expect_verified(arch);
	for (int i = 0; i < 4; i++)
		free(before[i]);
	tbag_free(b1);
	tbag_free(b2);
	tbag_free(b3);
	free(arch);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_rf(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_media_signatures),
		cmocka_unit_test(test_media_text_or_binary),
		cmocka_unit_test(test_conf_case_rows),
		cmocka_unit_test(test_conf_bag_limits),
		cmocka_unit_test(test_cas_writer),
		cmocka_unit_test(test_clean_incoming_on_open),
		cmocka_unit_test(test_case_in_every_container),
		cmocka_unit_test(test_case_volumes),
		cmocka_unit_test(test_case_metadata_errors),
		cmocka_unit_test(test_case_hostile),
		cmocka_unit_test(test_case_nested_archive),
		cmocka_unit_test(test_case_streamed_then_invalid),
		cmocka_unit_test(test_case_supplements),
		cmocka_unit_test(test_case_supplement_same_batch),
		cmocka_unit_test(test_case_search_and_reindex),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
