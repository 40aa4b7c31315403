/*
 * backup.h — backups of an archive and their restore (docs/backup.md).
 *
 * A backup is one file, custos-<name>-<YYYYMMDDTHHMMSSZ>-<full|incr>.cbk:
 * a pax tar compressed with zstd whose first member is
 * custos-backup/manifest.json (every member with its size and SHA-256, the
 * backup's kind, id, time, parent, the log's checkpoint and the history
 * head), then custos-backup/manifest.sig (an SSHSIG by the archive's key,
 * namespace "custos-backup"), then the archive's own files under their
 * archive-relative paths.  Without a key the file is that tar.zst as it is
 * (`tar --zstd -xf` reads it) and holds no secret key; with a key (32 raw
 * bytes) it is a "CUSTOSBK" header followed by the tar.zst stream in
 * AES-256-GCM chunks, and the secret keys are in it.  The index is never
 * backed up: restore rebuilds it.
 *
 * Like the archive facade, nothing here prints or exits.
 */
#ifndef CUSTOS_BACKUP_H
#define CUSTOS_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "custos/archive.h"

#define CU_BACKUP_KEY_LEN 32

/* Writes a new backup key (32 random bytes, mode 0600) to path; CU_EEXISTS
 * if the file exists.  key_id (may be NULL) receives its key id. */
int cu_backup_keygen(const char *path, char key_id[17]);

/* The key id of a key: the first 16 hex digits of
 * SHA-256("custos backup key id\n" || key). */
void cu_backup_key_id(char out[17], const unsigned char key[CU_BACKUP_KEY_LEN]);

/* Progress of a long operation, for a terminal. */
typedef struct cu_backup_progress {
	uint64_t bytes_done, bytes_total;
	uint64_t members_done, members_total;
} cu_backup_progress;
typedef void (*cu_backup_progress_cb)(const cu_backup_progress *p, void *payload);

enum { CU_BACKUP_AUTO = 0, CU_BACKUP_FULL = 1, CU_BACKUP_INCREMENTAL = 2 };

typedef struct cu_backup_opts {
	const char *dir;            /* --to: where backups are kept (created 0700 if absent) */
	int kind;                   /* AUTO: incremental if the folder's newest backup of this
	                               archive has the same key (or none, like this one),
	                               else full */
	const char *key_file;       /* --key, or NULL: not encrypted */
	cu_backup_progress_cb progress;
	void *progress_payload;
} cu_backup_opts;

typedef struct cu_backup_result {
	char file[4096];            /* the backup's path */
	char id[33];
	char kind[12];              /* "full" or "incremental" */
	char parent[33];            /* "" for a full backup */
	char key_id[17];            /* "" when not encrypted */
	char head[41];              /* the history head backed up */
	uint64_t log_size;          /* the checkpoint's size */
	uint64_t members;           /* files in the backup, manifest and signature excluded */
	uint64_t bytes_in;          /* bytes of those files */
	uint64_t bytes_out;         /* the backup file's size */
	uint64_t duration_ms;
	char event_id[65];          /* the backup event in the log */
} cu_backup_result;

/* Writes a backup of the archive (opened WRITE) into o->dir.  The set of
 * files, the head and the checkpoint are taken under the writers' lock,
 * which is then let go while the files (immutable once named) are copied,
 * and taken again to commit the backup event.  The file is written as
 * .<name>.part, fsynced, made read-only, renamed and its folder fsynced:
 * an interrupted backup never looks complete.  A content object or pack
 * that does not match its name stops the backup (CU_EINVALID). */
int cu_archive_backup(cu_archive *a, const cu_backup_opts *o, cu_backup_result *r);

/* What list, verify and prune know of a backup file. */
typedef struct cu_backup_info {
	const char *file;           /* path */
	const char *id, *kind, *created_at, *parent;   /* parent "" for a full one */
	const char *archive_id;     /* SHA-256 of the archive's archive.json */
	const char *archive_name;
	const char *head;
	const char *key_id;         /* "" when not encrypted */
	uint64_t log_size, parent_log_size, members, bytes_in, bytes_out;
	time_t time;                /* created_at */
	const char *problem;        /* list: a *.cbk file that cannot be read, why (the
	                               other strings are then "") */
} cu_backup_info;
typedef int (*cu_backup_list_cb)(const cu_backup_info *b, void *payload);

/* Every backup (*.cbk) in dir, oldest first (by creation time, then
 * checkpoint size); partial files are not backups and are skipped.  An
 * encrypted backup is described by its header, which every chunk's
 * authentication covers.  A file that cannot be read comes first, with
 * b->problem set (create and prune leave such a file alone). */
