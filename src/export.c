/* export.c — a record, or every hit of a search, as a BagIt 1.0 bag for
 * hand-over and use: the content under data/, the record documents exactly
 * as logged, their inclusion proofs and the signed checkpoint under custos/
 * (cu_archive_export in custos/archive.h, docs/export.md).
 *
 * The order of things is what makes an export safe: everything is read and
 * checked first; then the access event is committed (nothing is written if
 * it cannot be); then the bag is written under a temporary name beside OUT
 * and renamed to OUT only once it is whole and durable. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "custos/archive.h"
#include "custos/cas.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/index.h"
#include "custos/util.h"
#include "archive_int.h"

#define CHUNK ((size_t)1 << 20)   /* in-memory files go to the writer in these */

/* ---- small helpers ------------------------------------------------------------ */

/* A growable text buffer. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static int
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (cu_grow(&b->s, &b->cap, b->len + n + 1, 1) < 0)
		return CU_ERROR;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int
sb_str(struct sbuf *b, const char *s)
{
	return sb_add(b, s, strlen(s));
}

static int
sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, error;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	error = sb_add(b, s, (size_t)n);
	free(s);
	return error;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* A manifest path as RFC 8493 §2.1.3 wants it: %, CR and LF
 * percent-encoded, everything else as it is. */
static int
sb_manifest_path(struct sbuf *b, const char *name)
{
	for (const char *p = name; *p; p++) {
		const char *enc = *p == '%' ? "%25" : *p == '\r' ? "%0D" : *p == '\n' ? "%0A" : NULL;
		int error = enc ? sb_str(b, enc) : sb_add(b, p, 1);
		if (error < 0)
			return error;
	}
	return 0;
}

/* A label line of bag-info.txt; line breaks in the value become spaces. */
static int
sb_label(struct sbuf *b, const char *label, const char *value)
{
	int error;

	if (value == NULL)
		return 0;
	if ((error = sb_str(b, label)) < 0 || (error = sb_str(b, ": ")) < 0)
		return error;
	for (const char *p = value; *p; p++)
		if ((error = sb_add(b, *p == '\r' || *p == '\n' ? " " : p, 1)) < 0)
			return error;
	return sb_str(b, "\n");
}

/* The ref as a file name: '-' for '·', so a shell user can type it (the
 * archive takes it as KEY in that form too). */
static void
ref_file_name(char *out, size_t outsz, const char *ref)
{
	size_t o = 0;

	for (const char *p = ref; *p && o + 1 < outsz; p++) {
		if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xB7) {
			out[o++] = '-';
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

/* 1 if a path from a record document is safe to write under a folder:
 * relative, '/'-separated, no empty, "." or ".." segment, no control
 * character (ingest refused all of these; the export checks again rather
 * than trust a document). */
static int
safe_rel_path(const char *p)
{
	const char *seg = p;

	if (p[0] == '\0' || p[0] == '/' || strlen(p) > 3000)
		return 0;
	for (const char *q = p;; q++) {
		if (*q == '/' || *q == '\0') {
			size_t n = (size_t)(q - seg);
			if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return 0;
			if (*q == '\0')
				return 1;
			seg = q + 1;
		} else if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			return 0;
		}
	}
}

/* "12.3 MB": the approximate size RFC 8493 §2.2.2 suggests for Bag-Size
 * (decimal units, integer arithmetic). */
static void
human_size(char *out, size_t outsz, uint64_t n)
{
	static const char *const units[] = { "KB", "MB", "GB", "TB", "PB" };
	uint64_t scale = 1000, tenths;
	size_t u = 0;

	if (n < 1000) {
		snprintf(out, outsz, "%llu bytes", (unsigned long long)n);
		return;
	}
	while (u + 1 < sizeof(units) / sizeof(*units) && n / scale >= 1000) {
		scale *= 1000;
		u++;
	}
	tenths = (n + scale / 20) / (scale / 10);
	snprintf(out, outsz, "%llu.%llu %s", (unsigned long long)(tenths / 10),
		(unsigned long long)(tenths % 10), units[u]);
}

/* The date today in the archive's time zone, YYYY-MM-DD. */
static void
local_date(char out[16], const cu_archive *a)
{
	time_t t = time(NULL) + (time_t)cu_conf_tz_offset(a->conf) * 60;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* ---- what goes into the bag ------------------------------------------------------ */

struct bfile {
	char *name;                 /* bag-relative: "data/…", "custos/…" */
	int payload;
	char *mem;                  /* the bytes of a file made here, or */
	size_t len;
	int is_object;              /* a content object, read when it is written */
	unsigned char object[32];
	uint64_t size;
	unsigned char sha256[32], sha512[64];   /* filled as it is written */
};

struct xdoc {
	char *raw;                  /* the document exactly as logged */
	size_t len;
	uint64_t leaf;
	char name[200];             /* "<ref>.json", "<ref>.r2.json", … */
};

struct xrec {
	char id[65];
	char ref[128];
	char rname[128];            /* the ref as a file name */
	json_t *doc;                /* the current revision */
	struct xdoc *docs;          /* every revision, the first first */
	size_t ndocs;
};

struct plan {
	cu_archive *a;
	int search;                 /* one folder per record under data/ */
	struct xrec *recs;
	size_t nrecs, caprecs;
	struct bfile *files;
	size_t nfiles, capfiles;
	uint64_t payload_files, payload_bytes;
	int replaced;               /* some case file was replaced by a later one */
	const char *volume_label;   /* a case: the Volume label bag-info.txt needs */
	int volumes_lost;           /* a case whose volumes no one bag can give */
};

static void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nrecs; i++) {
		for (size_t k = 0; k < p->recs[i].ndocs; k++)
			free(p->recs[i].docs[k].raw);
		free(p->recs[i].docs);
		json_decref(p->recs[i].doc);
	}
	free(p->recs);
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].name);
		free(p->files[i].mem);
	}
	free(p->files);
}

