/*
 * index.h — the search index: one LMDB environment under ARCHIVE/index/.
 *
 * The index is a cache: everything in it can be rebuilt from the history
 * and the objects.  It remembers the history commit it reflects ("head"),
 * so that an archive opened after a crash replays the commits it missed.
 * Resident ID numbers never enter it: the person key is an HMAC computed by
 * the caller, and display summaries hold only the masked number.
 *
 * Named databases (all keys and values binary unless said otherwise):
 *   meta     "head" -> commit hex; "version" -> "1"
 *   rec      id[32] -> time_be[8]
 *   ref      ref (UTF-8, with '·') -> id[32]
 *   rkey     identity key ("agency/receipt_no") -> id[32] ‖ fields digest[32]
 *   content  content digest[32] -> id[32]                (dupsort; every file of
 *            a case too)
 *   time     time_be[8] ‖ id[32] -> summary JSON            (all records, by time;
 *            the summary is what search prints, masked)
 *   person   hmac[32] -> time_be[8] ‖ id[32]              (dupsort, dupfixed)
 *   term     "<field>=<value>" -> time_be[8] ‖ id[32]     (dupsort, dupfixed)
 *            fields: org service insurance channel operator agency kind
 *            case (case number) case_type scheme period (fund transactions:
 *            service = the transaction's kind, insurance = its fund,
 *            operator = its maker)
 *   text     token -> time_be[8] ‖ id[32]                 (dupsort, dupfixed)
 *            (tokens of a case's file names start with the byte 0x01)
 *   item     class key ("SI01-SB·2026-D30-ZJ") -> last item number (uint32 LE)
 *   objloc   content digest[32] -> pack name NUL ‖ offset u64 LE ‖ size u64 LE
 *   packs    pack file name -> "" (packs whose members are in objloc)
 *   events   record id[32] -> time_be[8] ‖ event id[32]   (dupsort, dupfixed)
 *   mlog     level[1] ‖ index[8 BE] -> hash[32]           (Merkle log nodes, mlog.h)
 *   ckpt     tree size[8 BE] -> signed checkpoint note    (one per history commit)
 *   meta     also "log_size" -> u64 LE, the number of log leaves
 *   commit   first log leaf of a commit[8 BE] -> its hex id (one entry per commit)
 *   dispo    disposition marks, kind byte ‖ key -> JSON text (docs/disposition.md):
 *            'H' ‖ ref  the record is on hold      'L' ‖ ref  on an open destruction list
 *            'D' ‖ ref  its content was disposed   'R' ‖ digest[32]  object removed by
 *            a disposal   'P' ‖ digest[32]  its removal from disk is not yet done
 * Fund-control state (docs/fund-control.md, "State"; src/fundtxn.c keeps it
 * from each fund transaction and its decision event, on ingest and replay
 * alike; person = HMAC of the ID number, numbers big-endian so that keys sort,
 * values int64 LE unless said otherwise):
 *   f_death    person[32] ‖ month[4]            -> standing death_reports
 *   f_qual     person[32] ‖ day[8]              -> standing qualifications
 *   f_acct     person[32] ‖ day[8]              -> standing account_changes
 *   f_benefit  person[32] ‖ fund ‖ scheme ‖ period[4] -> standing benefits
 *   f_maker    maker NUL ‖ day[8] ‖ kind ‖ fund ‖ scheme -> fen (standing)
 *   f_balance  class ‖ fund ‖ account no NUL ‖ period[4] -> fen moved
 *              (effective transactions only; + into, - out of the account)
 *   f_decision txn record id[32] -> JSON {"verdict","rules","event","state"}
 *              (state: "standing", "effective" or "none")
 *   (day, month and period are offset by 2^31 / 2^63 to sort as unsigned)
 * time_be is the record's time (epoch seconds, offset by 2^63 so that the
 * big-endian bytes sort in time order, negatives included).
 */
#ifndef CUSTOS_INDEX_H
#define CUSTOS_INDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct cu_index cu_index;
typedef struct cu_index_txn cu_index_txn;

/* Opens (creating if needed when writable) the environment in dir.  The map
 * size grows as needed; a read-only opener never blocks a writer. */
