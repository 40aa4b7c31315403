/* ingest.c — the write path of the archive facade: files and folders in,
 * validated, deduplicated, stored, numbered, committed per batch, then
 * acknowledged (see cu_ingest_* in custos/archive.h, docs/design.md). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "custos/archive.h"
#include "custos/canon.h"
#include "custos/cas.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/index.h"
#include "custos/mlog.h"
#include "custos/record.h"
#include "custos/util.h"
#include "archive_int.h"

/* ---- ingest --------------------------------------------------------------------- */

struct outcome {
	cu_ingest_status status;
	char *source;
	char *ref;
	char id[65];
	char *reason;
	char *decision;              /* fund transactions: "allow", "deny RULE,…" */
	int denied;
};

struct cu_ingest {
	cu_archive *a;
	cu_ingest_cb cb;
	void *payload;
	cu_index_txn *txn;           /* the current batch's write transaction */
	cu_cas_batch *objs;
	cu_history_file *files;      /* record documents of the batch */
	size_t nfiles, cap_files;
	struct outcome *outs;        /* outcomes waiting for the batch's commit */
	size_t nouts, cap_outs;
	size_t batch_records, batch_dups, batch_rejected;
	size_t batch_cases;          /* of batch_records, case records */
	size_t batch_funds;          /* of batch_records, fund transactions */
	size_t batch_events;         /* decision events (log leaves, not records) */
	uint64_t log_size;           /* leaves in the log, this batch's included */
	size_t items;                /* outcomes taken so far */
	cu_ingest_stats stats;
	char now[32];
};

int
cu_ingest_begin(cu_ingest **out, cu_archive *a, cu_ingest_cb cb, void *payload)
{
	cu_ingest *in;
	int error;

	*out = NULL;
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "ingest needs the archive opened for writing");
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	in->a = a;
	in->cb = cb;
	in->payload = payload;
	if ((error = cu_cas_batch_new(&in->objs, a->cas, cu_conf_pack_threshold(a->conf))) < 0) {
		free(in);
		return error;
	}
	*out = in;
	return 0;
}

static void
clear_batch(cu_ingest *in)
{
	for (size_t i = 0; i < in->nfiles; i++) {
		free((char *)in->files[i].path);
		free((void *)in->files[i].data);
	}
	in->nfiles = 0;
	for (size_t i = 0; i < in->nouts; i++) {
		free(in->outs[i].source);
		free(in->outs[i].ref);
		free(in->outs[i].reason);
		free(in->outs[i].decision);
	}
	in->nouts = 0;
	in->batch_records = in->batch_dups = in->batch_rejected = in->batch_cases = 0;
	in->batch_funds = in->batch_events = 0;
}

