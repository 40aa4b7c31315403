/*
 * bag.h — BagIt (RFC 8493) validation of case files: a bag directory, or one
 * bag inside a .tar, .tar.gz, .tar.xz, .tar.zst or .zip file.
 *
 * Archives are read with libarchive (tar and zip readers, gzip, xz and zstd
 * filters only) and never extracted: tag files are read into memory, payload
 * files are streamed once through the digests.  Every problem found is
 * reported through a callback, so a caller can show all of them at once.
 *
 * Tag files other than bagit.txt are read in the encoding bagit.txt declares
 * (any that iconv knows) and converted to UTF-8; entry names must be UTF-8
 * and are compared after Unicode normalisation (NFC) and case folding.
 */
#ifndef CUSTOS_BAG_H
#define CUSTOS_BAG_H

#include <stdint.h>

#include <jansson.h>

/* Caps that keep a hostile bag from exhausting memory, disk or time. */
typedef struct cu_bag_limits {
	uint64_t max_entries;     /* entries in the archive or files in the folder */
	uint64_t max_file_bytes;  /* bytes of any one file */
	uint64_t max_bag_bytes;   /* bytes of all files together */
	uint32_t max_ratio;       /* bytes read from entries / archive size on disk */
	int strict_names;         /* names equal after case folding are an error,
	                           * not a warning (they collide on case-insensitive
	                           * file systems) */
} cu_bag_limits;

/* 100000 entries, 4 GiB per file, 16 GiB per bag, expansion ratio 200,
 * names that differ only by case a warning. */
cu_bag_limits cu_bag_limits_default(void);

/* What a validation learnt about the bag (filled as far as it got). */
typedef struct cu_bag_info {
	char version[16];          /* BagIt-Version, e.g. "1.0" */
	char encoding[32];         /* Tag-File-Character-Encoding, as declared */
	uint64_t payload_files;    /* files under data/ */
	uint64_t payload_bytes;    /* their bytes */
	json_t *bag_info;          /* labels -> array of values (UTF-8), from bag-info.txt */
} cu_bag_info;

/* Releases what info holds and zeroes it (safe on a zeroed info). */
void cu_bag_info_clear(cu_bag_info *info);

/* Called once per problem: bag is the path given to cu_bag_validate, file
 * the bag-relative file concerned (printable, NULL for the bag as a whole),
 * warning non-zero for a warning (which does not make the bag invalid). */
typedef void (*cu_bag_problem_cb)(const char *bag, const char *file, int warning,
	const char *message, void *payload);

/* Checks that the bag at path is complete and valid.  lim may be NULL for
 * the defaults, cb NULL to only count problems, info NULL if not wanted
 * (otherwise it is cleared first and the caller clears it after).
 * Returns 0 for a complete and valid bag (warnings allowed), CU_EINVALID
 * when any problem was reported, another negative code for a system error
 * (nothing readable at path, out of memory), with the message set. */
int cu_bag_validate(const char *path, const cu_bag_limits *lim,
	cu_bag_problem_cb cb, void *payload, cu_bag_info *info);

/* Receives each payload file's bytes as validation reads them, so a caller
 * can store a bag while it is checked, reading it once.  begin gets the
 * bag-relative name ("data/…", percent-decoding already applied to match
 * the manifests) and the size the archive header or lstat gave; data the
 * bytes; end whether the whole file was read (0 after a limit or a read
 * error).  Every begin is followed by exactly one end, unless a callback
 * failed.  A file listed twice (a duplicate entry) is given once.  Only a
 * bag for which cu_bag_read returns 0 is complete and valid: the caller
 * must keep what the sink got provisional until then.  A callback returns
 * 0, or a negative code that stops the read and is returned. */
typedef struct cu_bag_sink {
	int (*begin)(void *payload, const char *name, uint64_t size);
	int (*data)(void *payload, const void *buf, size_t n);
	int (*end)(void *payload, int complete);
	void *payload;
} cu_bag_sink;

/* cu_bag_validate with a sink for the payload (sink may be NULL). */
int cu_bag_read(const char *path, const cu_bag_limits *lim, cu_bag_problem_cb cb,
	void *payload, cu_bag_info *info, const cu_bag_sink *sink);

#endif
