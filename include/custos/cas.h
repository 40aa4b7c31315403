/*
 * cas.h — content objects: the exact bytes received, named by their SHA-256.
 *
 *   objects/sha256/<2 hex>/<62 hex>   a loose object (large ones), mode 0444
 *   objects/packs/pack-<sha256>.tar   small objects of one batch: an
 *                                     uncompressed ustar archive whose members
 *                                     are named sha256/<2 hex>/<62 hex>
 *
 * A pack is named by the SHA-256 of its own bytes.  Extracting every pack
 * with tar next to the loose files gives the whole object tree, and
 * `sha256sum` alone checks every object.  Everything is durable (file and
 * folder fsynced) before the call returns, so a record may point at it.
 * Objects are never modified; they are removed only by an approved
 * disposal (docs/disposition.md), through the three calls at the end.
 */
#ifndef CUSTOS_CAS_H
#define CUSTOS_CAS_H

#include <stddef.h>
#include <stdint.h>

/* Objects smaller than this go into the batch's pack; larger ones are
 * written loose.  The archive's conf may lower or raise it. */
#define CU_CAS_PACK_THRESHOLD_DEFAULT (64u * 1024)

typedef struct cu_cas cu_cas;
typedef struct cu_cas_batch cu_cas_batch;

/* Opens the objects folder (creating objects/sha256 and objects/packs when
 * create is set). */
int cu_cas_open(cu_cas **out, const char *objects_dir, int create);
void cu_cas_free(cu_cas *c);

/* "objects/sha256/ab/cdef…" for a digest, into out. */
int cu_cas_loose_path(char *out, size_t outsz, const cu_cas *c,
	const unsigned char digest[32]);

/* 1 if a loose object with this digest exists, 0 if not. */
int cu_cas_has_loose(const cu_cas *c, const unsigned char digest[32]);

/* Writes a loose object durably (temporary file, fsync, rename, fsync of
 * the folder), read-only.  An object that already exists is left alone. */
int cu_cas_put_loose(cu_cas *c, const unsigned char digest[32], const void *data,
	size_t len);

/* A writer streams one large object (a case file of any size) into a
 * temporary file under objects/incoming/, hashing it as it goes.  Nothing
 * is in place until cu_cas_writer_commit: a caller that learns later that
 * the input was bad frees the writer and leaves no trace. */
typedef struct cu_cas_writer cu_cas_writer;

int cu_cas_writer_new(cu_cas_writer **out, cu_cas *c);
int cu_cas_writer_write(cu_cas_writer *w, const void *data, size_t len);
/* Ends the bytes: the temporary file is fsynced; digest and size given. */
int cu_cas_writer_close(cu_cas_writer *w, unsigned char digest[32], uint64_t *size);
/* Moves a closed object into place as a loose object (durable on return);
 * an object already stored is kept and the temporary file removed. */
int cu_cas_writer_commit(cu_cas_writer *w);
/* Frees the writer, removing its temporary file unless committed. */
void cu_cas_writer_free(cu_cas_writer *w);

/* Removes what writers killed before their commit left in objects/incoming/
 * (call with the writers' lock held). */
int cu_cas_clean_incoming(cu_cas *c);

/* Reads a loose object into a new buffer (caller frees) and checks its
 * digest: CU_EINVALID "object … does not match its name" if it differs. */
int cu_cas_read_loose(char **out, size_t *len, const cu_cas *c,
	const unsigned char digest[32]);

/* Streams a loose object to cb in chunks, hashing as it goes: CU_EINVALID
 * "object … does not match its name" at the end if the bytes delivered
 * were not the object's (the caller must then discard them).  For objects
 * too large to hold in memory. */
typedef int (*cu_cas_chunk_cb)(const void *data, size_t len, void *payload);
int cu_cas_stream_loose(const cu_cas *c, const unsigned char digest[32], cu_cas_chunk_cb cb,
	void *payload);

/* Reads size bytes at offset of a pack (the member's data) and checks the
 * digest as above. */
int cu_cas_read_packed(char **out, size_t *len, const cu_cas *c, const char *pack,
	uint64_t offset, uint64_t size, const unsigned char digest[32]);

/* A batch gathers the small objects of one ingest batch into one pack:
 * objects smaller than threshold bytes (0: none) are packed. */
int cu_cas_batch_new(cu_cas_batch **out, cu_cas *c, size_t threshold);
void cu_cas_batch_free(cu_cas_batch *b);

/* Adds data to the batch and returns its digest.  Objects at or above the
 * threshold are written loose at once (durable on return); smaller ones are
 * kept for the pack.  Adding the same bytes twice keeps one copy.  *packed
 * (may be NULL) tells whether the object will be in the pack. */
int cu_cas_batch_add(cu_cas_batch *b, unsigned char digest[32], int *packed,
	const void *data, size_t len);

/* Number of objects waiting for the pack. */
size_t cu_cas_batch_count(const cu_cas_batch *b);

/* Writes the pack (if any object waits) durably and reports where each
 * member landed through cb.  pack_name receives the file name (empty when
 * nothing was packed). */
typedef int (*cu_cas_member_cb)(const unsigned char digest[32], const char *pack,
	uint64_t offset, uint64_t size, void *payload);
int cu_cas_batch_write(cu_cas_batch *b, char pack_name[96], cu_cas_member_cb cb,
	void *payload);

/* Lists pack file names (pack-*.tar) in name order. */
typedef int (*cu_cas_pack_cb)(const char *pack, void *payload);
int cu_cas_list_packs(const cu_cas *c, cu_cas_pack_cb cb, void *payload);

/* Reads a pack's headers and reports every member (digest from its name,
 * data offset, size).  CU_EINVALID for a member that is not a regular file
 * named sha256/<2>/<62>, or a truncated pack. */
int cu_cas_scan_pack(const cu_cas *c, const char *pack, cu_cas_member_cb cb,
	void *payload);

/* ---- disposal (docs/disposition.md) ------------------------------------- */

/* Removes a loose object (unlink, then fsync of its folder).  Returns 1 if
 * it was there, 0 if not, or a negative code. */
int cu_cas_remove_loose(cu_cas *c, const unsigned char digest[32]);

/* Writes a copy of pack without the members for which drop() returns 1:
 * the kept members in their order, with their names, mode and time, each
 * checked against its name while it is copied (CU_EINVALID naming the
 * object if one does not match: nothing is written); fsynced, renamed to
 * pack-<its SHA-256>.tar and the folder fsynced, so the same input always
 * gives the same pack.  Reports where each kept member landed through cb.
 * new_name is "" when nothing was dropped or nothing is kept (no pack is
 * written then); *dropped counts the members left out.  The old pack is
 * left in place: the caller removes it with cu_cas_remove_pack once the
 * index points at the new one. */
int cu_cas_repack(cu_cas *c, const char *pack,
	int (*drop)(const unsigned char digest[32], void *payload), void *drop_payload,
	char new_name[96], cu_cas_member_cb cb, void *payload, size_t *dropped);

/* Removes a pack file (unlink, then fsync of objects/packs); absent is not
 * an error. */
int cu_cas_remove_pack(cu_cas *c, const char *pack);

#endif