static int
add_outcome(cu_ingest *in, cu_ingest_status st, const char *source, const char *ref,
	const char *id, const char *reason)
{
	struct outcome *o;

	if (cu_grow(&in->outs, &in->cap_outs, in->nouts + 1, sizeof(*in->outs)) < 0)
		return CU_ERROR;
	o = &in->outs[in->nouts];
	memset(o, 0, sizeof(*o));
	o->status = st;
	o->source = strdup(source);
	o->ref = ref ? strdup(ref) : NULL;
	o->reason = reason ? strdup(reason) : NULL;
	if (id)
		snprintf(o->id, sizeof(o->id), "%s", id);
	if (o->source == NULL || (ref && !o->ref) || (reason && !o->reason)) {
		free(o->source);
		free(o->ref);
		free(o->reason);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	in->nouts++;
	in->items++;
	if (st == CU_INGEST_REJECTED)
		in->batch_rejected++;
	else if (st == CU_INGEST_DUPLICATE)
		in->batch_dups++;
	return 0;
}

static int
batch_objloc_cb(const unsigned char digest[32], const char *pack, uint64_t offset,
	uint64_t size, void *payload)
{
	return cu_index_put_objloc(payload, digest, pack, offset, size);
}

/* Makes the batch durable and visible, then acknowledges its items:
 * objects (pack fsynced) -> history commit (the commit point) -> index. */
static int
flush_batch(cu_ingest *in)
{
	cu_archive *a = in->a;
	char pack[96], head[CU_OID_HEX], subject[256];
	int error = 0;

	if (in->batch_records > 0) {
		if ((error = cu_cas_batch_write(in->objs, pack, batch_objloc_cb, in->txn)) < 0)
			goto fail;
		if (pack[0] && (error = cu_index_put_pack(in->txn, pack)) < 0)
			goto fail;
		size_t nr = in->batch_records - in->batch_cases - in->batch_funds, nc = in->batch_cases;
		size_t nf = in->batch_funds;
		char what[96];
		if (nf > 0)
			snprintf(what, sizeof(what), "%zu record%s (%zu fund transaction%s)",
				in->batch_records, in->batch_records == 1 ? "" : "s", nf, nf == 1 ? "" : "s");
		else if (nc == 0)
			snprintf(what, sizeof(what), "%zu receipt%s", nr, nr == 1 ? "" : "s");
		else if (nr == 0)
			snprintf(what, sizeof(what), "%zu case record%s", nc, nc == 1 ? "" : "s");
		else
			snprintf(what, sizeof(what), "%zu receipt%s and %zu case record%s", nr,
				nr == 1 ? "" : "s", nc, nc == 1 ? "" : "s");
		snprintf(subject, sizeof(subject), "ingest: %s archived (%zu duplicate%s, %zu rejected)",
			what, in->batch_dups, in->batch_dups == 1 ? "" : "s", in->batch_rejected);
		if ((error = arc_commit_logged(a, in->txn, in->files, in->nfiles, in->log_size, NULL, subject,
				head)) < 0)
			goto fail;
		if ((error = cu_index_put_commit(in->txn, in->log_size - in->batch_records -
				in->batch_events, head)) < 0)
			goto fail;
		in->stats.commits++;
		error = cu_index_commit(in->txn);
		in->txn = NULL;
		if (error < 0) {
			/* the history holds the batch; the next open replays it.  LMDB
			 * reports a full disk as an I/O error: say which it was */
			struct statvfs fs;
			if (statvfs(a->path, &fs) == 0 && fs.f_bavail == 0)
				cu_error_prefix(error, "No space left on device");
			cu_error_prefix(error, "index (the records are archived; it will be rebuilt)");
			goto fail_nocommit;
		}
	} else if (in->txn != NULL) {
		cu_index_abort(in->txn);
		in->txn = NULL;
	}
	in->stats.archived += in->batch_records;
	in->stats.duplicates += in->batch_dups;
	in->stats.rejected += in->batch_rejected;
	for (size_t i = 0; i < in->nouts; i++)
		in->stats.denied += in->outs[i].denied != 0;
	for (size_t i = 0; i < in->nouts && error == 0; i++) {
		cu_ingest_result r = { in->outs[i].status, in->outs[i].source, in->outs[i].ref,
			in->outs[i].id[0] ? in->outs[i].id : NULL, in->outs[i].reason,
			i + 1 == in->nouts, in->outs[i].decision, in->outs[i].denied };
		if (in->cb)
			error = in->cb(&r, in->payload);
	}
	clear_batch(in);
	return error;
fail:
	if (in->txn != NULL) {
		cu_index_abort(in->txn);
		in->txn = NULL;
	}
fail_nocommit:
	clear_batch(in);
	return error;
}

static int
ensure_txn(cu_ingest *in)
{
	int error;

	if (in->txn != NULL)
		return 0;
	cu_now_rfc3339(in->now);
	if ((error = cu_index_begin(&in->txn, in->a->ix, 1)) < 0)
		return error;
	return cu_index_log_size(&in->log_size, in->txn);
}

/* Stores the content bytes unless an identical object is already stored. */
static int
store_content(cu_ingest *in, unsigned char digest[32], const char *buf, size_t len)
{
	char pack[256];
	uint64_t off, size;

	if (cu_sha256(digest, buf, len) < 0)
		return CU_ERROR;
	if (cu_index_get_objloc(in->txn, digest, pack, &off, &size) == 0 ||
	    cu_cas_has_loose(in->a->cas, digest))
		return 0;
	cu_error_clear();
	return cu_cas_batch_add(in->objs, digest, NULL, buf, len);
}

/* ---- the batch, shared with case.c (archive_int.h) --------------------------- */

int
arc_ingest_txn(cu_ingest *in, cu_index_txn **t, const char **now)
{
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	*t = in->txn;
	if (now)
		*now = in->now;
	return 0;
}

uint64_t
arc_ingest_log_size(const cu_ingest *in)
{
	return in->log_size;
}

int
arc_ingest_store(cu_ingest *in, unsigned char digest[32], const void *buf, size_t len)
{
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	return store_content(in, digest, buf, len);
}

int
arc_ingest_outcome(cu_ingest *in, cu_ingest_status st, const char *source, const char *ref,
	const char *id, const char *reason)
{
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	return add_outcome(in, st, source, ref, id, reason);
}

int
arc_ingest_flush(cu_ingest *in)
{
	return flush_batch(in);
}

int
arc_ingest_pending(const cu_ingest *in, const char *ref)
{
	for (size_t i = 0; i < in->nouts; i++)
		if (in->outs[i].status == CU_INGEST_ARCHIVED && in->outs[i].ref != NULL &&
		    strcmp(in->outs[i].ref, ref) == 0)
			return 1;
	return 0;
}

/* Seals a new record document (its "leaf" set here), indexes it, appends
 * it to the log and to the batch's files, and reports it archived. */
int
arc_ingest_record(cu_ingest *in, json_t *doc, const char *source, char id_hex[65])
{
	int error;

	if ((error = arc_ingest_record_held(in, doc, source, id_hex)) < 0)
		return error;
	return arc_ingest_maybe_flush(in);
}

int
arc_ingest_maybe_flush(cu_ingest *in)
{
	if (in->batch_records >= cu_conf_batch_size(in->a->conf))
		return flush_batch(in);
	return 0;
}

/* Adds a sealed document (its "leaf" set here) as the log's next leaf and
 * the batch's file at path. */
static int
add_logged(cu_ingest *in, json_t *doc, char id_hex[65], char **textp, size_t *tlenp)
{
	unsigned char leaf[CU_MLOG_HASH];
	cu_mlog_store st;
	int error;

	if (json_object_set_new(doc, "leaf", json_integer((json_int_t)in->log_size)) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = arc_seal_document(textp, tlenp, id_hex, doc)) < 0)
		return error;
	cu_index_mlog_store(&st, in->txn);
	if ((error = cu_mlog_leaf_hash(leaf, *textp, *tlenp)) < 0 ||
	    (error = cu_mlog_append(&st, in->log_size, leaf)) < 0)
		return error;
	in->log_size++;
	return 0;
}