/* Adds a file; mem (may be NULL for an object) becomes the plan's. */
static int
add_file(struct plan *p, char *name, int payload, char *mem, size_t len,
	const unsigned char *object, uint64_t size)
{
	struct bfile *f;

	if (name == NULL || cu_grow(&p->files, &p->capfiles, p->nfiles + 1, sizeof(*p->files)) < 0) {
		free(name);
		free(mem);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	f = &p->files[p->nfiles++];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->payload = payload;
	if (object != NULL) {
		f->is_object = 1;
		memcpy(f->object, object, 32);
		f->size = size;
	} else {
		f->mem = mem;
		f->len = len;
		f->size = len;
	}
	if (payload) {
		p->payload_files++;
		p->payload_bytes += f->size;
	}
	return 0;
}

static int
add_text(struct plan *p, char *name, char *text)
{
	if (text == NULL) {
		free(name);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	return add_file(p, name, 0, text, strlen(text), NULL, 0);
}

/* A content object named by a record: "sha256:<hex>" and its size. */
static int
add_object(struct plan *p, char *name, int payload, const char *digest, json_t *size,
	const char *ref)
{
	unsigned char d[32];

	if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || cu_unhex(d, 32, digest + 7) < 0 ||
	    !json_is_integer(size) || json_integer_value(size) < 0) {
		free(name);
		return cu_error_set(CU_EINVALID, "record %s: a content digest or size is malformed",
			ref);
	}
	return add_file(p, name, payload, NULL, 0, d, (uint64_t)json_integer_value(size));
}

struct cfile {
	const char *path;
	size_t order;
	long volume, item;
	const char *digest;
	json_t *size;
};

static int
cmp_cfile(const void *x, const void *y)
{
	const struct cfile *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	return c != 0 ? c : a->order < b->order ? -1 : a->order > b->order;
}

/* The files of a case: each under data/[<ref>/]<path>; a path the case
 * lists more than once (a supplement brought newer bytes under a name it
 * had) gets its latest bytes there, the earlier ones go to
 * custos/replaced/<ref>/<volume>-<item>/<path>. */
static int
plan_case_files(struct plan *p, struct xrec *r, const char *prefix)
{
	struct cfile *cf = NULL;
	size_t n = 0, cap = 0, i, j;
	json_t *v, *f;
	int error = 0;

	json_array_foreach(json_object_get(r->doc, "volumes"), i, v) {
		json_array_foreach(json_object_get(v, "files"), j, f) {
			const char *path = arc_jstr(f, "path");
			if (path == NULL || !safe_rel_path(path)) {
				error = cu_error_set(CU_EINVALID, "record %s: volume %zu file %zu: path "
					"missing or unsafe", r->ref, i + 1, j + 1);
				goto done;
			}
			if ((error = cu_grow(&cf, &cap, n + 1, sizeof(*cf))) < 0)
				goto done;
			cf[n] = (struct cfile){ path, n,
				(long)json_integer_value(json_object_get(v, "volume")),
				(long)json_integer_value(json_object_get(f, "item")),
				arc_jstr(f, "digest"), json_object_get(f, "size") };
			n++;
		}
	}
	if (n == 0) {
		error = cu_error_set(CU_EINVALID, "record %s: a case without files", r->ref);
		goto done;
	}
	qsort(cf, n, sizeof(*cf), cmp_cfile);
	for (i = 0; i < n; i++) {
		int latest = i + 1 == n || strcmp(cf[i].path, cf[i + 1].path) != 0;
		char *name = latest ? cu_asprintf("%s%s", prefix, cf[i].path)
				    : cu_asprintf("custos/replaced/%s/%02ld-%04ld/%s", r->rname,
					cf[i].volume, cf[i].item, cf[i].path);
		if (!latest)
			p->replaced = 1;
		if ((error = add_object(p, name, latest, cf[i].digest, cf[i].size, r->ref)) < 0)
			goto done;
	}
done:
	free(cf);
	return error;
}

/* Reads one record (every revision, exactly as logged) and adds its
 * content to the plan. */
static int
plan_record(struct plan *p, const char *id_hex)
{
	cu_archive *a = p->a;
	struct xrec *r;
	char *raw = NULL, path[256], prefix[200];
	size_t len;
	long rev;
	json_t *doc = NULL;
	int error;

	for (size_t i = 0; i < p->nrecs; i++)
		if (strcmp(p->recs[i].id, id_hex) == 0)
			return 0;
	if ((error = arc_load_record_raw(&doc, &raw, &len, a, id_hex)) < 0)
		return error;
	if (arc_jstr(doc, "ref") == NULL || strlen(arc_jstr(doc, "ref")) >= sizeof(r->ref)) {
		error = cu_error_set(CU_EINVALID, "record %s has no ref", id_hex);
		goto fail;
	}
	/* a disposed record's content is gone by decision, not by damage */
	if ((error = arc_dispo_check_content(a, doc)) < 0)
		goto fail;
	if ((error = cu_grow(&p->recs, &p->caprecs, p->nrecs + 1, sizeof(*p->recs))) < 0)
		goto fail;
	r = &p->recs[p->nrecs++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id_hex);
	snprintf(r->ref, sizeof(r->ref), "%s", arc_jstr(doc, "ref"));
	ref_file_name(r->rname, sizeof(r->rname), r->ref);
	r->doc = doc;
	doc = NULL;
	if (!safe_rel_path(r->rname) || strchr(r->rname, '/') != NULL) {
		free(raw);
		return cu_error_set(CU_EINVALID, "record %s: the ref cannot name a file", r->ref);
	}
	rev = arc_revision(r->doc);
	if ((r->docs = calloc((size_t)rev, sizeof(*r->docs))) == NULL) {
		free(raw);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	r->ndocs = (size_t)rev;
	r->docs[rev - 1].raw = raw;
	r->docs[rev - 1].len = len;
	raw = NULL;
	for (long k = 1; k <= rev; k++) {
		struct xdoc *d = &r->docs[k - 1];
		json_t *o = NULL, *leaf;
		if (k < rev && ((error = arc_record_path(path, sizeof(path), r->ref, k)) < 0 ||
				(error = cu_history_read(&d->raw, &d->len, a->hist, NULL, path)) < 0))
			return error;
		if ((o = json_loadb(d->raw, d->len, 0, NULL)) == NULL || arc_revision(o) != k) {
			json_decref(o);
			return cu_error_set(CU_EINVALID, "record %s revision %ld: not the document "
				"expected", r->ref, k);
		}
		leaf = json_object_get(o, "leaf");
		if (!json_is_integer(leaf) || json_integer_value(leaf) < 0) {
			json_decref(o);
			return cu_error_set(CU_EINVALID, "record %s revision %ld has no log leaf",
				r->ref, k);
		}
		d->leaf = (uint64_t)json_integer_value(leaf);
		json_decref(o);
		if (k == 1)
			snprintf(d->name, sizeof(d->name), "%s", r->rname);
		else
			snprintf(d->name, sizeof(d->name), "%s.r%ld", r->rname, k);
	}
	if (p->search)
		snprintf(prefix, sizeof(prefix), "data/%s/", r->rname);
	else
		snprintf(prefix, sizeof(prefix), "data/");
	if (json_object_get(r->doc, "volumes") != NULL)
		return plan_case_files(p, r, prefix);
	if (json_object_get(r->doc, "content") != NULL) {
		const json_t *c = json_object_get(r->doc, "content");
		const char *kind = arc_jstr(r->doc, "kind");
		return add_object(p, cu_asprintf("%s%s.%s", prefix, r->rname,
			kind && strcmp(kind, "receipt") == 0 ? "json" : "bin"), 1,
			arc_jstr(c, "digest"), json_object_get(c, "size"), r->ref);
	}
	return cu_error_set(CU_EINVALID, "record %s has no content to export", r->ref);
fail:
	json_decref(doc);
	free(raw);
	return error;
}

/* Every content object must be there before the export is recorded. */
static int
plan_check_objects(struct plan *p)
{
	cu_index_txn *t = NULL;
	char pack[256], hex[65];
	uint64_t off, size;
	int error = 0;

	for (size_t i = 0; i < p->nfiles; i++) {
		struct bfile *f = &p->files[i];
		if (!f->is_object || cu_cas_has_loose(p->a->cas, f->object))
			continue;
		if (t == NULL && (error = cu_index_begin(&t, p->a->ix, 0)) < 0)
			return error;
		if (cu_index_get_objloc(t, f->object, pack, &off, &size) < 0) {
			cu_hex(hex, f->object, 32);
			error = cu_error_set(CU_ERROR, "content object %s (%s) is missing: the archive "
				"is damaged (custos verify); nothing exported", hex, f->name);
			break;
		}
	}
	if (t)
		cu_index_abort(t);
	return error;
}

/* ---- the writer: an archive file or a folder, under a temporary name -------------- */

enum { W_FOLDER, W_TAR, W_TAR_GZ, W_TAR_XZ, W_TAR_ZST, W_ZIP };

static const struct {
	const char *suffix;
	int kind;
	const char *format;
} out_kinds[] = {
	{ ".tar.zst", W_TAR_ZST, "tar.zst" },
	{ ".tar.gz", W_TAR_GZ, "tar.gz" },
	{ ".tar.xz", W_TAR_XZ, "tar.xz" },
	{ ".tar", W_TAR, "tar" },
	{ ".zip", W_ZIP, "zip" },
};

/* Archive names custos does not write: refused rather than taken for a
 * folder name. */
static const char *const refused_suffixes[] = { ".tgz", ".tzst", ".txz", ".gz", ".xz", ".zst",
	".bz2", ".tbz2", ".lz", ".lzma", ".7z", ".rar", ".cpio", ".iso", ".jar" };

struct writer {
	int kind;
	const char *out;
	char tmp[4200];
	char top[256];              /* archives: the bag's top folder */
	int created;                /* the temporary file or folder exists */
	int fd;                     /* archive: the temporary file; folder: the file being written */
	struct archive *ar;
	struct archive_entry *e;
	int failed_errno;           /* archive: the first failure of the output */
	char failure[300];
	char **dirs;                /* folder: folders made (fsynced at the end) */
	size_t ndirs, capdirs;
	const char *cur;            /* the file being written */
	EVP_MD_CTX *m256, *m512;
	uint64_t expect, got;
	locale_t loc, saved_loc;
	time_t now;
};

/* libarchive's output: straight to the temporary file.  A failure is
 * remembered, not returned (libarchive leaks its output buffer when a write
 * callback fails), and reported once the entry ends. */
static la_ssize_t
w_archive_cb(struct archive *ar, void *client, const void *buf, size_t len)
{
	struct writer *w = client;

	(void)ar;
	if (w->failed_errno)
		return (la_ssize_t)len;
	if (cu_write_all(w->fd, buf, len) < 0) {
		w->failed_errno = errno ? errno : EIO;
		snprintf(w->failure, sizeof(w->failure), "%s", strerror(w->failed_errno));
	}
	return (la_ssize_t)len;
}

static int
w_fail_output(struct writer *w)
{
	return cu_error_set(CU_ERROR, "%s: writing %s: %s", w->out, w->cur ? w->cur : "the bag",
		w->failure[0] ? w->failure : "failed");
}

static int
w_remember_dir(struct writer *w, const char *path)
{
	char *d = strdup(path);

	if (d == NULL || cu_grow(&w->dirs, &w->capdirs, w->ndirs + 1, sizeof(*w->dirs)) < 0) {
		free(d);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	w->dirs[w->ndirs++] = d;
	return 0;
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

/* Opens the temporary file or folder beside out. */
static int
w_open(struct writer *w, const char *out, int kind)
{
	char dir[4096];
	const char *slash = strrchr(out, '/'), *base = slash ? slash + 1 : out;
	int error;

	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->out = out;
	w->fd = -1;
	w->now = time(NULL);
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == out)
		snprintf(dir, sizeof(dir), "/");
	else if ((error = cu_pathf(dir, sizeof(dir), "%.*s", (int)(slash - out), out)) < 0)
		return error;
	/* a hidden name: what a killed export leaves behind is plainly debris */
	if ((error = cu_pathf(w->tmp, sizeof(w->tmp), "%s/.%s.tmp.%ld", dir, base,
			(long)getpid())) < 0)
		return error;
	if ((w->m256 = EVP_MD_CTX_new()) == NULL || (w->m512 = EVP_MD_CTX_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (kind == W_FOLDER) {
		if (mkdir(w->tmp, 0700) < 0)
			return cu_error_sys("%s", w->tmp);
		w->created = 1;
		return w_remember_dir(w, w->tmp);
	}
	/* the bag's top folder inside the archive: OUT's name without its suffix */
	for (size_t i = 0; i < sizeof(out_kinds) / sizeof(*out_kinds); i++)
		if (out_kinds[i].kind == kind) {
			size_t n = strlen(base) - strlen(out_kinds[i].suffix);
			snprintf(w->top, sizeof(w->top), "%.*s", (int)(n < 200 ? n : 200), base);
		}
	if (w->top[0] == '\0' || w->top[0] == '.')
		snprintf(w->top, sizeof(w->top), "bag");
	/* names go in as UTF-8 whatever the process's locale: libarchive
	 * converts through the thread's LC_CTYPE */
	{
		locale_t base_loc = duplocale(LC_GLOBAL_LOCALE);
		if (base_loc == (locale_t)0 ||
		    (w->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", base_loc)) == (locale_t)0) {
			if (base_loc != (locale_t)0)
				freelocale(base_loc);
			return cu_error_set(CU_ERROR, "the C.UTF-8 locale is not available");
		}
		w->saved_loc = uselocale(w->loc);
	}
	if ((w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return cu_error_sys("%s", w->tmp);
	w->created = 1;
	if ((w->ar = archive_write_new()) == NULL || (w->e = archive_entry_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (kind == W_ZIP)
		error = archive_write_set_format_zip(w->ar);
	else
		error = archive_write_set_format_pax_restricted(w->ar);
	if (error == ARCHIVE_OK && kind == W_TAR_GZ)
		error = archive_write_add_filter_gzip(w->ar);
	if (error == ARCHIVE_OK && kind == W_TAR_XZ)
		error = archive_write_add_filter_xz(w->ar);
	if (error == ARCHIVE_OK && kind == W_TAR_ZST)
		error = archive_write_add_filter_zstd(w->ar);
	if (error == ARCHIVE_OK && kind != W_ZIP)
		error = archive_write_set_bytes_in_last_block(w->ar, 1);
	if (error != ARCHIVE_OK ||
	    archive_write_open(w->ar, w, NULL, w_archive_cb, NULL) != ARCHIVE_OK)
		return cu_error_set(CU_ERROR, "%s: %s", w->out, archive_error_string(w->ar));
	return 0;
}

/* Makes the folders above a file of a folder bag. */
static int
w_mkdirs(struct writer *w, const char *path)
{
	char buf[4200];
	size_t root = strlen(w->tmp);
	int error;

	if ((error = cu_pathf(buf, sizeof(buf), "%s", path)) < 0)
		return error;
	for (char *q = buf + root + 1; (q = strchr(q, '/')) != NULL; q++) {
		*q = '\0';
		if (mkdir(buf, 0700) == 0) {
			if ((error = w_remember_dir(w, buf)) < 0)
				return error;
		} else if (errno != EEXIST) {
			return cu_error_sys("%s", buf);
		}
		*q = '/';
	}
	return 0;
}

static int
w_begin(struct writer *w, const char *name, uint64_t size)
{
	char path[4200];
	int error;

	w->cur = name;
	w->expect = size;
	w->got = 0;
	if (!EVP_DigestInit_ex(w->m256, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(w->m512, EVP_sha512(), NULL))
		return cu_error_set(CU_ERROR, "OpenSSL: digest init failed");
	if (w->kind == W_FOLDER) {
		if ((error = cu_pathf(path, sizeof(path), "%s/%s", w->tmp, name)) < 0 ||
		    (error = w_mkdirs(w, path)) < 0)
			return error;
		if ((w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			return cu_error_set(CU_ERROR, "%s: writing %s: %s", w->out, name, strerror(errno));
		return 0;
	}
	if ((error = cu_pathf(path, sizeof(path), "%s/%s", w->top, name)) < 0)
		return error;
	archive_entry_clear(w->e);
	archive_entry_set_pathname_utf8(w->e, path);
	archive_entry_set_filetype(w->e, AE_IFREG);
	archive_entry_set_perm(w->e, 0600);
	archive_entry_set_size(w->e, (la_int64_t)size);
	archive_entry_set_mtime(w->e, w->now, 0);
	if (archive_write_header(w->ar, w->e) != ARCHIVE_OK)
		return cu_error_set(CU_ERROR, "%s: %s: %s", w->out, name, archive_error_string(w->ar));
	return w->failed_errno ? w_fail_output(w) : 0;
}

static int
w_data(struct writer *w, const void *buf, size_t n)
{
	if (w->got + n > w->expect)
		return cu_error_set(CU_ERROR, "%s: %s: more bytes than announced", w->out, w->cur);
	w->got += n;
	if (!EVP_DigestUpdate(w->m256, buf, n) || !EVP_DigestUpdate(w->m512, buf, n))
		return cu_error_set(CU_ERROR, "OpenSSL: digest failed");
	if (w->kind == W_FOLDER) {
		if (cu_write_all(w->fd, buf, n) < 0)
			return cu_error_set(CU_ERROR, "%s: writing %s: %s", w->out, w->cur,
				strerror(errno));
		return 0;
	}
	if (archive_write_data(w->ar, buf, n) != (la_ssize_t)n)
		return cu_error_set(CU_ERROR, "%s: %s: %s", w->out, w->cur,
			archive_error_string(w->ar));
	return w->failed_errno ? w_fail_output(w) : 0;
}

static int
w_end(struct writer *w, unsigned char sha256[32], unsigned char sha512[64])
{
	if (w->got != w->expect)
		return cu_error_set(CU_ERROR, "%s: %s: %llu bytes where %llu were announced", w->out,
			w->cur, (unsigned long long)w->got, (unsigned long long)w->expect);
	if (!EVP_DigestFinal_ex(w->m256, sha256, NULL) || !EVP_DigestFinal_ex(w->m512, sha512, NULL))
		return cu_error_set(CU_ERROR, "OpenSSL: digest failed");
	if (w->kind == W_FOLDER) {
		int fd = w->fd;
		w->fd = -1;
		if (fsync(fd) < 0 || close(fd) < 0) {
			int e = errno;
			close(fd);
			return cu_error_set(CU_ERROR, "%s: writing %s: %s", w->out, w->cur, strerror(e));
		}
	}
	return w->failed_errno ? w_fail_output(w) : 0;
}

static int
w_write_mem(struct writer *w, struct bfile *f)
{
	int error;

	if ((error = w_begin(w, f->name, f->len)) < 0)
		return error;
	for (size_t off = 0; off < f->len; off += CHUNK) {
		size_t n = f->len - off < CHUNK ? f->len - off : CHUNK;
		if ((error = w_data(w, f->mem + off, n)) < 0)
			return error;
	}
	return w_end(w, f->sha256, f->sha512);
}

/* Renames without replacing anything that appeared at to meanwhile. */
static int
rename_noreplace(const char *from, const char *to, int is_dir)
{
	struct stat st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		return cu_error_set(CU_EEXISTS, "%s: appeared while the bag was written; "
			"custos export never overwrites", to);
	if (errno != EINVAL && errno != ENOSYS)
		return cu_error_sys("%s", to);
	/* a file system without RENAME_NOREPLACE */
	if (!is_dir) {
		if (link(from, to) < 0)
			return errno == EEXIST ? cu_error_set(CU_EEXISTS, "%s: already exists", to)
					       : cu_error_sys("%s", to);
		unlink(from);
		return 0;
	}
	if (lstat(to, &st) == 0)
		return cu_error_set(CU_EEXISTS, "%s: already exists", to);
	return rename(from, to) < 0 ? cu_error_sys("%s", to) : 0;
}

static void
w_restore_locale(struct writer *w)
{
	if (w->loc != (locale_t)0) {
		uselocale(w->saved_loc);
		freelocale(w->loc);
		w->loc = (locale_t)0;
	}
}

static void
w_free(struct writer *w)
{
	if (w->ar != NULL)
		archive_write_free(w->ar);
	w->ar = NULL;
	archive_entry_free(w->e);
	w->e = NULL;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	for (size_t i = 0; i < w->ndirs; i++)
		free(w->dirs[i]);
	free(w->dirs);
	w->dirs = NULL;
	EVP_MD_CTX_free(w->m256);
	EVP_MD_CTX_free(w->m512);
	w->m256 = w->m512 = NULL;
	w_restore_locale(w);
}

/* Drops everything written: nothing is left under the temporary name. */
static void
w_abort(struct writer *w)
{
	if (w->ar != NULL) {
		/* the stream is ended into the file about to go: libarchive then
		 * frees all it holds */
		archive_write_close(w->ar);
	}
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	if (w->created) {
		if (w->kind == W_FOLDER)
			nftw(w->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		else
			unlink(w->tmp);
	}
	w->created = 0;
	w_free(w);
}

/* Ends the bag: durable, then renamed to out. */
static int
w_finish(struct writer *w)
{
	char dir[4096];
	const char *slash = strrchr(w->out, '/');
	int error;

	w->cur = NULL;
	if (w->kind != W_FOLDER) {
		if (archive_write_close(w->ar) != ARCHIVE_OK)
			return cu_error_set(CU_ERROR, "%s: %s", w->out, archive_error_string(w->ar));
		if (w->failed_errno)
			return w_fail_output(w);
		if (fsync(w->fd) < 0)
			return cu_error_set(CU_ERROR, "%s: %s", w->out, strerror(errno));
		error = close(w->fd);
		w->fd = -1;
		if (error < 0)
			return cu_error_set(CU_ERROR, "%s: %s", w->out, strerror(errno));
	} else {
		/* the deepest first, the bag's own folder last */
		for (size_t i = w->ndirs; i > 0; i--)
			if ((error = cu_fsync_dir(w->dirs[i - 1])) < 0)
				return error;
	}
	if ((error = rename_noreplace(w->tmp, w->out, w->kind == W_FOLDER)) < 0)
		return error;
	w->created = 0;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == w->out)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - w->out), w->out);
	return cu_fsync_dir(dir);
}

static int
object_chunk(const void *data, size_t len, void *payload)
{
	return w_data(payload, data, len);
}

/* Streams a content object into the bag and checks it against its name. */
static int
w_write_object(struct writer *w, cu_archive *a, struct bfile *f)
{
	char path[4096], pack[256], hex[65], *buf = NULL;
	uint64_t off, size;
	size_t len;
	cu_index_txn *t;
	struct stat st;
	int error;

	cu_hex(hex, f->object, 32);
	if (!cu_cas_has_loose(a->cas, f->object)) {
		/* packed objects are small: read whole, checked by the reader */
		if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
			return error;
		error = cu_index_get_objloc(t, f->object, pack, &off, &size);
		cu_index_abort(t);
		if (error < 0)
			return cu_error_set(CU_ERROR, "content object %s is missing", hex);
		if ((error = cu_cas_read_packed(&buf, &len, a->cas, pack, off, size, f->object)) < 0)
			return error;
		if (len != f->size) {
			free(buf);
			return cu_error_set(CU_ERROR, "content object %s: %zu bytes, the record says "
				"%llu", hex, len, (unsigned long long)f->size);
		}
		f->mem = buf;
		f->len = len;
		error = w_write_mem(w, f);
		free(f->mem);
		f->mem = NULL;
		return error;
	}
	/* a loose object may be larger than memory: streamed, hashed on the way */
	if ((error = cu_cas_loose_path(path, sizeof(path), a->cas, f->object)) < 0)
		return error;
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size)
		return cu_error_set(CU_ERROR, "content object %s: not the %llu bytes the record says: "
			"the archive is damaged (custos verify); nothing exported", hex,
			(unsigned long long)f->size);
	if ((error = w_begin(w, f->name, f->size)) < 0)
		return error;
	error = cu_cas_stream_loose(a->cas, f->object, object_chunk, w);
	if (error == CU_EINVALID && w->got == f->size)
		return cu_error_set(CU_ERROR, "content object %s does not match its name: the "
			"archive is damaged (custos verify); nothing exported", hex);
	if (error < 0)
		return error;
	return w_end(w, f->sha256, f->sha512);
}

/* ---- tag files ---------------------------------------------------------------------- */

static int
add_proofs(struct plan *p, const char *event, size_t event_len, uint64_t *log_size)
{
	cu_proof pr;
	char *checkpoint = NULL, *vkey = NULL, *text;
	uint64_t size = 0;
	json_t *ev;
	int error = 0;

	if ((ev = json_loadb(event, event_len, 0, NULL)) == NULL ||
	    !json_is_integer(json_object_get(ev, "leaf"))) {
		json_decref(ev);
		return cu_error_set(CU_ERROR, "the export's access event is malformed");
	}
	/* the proofs are against the log as it stands after the export's own
	 * event, so that event is proved too */
	memset(&pr, 0, sizeof(pr));
	if ((error = arc_prove_entry(&pr, p->a, event, event_len,
			(uint64_t)json_integer_value(json_object_get(ev, "leaf")), 0)) < 0)
		goto done;
	size = pr.size;
	if ((checkpoint = strdup(pr.checkpoint)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	text = pr.text;
	pr.text = NULL;
	cu_proof_clear(&pr);
	if ((error = add_text(p, strdup("custos/proofs/export-event.proof"), text)) < 0)
		goto done;
	for (size_t i = 0; i < p->nrecs; i++) {
		struct xrec *r = &p->recs[i];
		for (size_t k = 0; k < r->ndocs; k++) {
			struct xdoc *d = &r->docs[k];
			if ((error = arc_prove_entry(&pr, p->a, d->raw, d->len, d->leaf, size)) < 0) {
				cu_error_prefix(error, "record %s", r->ref);
				goto done;
			}
			text = pr.text;
			pr.text = NULL;
			cu_proof_clear(&pr);
			if ((error = add_text(p, cu_asprintf("custos/proofs/%s.proof", d->name),
					text)) < 0)
				goto done;
			/* the document itself: the plan takes its bytes */
			if ((error = add_file(p, cu_asprintf("custos/records/%s.json", d->name), 0,
					d->raw, d->len, NULL, 0)) < 0) {
				d->raw = NULL;
				goto done;
			}
			d->raw = NULL;
		}
	}
	{
		char *copy = malloc(event_len + 1);
		if (copy == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		memcpy(copy, event, event_len);
		copy[event_len] = '\0';
		if ((error = add_file(p, strdup("custos/export-event.json"), 0, copy, event_len,
				NULL, 0)) < 0)
			goto done;
	}
	if ((error = add_text(p, strdup("custos/checkpoint"), checkpoint)) < 0) {
		checkpoint = NULL;
		goto done;
	}
	checkpoint = NULL;
	if ((vkey = cu_archive_vkey(p->a)) == NULL) {
		error = CU_ERROR;
		goto done;
	}
	if ((error = add_text(p, strdup("custos/vkey"), cu_asprintf("%s\n", vkey))) < 0)
		goto done;
	*log_size = size;
done:
	free(vkey);
	free(checkpoint);
	cu_proof_clear(&pr);
	json_decref(ev);
	return error;
}

static char *
readme_text(const struct plan *p, const char *when, uint64_t log_size, const char *event_id)
{
	const cu_archive *a = p->a;
	struct sbuf b = { 0 };
	int error;

	error = sb_printf(&b,
		"This is a BagIt bag (RFC 8493, version 1.0) exported from the custos archive\n"
		"%s (fonds %s) at %s by %s (uid %lu): %zu record%s.\n"
		"The export is recorded in the archive as the access event %s.\n\n",
		a->name, a->fonds, when, a->user, a->uid, p->nrecs, p->nrecs == 1 ? "" : "s",
		event_id);
	if (error == 0)
		error = sb_str(&b,
		"  data/                       the content: the exact bytes the archive received\n"
		"  custos/records/             the record documents, byte for byte as logged (every\n"
		"                              revision of an amended record or of a case that grew)\n"
		"  custos/proofs/              for each document an inclusion proof\n"
		"                              (c2sp.org/tlog-proof@v1) against custos/checkpoint\n"
		"  custos/checkpoint           the archive log's signed checkpoint (C2SP signed note)\n"
		"  custos/vkey                 the verifier key of the archive's signing key\n"
		"  custos/export-event.json    the access event that recorded this export, proved\n"
		"                              by custos/proofs/export-event.proof\n");
	if (error == 0 && p->replaced)
		error = sb_str(&b,
		"  custos/replaced/            earlier bytes of case files that a later supplement\n"
		"                              replaced under the same name (the records list both)\n");
	if (error == 0 && p->volumes_lost)
		error = sb_str(&b, "\n"
		"The case's volumes were named by the Volume labels of different bags.  A bag\n"
		"carries one Volume label, so an archive that takes this bag in groups the files\n"
		"by their top folder under data/ instead; custos/records/ keep the volumes as\n"
		"they were archived.\n");
	if (error == 0)
		error = sb_printf(&b, "\n"
		"Personal data: the documents and the content hold resident ID numbers in clear\n"
		"where a record names a person (the proofs need the exact bytes).  Keep and pass\n"
		"on this bag accordingly.\n\n"
		"How to check it\n\n"
		"1. Complete and unaltered.  In the bag's folder:\n"
		"     sha256sum -c manifest-sha256.txt && sha512sum -c manifest-sha512.txt\n"
		"     sha256sum -c tagmanifest-sha256.txt && sha512sum -c tagmanifest-sha512.txt\n"
		"   Manifest paths percent-encode %%, CR and LF as RFC 8493 requires; if a name\n"
		"   holds %%, decode it first: sed 's/%%25/%%/g' manifest-sha256.txt | sha256sum -c\n"
		"   Any BagIt validator checks the same; custos bag validate is one.\n\n"
		"2. In the archive's signed log.  Get the archive's verifier key from the archive\n"
		"   itself, not from this bag (custos keys --vkey), and compare it with\n"
		"   custos/vkey.  Then, for each document X:\n"
		"     verify_proof inclusion \"$(cat custos/vkey)\" custos/proofs/X.proof custos/records/X.json\n"
		"   verify_proof is tests/tools/verify_proof.c in the custos sources (OpenSSL\n"
		"   only, no custos code); any c2sp.org/tlog-proof checker does the same.  Keep\n"
		"   custos/checkpoint (log size %llu): a consistency proof from that size\n"
		"   (custos prove --consistency %llu) later shows that the log only grew.\n\n"
		"3. The content is what the records name.  Each document names the SHA-256 of its\n"
		"   content: content.digest for a receipt, volumes[].files[].digest with the\n"
		"   file's path under data/ for a case; manifest-sha256.txt lists the same.\n",
		(unsigned long long)log_size, (unsigned long long)log_size);
	if (error < 0) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* Labels the export sets itself: a case's own values of these are not
 * repeated. */
static const char *const export_labels[] = { "Source-Organization", "Bagging-Date",
	"External-Identifier", "Internal-Sender-Identifier", "Internal-Sender-Description",
	"Payload-Oxum", "Bag-Size", "Bag-Software-Agent", "Case-Type", "Title", "Insurance",
	"Subject-Id", "Subject-Name", "Volume", NULL };

/* The Volume label that makes a re-ingest group the files as the case does:
 * none when every file sits in the volume named by its top folder, the one
 * volume's name when there is one; *lost set when neither holds. */
static const char *
case_volume_label(const json_t *doc, int *lost)
{
	size_t i, j;
	json_t *v, *f;
	int by_folder = 1;

	*lost = 0;
	json_array_foreach(json_object_get(doc, "volumes"), i, v) {
		const char *name = arc_jstr(v, "name") ? arc_jstr(v, "name") : "";
		json_array_foreach(json_object_get(v, "files"), j, f) {
			const char *path = arc_jstr(f, "path") ? arc_jstr(f, "path") : "";
			const char *slash = strchr(path, '/');
			size_t n = slash ? (size_t)(slash - path) : 0;
			if (strlen(name) != n || strncmp(name, path, n) != 0)
				by_folder = 0;
		}
	}
	if (by_folder)
		return NULL;
	if (json_array_size(json_object_get(doc, "volumes")) == 1 &&
	    arc_jstr(json_array_get(json_object_get(doc, "volumes"), 0), "name") != NULL &&
	    arc_jstr(json_array_get(json_object_get(doc, "volumes"), 0), "name")[0] != '\0')
		return arc_jstr(json_array_get(json_object_get(doc, "volumes"), 0), "name");
	*lost = 1;
	return NULL;
}

static int
is_export_label(const char *label)
{
	for (size_t i = 0; export_labels[i] != NULL; i++)
		if (strcasecmp(label, export_labels[i]) == 0)
			return 1;
	return 0;
}

/* A label name as RFC 8493 allows it: no colon, no white space or control
 * character. */
static int
label_ok(const char *label)
{
	if (label[0] == '\0')
		return 0;
	for (const char *p = label; *p; p++)
		if (*p == ':' || (unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static char *
bag_info_text(const struct plan *p, uint64_t tag_bytes, const char *when)
{
	const cu_archive *a = p->a;
	const struct xrec *r = &p->recs[0];
	const json_t *c = json_object_get(r->doc, "case");
	int is_case = !p->search && c != NULL;
	struct sbuf b = { 0 };
	char today[16], size[32], oxum[64];
	int error = 0;

	local_date(today, a);
	human_size(size, sizeof(size), p->payload_bytes + tag_bytes);
	snprintf(oxum, sizeof(oxum), "%llu.%llu", (unsigned long long)p->payload_bytes,
		(unsigned long long)p->payload_files);
	if (is_case) {
		/* the labels case ingest reads back, so that a re-ingest gives
		 * the same case: Source-Organization and Bagging-Date are the
		 * case's own (left out when it had none) */
		const json_t *subj = json_object_get(c, "subject"), *labels = json_object_get(c, "labels");
		const char *key;
		json_t *vals, *val;
		size_t i;
		if ((error = sb_label(&b, "Source-Organization", arc_jstr(c, "source_org"))) < 0 ||
		    (error = sb_label(&b, "Bagging-Date", arc_jstr(c, "bagging_date"))) < 0 ||
		    (error = sb_label(&b, "External-Identifier", arc_jstr(c, "case_no"))) < 0 ||
		    (error = sb_label(&b, "Case-Type", arc_jstr(c, "case_type"))) < 0 ||
		    (error = sb_label(&b, "Title", arc_jstr(c, "title"))) < 0 ||
		    (error = sb_label(&b, "Insurance", arc_jstr(c, "insurance"))) < 0 ||
		    (error = sb_label(&b, "Subject-Id", arc_jstr(subj, "id_no") ? arc_jstr(subj, "id_no")
				: arc_jstr(subj, "uscc"))) < 0 ||
		    (error = sb_label(&b, "Subject-Name", arc_jstr(subj, "name"))) < 0 ||
		    (error = sb_label(&b, "Volume", p->volume_label)) < 0)
			goto done;
		json_object_foreach((json_t *)labels, key, vals) {
			if (is_export_label(key) || !label_ok(key) || !json_is_array(vals))
				continue;
			json_array_foreach(vals, i, val)
				if ((error = sb_label(&b, key, json_string_value(val))) < 0)
					goto done;
		}
	} else {
		const json_t *rc = json_object_get(r->doc, "receipt");
		if ((error = sb_label(&b, "Source-Organization", a->name)) < 0 ||
		    (error = sb_label(&b, "Bagging-Date", today)) < 0)
			goto done;
		if (!p->search && rc != NULL && arc_jstr(rc, "agency") && arc_jstr(rc, "receipt_no") &&
		    (error = sb_printf(&b, "External-Identifier: %s/%s\n", arc_jstr(rc, "agency"),
				arc_jstr(rc, "receipt_no"))) < 0)
			goto done;
	}
	for (size_t i = 0; i < p->nrecs; i++)
		if ((error = sb_label(&b, "Internal-Sender-Identifier", p->recs[i].ref)) < 0)
			goto done;
	if ((error = sb_printf(&b, "Internal-Sender-Description: Exported from the custos archive "
			"%s at %s: %zu record%s, the record documents with their inclusion proofs and "
			"the signed checkpoint under custos/ (custos/README.txt tells how to check "
			"them).\n", a->name, when, p->nrecs, p->nrecs == 1 ? "" : "s")) < 0 ||
	    (error = sb_label(&b, "Bag-Software-Agent", "custos")) < 0 ||
	    (error = sb_label(&b, "Payload-Oxum", oxum)) < 0 ||
	    (error = sb_label(&b, "Bag-Size", size)) < 0)
		goto done;
done:
	if (error < 0) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* A manifest over the files whose payload flag is `payload`. */
static char *
manifest_text(const struct plan *p, int payload, int sha512, size_t upto)
{
	struct sbuf b = { 0 };
	char hex[129];
	int error = 0;

	for (size_t i = 0; i < upto && error == 0; i++) {
		const struct bfile *f = &p->files[i];
		if (f->payload != payload)
			continue;
		if (sha512)
			cu_hex(hex, f->sha512, 64);
		else
			cu_hex(hex, f->sha256, 32);
		if ((error = sb_str(&b, hex)) == 0 && (error = sb_str(&b, "  ")) == 0 &&
		    (error = sb_manifest_path(&b, f->name)) == 0)
			error = sb_str(&b, "\n");
	}
	if (error == 0 && b.s == NULL)
		error = sb_str(&b, "");
	if (error < 0) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static int
cmp_payload_first(const void *x, const void *y)
{
	const struct bfile *a = x, *b = y;

	if (a->payload != b->payload)
		return b->payload - a->payload;
	return strcmp(a->name, b->name);
}

/* Writes the files from..to-1 of the plan. */
static int
write_files(struct writer *w, struct plan *p, size_t from, size_t to)
{
	int error;

	for (size_t i = from; i < to; i++) {
		struct bfile *f = &p->files[i];
		error = f->is_object ? w_write_object(w, p->a, f) : w_write_mem(w, f);
		if (error < 0)
			return error;
	}
	return 0;
}

/* Appends a generated tag file and writes it at once. */
static int
write_tag(struct writer *w, struct plan *p, const char *name, char *text)
{
	int error;

	if ((error = add_text(p, strdup(name), text)) < 0)
		return error;
	return write_files(w, p, p->nfiles - 1, p->nfiles);
}

static int
write_bag(struct plan *p, const char *out, int kind, const char *event_id, uint64_t log_size,
	cu_export_result *r)
{
	struct writer w;
	char when[32];
	size_t nbody, nmanifests;
	uint64_t tag_bytes = 0;
	int error;

	cu_now_rfc3339(when);
	if ((error = add_text(p, strdup("custos/README.txt"),
			readme_text(p, when, log_size, event_id))) < 0)
		return error;
	/* the payload in name order, then the tag files */
	qsort(p->files, p->nfiles, sizeof(*p->files), cmp_payload_first);
	if ((error = w_open(&w, out, kind)) < 0)
		goto fail;
	nbody = p->nfiles;
	/* bagit.txt goes last in the list, but first into the bag */
	if ((error = write_tag(&w, p, "bagit.txt",
			strdup("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"))) < 0 ||
	    (error = write_files(&w, p, 0, nbody)) < 0)
		goto fail;
	nbody = p->nfiles;
	for (size_t i = 0; i < nbody; i++)
		if (!p->files[i].payload)
			tag_bytes += p->files[i].size;
	if ((error = write_tag(&w, p, "bag-info.txt", bag_info_text(p, tag_bytes, when))) < 0 ||
	    (error = write_tag(&w, p, "manifest-sha256.txt", manifest_text(p, 1, 0, nbody))) < 0 ||
	    (error = write_tag(&w, p, "manifest-sha512.txt", manifest_text(p, 1, 1, nbody))) < 0)
		goto fail;
	/* the tag manifests list every tag file but themselves */
	nmanifests = p->nfiles;
	if ((error = write_tag(&w, p, "tagmanifest-sha256.txt",
			manifest_text(p, 0, 0, nmanifests))) < 0 ||
	    (error = write_tag(&w, p, "tagmanifest-sha512.txt",
			manifest_text(p, 0, 1, nmanifests))) < 0)
		goto fail;
	if ((error = w_finish(&w)) < 0)
		goto fail;
	w_free(&w);
	r->files = p->nfiles;
	return 0;
fail:
	w_abort(&w);
	return error;
}

/* ---- the export ------------------------------------------------------------------------ */

/* Lets other writers in: the archive stays open as a reader. */
static void
release_lock(cu_archive *a)
{
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	a->lock_fd = -1;
	a->mode = CU_ARCHIVE_READ;
}

static int
collect_hit(const json_t *hit, void *payload)
{
	struct plan *p = payload;
	const char *id = arc_jstr(hit, "id");

	if (id == NULL)
		return cu_error_set(CU_EINVALID, "index: a search hit without id");
	return plan_record(p, id);
}

/* What kind of output out names; CU_EINVALID for an archive type custos
 * does not write, CU_EEXISTS if out exists. */
static int
out_kind(int *kind, const char **format, const char *out)
{
	const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
	char parent[4096];
	struct stat st;

	if (out[0] == '\0' || base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return cu_error_set(CU_EINVALID, "-o %s: name a new file or folder", out);
	if (lstat(out, &st) == 0)
		return cu_error_set(CU_EEXISTS, "%s: already exists; custos export never overwrites",
			out);
	if (errno != ENOENT)
		return cu_error_sys("%s", out);
	snprintf(parent, sizeof(parent), "%.*s", base == out ? 1 : (int)(base - out - 1),
		base == out ? "." : out);
	if (parent[0] == '\0')
		snprintf(parent, sizeof(parent), "/");
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
		return cu_error_set(CU_EINVALID, "%s: the folder %s does not exist", out, parent);
	*kind = W_FOLDER;
	*format = "folder";
	for (size_t i = 0; i < sizeof(out_kinds) / sizeof(*out_kinds); i++)
		if (ends_with(base, out_kinds[i].suffix)) {
			*kind = out_kinds[i].kind;
			*format = out_kinds[i].format;
			return 0;
		}
	for (size_t i = 0; i < sizeof(refused_suffixes) / sizeof(*refused_suffixes); i++)
		if (ends_with(base, refused_suffixes[i]))
			return cu_error_set(CU_EINVALID, "-o %s: custos writes .tar, .tar.gz, .tar.xz, "
				".tar.zst and .zip files, or a new folder", out);
	return 0;
}

int
cu_archive_export(cu_archive *a, const char *key, const char *out, const cu_export_opts *o,
	cu_export_result *r)
{
	struct plan p = { .a = a };
	json_t *recs = NULL;
	char *event = NULL, id_hex[65], what[160];
	size_t event_len = 0;
	const char *format = NULL;
	int kind, error;

	memset(r, 0, sizeof(*r));
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "export needs the archive lock (it is recorded)");
	if ((key == NULL) == (o == NULL || o->search == NULL))
		return cu_error_set(CU_EINVALID, "export: give a KEY or a search, not both");
	if (out == NULL)
		return cu_error_set(CU_EINVALID, "export: -o OUT is required");
	if ((error = out_kind(&kind, &format, out)) < 0)
		return error;
	p.search = key == NULL;
	if (key != NULL) {
		if ((error = cu_archive_resolve(id_hex, a, key)) < 0 ||
		    (error = plan_record(&p, id_hex)) < 0)
			goto done;
	} else {
		cu_search_query q = *o->search;
		q.unmask = 0;
		q.purpose = NULL;
		if ((error = cu_archive_search(a, &q, collect_hit, &p, NULL)) < 0)
			goto done;
		if (p.nrecs == 0) {
			error = cu_error_set(CU_ENOTFOUND, "the search found no record; nothing exported");
			goto done;
		}
	}
	if ((error = plan_check_objects(&p)) < 0)
		goto done;
	if (!p.search && json_object_get(p.recs[0].doc, "volumes") != NULL)
		p.volume_label = case_volume_label(p.recs[0].doc, &p.volumes_lost);

	/* the export is on record before a byte of it is written */
	if ((recs = json_array()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < p.nrecs; i++)
		if (json_array_append_new(recs, json_pack("{s:s, s:s}", "id", p.recs[i].id,
				"ref", p.recs[i].ref)) < 0) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
	if (p.nrecs == 1)
		snprintf(what, sizeof(what), "%s", p.recs[0].ref);
	else
		snprintf(what, sizeof(what), "%zu records", p.nrecs);
	if ((error = arc_record_access(a, "export", recs, o ? o->purpose : NULL, 1, "bag", what,
			&event, &event_len)) < 0)
		goto done;
	{
		json_t *ev = json_loadb(event, event_len, 0, NULL);
		snprintf(r->event_id, sizeof(r->event_id), "%s",
			arc_jstr(ev, "id") ? arc_jstr(ev, "id") : "");
		json_decref(ev);
	}
	if ((error = add_proofs(&p, event, event_len, &r->log_size)) < 0)
		goto done;
	/* what follows reads only objects, which never change, and may take
	 * long for a large case: other writers need not wait for it */
	release_lock(a);
	if ((error = write_bag(&p, out, kind, r->event_id, r->log_size, r)) < 0)
		goto done;
	r->records = p.nrecs;
	for (size_t i = 0; i < p.nrecs; i++)
		r->documents += p.recs[i].ndocs;
	r->payload_files = p.payload_files;
	r->payload_bytes = p.payload_bytes;
	snprintf(r->format, sizeof(r->format), "%s", format);
done:
	free(event);
	json_decref(recs);
	plan_free(&p);
	return error;
}
