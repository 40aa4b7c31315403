/* bag.c — BagIt (RFC 8493) validation of directories and archives (see
 * custos/bag.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <unicase.h>
#include <uninorm.h>

#include "custos/bag.h"
#include "custos/error.h"
#include "custos/util.h"

/* Tag files are held in memory; these caps bound that memory whatever the
 * bag limits say. */
#define TAG_FILE_MAX  ((size_t)8 << 20)
#define TAG_TOTAL_MAX ((size_t)64 << 20)
#define NAME_MAX_LEN  4096
#define DEPTH_MAX     64
/* An archive that expands to less than this is never refused for its
 * ratio: a few kilobytes of tar padding compress very well and prove
 * nothing about a bomb. */
#define RATIO_FLOOR   ((uint64_t)1 << 20)
#define IO_BUF        65536
/* The decompressed bytes of one tar entry's headers kept for the raw name
 * checks: libarchive allows 32 special headers of at most 1 MiB each. */
#define TAP_KEEP_MAX  ((size_t)40 << 20)
/* A tag file converted to UTF-8 grows at most this many times. */
#define DECODE_GROWTH 4

enum { ALG_MD5, ALG_SHA1, ALG_SHA256, ALG_SHA512, ALG_N };

static const struct {
	const char *name;
	size_t len;
} algs[ALG_N] = {
	{ "md5", 16 }, { "sha1", 20 }, { "sha256", 32 }, { "sha512", 64 },
};

static const EVP_MD *
alg_md(int a)
{
	switch (a) {
	case ALG_MD5: return EVP_md5();
	case ALG_SHA1: return EVP_sha1();
	case ALG_SHA256: return EVP_sha256();
	default: return EVP_sha512();
	}
}

struct entry {
	char *name;                  /* bag-relative once the top folder is known */
	char *nfc;                   /* name in Unicode NFC */
	char *fold;                  /* name case-folded (full folding, then NFC) */
	uint64_t ord;                /* archive entries: its place in the archive */
	uint64_t size;               /* from the header or lstat */
	char *data;                  /* a tag file's bytes (NUL-terminated), else NULL */
	size_t dlen;
	unsigned char *want[ALG_N];  /* digest expected by each payload manifest */
	unsigned listed[ALG_N];      /* times listed in each payload manifest */
	int unread;                  /* over a limit: neither read nor hashed */
	int hashed;                  /* pass 2 done (a duplicate is hashed once) */
};

struct bag {
	const char *path;
	cu_bag_limits lim;
	cu_bag_problem_cb cb;
	void *payload;
	size_t errors;

	int is_dir;
	int fatal;             /* the entry list is incomplete: no content checks */
	uint64_t csize;        /* archive size on disk, for the ratio */
	uint64_t nentries;
	uint64_t total;        /* bytes of all files (headers, then actual) */
	uint64_t read_bytes;   /* bytes actually read from entries */
	size_t tag_bytes;
	int ratio_reported, total_reported, corrupt_reported;

	struct entry *e;
	size_t n, cap;
	struct entry **by_nfc; /* entries sorted by their NFC names */
	int has_data_dir;
	int is_tar;            /* an archive read as tar (else zip) */
	char **cut;            /* zip: names libarchive cut at a NUL (refused) */
	size_t ncut;
	iconv_t cd;            /* tag files to UTF-8; (iconv_t)-1 for UTF-8 itself */
	char enc[32];          /* the tag files' encoding, for messages */
	char top[NAME_MAX_LEN + 16];  /* "TOP/" of an archive's bag, or "" */

	int v10;
	int manifest[ALG_N];   /* a payload manifest for this algorithm exists */
	int have_oxum;
	uint64_t oxum_bytes, oxum_files;
	uint64_t got_bytes, got_files;
	cu_bag_info *info;
	const cu_bag_sink *sink;
	int sink_open;         /* begin called, end not yet */
};

/* A C0 or C1 control character, or DEL. */
static int
is_control(long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Copies len bytes of name into out with control characters (NUL
 * included) and bytes that are not UTF-8 written as \xNN, so one problem
 * stays one line on a terminal. */
static void
printable_n(char *out, size_t outsz, const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0, o = 0;

	while (i < len && o + 5 < outsz) {
		size_t j = i;
		long cp = cu_utf8_next(s, len, &j);
		if (cp < 0 || is_control(cp)) {
			/* a C1 control is two bytes: both escaped */
			size_t k = cp < 0 ? i + 1 : j;
			for (; i < k && o + 5 < outsz; i++) {
				snprintf(out + o, outsz - o, "\\x%02x", s[i]);
				o += 4;
			}
			i = k;
			continue;
		}
		if (o + (j - i) >= outsz)
			break;
		memcpy(out + o, s + i, j - i);
		o += j - i;
		i = j;
	}
	out[o] = '\0';
}

static void
printable(char *out, size_t outsz, const char *name)
{
	printable_n(out, outsz, name, strlen(name));
}

/* Reports one problem (warning or error) through the callback. */
static void __attribute__((format(printf, 4, 5)))
problem(struct bag *b, const char *file, int warning, const char *fmt, ...)
{
	char raw[1024], msg[1024], fbuf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* libarchive's messages and names from the bag may hold line breaks */
	printable(msg, sizeof(msg), raw);
	if (!warning)
		b->errors++;
	if (file != NULL)
		printable(fbuf, sizeof(fbuf), file);
	if (b->cb != NULL)
		b->cb(b->path, file != NULL ? fbuf : NULL, warning, msg, b->payload);
}

cu_bag_limits
cu_bag_limits_default(void)
{
	cu_bag_limits l = {
		.max_entries = 100000,
		.max_file_bytes = (uint64_t)4 << 30,
		.max_bag_bytes = (uint64_t)16 << 30,
		.max_ratio = 200,
		.strict_names = 0,
	};
	return l;
}

void
cu_bag_info_clear(cu_bag_info *info)
{
	if (info == NULL)
		return;
	json_decref(info->bag_info);
	memset(info, 0, sizeof(*info));
}

/* ---- names ------------------------------------------------------------- */

/* Why name (already without "./" and a final '/') cannot be a bag path, or
 * NULL if it can: relative, '/'-separated, no "..", ".", or empty
 * segments, UTF-8 without control characters. */
static const char *
name_problem(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), i = 0, depth = 1;
	const char *seg;

	if (len == 0)
		return "empty name";
	if (len > NAME_MAX_LEN)
		return "name too long";
	if (name[0] == '/')
		return "absolute path";
	while (i < len) {
		long cp = cu_utf8_next(s, len, &i);
		if (cp < 0)
			return "name is not valid UTF-8";
		if (is_control(cp))
			return "control character in name";
		if (cp == '/')
			depth++;
	}
	for (seg = name; seg != NULL; ) {
		const char *end = strchr(seg, '/');
		size_t sl = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if (sl == 2 && seg[0] == '.' && seg[1] == '.')
			return "\"..\" in path";
		if (sl == 0 || (sl == 1 && seg[0] == '.'))
			return "not a normalised path (empty or \".\" segment)";
		seg = end != NULL ? end + 1 : NULL;
	}
	if (depth > DEPTH_MAX)
		return "path too deep";
	return NULL;
}

/* A normalised copy of an archive entry name: leading "./" and final '/'
 * removed (tar writes both).  NULL when out of memory. */
static char *
normalise(const char *raw)
{
	size_t len;
	char *s;

	while (raw[0] == '.' && raw[1] == '/')
		raw += 2;
	if ((s = strdup(raw)) == NULL)
		return NULL;
	len = strlen(s);
	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
	return s;
}

/* The bag-relative name is a payload file. */
static int
is_payload(const char *name)
{
	return strncmp(name, "data/", 5) == 0;
}

/* Before the top folder is known: the raw name may be a payload file
 * ("data/…" or "TOP/data/…"), so it is not read in the first pass. */
static int
maybe_payload(const char *name)
{
	const char *slash;

	if (is_payload(name))
		return 1;
	slash = strchr(name, '/');
	return slash != NULL && is_payload(slash + 1);
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static struct entry *
find(struct bag *b, const char *name)
{
	struct entry key = { .name = (char *)name };

	if (b->n == 0)
		return NULL;
	return bsearch(&key, b->e, b->n, sizeof(*b->e), entry_cmp);
}

/* Appends an entry owning name (freed here on failure). */
static int
add_entry(struct bag *b, char *name, uint64_t size, struct entry **out)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		struct entry *ne = realloc(b->e, nc * sizeof(*ne));
		if (ne == NULL) {
			free(name);
			return cu_error_set(CU_ERROR, "out of memory");
		}
		b->e = ne;
		b->cap = nc;
	}
	memset(&b->e[b->n], 0, sizeof(*b->e));
	b->e[b->n].name = name;
	b->e[b->n].size = size;
	*out = &b->e[b->n++];
	return 0;
}

/* Counts bytes actually read and checks the bag and ratio limits on them;
 * 0, or -1 (after reporting) when reading must stop. */
static int
count_read(struct bag *b, size_t n)
{
	uint64_t c;

	b->read_bytes += n;
	c = b->csize ? b->csize : 1;
	/* read > ratio * size on disk, without the product overflowing */
	if (!b->is_dir && b->lim.max_ratio > 0 && b->read_bytes > RATIO_FLOOR &&
	    (b->read_bytes / c > b->lim.max_ratio ||
	     (b->read_bytes / c == b->lim.max_ratio && b->read_bytes % c != 0))) {
		if (!b->ratio_reported)
			problem(b, NULL, 0, "expands more than %u times its size on disk",
				b->lim.max_ratio);
		b->ratio_reported = 1;
		return -1;
	}
	return 0;
}

