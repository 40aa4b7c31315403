/*
 * util.h — small helpers shared by every module: hex, SHA-256, files that
 * survive a crash, paths.  All return 0 or a negative cu_error_code.
 */
#ifndef CUSTOS_UTIL_H
#define CUSTOS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CU_SHA256_LEN 32
#define CU_SHA256_HEX 65   /* 64 hex digits and a NUL */

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void cu_hex(char *out, const unsigned char *in, size_t n);

/* Parses exactly 2n hex digits (either case) into n bytes.  CU_EINVALID
 * if the string is not exactly 2n hex digits. */
int cu_unhex(unsigned char *out, size_t n, const char *hex);

/* The value of one hex digit (either case), or -1. */
int cu_hex_digit(int c);

/* The 6-bit value of a standard base64 character (RFC 4648 §4), or -1 for
 * anything else ('=' included). */
int cu_base64_value(int c);

/* Decodes the UTF-8 character at s[*i] (len bytes in s, *i < len): returns
 * its code point and moves *i past it, or returns -1 and leaves *i alone for
 * a byte that does not start a well-formed character (overlong forms,
 * surrogates, code points beyond U+10FFFF, truncated sequences). */
long cu_utf8_next(const unsigned char *s, size_t len, size_t *i);

/* pread() exactly len bytes at offset or fail: CU_EINVALID "truncated" at
 * end of file, CU_ERROR for an I/O error (EINTR retried). */
int cu_pread_all(int fd, void *buf, size_t len, uint64_t offset);

/* out = SHA-256(data). */
int cu_sha256(unsigned char out[CU_SHA256_LEN], const void *data, size_t len);

/* Reads a whole regular file (not following a final symlink) into a new
 * NUL-terminated buffer that the caller frees.  CU_ELIMIT if it is larger
 * than max bytes; CU_ENOTFOUND if it does not exist. */
int cu_read_file(char **out, size_t *len, const char *path, size_t max);

/* As cu_read_file, from an open descriptor (path names it in messages).  On
 * failure the partial buffer is wiped before it is freed. */
int cu_read_fd(char **out, size_t *len, int fd, const char *path, size_t max);

/* Writes data to path durably: a temporary file in the same folder, fsync,
 * rename over path, fsync of the folder.  With exclusive set, fails with
 * CU_EEXISTS if path exists.  Nothing is left behind on failure. */
int cu_write_file_durable(const char *path, const void *data, size_t len,
	mode_t mode, int exclusive);

/* fsync() the folder itself, so a rename or create in it is durable. */
int cu_fsync_dir(const char *dir);

/* write() all of buf or fail (EINTR retried). */
int cu_write_all(int fd, const void *buf, size_t len);

/* mkdir -p with the given mode for the folders it creates. */
int cu_mkdir_p(const char *path, mode_t mode);

/* snprintf into out, failing with CU_EINVALID "path too long: …" instead
 * of truncating.  Every composed path goes through this. */
int cu_pathf(char *out, size_t outsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Makes room in a growable array for at least `need` elements of `size`
 * bytes: *arr and *cap (in elements) are updated, doubling from 64.  On
 * failure CU_ERROR ("out of memory") and the array is unchanged. */
int cu_grow(void *arr, size_t *cap, size_t need, size_t size);

/* Returns a newly allocated formatted string, or NULL (with the last error
 * set) when out of memory. */
char *cu_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The calling user's login name (from the password database, else the
 * decimal uid) into out. */
void cu_user_name(char *out, size_t outsz);

/* Current time as RFC 3339 UTC with seconds, e.g. "2026-11-28T12:00:00Z". */
void cu_now_rfc3339(char out[32]);

#endif