int cu_index_open(cu_index **out, const char *dir, int writable);
void cu_index_free(cu_index *ix);

/* Writes a dense copy of the index into the file path (absent or empty; a
 * single-file LMDB environment, no lock file), from one read snapshot:
 * every database walked in key order and appended, so that its pages are
 * full and no free page is left.  Copied as a directory's data.mdb, it opens
 * as an index on its own.  Writers may go on meanwhile. */
int cu_index_copy(cu_index *ix, const char *path);

/* Whether a write commit returns only once it is on disk (durable, the
 * default: LMDB's flush of the data, then of the meta page), or leaves
 * the flush to the caller (0): for a restore, which syncs the whole folder
 * (syncfs) before anything uses it. */
int cu_index_set_durable(cu_index *ix, int durable);

/* From now on, indexes this process opens for writing are mapped writable
 * (MDB_WRITEMAP): a transaction's dirty pages live in the file mapping,
 * not on the heap, so a long-lived writer (custosd's) holds no copy of
 * them.  The map then covers the pages in use plus 2 GiB (LMDB extends the
 * file to it, sparse), which bounds what one transaction may add: for
 * ingest batches only, never a rebuild. */
void cu_index_set_writemap(int on);

/* Transactions: at most one write transaction at a time (the archive lock
 * guarantees it); read transactions see a consistent snapshot. */
int cu_index_begin(cu_index_txn **out, cu_index *ix, int write);
/* Commits (write) or ends (read) and frees the transaction. */
int cu_index_commit(cu_index_txn *t);
void cu_index_abort(cu_index_txn *t);

/* The history commit the index reflects ("" when none yet). */
int cu_index_get_head(char head[41], cu_index_txn *t);
int cu_index_set_head(cu_index_txn *t, const char *head);

/* What the index knows about one record. */
typedef struct cu_index_entry {
	unsigned char id[32];
	const char   *ref;            /* with '·' */
	int64_t       time;           /* epoch seconds used for ordering and --from/--to */
	const char   *kind;           /* "receipt", … */
	int           has_content;
	unsigned char content[32];
	int           has_person;
	unsigned char person[32];     /* HMAC of the normalised ID number */
	const char   *org;            /* USCC or NULL */
	const char   *service, *insurance, *channel, *operator_, *agency; /* or NULL */
	const char   *text;           /* summary and names, tokenised here (or NULL) */
	const char   *rkey;           /* identity key or NULL */
	unsigned char rkey_digest[32];/* digest of the identity's content */
	const char   *summary_json;   /* display summary (masked), stored in time */
	const unsigned char (*more_content)[32]; /* a case's files' digests */
	size_t        n_more_content;
	const char   *case_no, *case_type;  /* cases: terms "case" and "case_type" */
	const char   *file_names;     /* cases: the files' names, tokenised apart */
	const char   *scheme, *period;/* fund transactions: terms "scheme", "period" */
} cu_index_entry;

/* Adds a record under every key above.  Adding the same id again is a
 * no-op returning 0 (replay is idempotent). */
int cu_index_put(cu_index_txn *t, const cu_index_entry *e);

/* Removes a record from every key it was put under (the entry must be
 * built as for cu_index_put), so that a newer revision can take its place:
 * searches then find only the current revision.  Removing what is not
 * there is not an error (replay is idempotent). */
int cu_index_remove(cu_index_txn *t, const cu_index_entry *e);

/* Looks up by identity key: id and fields digest.  CU_ENOTFOUND if absent. */
int cu_index_get_rkey(cu_index_txn *t, const char *rkey, unsigned char id[32],
	unsigned char digest[32]);

/* Looks up a ref ('-' in place of '·' is accepted). */
int cu_index_get_ref(cu_index_txn *t, const char *ref, unsigned char id[32]);

/* Writes the normal form of a ref into out (outsz bytes, NUL-terminated):
 * the input is split at every '-' and '·' into six non-empty parts (fonds,
 * category, year, retention, class, item; no part contains either
 * separator) and rebuilt as "fonds-category·year-retention-class-item",
 * so "SI01-SB-2026-D30-ZJ-000123" gives "SI01-SB·2026-D30-ZJ-000123".
 * CU_EINVALID "not a ref" if it does not split into six parts or does not
 * fit in out. */