/* Counts one more entry of any kind; 0, or -1 (reported) past the limit. */
static int
count_entry(struct bag *b)
{
	if (++b->nentries > b->lim.max_entries) {
		problem(b, NULL, 0, "more than %llu entries",
			(unsigned long long)b->lim.max_entries);
		b->fatal = 1;
		return -1;
	}
	return 0;
}

/* Checks one more file of size bytes against the file and bag
 * limits.  Returns 1 if the file may be read, 0 if it is over the file
 * limit (reported), -1 if the listing must stop (reported). */
static int
admit(struct bag *b, const char *name, uint64_t size)
{
	if (size > b->lim.max_file_bytes) {
		problem(b, name, 0, "larger than the limit of %llu bytes",
			(unsigned long long)b->lim.max_file_bytes);
		return 0;
	}
	b->total += size;
	if (b->total > b->lim.max_bag_bytes) {
		problem(b, NULL, 0, "larger than the limit of %llu bytes",
			(unsigned long long)b->lim.max_bag_bytes);
		b->total_reported = 1;
		return -1;
	}
	return 1;
}

/* Keeps a tag file's bytes, under the memory caps.  Takes buf. */
static int
keep_tag(struct bag *b, struct entry *e, char *buf, size_t len)
{
	if (len > TAG_FILE_MAX || b->tag_bytes + len > TAG_TOTAL_MAX) {
		problem(b, e->name, 0, "tag file too large to check");
		free(buf);
		e->unread = 1;
		return 0;
	}
	b->tag_bytes += len;
	e->data = buf;
	e->dlen = len;
	return 0;
}

/* ---- archives ---------------------------------------------------------- */

/* Opens path for the second pass with the reader the first pass chose
 * (tar or zip, never both) and the gzip, xz and zstd filters only: the
 * other readers carry most of libarchive's CVEs. */
static int
arc_open(struct bag *b, struct archive **out)
{
	struct archive *a = archive_read_new();

	*out = NULL;
	if (a == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((b->is_tar ? archive_read_support_format_tar(a) :
	    archive_read_support_format_zip(a)) < ARCHIVE_WARN ||
	    archive_read_support_filter_gzip(a) < ARCHIVE_WARN ||
	    archive_read_support_filter_xz(a) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(a) < ARCHIVE_WARN) {
		int e = cu_error_set(CU_ERROR, "libarchive: %s", archive_error_string(a));
		archive_read_free(a);
		return e;
	}
	if (archive_read_open_filename(a, b->path, IO_BUF) != ARCHIVE_OK) {
		problem(b, NULL, 0, "not a readable tar or zip archive: %s",
			archive_error_string(a));
		b->fatal = 1;
		archive_read_free(a);
		return 0;
	}
	*out = a;
	return 0;
}

/* ---- names as the archive headers write them --------------------------- */

/* libarchive cuts a name at its first NUL.  Names in a tar's pax records
 * and GNU long-name blocks, and every zip name, are written with a length,
 * so a name with a NUL inside reads as a shorter one.  The headers are
 * read here as written, and such a name is refused. */

static int
is_null_block(const unsigned char *h)
{
	for (size_t i = 0; i < 512; i++)
		if (h[i] != 0)
			return 0;
	return 1;
}

/* A tar number field: octal (leading spaces allowed) or base-256;
 * UINT64_MAX for a negative or oversized one. */
static uint64_t
tar_number(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		if (p[0] & 0x40)
			return UINT64_MAX;
		v = p[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return UINT64_MAX;
			v = v << 8 | p[i];
		}
		return v;
	}
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	return v;
}

/* The header block's checksum holds, over unsigned bytes or (old tars)
 * signed ones, the test libarchive's tar reader makes. */
static int
tar_checksum_ok(const unsigned char *h)
{
	uint64_t want;
	long u = 0, s = 0;

	for (size_t i = 148; i < 156; i++)
		if (h[i] != ' ' && h[i] != '\0' && (h[i] < '0' || h[i] > '7'))
			return 0;
	want = tar_number(h + 148, 8);
	for (size_t i = 0; i < 512; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : h[i];
		u += c;
		s += (signed char)c;
	}
	return want == (uint64_t)u || (s >= 0 && want == (uint64_t)s);
}

/* In the pax records d[0..n), the key of a "path", "linkpath" or
 * "GNU.sparse.name" record whose value holds a NUL (*val, *vlen set to
 * it), or NULL.  Stops where the records stop making sense, as
 * libarchive does. */
static const char *
pax_nul(const unsigned char *d, size_t n, const unsigned char **val, size_t *vlen)
{
	static const char *const keys[] = { "path", "linkpath", "GNU.sparse.name" };
	size_t at = 0;

	while (at < n) {
		size_t len = 0, k = at;
		const unsigned char *key, *eq, *end;

		while (k < n && d[k] >= '0' && d[k] <= '9' && len <= n)
			len = len * 10 + (size_t)(d[k++] - '0');
		if (k >= n || d[k] != ' ' || len == 0 || len > n - at || k + 1 >= at + len)
			break;
		key = d + k + 1;
		end = d + at + len;
		if (end[-1] != '\n' || (eq = memchr(key, '=', (size_t)(end - key))) == NULL)
			break;
		for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
			if ((size_t)(eq - key) == strlen(keys[i]) &&
			    memcmp(key, keys[i], (size_t)(eq - key)) == 0 &&
			    memchr(eq + 1, '\0', (size_t)(end - 1 - (eq + 1))) != NULL) {
				*val = eq + 1;
				*vlen = (size_t)(end - 1 - (eq + 1));
				return keys[i];
			}
		at += len;
	}
	return NULL;
}

/* The tar reader is fed the decompressed stream through this tap, which
 * keeps the bytes of the headers of the entry being read, so that they
 * can be checked as written. */
struct tap {
	struct archive *src;   /* raw format with the filters: the tar stream */
	unsigned char *keep;   /* stream bytes [off, off + len) */
	size_t len, cap;
	uint64_t off;
	uint64_t fed;          /* stream bytes handed to the tar reader */
	int hold;              /* headers are being read: keep everything */
	int eof;
};

/* Appends the next block of the stream to keep: 1, 0 at its end, -1 on a
 * read error (message in src), -2 when too much is held. */
static int
tap_fill(struct tap *t)
{
	const void *p;
	size_t n;
	la_int64_t o;
	int r;

	if (t->eof)
		return 0;
	r = archive_read_data_block(t->src, &p, &n, &o);
	if (r == ARCHIVE_EOF) {
		t->eof = 1;
		return 0;
	}
	if (r < ARCHIVE_WARN)
		return -1;
	if (n > TAP_KEEP_MAX - t->len)
		return -2;
	if (t->len + n > t->cap) {
		size_t nc = t->cap ? t->cap : IO_BUF;
		unsigned char *nk;
		while (nc < t->len + n)
			nc *= 2;
		if ((nk = realloc(t->keep, nc)) == NULL)
			return -2;
		t->keep = nk;
		t->cap = nc;
	}
	memcpy(t->keep + t->len, p, n);
	t->len += n;
	return 1;
}

/* libarchive's read callback.  The block handed out stays valid until
 * the next call, as libarchive requires; only then is what the reader
 * has consumed dropped (it never reads backwards). */
static la_ssize_t
tap_read(struct archive *a, void *data, const void **buf)
{
	struct tap *t = data;
	uint64_t end;
	size_t n;
	int r;

	if (!t->hold) {
		la_int64_t pos = archive_filter_bytes(a, 0);
		if (pos > 0 && (uint64_t)pos > t->off) {
			size_t drop = (uint64_t)pos - t->off < t->len ?
				(size_t)((uint64_t)pos - t->off) : t->len;
			memmove(t->keep, t->keep + drop, t->len - drop);
			t->len -= drop;
			t->off += drop;
		}
	}
	while (t->fed >= (end = t->off + t->len)) {
		if ((r = tap_fill(t)) == 0)
			return 0;
		if (r < 0) {
			archive_set_error(a, EIO, "%s", r == -1 ?
				archive_error_string(t->src) : "tar headers too large to check");
			return ARCHIVE_FATAL;
		}
	}
	*buf = t->keep + (t->fed - t->off);
	n = (size_t)(end - t->fed);
	t->fed = end;
	return (la_ssize_t)n;
}

static void
tap_free(struct tap *t)
{
	archive_read_free(t->src);
	free(t->keep);
	memset(t, 0, sizeof(*t));
}

/* Checks the headers of the tar entry called name, the stream bytes
 * [from, to): the special headers in front of its own ('x', 'X' and 'g'
 * pax records, 'L' and 'K' GNU long names) must hold no name with a NUL
 * inside.  Returns 1 if they do not, 0 if one does (reported). */
static int
tar_names(struct bag *b, struct tap *t, const char *name, uint64_t from, uint64_t to)
{
	const unsigned char *h, *val;
	const char *key;
	char shown[600];
	size_t n, at = 0, vlen;

	if (from < t->off || to > t->off + t->len || to < from) {
		problem(b, name, 0, "the tar headers of this entry could not be checked");
		return 0;
	}
	h = t->keep + (from - t->off);
	n = (size_t)(to - from);
	while (n - at >= 512) {
		const unsigned char *hd = h + at, *d = hd + 512;
		uint64_t size = tar_number(hd + 124, 12);
		size_t avail = n - at - 512, dlen = size < avail ? (size_t)size : avail;
		char type = (char)hd[156];

		if (is_null_block(hd) || !tar_checksum_ok(hd))
			break;
		if (type == 'V') {  /* a volume label: libarchive goes on at once */
			at += 512;
			continue;
		}
		if (type != 'x' && type != 'X' && type != 'g' && type != 'L' &&
		    type != 'K' && type != 'A')
			break;  /* the entry's own header */
		if (type == 'L' || type == 'K') {
			size_t cut = strnlen((const char *)d, dlen), end = dlen;
			while (end > cut && d[end - 1] == '\0')
				end--;
			if (end > cut) {
				printable_n(shown, sizeof(shown), (const char *)d, end);
				problem(b, name, 0, "NUL byte inside the %s in the tar header (%s)",
					type == 'L' ? "name" : "link name", shown);
				return 0;
			}
		} else if (type != 'A' && (key = pax_nul(d, dlen, &val, &vlen)) != NULL) {
			printable_n(shown, sizeof(shown), (const char *)val, vlen);
			problem(b, name, 0, "NUL byte inside the pax %s record (%s)", key, shown);
			return 0;
		}
		/* size <= avail here, so none of this overflows */
		if (size > avail || 512 + (size + 511) / 512 * 512 > n - at)
			break;
		at += 512 + (size_t)((size + 511) / 512 * 512);
	}
	return 1;
}

