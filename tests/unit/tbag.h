/*
 * tbag.h — an in-memory BagIt bag for the unit tests, written out as a
 * folder or as an archive with libarchive's writers, hostile entries
 * (absolute names, "..", links, devices, FIFOs, duplicates) included.
 *
 * Static helpers shared by test_bag.c and test_case.c.  The including file
 * defines `static char tmpdir[]`, a mkdtemp template its setup turns into
 * the folder every bag is written to, before including this header.
 */
#ifndef CUSTOS_TEST_TBAG_H
#define CUSTOS_TEST_TBAG_H

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "custos/util.h"

/* Each file uses only some of these helpers. */
#define TBAG_FN static __attribute__((unused))

/* K_SYMLINK and K_HARDLINK: data is the link's target (for a hard link in
 * an archive the entry name it links to, prefix included; in a folder the
 * bag-relative name).  K_CHARDEV and K_FIFO carry no data. */
enum kind { K_FILE, K_SYMLINK, K_HARDLINK, K_CHARDEV, K_FIFO };

struct file {
	char name[256];
	char *data;
	size_t len;
	enum kind kind;
};

struct tbag {
	struct file f[64];
	size_t n;
};

TBAG_FN struct file *
lookup(struct tbag *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->f[i].name, name) == 0)
			return &b->f[i];
	return NULL;
}

/* Adds a file (or replaces the last one of that name's content when
 * replace is set). */
TBAG_FN void
put(struct tbag *b, const char *name, const void *data, size_t len, int replace)
{
	struct file *f = replace ? lookup(b, name) : NULL;

	if (f == NULL) {
		assert_true(b->n < 64);
		f = &b->f[b->n++];
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", name);
	} else {
		free(f->data);
	}
	f->data = malloc(len + 1);
	assert_non_null(f->data);
	memcpy(f->data, data, len);
	f->data[len] = '\0';
	f->len = len;
}

TBAG_FN void
puts_(struct tbag *b, const char *name, const char *text, int replace)
{
	put(b, name, text, strlen(text), replace);
}

/* Adds an entry that is not a regular file (see enum kind). */
TBAG_FN void
put_special(struct tbag *b, const char *name, enum kind kind, const char *target)
{
	puts_(b, name, target ? target : "", 0);
	b->f[b->n - 1].kind = kind;
}

TBAG_FN void
drop(struct tbag *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->f[i].name, name) == 0) {
			free(b->f[i].data);
			memmove(&b->f[i], &b->f[i + 1], (b->n - i - 1) * sizeof(*b->f));
			b->n--;
			return;
		}
	fail_msg("no file %s", name);
}

TBAG_FN void
tbag_free(struct tbag *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->f[i].data);
	free(b);
}

TBAG_FN void
digest_hex(char *out, const char *alg, const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mlen;

	assert_int_equal(EVP_Digest(data, len, md, &mlen, EVP_get_digestbyname(alg), NULL), 1);
	cu_hex(out, md, mlen);
}

/* Appends "digest  name" (RFC 8493 percent-encoding) for each file whose
 * name matches payload (1) or is a tag file (0) to a new manifest. */
TBAG_FN void
manifest(struct tbag *b, const char *file, const char *alg, int payload)
{
	char text[16384] = "", hex[2 * EVP_MAX_MD_SIZE + 1];
	size_t o = 0;

	for (size_t i = 0; i < b->n; i++) {
		const struct file *f = &b->f[i];
		int is_payload = strncmp(f->name, "data/", 5) == 0;
		if (f->kind != K_FILE || is_payload != payload ||
		    strncmp(f->name, "tagmanifest-", 12) == 0)
			continue;
		digest_hex(hex, alg, f->data, f->len);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s  ", hex);
		for (const char *p = f->name; *p; p++)
			o += (size_t)(*p == '%' ? snprintf(text + o, sizeof(text) - o, "%%25") :
				*p == '\n' ? snprintf(text + o, sizeof(text) - o, "%%0A") :
				snprintf(text + o, sizeof(text) - o, "%c", *p));
		o += (size_t)snprintf(text + o, sizeof(text) - o, "\n");
	}
	assert_true(o < sizeof(text));
	puts_(b, file, text, 1);
}

/* The tag files of a valid 1.0 bag over the payload already added:
 * bagit.txt, bag-info.txt holding the labels of info (lines "Label:
 * value\n") and Payload-Oxum, md5, sha256 and sha512 manifests. */
