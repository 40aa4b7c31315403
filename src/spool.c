/* spool.c — the spool intake (see custos/spool.h and docs/spool.md). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos/error.h"
#include "custos/spool.h"
#include "custos/util.h"

#define SPOOL_DEFAULT_MAX ((uint64_t)1 << 30)
#define PENDING ".pending."

static const char *const subdirs[] = { "incoming", "archived", "rejected" };

int
cu_spool_prepare(const char *dir)
{
	struct stat top, st;
	char p[4200];
	int error;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return cu_error_sys("spool %s", dir);
	if (stat(dir, &top) < 0)
		return cu_error_sys("spool %s", dir);
	if (!S_ISDIR(top.st_mode))
		return cu_error_set(CU_EINVALID, "spool %s: not a folder", dir);
	for (size_t i = 0; i < 3; i++) {
		if ((error = cu_pathf(p, sizeof(p), "%s/%s", dir, subdirs[i])) < 0)
			return error;
		if (mkdir(p, 0750) < 0 && errno != EEXIST)
			return cu_error_sys("spool %s", p);
		if (lstat(p, &st) < 0)
			return cu_error_sys("spool %s", p);
		if (!S_ISDIR(st.st_mode))
			return cu_error_set(CU_EINVALID, "spool %s: not a folder", p);
		if (st.st_dev != top.st_dev)
			return cu_error_set(CU_EINVALID, "spool %s: on another file system than %s "
				"(entries are moved by renaming)", p, dir);
	}
	return cu_fsync_dir(dir);
}

/* ---- text that grows ------------------------------------------------------ */

struct text {
	char *s;
	size_t len, cap;
};

static int
text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(t->s, cap);
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		t->s = p;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
	return 0;
}

/* ---- the entries of one pass ---------------------------------------------- */

enum { E_SKIP, E_TAKE, E_REFUSE };

struct entry {
	char *name;
	int what;
	char *why;              /* E_SKIP or E_REFUSE: the reason */
	struct text refs;       /* the ingest lines of its archived items */
	struct text reasons;    /* one line per rejected item */
	char *first_reason;
	size_t records, rejected;
};

struct pass {
	char inc[4200];
	size_t inc_len;
	struct entry *e;
	size_t n;
};

static void
entries_free(struct pass *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->e[i].name);
		free(p->e[i].why);
		free(p->e[i].refs.s);
		free(p->e[i].reasons.s);
		free(p->e[i].first_reason);
	}
	free(p->e);
}

static int
cmp_entry(const void *x, const void *y)
{
	return strcmp(((const struct entry *)x)->name, ((const struct entry *)y)->name);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Decides what to do with an entry of incoming/. */
static int
judge(struct pass *p, struct entry *e, uint64_t max)
{
	char path[4200], q[4300];
	struct stat st, m;
	int error;

	if ((error = cu_pathf(path, sizeof(path), "%s/%s", p->inc, e->name)) < 0)
		return error;
	if (ends_with(e->name, ".part")) {
		e->what = E_SKIP;
		e->why = cu_asprintf("a partial name, left until it is renamed");
	} else if (lstat(path, &st) < 0) {
		if (errno == ENOENT) {   /* taken away meanwhile */
			e->what = E_SKIP;
			e->why = cu_asprintf("gone");
		} else
			return cu_error_sys("%s", path);
	} else if (S_ISLNK(st.st_mode)) {
		e->what = E_REFUSE;
		e->why = cu_asprintf("is a symbolic link (not followed)");
	} else if (S_ISDIR(st.st_mode)) {
		if ((error = cu_pathf(q, sizeof(q), "%s/" CU_SPOOL_MARKER, path)) < 0)
			return error;
		if (lstat(q, &m) < 0 || !S_ISREG(m.st_mode)) {
			e->what = E_SKIP;
			e->why = cu_asprintf("a folder without " CU_SPOOL_MARKER " (not complete yet)");
		} else if ((error = cu_pathf(q, sizeof(q), "%s/bagit.txt", path)) < 0) {
			return error;
		} else if (lstat(q, &m) < 0 || !S_ISREG(m.st_mode)) {
			e->what = E_REFUSE;
			e->why = cu_asprintf("a folder without bagit.txt (only bag folders are taken)");
		} else
			e->what = E_TAKE;
	} else if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > max) {
			e->what = E_REFUSE;
			e->why = cu_asprintf("%lld bytes, larger than the spool file limit of %llu bytes",
				(long long)st.st_size, (unsigned long long)max);
		} else
			e->what = E_TAKE;
	} else {
		e->what = E_REFUSE;
		e->why = cu_asprintf("not a regular file or a folder");
	}
	if (e->what != E_TAKE && e->why == NULL)
		return CU_ERROR;
	return 0;
}