int cu_index_normalize_ref(char *out, size_t outsz, const char *in);

/* Resolves a hex prefix of at least 12 digits (or the full 64) to the one
 * record it names: CU_ENOTFOUND, or CU_EAMBIGUOUS naming the count. */
int cu_index_get_id_prefix(cu_index_txn *t, const char *hex, unsigned char id[32]);

/* First record whose content digest is `digest`. */
int cu_index_get_content(cu_index_txn *t, const unsigned char digest[32],
	unsigned char id[32]);

/* The stored summary JSON of a record (new string, caller frees). */
int cu_index_get_summary(char **json, cu_index_txn *t, const unsigned char id[32]);

/* Item numbers: the next free number of a class (last + 1, starting at 1),
 * recorded as used. */
int cu_index_next_item(uint32_t *item, cu_index_txn *t, const char *class_key);
/* Marks item as used in its class if it is above the last one (replay). */
int cu_index_note_item(cu_index_txn *t, const char *class_key, uint32_t item);
/* Reads the last item number of a class (0 if none). */
int cu_index_last_item(uint32_t *item, cu_index_txn *t, const char *class_key);

/* Where a packed object lives. */
int cu_index_put_objloc(cu_index_txn *t, const unsigned char digest[32],
	const char *pack, uint64_t offset, uint64_t size);
int cu_index_get_objloc(cu_index_txn *t, const unsigned char digest[32],
	char pack[256], uint64_t *offset, uint64_t *size);
int cu_index_has_pack(cu_index_txn *t, const char *pack);
int cu_index_put_pack(cu_index_txn *t, const char *pack);

/* Events about a record (access and others), newest last. */
int cu_index_put_event(cu_index_txn *t, const unsigned char record_id[32],
	int64_t time, const unsigned char event_id[32]);

/* The Merkle log's node store, bound to a transaction (write for appends). */
struct cu_mlog_store;
void cu_index_mlog_store(struct cu_mlog_store *out, cu_index_txn *t);

/* Number of leaves in the log (0 when none). */
int cu_index_log_size(uint64_t *size, cu_index_txn *t);
int cu_index_set_log_size(cu_index_txn *t, uint64_t size);

/* The signed checkpoint note of a tree size (CU_ENOTFOUND when no commit
 * ended at that size). */
int cu_index_put_checkpoint(cu_index_txn *t, uint64_t size, const char *note);
int cu_index_get_checkpoint(char **note, cu_index_txn *t, uint64_t size);

/* The number of records in the index, and each record's id in id order (a
 * non-zero return from cb stops the walk and is returned). */
int cu_index_count_records(size_t *n, cu_index_txn *t);
int cu_index_foreach_record(cu_index_txn *t, int (*cb)(const unsigned char id[32], void *payload),
	void *payload);

/* The commit that added the log leaf: commits are recorded by the first
 * leaf they add, and a leaf belongs to the last commit starting at or
 * before it. */
int cu_index_put_commit(cu_index_txn *t, uint64_t first_leaf, const char *commit);
int cu_index_get_commit(char commit[41], cu_index_txn *t, uint64_t leaf);

/* Calls cb with each event about a record (time order), or with the
 * archive-wide events when record_id is all zero bytes. */
int cu_index_foreach_event(cu_index_txn *t, const unsigned char record_id[32],
	int (*cb)(int64_t time, const unsigned char event_id[32], void *payload), void *payload);

/* Disposition marks (see "dispo" above): kind is one byte, key up to 500
 * bytes (a ref in its normal form, or a 32-byte digest), value a JSON text.
 * get returns CU_ENOTFOUND without setting a message when there is no
 * mark, and fills *value (new string) when value is not NULL.  Deleting an
 * absent mark is not an error.  foreach walks one kind in key order. */
int cu_index_put_mark(cu_index_txn *t, char kind, const void *key, size_t klen,
	const char *value);
int cu_index_get_mark(char **value, cu_index_txn *t, char kind, const void *key, size_t klen);
int cu_index_del_mark(cu_index_txn *t, char kind, const void *key, size_t klen);
typedef int (*cu_index_mark_cb)(const void *key, size_t klen, const char *value,
	void *payload);
