/* case.c — case files (案卷): a BagIt bag in, checked and read once, its
 * payload files stored as content objects, a case record (or a new revision
 * of one, for documents added later) out; and the case's index entries,
 * summary and file lookups (see docs/cases.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "custos/archive.h"
#include "custos/bag.h"
#include "custos/canon.h"
#include "custos/cas.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/index.h"
#include "custos/media.h"
#include "custos/record.h"
#include "custos/util.h"
#include "archive_int.h"

/* Small files of a bag wait in memory until the bag is known to be valid;
 * past this many bytes in all, further files are streamed to temporary
 * objects instead. */
#define SMALL_BUDGET ((size_t)64 << 20)

#define CASE_NO_MAX   128
#define TITLE_MAX     1000
#define ORG_MAX       200
#define VOLUME_MAX    64
#define CASE_TYPE_MAX 31

/* ---- what a bag looks like on disk ------------------------------------------ */

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

int
arc_is_bag_path(const char *path, int is_dir)
{
	static const char *const suffixes[] = { ".tar", ".tar.gz", ".tgz", ".tar.xz",
		".tar.zst", ".tzst", ".zip" };
	char p[4200];
	struct stat st;

	if (is_dir) {
		if (cu_pathf(p, sizeof(p), "%s/bagit.txt", path) < 0) {
			cu_error_clear();
			return 0;
		}
		return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++)
		if (ends_with(path, suffixes[i]))
			return 1;
	return 0;
}

/* ---- reading the payload while the bag is checked ---------------------------- */

struct cfile {
	char *name;                    /* "data/…" */
	char *small;                   /* the bytes, while below the threshold */
	size_t slen, scap;
	cu_cas_writer *w;              /* or a temporary object */
	unsigned char digest[32];
	uint64_t size;
	int complete;
	const char *media;
};

struct intake {
	cu_archive *a;
	size_t threshold;              /* files below it are packed */
	size_t small_total;
	struct cfile *f;
	size_t n, cap;
	struct cfile *cur;
	unsigned char head[CU_MEDIA_SNIFF];  /* the first bytes of the current file */
	size_t headlen;
	char first[600];               /* the first problem, for the one-line reason */
	size_t problems;
};

static void
intake_free(struct intake *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->f[i].name);
		free(k->f[i].small);
		cu_cas_writer_free(k->f[i].w);
	}
	free(k->f);
}

static void
on_problem(const char *bag, const char *file, int warning, const char *message, void *payload)
{
	struct intake *k = payload;

	(void)bag;
	if (warning)
		return;
	if (k->problems++ == 0)
		snprintf(k->first, sizeof(k->first), "%s%s%s", file ? file : "", file ? ": " : "",
			message);
}