static int
list_incoming(struct pass *p, uint64_t max)
{
	DIR *d;
	struct dirent *de;
	size_t cap = 0;
	int error = 0;

	if ((d = opendir(p->inc)) == NULL)
		return cu_error_sys("%s", p->inc);
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((error = cu_grow(&p->e, &cap, p->n + 1, sizeof(*p->e))) < 0)
			break;
		memset(&p->e[p->n], 0, sizeof(*p->e));
		if ((p->e[p->n].name = strdup(de->d_name)) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			break;
		}
		p->n++;
		errno = 0;
	}
	if (error == 0 && errno != 0)
		error = cu_error_sys("%s", p->inc);
	closedir(d);
	if (error < 0)
		return error;
	if (p->n > 1)
		qsort(p->e, p->n, sizeof(*p->e), cmp_entry);
	for (size_t i = 0; i < p->n && error == 0; i++)
		error = judge(p, &p->e[i], max);
	return error;
}

/* The entry an ingest source ("INC/NAME", "INC/NAME#n", "INC/NAME/…")
 * belongs to: the longest name that fits.  *rel is the source from NAME on. */
static struct entry *
entry_of(struct pass *p, const char *source, const char **rel)
{
	struct entry *best = NULL;
	size_t blen = 0;

	if (strncmp(source, p->inc, p->inc_len) != 0 || source[p->inc_len] != '/')
		return NULL;
	source += p->inc_len + 1;
	for (size_t i = 0; i < p->n; i++) {
		size_t l = strlen(p->e[i].name);
		if (p->e[i].what == E_TAKE && l > blen && strncmp(source, p->e[i].name, l) == 0 &&
		    (source[l] == '\0' || source[l] == '#' || source[l] == '/')) {
			best = &p->e[i];
			blen = l;
		}
	}
	*rel = source;
	return best;
}

static int
on_outcome(const cu_ingest_result *r, void *payload)
{
	struct pass *p = payload;
	const char *rel;
	struct entry *e = entry_of(p, r->source, &rel);

	if (e == NULL)
		return 0;
	if (r->status == CU_INGEST_REJECTED) {
		e->rejected++;
		if (e->first_reason == NULL && (e->first_reason = cu_asprintf("%s", r->reason)) == NULL)
			return CU_ERROR;
		return text_add(&e->reasons, "%s: %s\n", rel, r->reason);
	}
	e->records++;
	if (r->status == CU_INGEST_DUPLICATE)
		return text_add(&e->refs, "duplicate %s %s\n", r->ref, rel);
	if (r->decision != NULL)
		return text_add(&e->refs, "%s %s %s %s\n", r->ref, r->id, rel, r->decision);
	return text_add(&e->refs, "%s %s %s\n", r->ref, r->id, rel);
}

/* ---- moving aside ------------------------------------------------------------ */

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 || errno != ENOENT;
}

/* A name in sub/ for NAME such that neither it nor its .refs or .reason
 * exists: NAME, NAME.1, NAME.2, … */
static int
free_name(char *out, size_t outsz, const char *sub, const char *name)
{
	char p[4400];
	int error;

	for (unsigned long k = 0; k < 1000000; k++) {
		int taken = 0;
		if (k == 0)
			error = cu_pathf(out, outsz, "%s", name);
		else
			error = cu_pathf(out, outsz, "%s.%lu", name, k);
		if (error < 0)
			return error;
		static const char *const ext[] = { "", ".refs", ".reason" };
		for (size_t i = 0; i < 3 && !taken; i++) {
			if ((error = cu_pathf(p, sizeof(p), "%s/%s%s", sub, out, ext[i])) < 0)
				return error;
			taken = exists(p);
		}
		if (!taken)
			return 0;
	}
	return cu_error_set(CU_ELIMIT, "%s/%s: too many entries of that name", sub, name);
}

/* What a pass killed between its steps left in sub/: a companion written
 * (.pending.D.refs) whose entry D was moved is put in place; one whose
 * entry was not moved is removed (the entry is still in incoming/ and
 * gets a new one). */