static uint32_t
le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
le32(const unsigned char *p)
{
	return le16(p) | le16(p + 2) << 16;
}

static uint64_t
le64(const unsigned char *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Reports a zip name (n bytes at p, from the header called where) that
 * holds a NUL, and remembers the name libarchive will read instead so the
 * entry is refused.  0, or a system error. */
static int
zip_name(struct bag *b, const unsigned char *p, size_t n, const char *where)
{
	const unsigned char *z = memchr(p, '\0', n);
	char shown[600], **nc, *cut;

	if (z == NULL)
		return 0;
	printable_n(shown, sizeof(shown), (const char *)p, n);
	if ((cut = strndup((const char *)p, (size_t)(z - p))) == NULL ||
	    (nc = realloc(b->cut, (b->ncut + 1) * sizeof(*nc))) == NULL) {
		free(cut);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	b->cut = nc;
	b->cut[b->ncut++] = cut;
	problem(b, cut, 0, "NUL byte inside the name in the zip %s (%s)", where, shown);
	return 0;
}

/* Checks the Info-ZIP Unicode path fields among a header's extra fields;
 * *local gets a ZIP64 local header offset when one is given (the fields
 * of the ZIP64 record present are those whose 32-bit value is all ones). */
static int
zip_extra(struct bag *b, const unsigned char *x, size_t n, const char *where,
	const unsigned char *central, uint64_t *local)
{
	int error;

	while (n >= 4) {
		uint32_t id = le16(x), sz = le16(x + 2);
		const unsigned char *d = x + 4;
		if (sz > n - 4)
			break;
		if (id == 0x7075 && sz >= 5 && (error = zip_name(b, d + 5, sz - 5, where)) < 0)
			return error;
		if (id == 0x0001 && central != NULL) {
			size_t k = 0;
			if (le32(central + 24) == 0xffffffff)
				k += 8;
			if (le32(central + 20) == 0xffffffff)
				k += 8;
			if (le32(central + 42) == 0xffffffff && k + 8 <= sz)
				*local = le64(d + k);
		}
		x += 4 + sz;
		n -= 4 + sz;
	}
	return 0;
}

/* Reads len bytes at off; 0, 1 if the file is shorter, or a system error. */
static int
pread_at(int fd, void *buf, size_t len, uint64_t off, uint64_t fsize, const char *path)
{
	if (off > fsize || len > fsize - off)
		return 1;
	if (cu_pread_all(fd, buf, len, off) < 0)
		return cu_error_sys("%s", path);
	return 0;
}

/* Checks every name of a zip file as written: in the central directory
 * (found the way libarchive finds it, a self-extracting prefix allowed)
 * and in the local header each entry points to.  A structure that does
 * not parse is left to libarchive to refuse. */
static int
zip_names(struct bag *b)
{
	unsigned char *tail = NULL, *cd = NULL, lh[30], *ln = NULL;
	uint64_t fsize, eocd, cdsize, cdoff, base, count = 0;
	size_t tlen, i, at;
	struct stat st;
	int fd, error = 0;

	if ((fd = open(b->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return cu_error_sys("%s", b->path);
	if (fstat(fd, &st) < 0) {
		error = cu_error_sys("%s", b->path);
		goto done;
	}
	fsize = (uint64_t)st.st_size;
	tlen = fsize < 22 + 65535 + 20 ? (size_t)fsize : 22 + 65535 + 20;
	if (tlen < 22)
		goto done;
	if ((tail = malloc(tlen)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = pread_at(fd, tail, tlen, fsize - tlen, fsize, b->path)) != 0)
		goto done;
	for (i = tlen - 22 + 1; i-- > 0; )
		if (le32(tail + i) == 0x06054b50)
			break;
	if (i == (size_t)-1)
		goto done;
	eocd = fsize - tlen + i;
	cdsize = le32(tail + i + 12);
	cdoff = le32(tail + i + 16);
	if (i >= 20 && le32(tail + i - 20) == 0x07064b50) {
		unsigned char e64[56];
		uint64_t at64 = le64(tail + i - 20 + 8);
		if ((error = pread_at(fd, e64, sizeof(e64), at64, fsize, b->path)) < 0)
			goto done;
		if (error == 0 && le32(e64) == 0x06064b50) {
			eocd = at64;
			cdsize = le64(e64 + 40);
			cdoff = le64(e64 + 48);
		}
		error = 0;
	}
	if (cdsize > eocd)
		goto done;
	if (cdsize > TAG_TOTAL_MAX) {
		problem(b, NULL, 0, "zip central directory too large to check");
		goto done;
	}
	base = eocd - cdsize >= cdoff ? eocd - cdsize - cdoff : 0;
	if ((cd = malloc(cdsize ? (size_t)cdsize : 1)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = pread_at(fd, cd, (size_t)cdsize, base + cdoff, fsize, b->path)) != 0)
		goto done;
	for (at = 0; cdsize - at >= 46 && le32(cd + at) == 0x02014b50 &&
	    count++ < b->lim.max_entries; ) {
		const unsigned char *c = cd + at;
		size_t nl = le16(c + 28), xl = le16(c + 30), cl = le16(c + 32);
		uint64_t local = le32(c + 42);

		if (46 + nl + xl + cl > cdsize - at)
			break;
		if ((error = zip_name(b, c + 46, nl, "central directory")) < 0 ||
		    (error = zip_extra(b, c + 46 + nl, xl, "central directory", c, &local)) < 0)
			goto done;
		at += 46 + nl + xl + cl;
		if ((error = pread_at(fd, lh, sizeof(lh), base + local, fsize, b->path)) < 0)
			goto done;
		if (error == 1 || le32(lh) != 0x04034b50) {
			error = 0;
			continue;
		}
		nl = le16(lh + 26);
		xl = le16(lh + 28);
		if ((ln = malloc(nl + xl + 1)) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		if ((error = pread_at(fd, ln, nl + xl, base + local + 30, fsize, b->path)) < 0)
			goto done;
		if (error == 0 && ((error = zip_name(b, ln, nl, "local header")) < 0 ||
		    (error = zip_extra(b, ln + nl, xl, "local header", NULL, NULL)) < 0))
			goto done;
		error = 0;
		free(ln);
		ln = NULL;
	}
done:
	free(ln);
	free(cd);
	free(tail);
	close(fd);
	return error;
}

/* A zip entry whose name was cut at a NUL (already reported). */
static int
is_cut(const struct bag *b, const char *raw)
{
	for (size_t i = 0; i < b->ncut; i++)
		if (strcmp(b->cut[i], raw) == 0)
			return 1;
	return 0;
}

/* Opens path for the first pass.  The decompressed stream's first block
 * tells a tar from a zip the way libarchive's tar reader tells them (an
 * end-of-archive block, or a header whose checksum holds): a tar, plain
 * or compressed, is read through the tap so its headers can be checked;
 * anything else must be a plain zip file, whose headers are checked here
 * first.  *out is NULL when nothing readable is there (reported). */
static int
arc_open_list(struct bag *b, struct tap *t, struct archive **out)
{
	struct archive *a;
	struct archive_entry *ent;
	int r = 0, error;

	*out = NULL;
	if ((t->src = archive_read_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (archive_read_support_format_raw(t->src) < ARCHIVE_WARN ||
	    archive_read_support_filter_gzip(t->src) < ARCHIVE_WARN ||
	    archive_read_support_filter_xz(t->src) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(t->src) < ARCHIVE_WARN)
		return cu_error_set(CU_ERROR, "libarchive: %s", archive_error_string(t->src));
	if (archive_read_open_filename(t->src, b->path, IO_BUF) != ARCHIVE_OK ||
	    archive_read_next_header(t->src, &ent) < ARCHIVE_WARN) {
		problem(b, NULL, 0, "not a readable tar or zip archive: %s",
			archive_error_string(t->src));
		b->fatal = 1;
		return 0;
	}
	while (t->len < 512 && (r = tap_fill(t)) > 0)
		;
	if (r < 0) {
		problem(b, NULL, 0, "corrupt or truncated archive: %s", r == -1 ?
			archive_error_string(t->src) : "out of memory");
		b->fatal = 1;
		return 0;
	}
	b->is_tar = archive_filter_count(t->src) > 1 ||
		(t->len >= 512 && (is_null_block(t->keep) || tar_checksum_ok(t->keep)));
	if (!b->is_tar) {
		tap_free(t);
		if ((error = zip_names(b)) < 0)
			return error;
		return arc_open(b, out);
	}
	if ((a = archive_read_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (archive_read_support_format_tar(a) < ARCHIVE_WARN) {
		error = cu_error_set(CU_ERROR, "libarchive: %s", archive_error_string(a));
		archive_read_free(a);
		return error;
	}
	t->hold = 1;
	if (archive_read_open(a, t, NULL, tap_read, NULL) != ARCHIVE_OK) {
		problem(b, NULL, 0, "not a readable tar or zip archive: %s",
			archive_error_string(a));
		b->fatal = 1;
		archive_read_free(a);
		return 0;
	}
	*out = a;
	return 0;
}

/* Reads the current entry into a new NUL-terminated buffer, at most max
 * bytes.  Returns 0, 1 if it is longer than max (buffer freed, reported by
 * the caller), -1 when reading must stop (reported). */
static int
arc_slurp(struct bag *b, struct archive *a, char **out, size_t *outlen, size_t max)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	ssize_t r;

	*out = NULL;
	if (buf == NULL) {
		cu_error_set(CU_ERROR, "out of memory");
		return -2;
	}
	for (;;) {
		if (len == cap) {
			char *nb;
			if (cap >= max) {
				free(buf);
				return 1;
			}
			cap = cap * 2 > max ? max : cap * 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				cu_error_set(CU_ERROR, "out of memory");
				return -2;
			}
			buf = nb;
		}
		r = archive_read_data(a, buf + len, cap - len);
		if (r == 0)
			break;
		if (r < 0) {
			free(buf);
			if (!b->corrupt_reported)
				problem(b, NULL, 0, "corrupt or truncated archive: %s",
					archive_error_string(a));
			b->corrupt_reported = 1;
			return -1;
		}
		len += (size_t)r;
		if (count_read(b, (size_t)r) < 0) {
			free(buf);
			return -1;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Checks an entry's type: 0 for a regular file, 1 for a folder, -1 for
 * anything else (reported). */
static int
entry_kind(struct bag *b, struct archive_entry *ent, const char *name)
{
	if (archive_entry_hardlink(ent) != NULL) {
		problem(b, name, 0, "hard link entry refused");
		return -1;
	}
	switch (archive_entry_filetype(ent)) {
	case AE_IFREG: return 0;
	case AE_IFDIR: return 1;
	case AE_IFLNK: problem(b, name, 0, "symbolic link entry refused"); return -1;
	case AE_IFCHR:
	case AE_IFBLK: problem(b, name, 0, "device entry refused"); return -1;
	case AE_IFIFO: problem(b, name, 0, "FIFO entry refused"); return -1;
	case AE_IFSOCK: problem(b, name, 0, "socket entry refused"); return -1;
	default: problem(b, name, 0, "entry of unknown type refused"); return -1;
	}
}

/* Next header: 1 with *ent, 0 at the end, -1 when the archive is damaged
 * (reported once). */
static int
arc_next(struct bag *b, struct archive *a, struct archive_entry **ent)
{
	int r = archive_read_next_header(a, ent);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
		return 1;
	if (!b->corrupt_reported)
		problem(b, NULL, 0, "corrupt or truncated archive: %s", archive_error_string(a));
	b->corrupt_reported = 1;
	return -1;
}

/* First pass over an archive: the list of files, with every tag file
 * candidate read into memory and every hostile entry reported. */
static int
arc_list(struct bag *b)
{
	struct tap t = { 0 };
	struct archive *a = NULL;
	struct archive_entry *ent;
	struct entry *e;
	uint64_t ord = 0;
	int error, r = 0;

	if ((error = arc_open_list(b, &t, &a)) < 0 || a == NULL)
		goto done;
	for (;; ord++) {
		const char *raw, *why;
		uint64_t size, expanded;
		char *name;
		int kind, ok;

		if (ord > 0) {
			/* skipped with the tap letting go, so that only the
			 * next entry's headers are held while they are read */
			t.hold = 0;
			if (archive_read_data_skip(a) < ARCHIVE_WARN) {
				if (!b->corrupt_reported)
					problem(b, NULL, 0, "corrupt or truncated archive: %s",
						archive_error_string(a));
				b->corrupt_reported = 1;
				r = -1;
				break;
			}
		}
		t.hold = 1;
		if ((r = arc_next(b, a, &ent)) != 1)
			break;
		raw = archive_entry_pathname(ent);
		size = archive_entry_size_is_set(ent) && archive_entry_size(ent) > 0 ?
			(uint64_t)archive_entry_size(ent) : 0;
		expanded = (uint64_t)archive_filter_bytes(a, 0);
		/* the decompressed stream counts too: skipping a bomb still
		 * inflates it */
		if (expanded > b->read_bytes && count_read(b, (size_t)(expanded - b->read_bytes)) < 0) {
			b->fatal = 1;
			break;
		}
		if (count_entry(b) < 0)
			break;
		if (raw == NULL) {
			problem(b, NULL, 0, "entry without a usable name");
			continue;
		}
		if (b->is_tar && !tar_names(b, &t, raw,
		    (uint64_t)archive_read_header_position(a), expanded))
			continue;
		t.hold = 0;
		if (is_cut(b, raw))
			continue;  /* reported with the zip headers */
		if ((name = normalise(raw)) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		/* "./" (tar -C DIR -cf F .): the archive's own root, nothing to check */
		if ((name[0] == '\0' || strcmp(name, ".") == 0) &&
		    archive_entry_filetype(ent) == AE_IFDIR) {
			free(name);
			continue;
		}
		if ((why = name_problem(name)) != NULL) {
			problem(b, name, 0, "%s", why);
			free(name);
			continue;
		}
		if ((kind = entry_kind(b, ent, name)) != 0) {
			if (kind == 1 && (strcmp(name, "data") == 0 ||
			    (strchr(name, '/') != NULL && strcmp(strchr(name, '/'), "/data") == 0)))
				b->has_data_dir = 1;
			free(name);
			continue;
		}
		if ((ok = admit(b, name, size)) < 0) {
			free(name);
			b->fatal = 1;
			break;
		}
		if ((error = add_entry(b, name, size, &e)) < 0)
			goto done;
		e->ord = ord;
		if (ok == 0) {
			e->unread = 1;
			continue;
		}
		if (!maybe_payload(e->name)) {
			char *buf;
			size_t len;
			if ((r = arc_slurp(b, a, &buf, &len, TAG_FILE_MAX)) == -2) {
				error = CU_ERROR;
				goto done;
			}
			if (r < 0) {
				b->fatal = 1;
				break;
			}
			if (r == 1) {
				problem(b, e->name, 0, "tag file too large to check");
				e->unread = 1;
				continue;
			}
			keep_tag(b, e, buf, len);
		}
	}
	if (r < 0)
		b->fatal = 1;
	error = 0;
done:
	archive_read_free(a);
	tap_free(&t);
	return error;
}

/* ---- directories ------------------------------------------------------- */

/* Lists the folder rel (relative to the bag, "" for the top) with lstat,
 * never following a symbolic link.  Returns 0 or a system error; a problem
 * that stops the listing sets b->fatal. */
static int
dir_list(struct bag *b, const char *rel, int depth)
{
	char dpath[8192], fpath[8192], *name = NULL;
	struct dirent *d = NULL;
	struct entry *e;
	DIR *dir = NULL;
	int error = 0;

	if ((error = cu_pathf(dpath, sizeof(dpath), "%s%s%s", b->path, *rel ? "/" : "", rel)) < 0)
		return error;
	if (depth > DEPTH_MAX) {
		problem(b, rel, 0, "path too deep");
		return 0;
	}
	if ((dir = opendir(dpath)) == NULL)
		return cu_error_sys("%s", dpath);
	while (!b->fatal && (errno = 0, d = readdir(dir)) != NULL) {
		struct stat st;
		const char *why;
		int ok;

		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (count_entry(b) < 0)
			break;
		if ((name = cu_asprintf("%s%s%s", rel, *rel ? "/" : "", d->d_name)) == NULL) {
			error = CU_ERROR;
			goto done;
		}
		if ((why = name_problem(name)) != NULL) {
			problem(b, name, 0, "%s", why);
			goto next;
		}
		if ((error = cu_pathf(fpath, sizeof(fpath), "%s/%s", b->path, name)) < 0)
			goto done;
		if (lstat(fpath, &st) < 0) {
			error = cu_error_sys("%s", fpath);
			goto done;
		}
		if (S_ISDIR(st.st_mode)) {
			if (strcmp(name, "data") == 0)
				b->has_data_dir = 1;
			if ((error = dir_list(b, name, depth + 1)) < 0)
				goto done;
			goto next;
		}
		if (S_ISLNK(st.st_mode)) {
			problem(b, name, 0, "symbolic link refused");
			goto next;
		}
		if (!S_ISREG(st.st_mode)) {
			problem(b, name, 0, "not a regular file (device, FIFO or socket) refused");
			goto next;
		}
		if ((ok = admit(b, name, (uint64_t)st.st_size)) < 0) {
			b->fatal = 1;
			goto next;
		}
		if ((error = add_entry(b, name, (uint64_t)st.st_size, &e)) < 0) {
			name = NULL;
			goto done;
		}
		name = NULL;
		if (ok == 0) {
			e->unread = 1;
			continue;
		}
		if (!is_payload(e->name)) {
			char *buf;
			size_t len;
			if (e->size > TAG_FILE_MAX) {
				problem(b, e->name, 0, "tag file too large to check");
				e->unread = 1;
				continue;
			}
			if ((error = cu_read_file(&buf, &len, fpath, TAG_FILE_MAX)) < 0) {
				if (error == CU_EINVALID || error == CU_ELIMIT) {
					/* replaced under us by a link or grown */
					problem(b, e->name, 0, "%s", cu_error_last());
					e->unread = 1;
					error = 0;
					continue;
				}
				goto done;
			}
			keep_tag(b, e, buf, len);
		}
		continue;
next:
		free(name);
		name = NULL;
	}
	if (d == NULL && errno != 0 && !b->fatal)
		error = cu_error_sys("%s", dpath);
done:
	free(name);
	closedir(dir);
	return error;
}

/* ---- layout ------------------------------------------------------------ */

/* Finds the bag's top (bagit.txt at the top, or in a single top folder)
 * and makes every name relative to it.  A bag without one is fatal. */
static void
strip_top(struct bag *b)
{
	const char *slash;
	size_t plen;
	char *top = b->top;

	qsort(b->e, b->n, sizeof(*b->e), entry_cmp);
	if (b->is_dir || find(b, "bagit.txt") != NULL)
		return;
	if (b->n == 0 || (slash = strchr(b->e[0].name, '/')) == NULL)
		goto none;
	plen = (size_t)(slash - b->e[0].name) + 1;
	memcpy(top, b->e[0].name, plen);
	strcpy(top + plen, "bagit.txt");
	for (size_t i = 0; i < b->n; i++)
		if (strncmp(b->e[i].name, top, plen) != 0)
			goto none;
	if (find(b, top) == NULL)
		goto none;
	for (size_t i = 0; i < b->n; i++)
		memmove(b->e[i].name, b->e[i].name + plen, strlen(b->e[i].name + plen) + 1);
	top[plen] = '\0';
	return;
none:
	top[0] = '\0';
	problem(b, "bagit.txt", 0, "missing (neither at the top nor in a single top folder)");
	b->fatal = 1;
}

/* ---- name collisions --------------------------------------------------- */

/* A new NUL-terminated copy of the UTF-8 name s in Unicode NFC, or fully
 * case-folded and then in NFC when fold is set; NULL when out of memory
 * (message set). */
static char *
uni_key(const char *s, int fold)
{
	size_t n = strlen(s) + 1, len = 0, i;
	uint8_t *r;

	for (i = 0; i < n && (unsigned char)s[i] < 0x80; i++)
		;
	if (i == n) {  /* ASCII: NFC already, and folding is lower case */
		char *c = strdup(s);
		if (c == NULL)
			cu_error_set(CU_ERROR, "out of memory");
		for (i = 0; c != NULL && fold && c[i]; i++)
			if (c[i] >= 'A' && c[i] <= 'Z')
				c[i] = (char)(c[i] - 'A' + 'a');
		return c;
	}
	/* the final NUL goes through too, so the result ends with one */
	r = fold ? u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFC, NULL, &len) :
		u8_normalize(UNINORM_NFC, (const uint8_t *)s, n, NULL, &len);
	if (r == NULL) {
		cu_error_set(CU_ERROR, "libunistring: %s", strerror(errno));
		return NULL;
	}
	if (len == 0 || r[len - 1] != '\0' || memchr(r, '\0', len) != r + len - 1) {
		free(r);
		cu_error_set(CU_ERROR, "libunistring: unexpected result");
		return NULL;
	}
	return (char *)r;
}

static int
nfc_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	int c = strcmp(x->nfc, y->nfc);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static int
fold_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	int c = strcmp(x->fold, y->fold);

	/* then NFC, so names equal in NFC sit together, then bytes, so
	 * each pair is reported once */
	if (c == 0)
		c = strcmp(x->nfc, y->nfc);
	return c != 0 ? c : strcmp(x->name, y->name);
}

/* The first of v[0..n) (sorted by that key) whose NFC name, or folded
 * name, is not less than key. */
static size_t
lower_bound(struct entry *const *v, size_t n, const char *key, int fold)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(fold ? v[mid]->fold : v[mid]->nfc, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* *out gets an entry of v (sorted by that key) whose key starts with
 * "key/", or NULL: a file whose name is also a folder's.  0 or an error. */
static int
under(struct entry *const *v, size_t n, const char *key, int fold, const struct entry **out)
{
	size_t kl = strlen(key), i;
	char *dir = malloc(kl + 2);
	const char *k;

	*out = NULL;
	if (dir == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	memcpy(dir, key, kl);
	memcpy(dir + kl, "/", 2);
	i = lower_bound(v, n, dir, fold);
	k = i < n ? (fold ? v[i]->fold : v[i]->nfc) : NULL;
	free(dir);
	if (k != NULL && strncmp(k, key, kl) == 0 && k[kl] == '/')
		*out = v[i];
	return 0;
}

/* Names that would land on the same file when the bag is unpacked.
 * Byte-identical names, names equal in Unicode NFC (one written
 * precomposed, one decomposed), and a file whose name is also a folder's
 * are errors: one would shadow the other.  Names equal only after full
 * case folding ("Straße" and "STRASSE") collide on case-insensitive file
 * systems: a warning, or an error with strict_names. */
static int
check_names(struct bag *b)
{
	int strict = b->lim.strict_names != 0, error = 0;
	struct entry **v = NULL;

	for (size_t i = 1; i < b->n; i++)
		if (strcmp(b->e[i - 1].name, b->e[i].name) == 0) {
			problem(b, b->e[i].name, 0, "duplicate entry name");
			b->e[i].unread = 1;
			b->e[i].hashed = 1;
		}
	if (b->n == 0)
		return 0;
	for (size_t i = 0; i < b->n; i++)
		if ((b->e[i].nfc = uni_key(b->e[i].name, 0)) == NULL ||
		    (b->e[i].fold = uni_key(b->e[i].name, 1)) == NULL)
			return CU_ERROR;
	if ((b->by_nfc = malloc(b->n * sizeof(*b->by_nfc))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((v = malloc(b->n * sizeof(*v))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (size_t i = 0; i < b->n; i++)
		b->by_nfc[i] = v[i] = &b->e[i];
	qsort(b->by_nfc, b->n, sizeof(*v), nfc_cmp);
	qsort(v, b->n, sizeof(*v), fold_cmp);
	for (size_t i = 1; i < b->n; i++) {
		const struct entry *p = v[i - 1], *e = v[i];
		if (strcmp(p->fold, e->fold) != 0 || strcmp(p->name, e->name) == 0)
			continue;
		if (strcmp(p->nfc, e->nfc) == 0)
			problem(b, e->name, 0, "duplicate entry name: the same as %s "
				"after Unicode normalisation (NFC)", p->name);
		else
			problem(b, e->name, !strict, "differs only by case from %s", p->name);
	}
	for (size_t i = 0; i < b->n && error == 0; i++) {
		const struct entry *e = b->by_nfc[i], *d;
		if (i > 0 && strcmp(b->by_nfc[i - 1]->name, e->name) == 0)
			continue;
		if ((error = under(b->by_nfc, b->n, e->nfc, 0, &d)) < 0)
			break;
		if (d != NULL) {
			problem(b, e->name, 0, "a file, and also a folder holding %s", d->name);
			continue;
		}
		if ((error = under(v, b->n, e->fold, 1, &d)) == 0 && d != NULL)
			problem(b, e->name, !strict, "differs only by case from the folder holding %s",
				d->name);
	}
	free(v);
	return error;
}

/* The entry a manifest line names: the one of the same bytes, or else the
 * one whose name is the same in NFC (*renorm set).  0 with *out (NULL if
 * none), or an error. */
static int
find_listed(struct bag *b, const char *path, struct entry **out, int *renorm)
{
	char *key;
	size_t i;

	*renorm = 0;
	if ((*out = find(b, path)) != NULL || b->by_nfc == NULL)
		return 0;
	if ((key = uni_key(path, 0)) == NULL)
		return CU_ERROR;
	i = lower_bound(b->by_nfc, b->n, key, 0);
	if (i < b->n && strcmp(b->by_nfc[i]->nfc, key) == 0) {
		*out = b->by_nfc[i];
		*renorm = 1;
	}
	free(key);
	return 0;
}

/* ---- tag files --------------------------------------------------------- */

/* Splits text into lines in place (LF, CR LF or CR); calls fn for each
 * with its 1-based number.  A final line ending adds no empty line. */
static int
each_line(char *text, size_t len, int (*fn)(struct bag *, void *, char *, size_t), struct bag *b, void *arg)
{
	size_t i = 0, no = 0;
	int error;

	while (i < len) {
		size_t start = i;
		while (i < len && text[i] != '\n' && text[i] != '\r')
			i++;
		if (i < len) {
			if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
				text[i++] = '\0';
			text[i++] = '\0';
		}
		if ((error = fn(b, arg, text + start, ++no)) < 0)
			return error;
	}
	return 0;
}

/* The number, as each_line counts them, of the line that byte at of text
 * is on. */
static size_t
line_of(const char *text, size_t at)
{
	size_t no = 1;

	for (size_t i = 0; i < at; i++)
		if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == at || text[i + 1] != '\n')))
			no++;
	return no;
}

/* The characters of a character set name (IANA names and iconv's). */
#define ENC_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:+"

/* Takes the other tag files' encoding from bagit.txt: UTF-8, or any name
 * iconv knows, compared without regard to case.  An unknown one is fatal:
 * nothing else in the bag can be read. */
static int
set_encoding(struct bag *b, const char *v)
{
	size_t len = strlen(v);

	if (len == 0 || len >= sizeof(b->enc) || strspn(v, ENC_CHARS) != len) {
		problem(b, "bagit.txt", 0, "tag file encoding \"%.40s\" is not a character set name", v);
		b->fatal = 1;
		return 0;
	}
	memcpy(b->enc, v, len + 1);
	if (b->info)
		memcpy(b->info->encoding, v, len + 1);
	if (strcasecmp(v, "UTF-8") == 0 || strcasecmp(v, "UTF8") == 0)
		return 0;
	if ((b->cd = iconv_open("UTF-8", v)) == (iconv_t)-1) {
		if (errno != EINVAL)
			return cu_error_sys("iconv_open %s", v);
		problem(b, "bagit.txt", 0, "tag file encoding %s is not known", v);
		b->fatal = 1;
	}
	return 0;
}

/* UTF-16 and UTF-32 without LE or BE: the byte order mark tells the
 * order, and without one iconv would guess big-endian.  Its width, or 0. */
static size_t
bom_needed(const char *enc)
{
	if (strcasecmp(enc, "UTF-16") == 0 || strcasecmp(enc, "UTF16") == 0)
		return 2;
	if (strcasecmp(enc, "UTF-32") == 0 || strcasecmp(enc, "UTF32") == 0)
		return 4;
	return 0;
}

/* Converts a tag file to UTF-8 with iconv.  1 with *out, 0 when a byte
 * sequence is not valid in the encoding (reported with its line), or an
 * error. */
static int
convert(struct bag *b, const struct entry *e, char **out, size_t *outlen)
{
	size_t bom = bom_needed(b->enc), inleft = e->dlen, cap = e->dlen * 2 + 16, oleft;
	char *in = e->data, *buf, *op;
	const unsigned char *d = (const unsigned char *)e->data;

	if (bom && e->dlen > 0 && !(e->dlen >= bom &&
	    ((d[0] == 0xfe && d[1] == 0xff) || (d[0] == 0xff && d[1] == 0xfe) ||
	    (bom == 4 && d[0] == 0 && d[1] == 0 && d[2] == 0xfe && d[3] == 0xff)))) {
		problem(b, e->name, 0, "line 1: no byte order mark, which %s needs "
			"(or declare %.6sLE or %.6sBE)", b->enc, b->enc, b->enc);
		return 0;
	}
	if ((buf = malloc(cap + 1)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	iconv(b->cd, NULL, NULL, NULL, NULL);
	op = buf;
	oleft = cap;
	for (;;) {
		size_t used;
		char *nb;

		if (iconv(b->cd, &in, &inleft, &op, &oleft) != (size_t)-1 &&
		    iconv(b->cd, NULL, NULL, &op, &oleft) != (size_t)-1)
			break;
		used = (size_t)(op - buf);
		if (errno == EILSEQ || errno == EINVAL) {
			problem(b, e->name, 0, "line %zu: not valid %s", line_of(buf, used), b->enc);
			free(buf);
			return 0;
		}
		if (errno != E2BIG || cap > e->dlen * DECODE_GROWTH + 16) {
			free(buf);
			return cu_error_set(CU_ERROR, "%s: iconv from %s: %s", e->name, b->enc,
				strerror(errno));
		}
		cap *= 2;
		if ((nb = realloc(buf, cap + 1)) == NULL) {
			free(buf);
			return cu_error_set(CU_ERROR, "out of memory");
		}
		buf = nb;
		op = buf + used;
		oleft = cap - used;
	}
	*op = '\0';
	*out = buf;
	*outlen = (size_t)(op - buf);
	return 1;
}

/* A tag file's text as UTF-8, NUL-terminated, without a byte order mark:
 * bagit.txt as it is (always UTF-8), the others converted from the
 * encoding bagit.txt declares.  Returns 1 with *out (the caller frees
 * it), 0 when the file cannot be read as text (reported, with the line),
 * or an error. */
static int
tag_text(struct bag *b, const struct entry *e, char **out, size_t *outlen)
{
	int bagit = strcmp(e->name, "bagit.txt") == 0, r;
	const unsigned char *s;
	size_t len = 0, i;
	char *text = NULL;

	*out = NULL;
	if (bagit || b->cd == (iconv_t)-1) {
		if ((text = malloc(e->dlen + 1)) == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		memcpy(text, e->data, e->dlen + 1);
		len = e->dlen;
	} else if ((r = convert(b, e, &text, &len)) <= 0) {
		return r;
	}
	s = (const unsigned char *)text;
	i = 0;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		/* a BOM is part of UTF-16 or GB18030; in UTF-8 it is noise */
		if (bagit || b->cd == (iconv_t)-1)
			problem(b, e->name, !bagit, "starts with a byte order mark");
		if (bagit) {
			free(text);
			return 0;
		}
		i = 3;
	}
	for (size_t k = i; k < len; ) {
		size_t at = k;
		long cp = cu_utf8_next(s, len, &k);
		if (cp <= 0) {
			problem(b, e->name, 0, "line %zu: %s", line_of(text + i, at - i),
				cp < 0 ? "not valid UTF-8" : "holds a NUL character");
			free(text);
			return 0;
		}
	}
	memmove(text, text + i, len - i + 1);
	*out = text;
	*outlen = len - i;
	return 1;
}

/* Runs each_line over a tag file's text (tag_text), so the file's bytes
 * stay intact for the tag manifests.  1 when it was read, 0 when it could
 * not be (reported), or an error. */
static int
each_tag_line(struct bag *b, const struct entry *e,
	int (*fn)(struct bag *, void *, char *, size_t), void *arg)
{
	char *text;
	size_t len;
	int r;

	if ((r = tag_text(b, e, &text, &len)) <= 0)
		return r;
	r = each_line(text, len, fn, b, arg);
	free(text);
	return r < 0 ? r : 1;
}

struct bagit_state {
	int lines;
};

static int
bagit_line(struct bag *b, void *arg, char *line, size_t no)
{
	struct bagit_state *st = arg;
	const char *v;

	st->lines++;
	if (no == 1) {
		if (strncmp(line, "BagIt-Version: ", 15) != 0) {
			problem(b, "bagit.txt", 0, "line 1 is not \"BagIt-Version: M.N\"");
			return 0;
		}
		v = line + 15;
		if (strcmp(v, "1.0") != 0 && strcmp(v, "0.97") != 0) {
			problem(b, "bagit.txt", 0, "BagIt version %.20s not supported (0.97 and 1.0 are)", v);
			return 0;
		}
		b->v10 = strcmp(v, "1.0") == 0;
		if (b->info)
			snprintf(b->info->version, sizeof(b->info->version), "%s", v);
	} else if (no == 2) {
		if (strncmp(line, "Tag-File-Character-Encoding: ", 29) != 0) {
			problem(b, "bagit.txt", 0,
				"line 2 is not \"Tag-File-Character-Encoding: ENCODING\"");
			return 0;
		}
		return set_encoding(b, line + 29);
	}
	return 0;
}

/* bagit.txt: exactly the two lines, UTF-8 without a BOM, a supported
 * version and an encoding for the other tag files. */
static int
check_bagit(struct bag *b)
{
	struct entry *e = find(b, "bagit.txt");
	struct bagit_state st = { 0 };
	int r;

	b->v10 = 1;
	if (e == NULL) {
		problem(b, "bagit.txt", 0, "missing");
		return 0;
	}
	if (e->data == NULL)
		return 0;  /* reported when it was listed */
	if ((r = each_tag_line(b, e, bagit_line, &st)) <= 0)
		return r;
	if (st.lines != 2)
		problem(b, "bagit.txt", 0, "has %d lines, not exactly 2", st.lines);
	return 0;
}

struct info_state {
	json_t *obj;
	json_t *last;   /* array holding the value being continued */
	int oxum_seen;
};

static int
info_line(struct bag *b, void *arg, char *line, size_t no)
{
	struct info_state *st = arg;
	char *colon, *label, *value;
	json_t *arr;

	if (line[0] == '\0')
		return 0;
	if (line[0] == ' ' || line[0] == '\t') {
		size_t k;
		char *joined;
		if (st->last == NULL) {
			problem(b, "bag-info.txt", 0, "line %zu: continuation without a label", no);
			return 0;
		}
		while (*line == ' ' || *line == '\t')
			line++;
		k = json_array_size(st->last) - 1;
		joined = cu_asprintf("%s %s", json_string_value(json_array_get(st->last, k)), line);
		if (joined == NULL)
			return CU_ERROR;
		json_array_set_new(st->last, k, json_string(joined));
		free(joined);
		return 0;
	}
	if ((colon = strchr(line, ':')) == NULL) {
		problem(b, "bag-info.txt", 0, "line %zu: not \"Label: value\"", no);
		st->last = NULL;
		return 0;
	}
	*colon = '\0';
	label = line;
	value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*label == '\0') {
		problem(b, "bag-info.txt", 0, "line %zu: empty label", no);
		st->last = NULL;
		return 0;
	}
	if ((arr = json_object_get(st->obj, label)) == NULL) {
		if ((arr = json_array()) == NULL || json_object_set_new(st->obj, label, arr) < 0)
			return cu_error_set(CU_ERROR, "out of memory");
	}
	if (json_array_append_new(arr, json_string(value)) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	st->last = arr;
	return 0;
}

/* Parses "octets.streams"; 0 or -1. */
static int
parse_oxum(const char *s, uint64_t *octets, uint64_t *streams)
{
	uint64_t *out = octets;
	int digits = 0;

	*octets = *streams = 0;
	for (; ; s++) {
		if (*s >= '0' && *s <= '9') {
			if (*out > (UINT64_MAX - 9) / 10)
				return -1;
			*out = *out * 10 + (uint64_t)(*s - '0');
			digits++;
		} else if (*s == '.' && out == octets && digits) {
			out = streams;
			digits = 0;
		} else if (*s == '\0' && out == streams && digits) {
			return 0;
		} else {
			return -1;
		}
	}
}

/* bag-info.txt: labels and values into info, Payload-Oxum kept. */
static int
check_bag_info(struct bag *b)
{
	struct entry *e = find(b, "bag-info.txt");
	struct info_state st = { 0 };
	json_t *ox;
	int error;

	if (e == NULL || e->data == NULL)
		return 0;
	if ((st.obj = json_object()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = each_tag_line(b, e, info_line, &st)) <= 0) {
		json_decref(st.obj);
		return error;
	}
	if ((ox = json_object_get(st.obj, "Payload-Oxum")) != NULL) {
		if (json_array_size(ox) != 1)
			problem(b, "bag-info.txt", 0, "Payload-Oxum given more than once");
		else if (parse_oxum(json_string_value(json_array_get(ox, 0)),
		    &b->oxum_bytes, &b->oxum_files) < 0)
			problem(b, "bag-info.txt", 0, "Payload-Oxum is not \"octets.streams\"");
		else
			b->have_oxum = 1;
	}
	if (b->info) {
		json_decref(b->info->bag_info);
		b->info->bag_info = st.obj;
	} else {
		json_decref(st.obj);
	}
	return 0;
}

/* Decodes %0A, %0D and %25 (either case) in place (RFC 8493 §2.1.3);
 * any other '%' stays as it is. */
static void
percent_decode(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '%' && s[1] && s[2]) {
			int hi = cu_hex_digit((unsigned char)s[1]), lo = cu_hex_digit((unsigned char)s[2]);
			int c = hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
			if (c == '\n' || c == '\r' || c == '%') {
				*o++ = (char)c;
				s += 3;
				continue;
			}
		}
		*o++ = *s++;
	}
	*o = '\0';
}

struct mf_state {
	const char *file;   /* manifest's name */
	int alg;
	int tag;            /* a tag manifest */
	unsigned char *digests;  /* owned copies for entries' want[] */
	size_t ndig, capdig;
};

/* Checks one tag file against a digest. */
static int
check_tag_digest(struct bag *b, struct mf_state *st, struct entry *e, const unsigned char *want)
{
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int glen;

	if (EVP_Digest(e->data, e->dlen, got, &glen, alg_md(st->alg), NULL) != 1)
		return cu_error_set(CU_ERROR, "OpenSSL: digest failed");
	if (glen != algs[st->alg].len || memcmp(got, want, glen) != 0)
		problem(b, e->name, 0, "%s checksum does not match %s", algs[st->alg].name, st->file);
	return 0;
}

static int
manifest_line(struct bag *b, void *arg, char *line, size_t no)
{
	struct mf_state *st = arg;
	size_t hl = strcspn(line, " \t"), dlen = algs[st->alg].len;
	unsigned char digest[64];
	char *path;
	const char *why;
	struct entry *e;
	int error, renorm;

	if (line[0] == '\0')
		return 0;
	if (line[hl] == '\0') {
		problem(b, st->file, 0, "line %zu: not \"checksum path\"", no);
		return 0;
	}
	line[hl] = '\0';
	path = line + hl + 1;
	while (*path == ' ' || *path == '\t')
		path++;
	if (*path == '\0') {
		problem(b, st->file, 0, "line %zu: no path", no);
		return 0;
	}
	if (hl != 2 * dlen || cu_unhex(digest, dlen, line) < 0) {
		problem(b, st->file, 0, "line %zu: not a %s checksum", no, algs[st->alg].name);
		return 0;
	}
	percent_decode(path);
	if ((why = name_problem(path)) != NULL) {
		problem(b, st->file, 0, "line %zu: %s", no, why);
		return 0;
	}
	if (!st->tag && !is_payload(path)) {
		problem(b, st->file, 0, "line %zu: %s is not under data/", no, path);
		return 0;
	}
	if (st->tag) {
		if (is_payload(path)) {
			problem(b, st->file, 0, "line %zu: payload file %s in a tag manifest", no, path);
			return 0;
		}
		if (strncmp(path, "tagmanifest-", 12) == 0 && strchr(path, '/') == NULL) {
			problem(b, st->file, 0, "line %zu: lists the tag manifest %s", no, path);
			return 0;
		}
	}
	if ((error = find_listed(b, path, &e, &renorm)) < 0)
		return error;
	if (e == NULL) {
		problem(b, path, 0, "listed in %s but missing", st->file);
		return 0;
	}
	if (renorm)
		problem(b, e->name, 1, "listed in %s under another Unicode normalisation "
			"of its name (the same in NFC)", st->file);
	if (st->tag) {
		if (e->data == NULL)
			return 0;  /* too large: reported when listed */
		return check_tag_digest(b, st, e, digest);
	}
	if (++e->listed[st->alg] == 2)
		problem(b, e->name, 0, "listed more than once in %s", st->file);
	if (e->listed[st->alg] > 1)
		return 0;
	if (st->ndig == st->capdig) {
		/* entries point into this block, so it is sized once, up front */
		return cu_error_set(CU_ERROR, "internal: manifest digest space exhausted");
	}
	e->want[st->alg] = st->digests + st->ndig * dlen;
	memcpy(e->want[st->alg], digest, dlen);
	st->ndig++;
	return 0;
}

/* The algorithm named by "manifest-ALG.txt" / "tagmanifest-ALG.txt", or
 * -1 for one custos does not know. */
static int
alg_of(const char *name, size_t skip)
{
	size_t l = strlen(name);

	if (l < skip + 5 || strcmp(name + l - 4, ".txt") != 0)
		return -1;
	for (int a = 0; a < ALG_N; a++)
		if (strlen(algs[a].name) == l - skip - 4 &&
		    strncmp(name + skip, algs[a].name, l - skip - 4) == 0)
			return a;
	return -1;
}

/* Parses every manifest at the top: payload manifests fill the entries'
 * expected digests, tag manifests are checked at once.  *blocks collects
 * the digest storage to free at the end. */
static int
check_manifests(struct bag *b, unsigned char **blocks)
{
	int error = 0, npayload = 0;
	char *text;
	size_t len;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < b->n; i++) {
			struct entry *e = &b->e[i];
			int tag = strncmp(e->name, "tagmanifest-", 12) == 0;
			struct mf_state st = { .file = e->name, .tag = tag };

			if (strchr(e->name, '/') != NULL || e->hashed ||
			    (!tag && strncmp(e->name, "manifest-", 9) != 0) || tag != pass)
				continue;
			if ((st.alg = alg_of(e->name, tag ? 12 : 9)) < 0) {
				problem(b, e->name, 1, "unknown algorithm: not checked");
				continue;
			}
			if (!tag) {
				npayload++;
				b->manifest[st.alg] = 1;
			}
			if (e->data == NULL)
				continue;
			if ((error = tag_text(b, e, &text, &len)) <= 0) {
				if (error < 0)
					return error;
				continue;
			}
			if (!tag) {
				/* at most one digest per line */
				size_t lines = 1;
				for (size_t k = 0; k < len; k++)
					lines += text[k] == '\n' || text[k] == '\r';
				if ((st.digests = malloc(lines * algs[st.alg].len)) == NULL) {
					free(text);
					return cu_error_set(CU_ERROR, "out of memory");
				}
				st.capdig = lines;
				blocks[st.alg] = st.digests;
			}
			error = each_line(text, len, manifest_line, b, &st);
			free(text);
			if (error < 0)
				return error;
		}
	if (npayload == 0)
		problem(b, NULL, 0, "no payload manifest (manifest-ALG.txt)");
	return 0;
}

/* Every payload file must be in every payload manifest (BagIt 1.0), or in
 * at least one (0.97). */
static void
check_listed(struct bag *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct entry *e = &b->e[i];
		int any = 0;

		if (!is_payload(e->name) || (i > 0 && strcmp(b->e[i - 1].name, e->name) == 0))
			continue;
		for (int a = 0; a < ALG_N; a++)
			any |= e->listed[a] > 0;
		for (int a = 0; a < ALG_N; a++)
			if (b->manifest[a] && e->listed[a] == 0 && (b->v10 || !any))
				problem(b, e->name, 0, "not listed in manifest-%s.txt", algs[a].name);
	}
}

/* ---- payload ----------------------------------------------------------- */

struct hasher {
	EVP_MD_CTX *ctx[ALG_N];
};

static int
hash_start(struct bag *b, struct hasher *h)
{
	for (int a = 0; a < ALG_N; a++) {
		if (!b->manifest[a])
			continue;
		if (h->ctx[a] == NULL && (h->ctx[a] = EVP_MD_CTX_new()) == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		if (EVP_DigestInit_ex(h->ctx[a], alg_md(a), NULL) != 1)
			return cu_error_set(CU_ERROR, "OpenSSL: %s digest init failed", algs[a].name);
	}
	return 0;
}

static int
hash_update(struct bag *b, struct hasher *h, const void *p, size_t n)
{
	for (int a = 0; a < ALG_N; a++)
		if (b->manifest[a] && EVP_DigestUpdate(h->ctx[a], p, n) != 1)
			return cu_error_set(CU_ERROR, "OpenSSL: digest update failed");
	return 0;
}

/* Compares the digests of a fully read payload file with its manifests. */
static int
hash_finish(struct bag *b, struct hasher *h, struct entry *e)
{
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int glen;

	for (int a = 0; a < ALG_N; a++) {
		if (!b->manifest[a])
			continue;
		if (EVP_DigestFinal_ex(h->ctx[a], got, &glen) != 1)
			return cu_error_set(CU_ERROR, "OpenSSL: digest failed");
		if (e->want[a] != NULL && memcmp(got, e->want[a], glen) != 0)
			problem(b, e->name, 0, "%s checksum does not match manifest-%s.txt",
				algs[a].name, algs[a].name);
	}
	return 0;
}

static void
hash_free(struct hasher *h)
{
	for (int a = 0; a < ALG_N; a++)
		EVP_MD_CTX_free(h->ctx[a]);
}

/* Checks bytes read so far from one file against the limits; 0 or -1. */
static int
payload_limits(struct bag *b, struct entry *e, uint64_t got, size_t n)
{
	if (got > b->lim.max_file_bytes) {
		problem(b, e->name, 0, "larger than the limit of %llu bytes",
			(unsigned long long)b->lim.max_file_bytes);
		return -1;
	}
	b->total += n;
	if (b->total > b->lim.max_bag_bytes) {
		if (!b->total_reported)
			problem(b, NULL, 0, "larger than the limit of %llu bytes",
				(unsigned long long)b->lim.max_bag_bytes);
		b->total_reported = 1;
		b->fatal = 1;
		return -1;
	}
	if (count_read(b, n) < 0) {
		b->fatal = 1;
		return -1;
	}
	return 0;
}

/* The caller's sink sees each payload file as it is hashed; once begun, a
 * file is always ended (complete or not) unless the sink itself failed. */
static int
sink_begin(struct bag *b, const struct entry *e)
{
	b->sink_open = b->sink != NULL && b->sink->begin != NULL;
	if (!b->sink_open)
		return 0;
	return b->sink->begin(b->sink->payload, e->name, e->size);
}

static int
sink_data(struct bag *b, const void *p, size_t n)
{
	if (!b->sink_open || b->sink->data == NULL)
		return 0;
	return b->sink->data(b->sink->payload, p, n);
}

static int
sink_end(struct bag *b, int complete)
{
	if (!b->sink_open)
		return 0;
	b->sink_open = 0;
	return b->sink->end ? b->sink->end(b->sink->payload, complete) : 0;
}

static int
ord_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Second pass over an archive: streams every payload file once through
 * the digests, counting the bytes really produced.  Entries are matched
 * by their place in the archive (and their name), so an entry the first
 * pass refused never stands in for a bag file of the same name. */
static int
arc_hash(struct bag *b, struct hasher *h, unsigned char *buf)
{
	struct archive *a = NULL;
	struct archive_entry *ent;
	struct entry **v = NULL;
	size_t plen = strlen(b->top), next = 0;
	uint64_t ord = 0;
	int error, r;

	if (b->n == 0)
		return 0;
	if ((v = malloc(b->n * sizeof(*v))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (size_t i = 0; i < b->n; i++)
		v[i] = &b->e[i];
	qsort(v, b->n, sizeof(*v), ord_cmp);
	if ((error = arc_open(b, &a)) < 0 || a == NULL)
		goto done;
	b->total = 0;
	b->read_bytes = 0;
	while (!b->fatal && next < b->n && (r = arc_next(b, a, &ent)) == 1) {
		const char *raw = archive_entry_pathname(ent);
		struct entry *e;
		uint64_t got = 0;
		char *name;
		ssize_t n;
		int same;

		if (v[next]->ord != ord++)
			continue;
		e = v[next++];
		/* the same file read the first time, or it was replaced */
		if (raw == NULL) {
			name = NULL;
		} else if ((name = normalise(raw)) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		same = name != NULL && strncmp(name, b->top, plen) == 0 &&
			strcmp(name + plen, e->name) == 0 && archive_entry_filetype(ent) == AE_IFREG;
		free(name);
		if (!same) {
			problem(b, e->name, 0, "the archive changed while it was read");
			b->fatal = 1;
			break;
		}
		if (!is_payload(e->name) || e->unread || e->hashed)
			continue;
		e->hashed = 1;
		if ((error = hash_start(b, h)) < 0 || (error = sink_begin(b, e)) < 0)
			goto done;
		while ((n = archive_read_data(a, buf, IO_BUF)) > 0) {
			got += (uint64_t)n;
			if (payload_limits(b, e, got, (size_t)n) < 0)
				break;
			if ((error = hash_update(b, h, buf, (size_t)n)) < 0 ||
			    (error = sink_data(b, buf, (size_t)n)) < 0)
				goto done;
		}
		if ((error = sink_end(b, n == 0)) < 0)
			goto done;
		if (n < 0) {
			if (!b->corrupt_reported)
				problem(b, e->name, 0, "corrupt or truncated archive: %s",
					archive_error_string(a));
			b->corrupt_reported = 1;
			b->fatal = 1;
			break;
		}
		if (n > 0)
			continue;  /* over a limit, reported */
		b->got_files++;
		b->got_bytes += got;
		if ((error = hash_finish(b, h, e)) < 0)
			goto done;
	}
	error = 0;
done:
	archive_read_free(a);
	free(v);
	return error;
}

/* Second pass over a folder: each payload file opened without following a
 * link, then hashed. */
static int
dir_hash(struct bag *b, struct hasher *h, unsigned char *buf)
{
	char fpath[8192];
	int error = 0, fd = -1;

	for (size_t i = 0; i < b->n && !b->fatal; i++) {
		struct entry *e = &b->e[i];
		uint64_t got = 0;
		ssize_t n;

		if (!is_payload(e->name) || e->unread || e->hashed)
			continue;
		e->hashed = 1;
		if ((error = cu_pathf(fpath, sizeof(fpath), "%s/%s", b->path, e->name)) < 0)
			goto done;
		if ((fd = open(fpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
			problem(b, e->name, 0, "cannot be read: %s", strerror(errno));
			continue;
		}
		if ((error = hash_start(b, h)) < 0 || (error = sink_begin(b, e)) < 0)
			goto done;
		while ((n = read(fd, buf, IO_BUF)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				error = cu_error_sys("%s", fpath);
				sink_end(b, 0);
				goto done;
			}
			got += (uint64_t)n;
			if (payload_limits(b, e, got, (size_t)n) < 0)
				break;
			if ((error = hash_update(b, h, buf, (size_t)n)) < 0 ||
			    (error = sink_data(b, buf, (size_t)n)) < 0)
				goto done;
		}
		close(fd);
		fd = -1;
		if ((error = sink_end(b, n == 0)) < 0)
			goto done;
		if (n != 0)
			continue;
		b->got_files++;
		b->got_bytes += got;
		if ((error = hash_finish(b, h, e)) < 0)
			goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	return error;
}

/* ---- the whole check --------------------------------------------------- */

int
cu_bag_validate(const char *path, const cu_bag_limits *lim,
	cu_bag_problem_cb cb, void *payload, cu_bag_info *info)
{
	return cu_bag_read(path, lim, cb, payload, info, NULL);
}

static int
bag_read(const char *path, const cu_bag_limits *lim, cu_bag_problem_cb cb,
	void *payload, cu_bag_info *info, const cu_bag_sink *sink)
{
	struct bag b = { .path = path, .cb = cb, .payload = payload, .info = info,
		.sink = sink, .cd = (iconv_t)-1 };
	unsigned char *blocks[ALG_N] = { 0 }, *buf = NULL;
	struct hasher h = { { 0 } };
	struct stat st;
	int error;

	b.lim = lim != NULL ? *lim : cu_bag_limits_default();
	if (info != NULL)
		cu_bag_info_clear(info);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return cu_error_set(CU_ENOTFOUND, "%s: no such file or folder", path);
		return cu_error_sys("%s", path);
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return cu_error_set(CU_EINVALID, "%s: neither a folder nor a file", path);
	if (S_ISDIR(st.st_mode)) {
		b.is_dir = 1;
		error = dir_list(&b, "", 0);
	} else {
		b.csize = (uint64_t)st.st_size;
		error = arc_list(&b);
	}
	if (error < 0)
		goto done;
	if (b.fatal)
		goto verdict;
	strip_top(&b);
	if (b.fatal)
		goto verdict;
	if ((error = check_names(&b)) < 0)
		goto done;
	if ((error = check_bagit(&b)) < 0)
		goto done;
	if (b.fatal)
		goto verdict;  /* the other tag files cannot be read */
	if ((error = check_bag_info(&b)) < 0)
		goto done;
	if (find(&b, "fetch.txt") != NULL)
		problem(&b, "fetch.txt", 0, "custos fetches nothing from the network");
	if (!b.has_data_dir) {
		int any = 0;
		for (size_t i = 0; i < b.n && !any; i++)
			any = is_payload(b.e[i].name);
		if (!any)
			problem(&b, "data/", 0, "missing payload folder");
	}
	if ((error = check_manifests(&b, blocks)) < 0)
		goto done;
	check_listed(&b);

	if ((buf = malloc(IO_BUF)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	error = b.is_dir ? dir_hash(&b, &h, buf) : arc_hash(&b, &h, buf);
	if (error < 0)
		goto done;
	if (info != NULL) {
		info->payload_files = b.got_files;
		info->payload_bytes = b.got_bytes;
	}
	if (b.have_oxum && !b.fatal &&
	    (b.oxum_bytes != b.got_bytes || b.oxum_files != b.got_files))
		problem(&b, "bag-info.txt", 0,
			"Payload-Oxum %llu.%llu does not match the payload (%llu.%llu)",
			(unsigned long long)b.oxum_bytes, (unsigned long long)b.oxum_files,
			(unsigned long long)b.got_bytes, (unsigned long long)b.got_files);
verdict:
	error = b.errors ? cu_error_set(CU_EINVALID, "%s: not a complete and valid bag (%zu problem%s)",
		path, b.errors, b.errors == 1 ? "" : "s") : 0;
done:
	hash_free(&h);
	free(buf);
	for (int a = 0; a < ALG_N; a++)
		free(blocks[a]);
	for (size_t i = 0; i < b.n; i++) {
		free(b.e[i].name);
		free(b.e[i].nfc);
		free(b.e[i].fold);
		free(b.e[i].data);
	}
	free(b.e);
	free(b.by_nfc);
	for (size_t i = 0; i < b.ncut; i++)
		free(b.cut[i]);
	free(b.cut);
	if (b.cd != (iconv_t)-1)
		iconv_close(b.cd);
	return error;
}

/* libarchive hands out an entry's name in the thread's LC_CTYPE: a zip
 * entry flagged UTF-8 (as Windows, macOS and custos export write them) has
 * no name at all in the C locale a service runs in.  Names are read as
 * UTF-8, whatever the process's locale. */
int
cu_bag_read(const char *path, const cu_bag_limits *lim, cu_bag_problem_cb cb,
	void *payload, cu_bag_info *info, const cu_bag_sink *sink)
{
	locale_t base = duplocale(LC_GLOBAL_LOCALE), utf8 = (locale_t)0, saved;
	int error;

	if (base != (locale_t)0 && (utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", base)) == (locale_t)0)
		freelocale(base);
	if (utf8 == (locale_t)0)
		return cu_error_set(CU_ERROR, "the C.UTF-8 locale is not available");
	saved = uselocale(utf8);
	error = bag_read(path, lim, cb, payload, info, sink);
	uselocale(saved);
	freelocale(utf8);
	return error;
}