static int
sink_begin(void *payload, const char *name, uint64_t size)
{
	struct intake *k = payload;
	struct cfile *f;

	(void)size;
	if (cu_grow(&k->f, &k->cap, k->n + 1, sizeof(*k->f)) < 0)
		return CU_ERROR;
	f = &k->f[k->n];
	memset(f, 0, sizeof(*f));
	if ((f->name = strdup(name)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	k->n++;
	k->cur = f;
	k->headlen = 0;
	return 0;
}

static int
sink_data(void *payload, const void *buf, size_t n)
{
	struct intake *k = payload;
	struct cfile *f = k->cur;
	int error;

	if (k->headlen < CU_MEDIA_SNIFF) {
		size_t take = CU_MEDIA_SNIFF - k->headlen < n ? CU_MEDIA_SNIFF - k->headlen : n;
		memcpy(k->head + k->headlen, buf, take);
		k->headlen += take;
	}
	if (f->w == NULL && f->slen + n < k->threshold && k->small_total + n <= SMALL_BUDGET) {
		if (cu_grow(&f->small, &f->scap, f->slen + n, 1) < 0)
			return CU_ERROR;
		memcpy(f->small + f->slen, buf, n);
		f->slen += n;
		k->small_total += n;
		return 0;
	}
	if (f->w == NULL) {
		if ((error = cu_cas_writer_new(&f->w, k->a->cas)) < 0)
			return error;
		if (f->slen > 0 && (error = cu_cas_writer_write(f->w, f->small, f->slen)) < 0)
			return error;
		k->small_total -= f->slen;
		free(f->small);
		f->small = NULL;
		f->slen = f->scap = 0;
	}
	return cu_cas_writer_write(f->w, buf, n);
}

static int
sink_end(void *payload, int complete)
{
	struct intake *k = payload;
	struct cfile *f = k->cur;
	int error;

	k->cur = NULL;
	if (!complete)
		return 0;
	if (f->w != NULL) {
		if ((error = cu_cas_writer_close(f->w, f->digest, &f->size)) < 0)
			return error;
	} else {
		if ((error = cu_sha256(f->digest, f->small ? f->small : "", f->slen)) < 0)
			return error;
		f->size = f->slen;
	}
	f->complete = 1;
	f->media = cu_media_type(k->head, k->headlen, f->name);
	return 0;
}

/* ---- case metadata from bag-info.txt ------------------------------------------- */

/* The values of a label (labels compare without regard to case): those of
 * its first spelling, and through *count how many values every spelling
 * holds ("Title" and "title" are the same label given twice). */
static json_t *
label_values(const json_t *info, const char *label, size_t *count)
{
	const char *key;
	json_t *v, *first = NULL;

	*count = 0;
	json_object_foreach((json_t *)info, key, v)
		if (strcasecmp(key, label) == 0) {
			if (first == NULL)
				first = v;
			*count += json_array_size(v);
		}
	return first;
}

/* One value of a label, checked: NULL and 0 when absent and optional. */
static int
one_label(const char **out, const json_t *info, const char *label, int required, size_t max,
	char *reason, size_t rsz)
{
	size_t count;
	json_t *v = label_values(info, label, &count);
	const char *s, *problem;

	*out = NULL;
	if (v == NULL || count == 0) {
		if (required)
			snprintf(reason, rsz, "bag-info.txt: %s: missing (required for a case file)",
				label);
		return required ? -1 : 0;
	}
	if (count > 1) {
		snprintf(reason, rsz, "bag-info.txt: %s: given %zu times, expected once", label,
			count);
		return -1;
	}
	s = json_string_value(json_array_get(v, 0));
	if (s == NULL || s[0] == '\0') {
		if (!required)
			return 0;
		snprintf(reason, rsz, "bag-info.txt: %s: empty", label);
		return -1;
	}
	if (strlen(s) > max) {
		snprintf(reason, rsz, "bag-info.txt: %s: longer than %zu bytes", label, max);
		return -1;
	}
	if ((problem = cu_text_problem(s, strlen(s), 0)) != NULL) {
		snprintf(reason, rsz, "bag-info.txt: %s: %s", label, problem);
		return -1;
	}
	*out = s;
	return 0;
}

struct meta {
	const char *case_no, *case_type, *title, *org, *date, *insurance, *volume;
	const char *subject_id, *subject_name;
	char subject_kind[8];          /* "person", "org" or "" */
	char idno[19];
	int year;                      /* from Bagging-Date, or 0 */
	json_t *labels;                /* the other labels */
};

static const char *const consumed[] = { "External-Identifier", "Case-Type", "Title",
	"Source-Organization", "Bagging-Date", "Insurance", "Volume", "Subject-Id",
	"Subject-Name", "Payload-Oxum", NULL };

static int
is_consumed(const char *label)
{
	for (size_t i = 0; consumed[i] != NULL; i++)
		if (strcasecmp(label, consumed[i]) == 0)
			return 1;
	return 0;
}

/* Reads and checks the case labels; -1 with the reason for bad metadata, a
 * negative cu_error_code below -1 for a system failure. */
static int
read_meta(struct meta *m, const json_t *info, char *reason, size_t rsz)
{
	const char *key;
	json_t *v;
	int64_t epoch;

	memset(m, 0, sizeof(*m));
	if (info == NULL) {
		snprintf(reason, rsz, "bag-info.txt: missing (a case file needs External-Identifier "
			"and Case-Type)");
		return -1;
	}
	if (one_label(&m->case_no, info, "External-Identifier", 1, CASE_NO_MAX, reason, rsz) < 0 ||
	    one_label(&m->case_type, info, "Case-Type", 1, CASE_TYPE_MAX, reason, rsz) < 0 ||
	    one_label(&m->title, info, "Title", 0, TITLE_MAX, reason, rsz) < 0 ||
	    one_label(&m->org, info, "Source-Organization", 0, ORG_MAX, reason, rsz) < 0 ||
	    one_label(&m->date, info, "Bagging-Date", 0, 10, reason, rsz) < 0 ||
	    one_label(&m->insurance, info, "Insurance", 0, 32, reason, rsz) < 0 ||
	    one_label(&m->volume, info, "Volume", 0, VOLUME_MAX, reason, rsz) < 0 ||
	    one_label(&m->subject_id, info, "Subject-Id", 0, 18, reason, rsz) < 0 ||
	    one_label(&m->subject_name, info, "Subject-Name", 0, CU_NAME_MAX, reason, rsz) < 0)
		return -1;
	for (const char *p = m->case_type; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9'))) {
			snprintf(reason, rsz, "bag-info.txt: Case-Type: only a-z, 0-9 and _ "
				"(e.g. work_injury_determination)");
			return -1;
		}
	if (m->insurance != NULL && !cu_insurance_known(m->insurance)) {
		snprintf(reason, rsz, "bag-info.txt: Insurance: must be one of pension, medical, "
			"work_injury, unemployment, maternity");
		return -1;
	}
	if (m->date != NULL) {
		if (strlen(m->date) != 10 || m->date[4] != '-' || m->date[7] != '-' ||
		    cu_date_parse(&epoch, m->date, 0, 0) < 0) {
			cu_error_clear();
			snprintf(reason, rsz, "bag-info.txt: Bagging-Date: must be a date YYYY-MM-DD");
			return -1;
		}
		m->year = atoi(m->date);
	}
	if (m->volume != NULL && strchr(m->volume, '/') != NULL) {
		snprintf(reason, rsz, "bag-info.txt: Volume: must not contain /");
		return -1;
	}
	if (m->subject_id != NULL) {
		/* a resident ID number, else a unified social credit code; the
		 * reason never repeats the number */
		if (cu_idno_check(m->subject_id) == 0) {
			snprintf(m->subject_kind, sizeof(m->subject_kind), "person");
			cu_idno_normalize(m->idno, m->subject_id);
		} else {
			char idmsg[256];
			snprintf(idmsg, sizeof(idmsg), "%s", cu_error_last());
			if (cu_uscc_check(m->subject_id) == 0) {
				snprintf(m->subject_kind, sizeof(m->subject_kind), "org");
			} else {
				int digits = 1;
				for (size_t i = 0; i + 1 < strlen(m->subject_id); i++)
					digits &= m->subject_id[i] >= '0' && m->subject_id[i] <= '9';
				snprintf(reason, rsz, "bag-info.txt: Subject-Id: %s", digits ? idmsg
					: cu_error_last());
				cu_error_clear();
				return -1;
			}
		}
		cu_error_clear();
	} else if (m->subject_name != NULL) {
		snprintf(reason, rsz, "bag-info.txt: Subject-Name: given without Subject-Id");
		return -1;
	}
	if ((m->labels = json_object()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	json_object_foreach((json_t *)info, key, v)
		if (!is_consumed(key) && json_object_set(m->labels, key, v) < 0)
			return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* ---- the case document -------------------------------------------------------- */

/* The volume a payload file goes to: the Volume label, else its top folder
 * under data/ ("" for a file directly in data/). */
static void
volume_of(char *out, size_t outsz, const struct meta *m, const char *path)
{
	const char *slash;

	if (m->volume != NULL)
		snprintf(out, outsz, "%s", m->volume);
	else if ((slash = strchr(path, '/')) != NULL)
		snprintf(out, outsz, "%.*s", (int)(slash - path), path);
	else
		out[0] = '\0';
}

static json_t *
find_volume(json_t *volumes, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(volumes, i, v)
		if (arc_jstr(v, "name") != NULL && strcmp(arc_jstr(v, "name"), name) == 0)
			return v;
	return NULL;
}

/* 1 if the case already lists this path with these bytes. */
static int
listed(const json_t *volumes, const char *path, const char *digest)
{
	size_t i, j;
	json_t *v, *f;

	json_array_foreach(volumes, i, v)
		json_array_foreach(json_object_get(v, "files"), j, f)
			if (strcmp(arc_jstr(f, "path") ? arc_jstr(f, "path") : "", path) == 0 &&
			    strcmp(arc_jstr(f, "digest") ? arc_jstr(f, "digest") : "", digest) == 0)
				return 1;
	return 0;
}

/* The ref of file `item` of volume `vol`: "<case ref>-<vol 2 digits>-<item 4 digits>". */
static int
file_ref(char *out, size_t outsz, const char *case_ref, long vol, long item)
{
	return cu_pathf(out, outsz, "%s-%02ld-%04ld", case_ref, vol, item);
}

static int
cmp_cfile(const void *x, const void *y)
{
	return strcmp(((const struct cfile *)x)->name, ((const struct cfile *)y)->name);
}

/* Adds the bag's files that the case does not list yet to volumes (a new
 * array for a new case, a copy of the current one for a supplement);
 * returns how many were added through *added, and marks the others so
 * that their objects are not stored again. */
static int
add_files(json_t *volumes, size_t *added, struct intake *k, const struct meta *m,
	const char *case_ref, long revision, int *keep)
{
	char vname[VOLUME_MAX + 1], dig[80], fref[200];
	int error;

	*added = 0;
	qsort(k->f, k->n, sizeof(*k->f), cmp_cfile);
	for (size_t i = 0; i < k->n; i++) {
		struct cfile *f = &k->f[i];
		const char *path = f->name + 5;   /* after "data/" */
		json_t *vol, *files, *entry;
		long vnum, item;
		char hex[65];

		keep[i] = 0;
		cu_hex(hex, f->digest, 32);
		snprintf(dig, sizeof(dig), "sha256:%s", hex);
		if (listed(volumes, path, dig))
			continue;
		volume_of(vname, sizeof(vname), m, path);
		if ((vol = find_volume(volumes, vname)) == NULL) {
			vol = json_pack("{s:I, s:s, s:[]}", "volume",
				(json_int_t)json_array_size(volumes) + 1, "name", vname, "files");
			if (vol == NULL || json_array_append_new(volumes, vol) < 0)
				return cu_error_set(CU_ERROR, "out of memory");
		}
		vnum = (long)json_integer_value(json_object_get(vol, "volume"));
		files = json_object_get(vol, "files");
		item = (long)json_array_size(files) + 1;
		if ((error = file_ref(fref, sizeof(fref), case_ref, vnum, item)) < 0)
			return error;
		entry = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:I}", "item", (json_int_t)item,
			"path", path, "digest", dig, "size", (json_int_t)f->size, "media_type",
			f->media ? f->media : "application/octet-stream", "ref", fref, "added_in",
			(json_int_t)revision);
		if (entry == NULL || json_array_append_new(files, entry) < 0)
			return cu_error_set(CU_ERROR, "out of memory");
		keep[i] = 1;
		(*added)++;
	}
	return 0;
}

/* Stores the objects of the files being added: small ones into the batch,
 * streamed ones moved into place (unless the same bytes are stored). */
static int
store_files(cu_ingest *in, struct intake *k, const int *keep)
{
	cu_index_txn *t;
	char pack[256];
	uint64_t off, size;
	int error;

	if ((error = arc_ingest_txn(in, &t, NULL)) < 0)
		return error;
	for (size_t i = 0; i < k->n; i++) {
		struct cfile *f = &k->f[i];
		unsigned char d[32];
		if (!keep[i])
			continue;
		if (f->w == NULL) {
			if ((error = arc_ingest_store(in, d, f->small ? f->small : "", f->slen)) < 0)
				return error;
			continue;
		}
		if (cu_index_get_objloc(t, f->digest, pack, &off, &size) == 0)
			continue;   /* already stored in a pack */
		cu_error_clear();
		if ((error = cu_cas_writer_commit(f->w)) < 0)
			return error;
	}
	return 0;
}

/* The "case" member of a new case record. */
static json_t *
case_member(const struct meta *m)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:O}", "case_no", m->case_no, "case_type",
		m->case_type, "title", m->title ? m->title : m->case_no, "labels", m->labels);

	if (c == NULL)
		return NULL;
	if (m->org)
		json_object_set_new(c, "source_org", json_string(m->org));
	if (m->date)
		json_object_set_new(c, "bagging_date", json_string(m->date));
	if (m->insurance)
		json_object_set_new(c, "insurance", json_string(m->insurance));
	if (m->subject_kind[0]) {
		json_t *s = strcmp(m->subject_kind, "person") == 0
			? json_pack("{s:s, s:s}", "kind", "person", "id_no", m->idno)
			: json_pack("{s:s, s:s}", "kind", "org", "uscc", m->subject_id);
		if (s != NULL && m->subject_name)
			json_object_set_new(s, "name", json_string(m->subject_name));
		json_object_set_new(c, "subject", s);
	}
	return c;
}