static int
recover(const char *sub)
{
	DIR *d;
	struct dirent *de;
	char from[4400], to[4400], base[4200];
	int error = 0, changed = 0;

	if ((d = opendir(sub)) == NULL)
		return cu_error_sys("%s", sub);
	while (error == 0 && (de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (strncmp(n, "." PENDING, strlen("." PENDING)) == 0) {
			/* debris of a durable write that was cut short */
			if ((error = cu_pathf(from, sizeof(from), "%s/%s", sub, n)) == 0 &&
			    unlink(from) < 0 && errno != ENOENT)
				error = cu_error_sys("%s", from);
			changed = 1;
			continue;
		}
		if (strncmp(n, PENDING, strlen(PENDING)) != 0)
			continue;
		const char *rest = n + strlen(PENDING);
		size_t bl;
		if (ends_with(rest, ".refs"))
			bl = strlen(rest) - 5;
		else if (ends_with(rest, ".reason"))
			bl = strlen(rest) - 7;
		else
			continue;
		if (bl == 0 || bl >= sizeof(base))
			continue;
		memcpy(base, rest, bl);
		base[bl] = '\0';
		if ((error = cu_pathf(from, sizeof(from), "%s/%s", sub, n)) < 0 ||
		    (error = cu_pathf(to, sizeof(to), "%s/%s", sub, base)) < 0)
			break;
		if (exists(to)) {
			if ((error = cu_pathf(to, sizeof(to), "%s/%s", sub, rest)) < 0)
				break;
			if (rename(from, to) < 0)
				error = cu_error_sys("%s", from);
		} else if (unlink(from) < 0 && errno != ENOENT)
			error = cu_error_sys("%s", from);
		changed = 1;
	}
	closedir(d);
	if (error == 0 && changed)
		error = cu_fsync_dir(sub);
	return error;
}

/* Writes sub/.pending.D.ext durably (or nothing when the text is empty). */
static int
write_pending(const char *sub, const char *dname, const char *ext, const struct text *t)
{
	char p[4400];
	int error;

	if (t->len == 0)
		return 0;
	if ((error = cu_pathf(p, sizeof(p), "%s/" PENDING "%s%s", sub, dname, ext)) < 0)
		return error;
	return cu_write_file_durable(p, t->s, t->len, 0640, 0);
}

static int
finish_pending(const char *sub, const char *dname, const char *ext, const struct text *t)
{
	char from[4400], to[4400];
	int error;

	if (t->len == 0)
		return 0;
	if ((error = cu_pathf(from, sizeof(from), "%s/" PENDING "%s%s", sub, dname, ext)) < 0 ||
	    (error = cu_pathf(to, sizeof(to), "%s/%s%s", sub, dname, ext)) < 0)
		return error;
	if (rename(from, to) < 0)
		return cu_error_sys("%s", from);
	return 0;
}

/* Removes a folder and what is in it (a bag folder once archived). */
static int
remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char p[4400];
	int error = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : cu_error_sys("%s", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? cu_error_sys("%s", path) : 0;
	if ((d = opendir(path)) == NULL)
		return cu_error_sys("%s", path);
	while (error == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((error = cu_pathf(p, sizeof(p), "%s/%s", path, de->d_name)) == 0)
			error = remove_tree(p);
	}
	closedir(d);
	if (error == 0 && rmdir(path) < 0)
		error = cu_error_sys("%s", path);
	return error;
}

/* Moves incoming/NAME to sub/D with its companions: the companions are
 * written under hidden names first, the entry renamed, then the
 * companions renamed into place; each step made durable by fsync of the
 * folders.  Without keep, the entry is removed from sub/ at the end. */
static int
move_aside(const char *dir, const struct pass *p, const struct entry *e, const char *subname,
	int keep, char *dname, size_t dsz)
{
	char sub[4200], from[4400], to[4400];
	int error;

	if ((error = cu_pathf(sub, sizeof(sub), "%s/%s", dir, subname)) < 0 ||
	    (error = free_name(dname, dsz, sub, e->name)) < 0 ||
	    (error = write_pending(sub, dname, ".refs", &e->refs)) < 0 ||
	    (error = write_pending(sub, dname, ".reason", &e->reasons)) < 0 ||
	    (error = cu_pathf(from, sizeof(from), "%s/%s", p->inc, e->name)) < 0 ||
	    (error = cu_pathf(to, sizeof(to), "%s/%s", sub, dname)) < 0)
		return error;
	if (rename(from, to) < 0)
		return cu_error_sys("%s: moving to %s", from, to);
	if ((error = cu_fsync_dir(p->inc)) < 0 || (error = cu_fsync_dir(sub)) < 0 ||
	    (error = finish_pending(sub, dname, ".refs", &e->refs)) < 0 ||
	    (error = finish_pending(sub, dname, ".reason", &e->reasons)) < 0 ||
	    (error = cu_fsync_dir(sub)) < 0)
		return error;
	if (!keep) {
		if ((error = remove_tree(to)) < 0 || (error = cu_fsync_dir(sub)) < 0)
			return error;
	}
	return 0;
}

int
cu_spool_pass(cu_archive *a, const char *dir, const cu_spool_opts *o, cu_spool_cb cb,
	void *payload, cu_spool_report *report)
{
	struct pass p;
	cu_spool_report rep = { 0 };
	cu_ingest *in = NULL;
	uint64_t max = o && o->max_file_bytes ? o->max_file_bytes : SPOOL_DEFAULT_MAX;
	int keep = o ? o->keep_archived : 1;
	char sub[4200], dname[4200], moved[4300];
	int error;

	memset(&p, 0, sizeof(p));
	if (report)
		memset(report, 0, sizeof(*report));
	if ((error = cu_pathf(p.inc, sizeof(p.inc), "%s/incoming", dir)) < 0)
		return error;
	p.inc_len = strlen(p.inc);
	for (size_t i = 1; i < 3; i++)
		if ((error = cu_pathf(sub, sizeof(sub), "%s/%s", dir, subdirs[i])) < 0 ||
		    (error = recover(sub)) < 0)
			return error;
	if ((error = list_incoming(&p, max)) < 0)
		goto done;

	/* one ingest for the pass; nothing moves before it has committed */
	if ((error = cu_ingest_begin(&in, a, on_outcome, &p)) < 0)
		goto done;
	for (size_t i = 0; i < p.n && error == 0; i++) {
		char path[4200];
		if (p.e[i].what != E_TAKE)
			continue;
		if ((error = cu_pathf(path, sizeof(path), "%s/%s", p.inc, p.e[i].name)) == 0)
			error = cu_ingest_path(in, path);
	}
	if (error < 0) {
		cu_ingest_abort(in);
		goto done;
	}
	if ((error = cu_ingest_finish(in, NULL)) < 0)
		goto done;

	for (size_t i = 0; i < p.n && error == 0; i++) {
		struct entry *e = &p.e[i];
		cu_spool_entry out = { .name = e->name };

		if (e->what == E_TAKE && e->records == 0 && e->rejected == 0) {
			e->what = E_REFUSE;
			if ((e->why = cu_asprintf("no record in it")) == NULL) {
				error = CU_ERROR;
				break;
			}
		}
		if (e->what == E_REFUSE && (error = text_add(&e->reasons, "%s: %s\n", e->name,
		    e->why)) < 0)
			break;
		if (e->what == E_SKIP) {
			out.status = CU_SPOOL_SKIPPED;
			out.reason = e->why;
			rep.skipped++;
		} else if (e->what == E_TAKE && e->rejected == 0) {
			if ((error = move_aside(dir, &p, e, "archived", keep, dname,
			    sizeof(dname))) < 0)
				break;
			out.status = CU_SPOOL_ARCHIVED;
			out.records = e->records;
			if (keep && (error = cu_pathf(moved, sizeof(moved), "archived/%s", dname)) < 0)
				break;
			out.moved_to = keep ? moved : NULL;
			rep.archived++;
			rep.records += e->records;
		} else {
			if ((error = move_aside(dir, &p, e, "rejected", 1, dname, sizeof(dname))) < 0 ||
			    (error = cu_pathf(moved, sizeof(moved), "rejected/%s", dname)) < 0)
				break;
			out.status = CU_SPOOL_REJECTED;
			out.records = e->records;
			out.rejected = e->what == E_REFUSE ? 1 : e->rejected;
			out.reason = e->what == E_REFUSE ? e->why : e->first_reason;
			out.moved_to = moved;
			rep.rejected++;
			rep.records += e->records;
		}
		if (cb && (error = cb(&out, payload)) < 0)
			break;
	}
done:
	if (report)
		*report = rep;
	entries_free(&p);
	return error;
}