int cu_backup_list(const char *dir, cu_backup_list_cb cb, void *payload, size_t *n);

/* The backups the archive's log records (backup events), oldest first; file
 * is the name the backup was written under. */
int cu_archive_backups(cu_archive *a, cu_backup_list_cb cb, void *payload, size_t *n);

/* One problem a verification or a restore found: the file, the member
 * (or NULL), one line. */
typedef struct cu_backup_problem {
	const char *file;
	const char *member;
	const char *message;
} cu_backup_problem;
typedef int (*cu_backup_problem_cb)(const cu_backup_problem *p, void *payload);

typedef struct cu_backup_verify_report {
	size_t files, problems;
	uint64_t members, bytes;
	char archive_id[65];        /* of the first backup read */
} cu_backup_verify_report;

/* Reads every file back: the header, the manifest's signature (by the key in
 * the backup's archive identity; and when trusted is given and the backup
 * names trusted's identity, by trusted's own key: a backup that claims this
 * archive but is signed by another key is a forgery), every member's size
 * and digest, no member missing or extra, and
 * the chain (an incremental's parent among files or in its folder, with the
 * same id and manifest digest).  Each problem goes to cb; *file_ok (may be
 * NULL) is called after each file.  Returns 0 whatever was found
 * (r->problems counts it); an error only when the check could not run. */
typedef int (*cu_backup_file_cb)(const cu_backup_info *b, size_t problems, void *payload);
int cu_backup_verify(const char *const *files, size_t nfiles, const char *key_file,
	cu_archive *trusted, cu_backup_problem_cb cb, cu_backup_file_cb file_cb,
	void *payload, cu_backup_verify_report *r);

typedef struct cu_restore_opts {
	const char *key_file;       /* --key for encrypted backups */
	const char *signing_key;    /* --signing-key, --person-key: the secret keys for */
	const char *person_key;     /*  a restore from backups that do not hold them */
	int full_check;             /* --verify: also the whole of custos verify (every
	                               document re-derived) before the rename */
	cu_backup_progress_cb progress;
	void *progress_payload;
} cu_restore_opts;

typedef struct cu_restore_result {
	size_t backups;
	uint64_t members, bytes;
	char head[41];
	uint64_t log_size;
	size_t commits;             /* replayed into the new index */
	uint64_t duration_ms;
} cu_restore_result;

/* Restores a full backup and its incrementals (files, in any order; the
 * chain decides) into the new archive folder newdir (absent or empty).
 * Everything is written into a hidden folder beside newdir and renamed into
 * place only after every member's digest, every signature and chain link,
 * a rebuilt index and a verification of the whole archive passed, and the
 * history head and checkpoint equal the last backup's.  A bad backup is
 * CU_EINVALID (each problem also through cb) and leaves nothing behind. */
int cu_backup_restore(const char *newdir, const char *const *files, size_t nfiles,
	const cu_restore_opts *o, cu_backup_problem_cb cb, void *payload, cu_restore_result *r);

/* ---- prune: the selection is a pure function, tested on a calendar ---- */

typedef struct cu_prune_item {
	time_t time;
	int incremental;
	const char *id;
	const char *parent;         /* "" or NULL for a full backup */
	/* out */
	int keep;
	char why[96];
} cu_prune_item;

/* Decides which backups to keep: the newest always; for each of the last
 * `daily` days, `weekly` ISO weeks and `monthly` months (UTC) that have
 * backups, the newest backup of that day, week, month; then every backup a
 * kept incremental depends on (its parent, up to the full).  Sets keep and
 * why for every item (items in any order). */
void cu_backup_prune_select(cu_prune_item *items, size_t n, int daily, int weekly, int monthly);

/* Records a backup verification or prune run as an event in the archive's
 * log (WRITE): kind "backup", action "verify" or "prune", with details (an
 * object: file names, ids, counts; no personal data).  CU_ENOTFOUND
 * (nothing recorded) when archive_id is not this archive's. */
int cu_archive_backup_event(cu_archive *a, const char *action, const char *archive_id,
	json_t *details, char event_id[65]);

/* For trace: 1 if ev is a backup event of a backup that holds the log leaf
 * (a full backup: leaf < its checkpoint size; an incremental: its parent's
 * size <= leaf < its size), with a one-line detail; 0 otherwise. */
int cu_backup_holds(const json_t *ev, uint64_t leaf, char *detail, size_t dsz);

#endif
