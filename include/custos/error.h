/*
 * error.h — error codes and the thread-local last error.
 *
 * Every custos function that can fail returns 0 (or a non-negative count)
 * on success and one of the negative codes below on failure, after leaving
 * a one-line, human-readable message for cu_error_last().  Only a main()
 * may print the message and exit.
 */
#ifndef CUSTOS_ERROR_H
#define CUSTOS_ERROR_H

enum cu_error_code {
	CU_OK        = 0,
	CU_ERROR     = -1,  /* system or library failure (I/O, OpenSSL, libgit2, LMDB) */
	CU_EINVALID  = -2,  /* bad input: malformed, out of range, wrong check digit */
	CU_ENOTFOUND = -3,  /* no such record, object, key or file */
	CU_EEXISTS   = -4,  /* refuses to overwrite something that exists */
	CU_ELOCKED   = -5,  /* another writer holds the archive lock */
	CU_EAMBIGUOUS = -6, /* a shortened id matches more than one record */
	CU_ECONFLICT = -7,  /* same identity, different content */
	CU_ELIMIT    = -8,  /* a size or count limit was exceeded */
};

/* Sets the last error to the formatted message and returns `code`, so a
 * caller can write `return cu_error_set(CU_EINVALID, "…");`. */
int cu_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* As cu_error_set(CU_ERROR, …) with ": strerror(errno)" appended. */
int cu_error_sys(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Prefixes the current message with "prefix: " (used to add a file or a
 * field name as an error travels up).  Returns `code`. */
int cu_error_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The last message set on this thread ("" if none).  Valid until the next
 * cu_error_* call on this thread. */
const char *cu_error_last(void);

/* The code passed with the last message (CU_OK if none). */
int cu_error_code(void);

void cu_error_clear(void);

#endif