int
arc_ingest_event(cu_ingest *in, json_t *ev, char id_hex[65])
{
	const char *at = arc_jstr(ev, "at");
	char *text = NULL, path[160];
	size_t tlen;
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	if (at == NULL || strlen(at) < 10)
		return cu_error_set(CU_EINVALID, "event without time");
	if ((error = add_logged(in, ev, id_hex, &text, &tlen)) < 0 ||
	    (error = arc_index_event(in->txn, ev)) < 0 ||
	    (error = cu_pathf(path, sizeof(path), "events/%.4s/%.5s/%s.json", at, at + 5,
		    id_hex)) < 0 ||
	    (error = cu_grow(&in->files, &in->cap_files, in->nfiles + 1, sizeof(*in->files))) < 0)
		goto done;
	if ((in->files[in->nfiles].path = strdup(path)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	in->files[in->nfiles].data = text;
	in->files[in->nfiles].len = tlen;
	in->nfiles++;
	text = NULL;
	in->batch_events++;
done:
	free(text);
	return error;
}

int
arc_ingest_set_decision(cu_ingest *in, const char *decision, int denied)
{
	struct outcome *o;

	if (in->nouts == 0 || in->outs[in->nouts - 1].status != CU_INGEST_ARCHIVED)
		return cu_error_set(CU_EINVALID, "a decision without its record");
	o = &in->outs[in->nouts - 1];
	free(o->decision);
	if ((o->decision = strdup(decision)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	o->denied = denied;
	in->batch_funds++;
	return 0;
}

int
arc_ingest_record_held(cu_ingest *in, json_t *doc, const char *source, char id_hex[65])
{
	cu_archive *a = in->a;
	const char *ref = arc_jstr(doc, "ref"), *kind = arc_jstr(doc, "kind");
	unsigned char leaf[CU_MLOG_HASH];
	cu_mlog_store st;
	char *text = NULL, path[256], *refcopy = NULL;
	size_t tlen;
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	if (ref == NULL || (refcopy = strdup(ref)) == NULL)
		return cu_error_set(CU_ERROR, "record without ref");
	if (json_object_set_new(doc, "leaf", json_integer((json_int_t)in->log_size)) < 0) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = arc_seal_document(&text, &tlen, id_hex, doc)) < 0 ||
	    (error = arc_index_record(a, in->txn, doc)) < 0)
		goto done;
	/* the record is the log's next leaf */
	cu_index_mlog_store(&st, in->txn);
	if ((error = cu_mlog_leaf_hash(leaf, text, tlen)) < 0 ||
	    (error = cu_mlog_append(&st, in->log_size, leaf)) < 0)
		goto done;
	in->log_size++;
	if ((error = arc_record_path(path, sizeof(path), refcopy, arc_revision(doc))) < 0)
		goto done;
	if ((error = cu_grow(&in->files, &in->cap_files, in->nfiles + 1, sizeof(*in->files))) < 0)
		goto done;
	if ((in->files[in->nfiles].path = strdup(path)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	in->files[in->nfiles].data = text;
	in->files[in->nfiles].len = tlen;
	in->nfiles++;
	text = NULL;
	in->batch_records++;
	if (kind != NULL && strcmp(kind, "case") == 0)
		in->batch_cases++;
	error = add_outcome(in, CU_INGEST_ARCHIVED, source, refcopy, id_hex, NULL);
done:
	free(text);
	free(refcopy);
	return error;
}

/* Ref of a record id already in the index (for duplicates and conflicts). */
char *
arc_ref_rev_of(cu_index_txn *t, const unsigned char id[32], long *revision)
{
	char *sjson = NULL, *ref = NULL;
	json_t *s;

	if (revision)
		*revision = 1;
	if (cu_index_get_summary(&sjson, t, id) < 0)
		return NULL;
	if ((s = json_loads(sjson, 0, NULL)) != NULL && arc_jstr(s, "ref") != NULL) {
		ref = strdup(arc_jstr(s, "ref"));
		if (revision && json_is_integer(json_object_get(s, "revision")))
			*revision = (long)json_integer_value(json_object_get(s, "revision"));
	}
	json_decref(s);
	free(sjson);
	return ref;
}

char *
arc_ref_of(cu_index_txn *t, const unsigned char id[32])
{
	return arc_ref_rev_of(t, id, NULL);
}

/* One receipt: validate the item's bytes, deduplicate, store the content
 * bytes (the whole file for a file of one item, else the item's own bytes),
 * give a ref, write its document into the batch.  Bad input becomes a
 * "rejected" outcome and returns 0; only system failures return an error. */
static int
ingest_item(cu_ingest *in, const char *source, const char *buf, size_t len,
	const char *content, size_t content_len)
{
	cu_archive *a = in->a;
	json_t *raw = NULL, *rec = NULL, *doc = NULL;
	unsigned char digest[32], have_id[32], have_digest[32], rdig[32];
	char rdig_hex[65], cdig_hex[65], id_hex[65], ref[128], class_key[96], *key = NULL;
	char *reason = NULL;
	const json_t *subj;
	cu_class cls;
	cu_time tm;
	uint32_t item;
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	if (len > CU_INPUT_MAX_ITEM) {
		reason = cu_asprintf("item of %zu bytes, more than the limit of %u", len,
			CU_INPUT_MAX_ITEM);
		goto reject;
	}
	if (cu_item_parse(&raw, buf, len) < 0) {
		reason = strdup(cu_error_last());
		goto reject;
	}
	if (json_is_string(json_object_get(raw, "type")) &&
	    strcmp(json_string_value(json_object_get(raw, "type")), "fund_txn") == 0) {
		error = arc_ingest_fund(in, a, source, raw, content, content_len);
		goto done;
	}
	if (json_is_string(json_object_get(raw, "type")) &&
	    strcmp(json_string_value(json_object_get(raw, "type")), "receipt") != 0) {
		reason = strdup("type: must be \"receipt\" or \"fund_txn\"");
		goto reject;
	}
	if (cu_receipt_validate(&rec, raw) < 0) {
		reason = strdup(cu_error_last());
		goto reject;
	}
	if ((key = cu_receipt_key(rec)) == NULL ||
	    (error = cu_canon_digest(rdig_hex, rec)) < 0 || (error = cu_unhex(rdig, 32, rdig_hex)) < 0)
		goto done;
	error = cu_index_get_rkey(in->txn, key, have_id, have_digest);
	if (error == 0) {
		char *have_ref = arc_ref_of(in->txn, have_id);
		cu_hex(id_hex, have_id, 32);
		if (memcmp(have_digest, rdig, 32) == 0) {
			error = add_outcome(in, CU_INGEST_DUPLICATE, source, have_ref ? have_ref : "?",
				id_hex, NULL);
		} else {
			reason = cu_asprintf("conflict: receipt %s is already archived as %s with "
				"different content (corrections go through amendment)", key,
				have_ref ? have_ref : id_hex);
			error = add_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL,
				reason ? reason : "conflict");
		}
		free(have_ref);
		goto done;
	} else if (error != CU_ENOTFOUND) {
		goto done;
	}
	cu_error_clear();

	subj = json_object_get(rec, "subject");
	if ((error = cu_time_parse(&tm, arc_jstr(rec, "issued_at"))) < 0)
		goto done;
	if (cu_conf_classify(&cls, a->conf, "receipt", arc_jstr(rec, "service"),
			arc_jstr(subj, "kind")) < 0) {
		reason = strdup(cu_error_last());
		goto reject;
	}
	if ((error = cu_pathf(class_key, sizeof(class_key), "%s-%s\xc2\xb7%04d-%s-%s", a->fonds,
			cls.category, tm.year, cls.retention, cls.class_)) < 0 ||
	    (error = cu_index_next_item(&item, in->txn, class_key)) < 0 ||
	    (error = cu_pathf(ref, sizeof(ref), "%s-%06u", class_key, item)) < 0)
		goto done;
	if ((error = store_content(in, digest, content, content_len)) < 0)
		goto done;
	cu_hex(cdig_hex, digest, 32);
	{
		char cdig[80];
		snprintf(cdig, sizeof(cdig), "sha256:%s", cdig_hex);
		doc = json_pack("{s:i, s:s, s:s, s:O, s:{s:s, s:I}, s:s, s:s, s:{s:s, s:I}}",
			"version", 1, "kind", "receipt", "ref", ref, "receipt", rec,
			"content", "digest", cdig, "size", (json_int_t)content_len,
			"source", source, "archived_at", in->now,
			"archived_by", "user", a->user, "uid", (json_int_t)a->uid);
	}
	if (doc == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the record");
		goto done;
	}
	error = arc_ingest_record(in, doc, source, id_hex);
	goto done;
reject:
	error = add_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL,
		reason ? reason : "rejected");
done:
	free(reason);
	free(key);
	json_decref(raw);
	json_decref(rec);
	json_decref(doc);
	return error;
}

int
cu_ingest_buffer(cu_ingest *in, const char *source, const char *buf, size_t len)
{
	cu_span *spans = NULL;
	size_t n = 0;
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	if (cu_input_split(&spans, &n, buf, len) < 0)
		return add_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL, cu_error_last());
	for (size_t i = 0; i < n && error == 0; i++) {
		char src[4200];
		if (n > 1)
			snprintf(src, sizeof(src), "%s#%zu", source, i + 1);
		else
			snprintf(src, sizeof(src), "%s", source);
		/* a file of one item keeps its exact bytes, final newline included */
		error = ingest_item(in, src, buf + spans[i].off, spans[i].len,
			n == 1 ? buf : buf + spans[i].off, n == 1 ? len : spans[i].len);
	}
	free(spans);
	return error;
}

static int
ingest_file(cu_ingest *in, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	if (strcmp(path, "-") == 0) {
		size_t cap = 65536;
		if ((buf = malloc(cap)) == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		for (;;) {
			size_t r = fread(buf + len, 1, cap - len, stdin);
			len += r;
			if (r == 0)
				break;
			if (len > CU_INPUT_MAX_FILE) {
				free(buf);
				return add_outcome(in, CU_INGEST_REJECTED, "-", NULL, NULL,
					"standard input is larger than the 64 MiB limit");
			}
			if (len == cap) {
				char *p = realloc(buf, cap *= 2);
				if (p == NULL) {
					free(buf);
					return cu_error_set(CU_ERROR, "out of memory");
				}
				buf = p;
			}
		}
		error = cu_ingest_buffer(in, "-", buf, len);
		free(buf);
		return error;
	}
	if ((error = cu_read_file(&buf, &len, path, CU_INPUT_MAX_FILE)) < 0) {
		if (error == CU_ERROR && errno != EACCES && errno != EISDIR)
			return error;   /* an I/O failure, not bad input */
		if ((error = ensure_txn(in)) < 0)
			return error;
		/* cu_read_file's message already names the file */
		const char *msg = cu_error_last();
		size_t pl = strlen(path);
		if (strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ')
			msg += pl + 2;
		return add_outcome(in, CU_INGEST_REJECTED, path, NULL, NULL, msg);
	}
	error = cu_ingest_buffer(in, path, buf, len);
	free(buf);
	return error;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A folder: its files and folders in name order, recursively; hidden names
 * (".…") are skipped, symbolic links are reported and not followed. */
static int
ingest_dir(cu_ingest *in, const char *path, int depth)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int error = 0;

	if (depth > 32)
		return add_outcome(in, CU_INGEST_REJECTED, path, NULL, NULL,
			"folders nested more than 32 deep");
	if ((d = opendir(path)) == NULL)
		return cu_error_sys("%s", path);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*p));
			if (p == NULL) {
				error = cu_error_set(CU_ERROR, "out of memory");
				goto done;
			}
			names = p;
		}
		if ((names[n] = cu_asprintf("%s/%s", path, e->d_name)) == NULL) {
			error = CU_ERROR;
			goto done;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && error == 0; i++) {
		struct stat st;
		if (lstat(names[i], &st) < 0)
			error = cu_error_sys("%s", names[i]);
		else if (S_ISDIR(st.st_mode) && arc_is_bag_path(names[i], 1))
			error = arc_ingest_case(in, in->a, names[i], names[i]);
		else if (S_ISDIR(st.st_mode))
			error = ingest_dir(in, names[i], depth + 1);
		else if (S_ISREG(st.st_mode) && arc_is_bag_path(names[i], 0))
			error = arc_ingest_case(in, in->a, names[i], names[i]);
		else if (S_ISREG(st.st_mode))
			error = ingest_file(in, names[i]);
		else {
			if ((error = ensure_txn(in)) == 0)
				error = add_outcome(in, CU_INGEST_REJECTED, names[i], NULL, NULL,
				S_ISLNK(st.st_mode) ? "is a symbolic link (not followed)"
						    : "not a regular file");
		}
	}
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return error;
}