/* A supplement must be about the same case: same type, same subject. */
static int
same_case(const json_t *old, const struct meta *m, char *reason, size_t rsz)
{
	const json_t *c = json_object_get(old, "case"), *subj = json_object_get(c, "subject");
	const char *ot = arc_jstr(c, "case_type");

	if (ot == NULL || strcmp(ot, m->case_type) != 0) {
		snprintf(reason, rsz, "bag-info.txt: Case-Type: %s, but case %s is archived as %s",
			m->case_type, m->case_no, ot ? ot : "?");
		return -1;
	}
	if (m->subject_kind[0]) {
		const char *have = strcmp(m->subject_kind, "person") == 0 ? arc_jstr(subj, "id_no")
									   : arc_jstr(subj, "uscc");
		const char *want = strcmp(m->subject_kind, "person") == 0 ? m->idno : m->subject_id;
		if (have == NULL || strcmp(have, want) != 0) {
			snprintf(reason, rsz, "bag-info.txt: Subject-Id: differs from the subject of "
				"case %s as archived", m->case_no);
			return -1;
		}
	}
	return 0;
}

static int
now_year(cu_archive *a, const char *now)
{
	cu_time tm;
	int64_t local;
	char buf[32];

	/* now is UTC; the year that counts is the archive's local one */
	if (cu_time_parse(&tm, now) < 0) {
		cu_error_clear();
		return atoi(now);
	}
	local = tm.epoch + (int64_t)cu_conf_tz_offset(a->conf) * 60;
	{
		time_t tt = (time_t)local;
		struct tm g;
		gmtime_r(&tt, &g);
		strftime(buf, sizeof(buf), "%Y", &g);
	}
	return atoi(buf);
}