int cu_index_foreach_mark(cu_index_txn *t, char kind, cu_index_mark_cb cb, void *payload);
int cu_index_count_marks(size_t *n, cu_index_txn *t, char kind);

/* Every record (current revision) whose content includes the object
 * `digest`, in id order. */
int cu_index_foreach_content(cu_index_txn *t, const unsigned char digest[32],
	int (*cb)(const unsigned char id[32], void *payload), void *payload);

/* Every class key with its last item number, in byte order of the keys. */
int cu_index_foreach_class(cu_index_txn *t, int (*cb)(const char *class_key, uint32_t last,
	void *payload), void *payload);

/* Forgets where a packed object was, and a pack (both after a disposal
 * removed them; absent is not an error). */
int cu_index_del_objloc(cu_index_txn *t, const unsigned char digest[32]);
int cu_index_del_pack(cu_index_txn *t, const char *pack);

/* Splits text into index tokens: ASCII letters and digits as words,
 * case-folded (a-z0-9, at least 1 character, at most 64); runs of CJK
 * characters (U+3400-U+9FFF, U+F900-U+FAFF, U+20000-U+2FFFF) as bigrams
 * of adjacent characters, and a run of one character as that character.
 * Everything else separates tokens.  Calls cb once per distinct token. */
typedef int (*cu_token_cb)(const char *tok, size_t len, void *payload);
int cu_index_tokens(const char *text, cu_token_cb cb, void *payload);

/* A search: every non-NULL filter must hold (AND). */
typedef struct cu_index_query {
	int           has_person;
	unsigned char person[32];
	const char   *org, *service, *insurance, *channel, *operator_, *agency, *kind;
	const char   *text;          /* all tokens must occur */
	const char   *case_no, *case_type;
	const char   *file_name;     /* all tokens must occur in the file names */
	const char   *scheme, *period; /* fund transactions */
	int           has_from, has_to;
	int64_t       from, to;      /* inclusive bounds on time */
	size_t        offset, limit; /* limit 0 = no limit */
} cu_index_query;

/* Calls cb with each matching record's id and summary JSON, newest first,
 * skipping `offset` matches and stopping after `limit`.  Uses the most
 * selective key list to drive and checks the other filters by exact lookup
 * (MDB_GET_BOTH), so the cost follows the smallest list, not the archive.
 * *total (may be NULL) receives the number of matches delivered. */
typedef int (*cu_index_hit_cb)(const unsigned char id[32], const char *summary_json,
	void *payload);
int cu_index_search(cu_index_txn *t, const cu_index_query *q, cu_index_hit_cb cb,
	void *payload, size_t *total);

/* ---- fund-control state (see the list at the top) ------------------------- */

enum cu_fstate_db {
	CU_FSTATE_DEATH, CU_FSTATE_QUAL, CU_FSTATE_ACCT, CU_FSTATE_BENEFIT, CU_FSTATE_MAKER,
	CU_FSTATE_BALANCE, CU_FSTATE_DECISION, CU_FSTATE_COUNT
};

/* get copies at most valsz bytes of the value into val (may be NULL) and
 * its length into *vlen (may be NULL); CU_ENOTFOUND without a message when
 * the key is absent.  del of an absent key is not an error.  scan calls cb
 * for each key starting with prefix (plen 0: all), in key order; a non-zero
 * return from cb stops the walk and is returned. */
typedef int (*cu_index_fstate_cb)(const void *key, size_t klen, const void *val, size_t vlen,
	void *payload);
int cu_index_fstate_get(cu_index_txn *t, int db, const void *key, size_t klen, void *val,
	size_t valsz, size_t *vlen);
int cu_index_fstate_put(cu_index_txn *t, int db, const void *key, size_t klen, const void *val,
	size_t vlen);
int cu_index_fstate_del(cu_index_txn *t, int db, const void *key, size_t klen);
int cu_index_fstate_scan(cu_index_txn *t, int db, const void *prefix, size_t plen,
	cu_index_fstate_cb cb, void *payload);

#endif