int
cu_ingest_path(cu_ingest *in, const char *path)
{
	struct stat st;
	int error;

	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return arc_is_bag_path(path, 1) ? arc_ingest_case(in, in->a, path, path)
						: ingest_dir(in, path, 0);
	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    arc_is_bag_path(path, 0))
		return arc_ingest_case(in, in->a, path, path);
	if (strcmp(path, "-") != 0 && lstat(path, &st) < 0) {
		if ((error = ensure_txn(in)) < 0)
			return error;
		return add_outcome(in, CU_INGEST_REJECTED, path, NULL, NULL, strerror(errno));
	}
	return ingest_file(in, path);
}

int
cu_ingest_bag(cu_ingest *in, const char *path, const char *source)
{
	return arc_ingest_case(in, in->a, path, source);
}

int
cu_ingest_is_bag(const char *path, int is_dir)
{
	return arc_is_bag_path(path, is_dir);
}

size_t
cu_ingest_items(const cu_ingest *in)
{
	return in->items;
}

int
cu_ingest_finish(cu_ingest *in, cu_ingest_stats *st)
{
	int error = flush_batch(in);

	if (st)
		*st = in->stats;
	cu_ingest_abort(in);
	return error;
}

void
cu_ingest_abort(cu_ingest *in)
{
	if (in == NULL)
		return;
	if (in->txn)
		cu_index_abort(in->txn);
	clear_batch(in);
	free(in->files);
	free(in->outs);
	cu_cas_batch_free(in->objs);
	free(in);
}