int
arc_ingest_case(cu_ingest *in, cu_archive *a, const char *path, const char *source)
{
	struct intake k = { .a = a };
	cu_bag_sink sink = { sink_begin, sink_data, sink_end, &k };
	cu_conf_bag_limits cl = cu_conf_bag(a->conf);
	/* names that differ only by case are refused: such a case could not
	 * be exported and unpacked safely on a case-insensitive file system */
	cu_bag_limits lim = { .max_entries = cl.max_entries, .max_file_bytes = cl.max_file_bytes,
		.max_bag_bytes = cl.max_bag_bytes, .max_ratio = cl.max_ratio, .strict_names = 1 };
	cu_bag_info info = { 0 };
	struct meta m = { 0 };
	json_t *old = NULL, *doc = NULL, *volumes = NULL, *cm = NULL;
	cu_index_txn *t;
	const char *now;
	unsigned char have_id[32], have_digest[32];
	char reason[900] = "", rkey[CASE_NO_MAX + 8], ref[128], class_key[96], id_hex[65];
	char *old_ref = NULL;
	int *keep = NULL, error;
	size_t added = 0;
	long revision = 1;

	k.threshold = cu_conf_pack_threshold(a->conf);
	error = cu_bag_read(path, &lim, on_problem, &k, &info, &sink);
	if (error == CU_EINVALID || error == CU_ENOTFOUND) {
		if (k.problems > 1)
			snprintf(reason, sizeof(reason), "not a complete and valid bag: %s (and %zu "
				"more problem%s: custos bag validate lists them)", k.first,
				k.problems - 1, k.problems == 2 ? "" : "s");
		else if (k.problems == 1)
			snprintf(reason, sizeof(reason), "not a complete and valid bag: %s", k.first);
		else
			snprintf(reason, sizeof(reason), "%s", cu_error_last());
		cu_error_clear();
		goto reject;
	}
	if (error < 0)
		goto done;
	if ((error = read_meta(&m, info.bag_info, reason, sizeof(reason))) == -1)
		goto reject;
	if (error < 0)
		goto done;
	if ((error = arc_ingest_txn(in, &t, &now)) < 0)
		goto done;
	if (k.n == 0) {
		snprintf(reason, sizeof(reason), "data/: the bag holds no payload files");
		goto reject;
	}
	for (size_t i = 0; i < k.n; i++)
		if (!k.f[i].complete) {
			error = cu_error_set(CU_ERROR, "%s: %s: not read to the end", path, k.f[i].name);
			goto done;
		}

	snprintf(rkey, sizeof(rkey), "case/%s", m.case_no);
	error = cu_index_get_rkey(t, rkey, have_id, have_digest);
	if (error == 0) {
		/* documents added to an archived case: a new revision */
		if ((old_ref = arc_ref_rev_of(t, have_id, &revision)) == NULL) {
			error = cu_error_set(CU_ERROR, "index: case %s has no ref", m.case_no);
			goto done;
		}
		if (arc_ingest_pending(in, old_ref)) {
			/* its current revision is in this batch: commit it first */
			if ((error = arc_ingest_flush(in)) < 0 ||
			    (error = arc_ingest_txn(in, &t, &now)) < 0)
				goto done;
		}
		cu_hex(id_hex, have_id, 32);
		if ((error = arc_load_record(&old, a, id_hex)) < 0)
			goto done;
		if (same_case(old, &m, reason, sizeof(reason)) < 0)
			goto reject;
		if (arc_dispo_refuse_change(t, old_ref, reason, sizeof(reason)) < 0)
			goto reject;
		revision = arc_revision(old) + 1;
		snprintf(ref, sizeof(ref), "%s", old_ref);
		volumes = json_deep_copy(json_object_get(old, "volumes"));
	} else if (error == CU_ENOTFOUND) {
		cu_class cls;
		cu_error_clear();
		if (cu_conf_classify(&cls, a->conf, "case", m.case_type,
				m.subject_kind[0] ? m.subject_kind : NULL) < 0) {
			snprintf(reason, sizeof(reason), "bag-info.txt: Case-Type: no class in "
				"archive.conf for case type %s", m.case_type);
			cu_error_clear();
			goto reject;
		}
		if ((error = cu_pathf(class_key, sizeof(class_key), "%s-%s\xc2\xb7%04d-%s-%s",
				a->fonds, cls.category, m.year ? m.year : now_year(a, now), cls.retention,
				cls.class_)) < 0)
			goto done;
		/* the number is taken only once the bag is known to be good */
		volumes = json_array();
		ref[0] = '\0';
	} else {
		goto done;
	}
	if (volumes == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((keep = calloc(k.n, sizeof(*keep))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if (ref[0] == '\0') {
		uint32_t item;
		/* a failure from here on aborts the batch's transaction, which
		 * gives the number back */
		if ((error = cu_index_next_item(&item, t, class_key)) < 0 ||
		    (error = cu_pathf(ref, sizeof(ref), "%s-%06u", class_key, item)) < 0)
			goto done;
	}
	if ((error = add_files(volumes, &added, &k, &m, ref, revision, keep)) < 0)
		goto done;
	if (added == 0) {
		cu_hex(id_hex, have_id, 32);
		error = arc_ingest_outcome(in, CU_INGEST_DUPLICATE, source, ref, id_hex, NULL);
		goto done;
	}
	if ((error = store_files(in, &k, keep)) < 0)
		goto done;
	if (revision == 1) {
		if ((cm = case_member(&m)) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		doc = json_pack("{s:i, s:s, s:s, s:o, s:{s:s, s:I, s:I}, s:O, s:s, s:s, "
			"s:{s:s, s:I}}",
			"version", 1, "kind", "case", "ref", ref, "case", cm,
			"bag", "version", info.version, "payload_files", (json_int_t)info.payload_files,
			"payload_bytes", (json_int_t)info.payload_bytes,
			"volumes", volumes, "source", source, "archived_at", now,
			"archived_by", "user", a->user, "uid", (json_int_t)a->uid);
		cm = NULL;
	} else {
		json_t *sup = json_pack("{s:s, s:I, s:{s:s, s:I, s:I}, s:O}", "source", source,
			"files_added", (json_int_t)added, "bag", "version", info.version,
			"payload_files", (json_int_t)info.payload_files, "payload_bytes",
			(json_int_t)info.payload_bytes, "labels", m.labels);
		if (sup != NULL && m.date)
			json_object_set_new(sup, "bagging_date", json_string(m.date));
		if (sup != NULL && m.org)
			json_object_set_new(sup, "source_org", json_string(m.org));
		if ((doc = json_deep_copy(old)) != NULL && sup != NULL) {
			json_object_del(doc, "id");
			json_object_del(doc, "leaf");
			json_object_set_new(doc, "revision", json_integer(revision));
			json_object_set_new(doc, "supersedes", json_string(arc_jstr(old, "id")));
			json_object_set(doc, "volumes", volumes);
			json_object_set_new(doc, "supplement", sup);
			json_object_set_new(doc, "source", json_string(source));
			json_object_set_new(doc, "archived_at", json_string(now));
			json_object_set_new(doc, "archived_by", json_pack("{s:s, s:I}", "user", a->user,
				"uid", (json_int_t)a->uid));
		} else {
			json_decref(sup);
		}
	}
	if (doc == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the case record");
		goto done;
	}
	error = arc_ingest_record(in, doc, source, id_hex);
	goto done;
reject:
	error = arc_ingest_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL, reason);
done:
	free(keep);
	free(old_ref);
	json_decref(m.labels);
	json_decref(cm);
	json_decref(doc);
	json_decref(volumes);
	json_decref(old);
	cu_bag_info_clear(&info);
	intake_free(&k);
	return error;
}

/* ---- index and display ------------------------------------------------------------ */

/* The time a case is filed under: its Bagging-Date (midnight in the
 * archive's zone, given as the offset of the archived_at time), else when
 * it was archived.  text receives the RFC 3339 form. */
static int
case_time(int64_t *epoch, char text[40], const json_t *doc, int tz_min)
{
	const json_t *c = json_object_get(doc, "case");
	const char *date = arc_jstr(c, "bagging_date");
	const char *at = arc_jstr(doc, "archived_at");
	cu_time tm;

	if (date != NULL) {
		int off = tz_min < 0 ? -tz_min : tz_min;
		snprintf(text, 40, "%.10sT00:00:00%c%02d:%02d", date, tz_min < 0 ? '-' : '+',
			off / 60, off % 60);
		return cu_date_parse(epoch, date, tz_min, 0);
	}
	snprintf(text, 40, "%s", at ? at : "");
	if (cu_time_parse(&tm, text) < 0)
		return CU_EINVALID;
	*epoch = tm.epoch;
	return 0;
}

static size_t
count_files(const json_t *doc)
{
	size_t i, n = 0;
	json_t *v;

	json_array_foreach(json_object_get(doc, "volumes"), i, v)
		n += json_array_size(json_object_get(v, "files"));
	return n;
}

/* The display summary: no ID number in clear. */
static json_t *
summary_with_tz(const json_t *doc, int tz_min)
{
	const json_t *c = json_object_get(doc, "case"), *subj = json_object_get(c, "subject");
	json_t *s, *subject = NULL;
	char when[40] = "", masked[19];
	int64_t epoch;

	if (case_time(&epoch, when, doc, tz_min) < 0)
		cu_error_clear();
	if (arc_jstr(subj, "id_no") != NULL) {
		cu_idno_mask(masked, arc_jstr(subj, "id_no"));
		subject = json_pack("{s:s, s:s, s:s?}", "kind", "person", "id", masked, "name",
			arc_jstr(subj, "name"));
	} else if (arc_jstr(subj, "uscc") != NULL) {
		subject = json_pack("{s:s, s:s, s:s?}", "kind", "org", "id", arc_jstr(subj, "uscc"),
			"name", arc_jstr(subj, "name"));
	}
	s = json_pack("{s:s?, s:s?, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:I}",
		"id", arc_jstr(doc, "id"), "ref", arc_jstr(doc, "ref"), "kind", "case",
		"time", when, "case_no", arc_jstr(c, "case_no"), "case_type", arc_jstr(c, "case_type"),
		"insurance", arc_jstr(c, "insurance"), "summary", arc_jstr(c, "title"),
		"source_org", arc_jstr(c, "source_org"),
		"files", (json_int_t)count_files(doc),
		"volumes", (json_int_t)json_array_size(json_object_get(doc, "volumes")));
	if (s != NULL && subject != NULL)
		json_object_set_new(s, "subject", subject);
	else
		json_decref(subject);
	if (s != NULL && arc_revision(doc) > 1)
		json_object_set_new(s, "revision", json_integer(arc_revision(doc)));
	return s;
}

json_t *
arc_case_summary(const cu_archive *a, const json_t *doc)
{
	return summary_with_tz(doc, cu_conf_tz_offset(a->conf));
}

static int
cmp_digest(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

int
arc_index_case(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove)
{
	const json_t *c = json_object_get(doc, "case"), *subj = json_object_get(c, "subject");
	const char *ref = arc_jstr(doc, "ref"), *idh = arc_jstr(doc, "id");
	unsigned char (*digests)[32] = NULL;
	char when[40], *text = NULL, *names = NULL, *rkey = NULL;
	size_t nd = 0, cap = 0, nlen = 0, ncap = 0, i, j;
	cu_index_entry e;
	json_t *v, *f;
	int error;

	memset(&e, 0, sizeof(e));
	if (ref == NULL || idh == NULL || c == NULL || cu_unhex(e.id, 32, idh) < 0 ||
	    arc_jstr(c, "case_no") == NULL)
		return cu_error_set(CU_EINVALID, "case document without id, ref or case number");
	if ((error = case_time(&e.time, when, doc, cu_conf_tz_offset(a->conf))) < 0)
		return cu_error_prefix(error, "case %s: time", ref);
	e.ref = ref;
	e.kind = "case";
	json_array_foreach(json_object_get(doc, "volumes"), i, v) {
		json_array_foreach(json_object_get(v, "files"), j, f) {
			const char *d = arc_jstr(f, "digest"), *p = arc_jstr(f, "path");
			size_t pl = p ? strlen(p) : 0;
			if (d == NULL || strncmp(d, "sha256:", 7) != 0)
				continue;
			if ((error = cu_grow(&digests, &cap, nd + 1, 32)) < 0)
				goto done;
			if (cu_unhex(digests[nd], 32, d + 7) == 0)
				nd++;
			cu_error_clear();
			if ((error = cu_grow(&names, &ncap, nlen + pl + 2, 1)) < 0)
				goto done;
			memcpy(names + nlen, p ? p : "", pl);
			nlen += pl;
			names[nlen++] = '\n';
			names[nlen] = '\0';
		}
	}
	/* the same bytes under two names count once */
	if (nd > 1) {
		size_t w = 1;
		qsort(digests, nd, 32, cmp_digest);
		for (size_t r = 1; r < nd; r++)
			if (memcmp(digests[r], digests[w - 1], 32) != 0)
				memcpy(digests[w++], digests[r], 32);
		nd = w;
	}
	e.more_content = (const unsigned char (*)[32])digests;
	e.n_more_content = nd;
	e.file_names = names;
	if ((error = arc_subject_entry(&e, a, subj)) < 0)
		goto done;
	e.insurance = arc_jstr(c, "insurance");
	e.case_no = arc_jstr(c, "case_no");
	e.case_type = arc_jstr(c, "case_type");
	text = cu_asprintf("%s %s %s %s", arc_jstr(c, "title") ? arc_jstr(c, "title") : "",
		arc_jstr(subj, "name") ? arc_jstr(subj, "name") : "", e.case_no,
		arc_jstr(c, "source_org") ? arc_jstr(c, "source_org") : "");
	rkey = cu_asprintf("case/%s", e.case_no);
	if (text == NULL || rkey == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	e.text = text;
	e.rkey = rkey;
	error = arc_index_entry_apply(a, t, &e, doc, c, remove);
done:
	free(digests);
	free(names);
	free(text);
	free(rkey);
	return error;
}

/* ---- files of a case ------------------------------------------------------------- */

int
arc_split_file_ref(const char *key, char *case_ref, size_t sz, long *vol, long *item)
{
	const char *p = key + strlen(key), *seps[2];
	size_t found = 0, parts = 1;

	/* the last two parts must be numbers: "-<volume>-<item>" */
	for (const char *q = key; *q; q++)
		if (*q == '-' || ((unsigned char)q[0] == 0xC2 && (unsigned char)q[1] == 0xB7))
			parts++;
	if (parts != 8)
		return CU_EINVALID;
	while (p > key && found < 2) {
		p--;
		if (*p == '-')
			seps[found++] = p;
		else if (*p < '0' || *p > '9')
			return CU_EINVALID;
	}
	if (found < 2 || seps[0] == seps[1] + 1 || seps[0][1] == '\0')
		return CU_EINVALID;
	if ((size_t)(seps[1] - key) >= sz)
		return CU_EINVALID;
	snprintf(case_ref, sz, "%.*s", (int)(seps[1] - key), key);
	*vol = strtol(seps[1] + 1, NULL, 10);
	*item = strtol(seps[0] + 1, NULL, 10);
	return 0;
}

int
arc_case_file(const json_t **file, const json_t *doc, const char *key, const char *path)
{
	char case_ref[256];
	long vol = 0, item = 0;
	size_t i, j;
	json_t *v, *f;
	const json_t *found = NULL;

	*file = NULL;
	if (path != NULL && strncmp(path, "data/", 5) == 0)
		path += 5;
	if (path == NULL && arc_split_file_ref(key, case_ref, sizeof(case_ref), &vol, &item) < 0)
		return cu_error_set(CU_EINVALID, "%s is a case of several files: name one with "
			"--file PATH or by its file ref (custos ls lists them)", key);
	/* the last entry wins: a supplement may bring a newer file under a name
	 * the case already has */
	json_array_foreach(json_object_get(doc, "volumes"), i, v) {
		json_array_foreach(json_object_get(v, "files"), j, f) {
			if (path != NULL ? (arc_jstr(f, "path") && strcmp(arc_jstr(f, "path"), path) == 0)
			    : (json_integer_value(json_object_get(v, "volume")) == vol &&
			       json_integer_value(json_object_get(f, "item")) == item))
				found = f;
		}
	}
	if (found == NULL)
		return cu_error_set(CU_ENOTFOUND, "%s: no file %s in this case", key,
			path ? path : "with that volume and item number");
	*file = found;
	return 0;
}

int
cu_archive_case_volumes(cu_archive *a, const char *key, long version, json_t **volumes)
{
	char id_hex[65];
	json_t *d = NULL, *old = NULL;
	int error;

	*volumes = NULL;
	if ((error = cu_archive_resolve(id_hex, a, key)) < 0 ||
	    (error = arc_load_record(&d, a, id_hex)) < 0)
		return error;
	if (json_object_get(d, "volumes") == NULL) {
		error = cu_error_set(CU_EINVALID, "%s is a %s, not a case", key,
			arc_jstr(d, "kind") ? arc_jstr(d, "kind") : "record");
		goto done;
	}
	if (version > 0 && version != arc_revision(d)) {
		if (version > arc_revision(d)) {
			error = cu_error_set(CU_ENOTFOUND, "%s has revisions 1 to %ld", key,
				arc_revision(d));
			goto done;
		}
		if ((error = arc_load_revision(&old, a, arc_jstr(d, "ref"), version)) < 0)
			goto done;
		json_decref(d);
		d = old;
	}
	*volumes = json_incref(json_object_get(d, "volumes"));
done:
	json_decref(d);
	return error;
}