TBAG_FN void
tags_with(struct tbag *b, const char *info)
{
	uint64_t bytes = 0, files = 0;
	char *text;

	for (size_t i = 0; i < b->n; i++)
		if (strncmp(b->f[i].name, "data/", 5) == 0 && b->f[i].kind == K_FILE) {
			bytes += b->f[i].len;
			files++;
		}
	puts_(b, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", 1);
	text = cu_asprintf("%sPayload-Oxum: %llu.%llu\n", info, (unsigned long long)bytes,
		(unsigned long long)files);
	assert_non_null(text);
	puts_(b, "bag-info.txt", text, 1);
	free(text);
	manifest(b, "manifest-md5.txt", "md5", 1);
	manifest(b, "manifest-sha256.txt", "sha256", 1);
	manifest(b, "manifest-sha512.txt", "sha512", 1);
}

TBAG_FN void
tags(struct tbag *b)
{
	tags_with(b, "External-Identifier: CASE-1\nSource-Organization: Test\n  Bureau\n");
}

TBAG_FN void
tagmanifest(struct tbag *b)
{
	manifest(b, "tagmanifest-sha256.txt", "sha256", 0);
}

/* A valid bag with two payload files, one in a sub-folder. */
TBAG_FN struct tbag *
valid_bag(void)
{
	struct tbag *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	puts_(b, "data/a.txt", "hello\n", 0);
	puts_(b, "data/sub/b.bin", "\x01\x02\x03", 0);
	tags(b);
	tagmanifest(b);
	return b;
}

TBAG_FN char *
tpath(const char *name)
{
	char *p = cu_asprintf("%s/%s", tmpdir, name);
	assert_non_null(p);
	return p;
}

TBAG_FN void
rm_rf(const char *path)
{
	char *cmd = cu_asprintf("rm -rf '%s'", path);
	assert_non_null(cmd);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* Writes the bag as a folder at tmpdir/name; returns the path. */
TBAG_FN char *
write_dir(struct tbag *b, const char *name)
{
	char *root = tpath(name);

	rm_rf(root);
	assert_int_equal(mkdir(root, 0700), 0);
	for (size_t i = 0; i < b->n; i++) {
		char *p = cu_asprintf("%s/%s", root, b->f[i].name), *slash, *target;
		FILE *fp;
		assert_non_null(p);
		for (slash = strchr(p + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			mkdir(p, 0700);
			*slash = '/';
		}
		switch (b->f[i].kind) {
		case K_SYMLINK:
			assert_int_equal(symlink(b->f[i].data, p), 0);
			break;
		case K_HARDLINK:
			assert_non_null(target = cu_asprintf("%s/%s", root, b->f[i].data));
			assert_int_equal(link(target, p), 0);
			free(target);
			break;
		case K_FIFO:
			assert_int_equal(mkfifo(p, 0600), 0);
			break;
		case K_CHARDEV:
			if (mknod(p, S_IFCHR | 0600, makedev(1, 3)) != 0)
				fail_msg("mknod %s: a device in a folder needs root", p);
			break;
		default:
			assert_non_null(fp = fopen(p, "wb"));
			assert_int_equal(fwrite(b->f[i].data, 1, b->f[i].len, fp), b->f[i].len);
			fclose(fp);
		}
		free(p);
	}
	return root;
}

enum fmt { F_TAR, F_TGZ, F_ZIP, F_TXZ, F_TZST };

/* 1 if s is UTF-8 (any code point, no overlong forms or surrogates). */
TBAG_FN int
is_utf8(const char *s)
{
	size_t i = 0, len = strlen(s);

	while (i < len)
		if (cu_utf8_next((const unsigned char *)s, len, &i) < 0)
			return 0;
	return 1;
}

/* Writes the bag as an archive at tmpdir/name, each name under prefix
 * (names starting with '/' or "../" are written as they are).  Names are
 * written as tools in a UTF-8 locale write them (pax "path" records, the
 * zip UTF-8 flag); a name that is not UTF-8 goes in as raw bytes. */
TBAG_FN char *
write_arc(struct tbag *b, const char *name, enum fmt fmt, const char *prefix)
{
	char *path = tpath(name);
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old;
	struct archive *a;
	struct archive_entry *e;

	if (utf8 == (locale_t)0)
		fail_msg("no C.UTF-8 locale");
	old = uselocale(utf8);
	assert_non_null(a = archive_write_new());
	if (fmt == F_ZIP) {
		assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	} else {
		assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
		if (fmt == F_TGZ)
			assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
		else if (fmt == F_TXZ)
			assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
		else if (fmt == F_TZST)
			assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	}
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < b->n; i++) {
		const struct file *f = &b->f[i];
		char *full = f->name[0] == '/' || f->name[0] == '.' ? strdup(f->name) :
			cu_asprintf("%s%s", prefix, f->name);
		assert_non_null(full);
		assert_non_null(e = archive_entry_new());
		archive_entry_set_pathname(e, full);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 0);
		switch (f->kind) {
		case K_SYMLINK:
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, f->data);
			break;
		case K_HARDLINK:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, f->data);
			break;
		case K_CHARDEV:
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdev(e, makedev(1, 3));
			break;
		case K_FIFO:
			archive_entry_set_filetype(e, AE_IFIFO);
			break;
		default:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)f->len);
		}
		assert_int_equal(archive_write_header(a, e), is_utf8(full) ? ARCHIVE_OK : ARCHIVE_WARN);
		if (f->kind == K_FILE && f->len > 0)
			assert_int_equal(archive_write_data(a, f->data, f->len), (la_ssize_t)f->len);
		archive_entry_free(e);
		free(full);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	uselocale(old);
	freelocale(utf8);
	return path;
}

#endif
