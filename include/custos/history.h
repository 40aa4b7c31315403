/*
 * history.h — the record ledger: a bare git repository (libgit2) whose
 * refs/heads/main holds every record document.  This module stores files at
 * the paths it is given; the archive facade chooses them (docs/archive.md):
 *
 *     records/<class>/<item / 1000>/<item>.json   receipts and other records
 *     events/<YYYY>/<MM-DD>/<id>.json             access and other events
 *     archive.json, archive.conf                  identity and settings
 *
 * Each batch is one commit written as one git pack (objects gathered in
 * libgit2's mempack backend, then written with git_odb_write_pack), signed
 * in SSHSIG form, and published by moving refs/heads/main with a
 * compare-and-swap.  Moving the ref is the commit point; nothing is ever
 * rewritten.  libgit2 is told to fsync what it writes.
 */
#ifndef CUSTOS_HISTORY_H
#define CUSTOS_HISTORY_H

#include <stddef.h>
#include "custos/sig.h"

#define CU_OID_HEX 41  /* 40 hex digits and a NUL */

typedef struct cu_history cu_history;

/* One file of a batch: its path in the tree and its bytes (copied). */
typedef struct cu_history_file {
	const char *path;
	const void *data;
	size_t      len;
} cu_history_file;

/* Creates a new bare repository at path (CU_EEXISTS if anything is there). */
int cu_history_init(const char *path);

/* Opens the repository at path. */
int cu_history_open(cu_history **out, const char *path);
void cu_history_free(cu_history *h);

/* Removes the temporary files (objects/pack/tmp_pack_*, tmp_idx_*) that a
 * writer killed while writing a pack left behind.  Only the holder of the
 * archive's writer lock may call it: another writer's files would go. */
int cu_history_clean_tmp(cu_history *h);

/* Hex id of refs/heads/main into head (CU_ENOTFOUND if there is no commit
 * yet). */
int cu_history_head(char head[CU_OID_HEX], cu_history *h);

/* Writes the files as one signed commit on refs/heads/main, whose parent is
 * the current head (none for the first commit), with the given message and
 * author/committer "name <email>" at the current time.  Files are added to
 * (or replace) entries of the parent's tree; directories are created as
 * needed.  The commit and its trees and blobs go into one pack, fsynced,
 * before the ref moves.  If the ref moved since the head was read,
 * CU_ECONFLICT and nothing is published.  new_head receives the commit id. */
int cu_history_commit(char new_head[CU_OID_HEX], cu_history *h,
	const cu_history_file *files, size_t nfiles, const char *message,
	const char *ident_name, const char *ident_email, const cu_signer *signer);

/* Reads the blob at path in the tree of commit `at` (NULL = head) into a
 * new NUL-terminated buffer.  CU_ENOTFOUND if there is no such file. */
int cu_history_read(char **out, size_t *len, cu_history *h, const char *at,
	const char *path);

/* Calls cb for every commit from `from` (exclusive; NULL = the root) to the
 * head (inclusive), oldest first, with the paths and blobs that the commit
 * added or changed relative to its first parent.  Used to replay history
 * into the index.  A non-zero return from cb stops the walk and is
 * returned. */
typedef int (*cu_history_file_cb)(const char *commit, const char *path,
	const char *data, size_t len, void *payload);
int cu_history_replay(cu_history *h, const char *from, cu_history_file_cb cb,
	void *payload);

/* Calls cb with the path of every file of the head's tree whose path starts
 * with prefix, in git's tree order (names sorted within each folder).  A
 * non-zero return from cb stops the walk and is returned. */
typedef int (*cu_history_path_cb)(const char *path, void *payload);
int cu_history_list(cu_history *h, const char *prefix, cu_history_path_cb cb, void *payload);

/* Counts the commits between `from` (exclusive, NULL = root) and the head. */
int cu_history_count_since(size_t *n, cu_history *h, const char *from);

/* The raw commit object text (with its gpgsig header) of commit id. */
int cu_history_commit_text(char **out, size_t *len, cu_history *h, const char *id);

/* Calls cb for every commit reachable from refs/heads/main along first
 * parents, oldest first: commit is its hex id, parent the hex id of its
 * parent ("" for the root), n its 0-based position counted from the root.
 * refs/heads/main is read once, at the start.  Custos history is linear:
 * the whole chain is read before the first call, and if any commit in it
 * has more than one parent the walk is refused (CU_EINVALID "history:
 * commit X has N parents (custos never merges)") without calling cb.
 * CU_ENOTFOUND if there is no commit yet; CU_ERROR if a commit of the
 * chain cannot be read.  A non-zero return from cb stops the walk and is
 * returned as is. */
typedef int (*cu_history_commit_cb)(const char *commit, const char *parent,
	size_t n, void *payload);
int cu_history_walk(cu_history *h, cu_history_commit_cb cb, void *payload);

/*
 * Checks the signature of commit (a 40-digit id): its gpgsig header must
 * be a good SSHSIG (namespace "git") by an Ed25519 key over the commit
 * without that header, and the header must stand where git and libgit2
 * write it — once, as the last header line — so that the bytes that were
 * signed are exactly the commit that git reads.  Returns 0 and the
 * signer's public key in signer; it does NOT compare that key with the
 * archive's key: the caller must, since a commit signed by any other key
 * passes this check.  signer is zeroed on every failure.
 * CU_EINVALID "commit X: no signature" if the commit has no gpgsig header,
 * "commit X: bad signature: <reason>" if it does not verify;
 * CU_ENOTFOUND if there is no such commit.
 */
int cu_history_check_signature(unsigned char signer[CU_ED25519_PUB], cu_history *h,
	const char *commit);


/* A 256-way fan-out path by id, "<dir>/<2 hex>/<62 hex>.json", into out
 * (at least 80 bytes), for trees addressed by id. */
void cu_history_path(char *out, size_t outsz, const char *dir, const char *id_hex);

#endif
