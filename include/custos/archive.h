/*
 * archive.h — the one facade that the command line and the daemon call.
 *
 *   ARCHIVE/
 *     archive.json   identity: format, name, fonds, creation time, public key
 *     archive.conf   settings and the classification table (conf.h)
 *     lock           the writers' lock (flock), holding the writer's pid
 *     objects/       content objects (cas.h)
 *     history.git/   the record ledger (history.h)
 *     index/         the LMDB search index, a rebuildable cache (index.h)
 *     keys/          signing.pem (Ed25519, 0600), signing.pub, person.hmac (0600)
 *
 * The facade never prints and never exits: it returns 0 or a negative
 * cu_error_code and reports per-item outcomes through callbacks.
 *
 * Writers (ingest, get, search --unmask: every retrieval is itself recorded)
 * take the archive lock; readers (search, keys) run alongside a writer and
 * see the index as of the writer's last committed batch.
 */
#ifndef CUSTOS_ARCHIVE_H
#define CUSTOS_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "custos/mlog.h"

typedef struct cu_archive cu_archive;

typedef struct cu_archive_init_opts {
	const char *name;      /* origin name; NULL = "custos/<fonds>" */
	const char *fonds;     /* 全宗号, required: 1-16 of A-Z 0-9 */
	const char *conf_text; /* archive.conf text; NULL = the shipped default */
} cu_archive_init_opts;

/* Creates a new archive at path (which must not exist or be an empty
 * folder: CU_EEXISTS otherwise): folders, keys, an empty index, and the
 * first signed commit holding archive.json and archive.conf.  On failure
 * nothing that this call created is left behind. */
int cu_archive_init(const char *path, const cu_archive_init_opts *o);

/* READ: no lock, the index as committed.  WRITE: the writers' lock, the
 * index brought up to the history.  REPAIR: the writers' lock, the index
 * left as it is (for verify and reindex, which must see an archive whose
 * index and history disagree). */
enum { CU_ARCHIVE_READ = 0, CU_ARCHIVE_WRITE = 1, CU_ARCHIVE_REPAIR = 2 };

/* Opens an archive.  CU_ARCHIVE_WRITE takes the writers' lock, waiting up
 * to wait_seconds for another writer (CU_ELOCKED naming its pid after
 * that), and brings the index up to the history head if it lags (after a
 * crash).  A reader whose index lags replays too when the lock is free. */
int cu_archive_open(cu_archive **out, const char *path, int mode, int wait_seconds);

/* Drops one hold on the archive; the last closes it. */
void cu_archive_free(cu_archive *a);

/* One more hold on an open archive (a long-lived reader lends its handle
 * to one command after another); returns a.  A reader's handle stays
 * current: every query reads the index's latest committed state. */
cu_archive *cu_archive_ref(cu_archive *a);

/* For a reader: notes again whether the index lags the history now (a
 * writer between its history commit and its index commit); see
 * cu_archive_index_behind. */
void cu_archive_refresh(cu_archive *a);

/* The pid of the process holding the writers' lock, 0 if none. */
long cu_archive_lock_holder(const char *path);

const char *cu_archive_name(const cu_archive *a);

/* 1 if this reader found the index behind the history and could not bring
 * it up to date because a writer held the lock: its answers may miss the
 * newest records. */
int cu_archive_index_behind(const cu_archive *a);
const char *cu_archive_fonds(const cu_archive *a);

/* Who is acting (recorded in every record and event).  Defaults to the
 * calling process's user; the daemon sets its client's. */
void cu_archive_set_actor(cu_archive *a, const char *user, unsigned long uid);

/* Records that the daemon refused a client's request: an access event
 * with action "denied", the command, the role it needs and the reason,
 * by the refused client (cu_archive_set_actor first).  Needs the archive
 * opened for writing; event_id receives the event's id. */
int cu_archive_record_denial(cu_archive *a, const char *command, const char *role,
	const char *reason, char event_id[65]);

/* ---- ingest ----------------------------------------------------------- */

typedef enum {
	CU_INGEST_ARCHIVED,
	CU_INGEST_DUPLICATE,
	CU_INGEST_REJECTED,
} cu_ingest_status;

typedef struct cu_ingest_result {
	cu_ingest_status status;
	const char *source;  /* "path", or "path#n" for the n-th item of a file of several */
	const char *ref;     /* archived: its ref; duplicate: the archived record's ref */
	const char *id;      /* hex id of that record (NULL when rejected) */
	const char *reason;  /* rejected: one line, "FIELD: reason" */
	int end_of_batch;    /* the last outcome of a committed batch: a good moment
	                        to flush acknowledgements to their reader */
	const char *decision;/* an archived fund transaction: "allow", "review RULE[,RULE]"
	                        or "deny RULE[,RULE]"; NULL otherwise */
	int denied;          /* 1 when that decision is deny */
} cu_ingest_result;

/* Called once per item, in input order; archived and duplicate outcomes
 * only after the batch that holds them is committed (so an acknowledged
 * record is durable). */
typedef int (*cu_ingest_cb)(const cu_ingest_result *r, void *payload);

typedef struct cu_ingest_stats {
	size_t archived, duplicates, rejected, commits;
	size_t denied;       /* fund transactions archived and denied */
} cu_ingest_stats;

typedef struct cu_ingest cu_ingest;

/* Starts an ingest on an archive opened for writing. */
int cu_ingest_begin(cu_ingest **out, cu_archive *a, cu_ingest_cb cb, void *payload);

/* Ingests a file, or a folder of files recursively in name order ("-" reads
 * standard input).  Bad input is reported per item through the callback
 * and is not an error; an error return means a system failure (the items
 * of the unfinished batch were not archived, earlier batches were). */
int cu_ingest_path(cu_ingest *in, const char *path);

/* Ingests the bytes of one input file named `source`. */
int cu_ingest_buffer(cu_ingest *in, const char *source, const char *buf, size_t len);

/* Commits what is pending, fills *st (may be NULL) and frees the ingest. */
int cu_ingest_finish(cu_ingest *in, cu_ingest_stats *st);

/* Drops what is pending (nothing of it is archived) and frees the ingest. */
void cu_ingest_abort(cu_ingest *in);

/* Ingests a case file (a bag in a .tar, .tar.gz, .tar.xz, .tar.zst or .zip
 * file, or a bag folder) at path, reported under the name source (the
 * daemon receives a client's bag into a file of its own). */
int cu_ingest_bag(cu_ingest *in, const char *path, const char *source);

/* 1 if path names a bag by its form: a folder holding bagit.txt (is_dir
 * 1), or a file whose name ends in a bag archive's extension. */
int cu_ingest_is_bag(const char *path, int is_dir);

/* How many outcomes the ingest has taken so far (reported or waiting for
 * their batch's commit): the callback's n-th call reports the n-th. */
size_t cu_ingest_items(const cu_ingest *in);

/* ---- search and retrieval --------------------------------------------- */

typedef struct cu_search_query {
	const char *person;     /* resident ID number (validated, then HMAC) */
	const char *org;        /* USCC (validated) */
	const char *service, *insurance, *channel, *operator_, *agency;
	const char *from, *to;  /* "YYYY-MM-DD" (archive time zone) or RFC 3339 */
	const char *text;       /* words: every one must occur */
	const char *type;       /* "receipt" or "case" */
	const char *case_no;    /* a case number (External-Identifier) */
	const char *file_name;  /* words of the names of a case's files */
	const char *scheme;     /* fund transactions: "employee" or "resident" */
	const char *period;     /* fund transactions: "YYYY-MM" */
	size_t limit, offset;   /* limit 0 = all */
	int unmask;             /* show ID numbers in clear (recorded; needs WRITE) */
	const char *purpose;    /* recorded with an unmasking search */
} cu_search_query;

/* Calls cb with each hit, newest first: an object {id, ref, kind, time,
 * service, insurance, channel, agency, operator, subject {kind, id, name},
 * summary[, amount_fen]} whose subject.id is masked unless q->unmask.
 * Bad filter values give CU_EINVALID naming the option. */
typedef int (*cu_search_cb)(const json_t *hit, void *payload);
int cu_archive_search(cu_archive *a, const cu_search_query *q, cu_search_cb cb,
	void *payload, size_t *nhits);

/* Resolves KEY (a ref, '-' allowed for '·'; an id or a unique prefix of at
 * least 12 hex digits; sha256:<content digest>; case:<case number>;
 * txn:<txn_no> of a fund transaction; or a
 * file ref <case ref>-<volume>-<item>, which names its case) to a record id. */
int cu_archive_resolve(char id_hex[65], cu_archive *a, const char *key);

typedef struct cu_get_opts {
	int unmask;           /* ID numbers in clear in the document */
	int content;          /* deliver the content bytes instead of the document */
	const char *purpose;  /* why (recorded) */
	long version;         /* the revision to show (0 = the current one) */
	long revisions;       /* out: how many revisions the record has */
	const char *file;     /* content of a case: the file's path under data/
	                         (or its ref given as KEY) */
	/* with content: receive the bytes in chunks instead of *content (a case
	 * file may be larger than memory).  The bytes are checked against the
	 * object's name as they pass; a mismatch is reported at the end
	 * (CU_EINVALID), and the caller must discard what it received. */
	int (*sink)(const void *data, size_t len, void *payload);
	void *sink_payload;
} cu_get_opts;

/* Retrieves a record: *doc (a new reference) is the record document with
 * the ID number masked unless o->unmask; with o->content, *content and
 * *content_len hold the exact bytes received (caller frees): for a case,
 * the bytes of one file, named by o->file or by a file ref as KEY
 * ("<case ref>-<volume>-<item>").  The access
 * (who, when, which record, purpose, unmasked or content) is committed as
 * an event in the history BEFORE anything is returned; if it cannot be
 * recorded, nothing is returned.  Needs WRITE. */
int cu_archive_get(cu_archive *a, const char *key, cu_get_opts *o, json_t **doc,
	char **content, size_t *content_len);

/* The volumes of a case (KEY as for get; a reader, no access event: the
 * list names files, not people): *volumes is a new reference to the array
 * [{volume, name, files: [{item, path, digest, size, media_type, ref,
 * added_in}]}] of the current revision, or of revision `version` (> 0).
 * CU_EINVALID if KEY names a record that is not a case. */
int cu_archive_case_volumes(cu_archive *a, const char *key, long version, json_t **volumes);

/* ---- the review queue of fund transactions (four eyes) ----------------- */

/* Calls cb with each fund transaction waiting for review (decided
 * "review", not yet approved or rejected): its search summary (masked) plus
 * "rules" (the rules that fired), "decided_at" and "age_days".  A reader. */
typedef int (*cu_review_cb)(const json_t *item, void *payload);
int cu_archive_review_queue(cu_archive *a, cu_review_cb cb, void *payload, size_t *n);

/* Approves (approve = 1: the transaction becomes effective and counts in
 * the balances) or rejects (0: its facts are taken back) a transaction
 * waiting for review, as the calling user, who must not be its maker,
 * reviewer or approver (CU_ECONFLICT).  The review is an event record
 * (kind "review", action, note, the rules) committed with the state
 * change; note is required and kept in clear (no ID numbers).  Fills the
 * transaction's ref and the event's id.  WRITE. */
int cu_archive_review(cu_archive *a, const char *key, int approve, const char *note,
	char ref_out[128], char event_id[65]);

/* ---- reconciliation ---------------------------------------------------- */

/* A bank statement (CSV, recon.h) against the effective fund transactions
 * on `account` (allowed, or approved in review; money into the account is
 * a credit, out of it a debit), matched with a date tolerance of
 * `tolerance` days.  The statement's bytes are kept as a content object
 * and the report is archived as a record of kind "reconciliation" in the
 * log ({account, statement {source, digest, size}, report}).  *report (the
 * report JSON, new reference) and *text (one line per item, caller frees)
 * are filled; cu_recon_unmatched-style counts are in report "unmatched".
 * WRITE. */
int cu_archive_reconcile(cu_archive *a, const char *statement, const char *account, int tolerance,
	json_t **report, char **text, char event_id[65]);

/* ---- amendments ---------------------------------------------------------- */

/* Amends a record (KEY as for get; WRITE): appends a new revision with the
 * same ref and a new id, linked to the one it supersedes, with the changes
 * and the reason; the old revision stays in the history.  sets are
 * "FIELD=VALUE": channel, insurance, operator, summary, amount (yuan),
 * subject.name, subject.id_no, subject.uscc; the amended receipt is
 * validated as at ingest.  Fields that identify the record or decide its ref
 * (ref, type, agency, receipt_no, service, issued_at, subject.kind) cannot be
 * amended.  Fills new_id, ref and the new revision number. */
int cu_archive_amend(cu_archive *a, const char *key, const char *const *sets, size_t nsets,
	const char *reason, char new_id[65], char ref[128], long *revision);

/* ---- trace -------------------------------------------------------------- */

/* One step in the life of a record. */
typedef struct cu_trace_entry {
	const char *time;      /* RFC 3339 */
	const char *action;    /* "ingested", "amended", "accessed", "verified" */
	const char *user;      /* who */
	unsigned long uid;
	const char *detail;    /* one line: source, purpose and masking, result, … */
	const char *commit;    /* the commit that holds the step ("" if unknown) */
	uint64_t leaf;         /* the step's leaf in the log */
	const char *id;        /* the id of the record or event document */
} cu_trace_entry;

typedef int (*cu_trace_cb)(const cu_trace_entry *e, void *payload);

/* The whole life of a record (KEY as for get), in time order: ingested,
 * accessed, and the verify runs that checked it since; each with the commit
 * and the log leaf that prove it.  Shows no personal data. */
int cu_archive_trace(cu_archive *a, const char *key, cu_trace_cb cb, void *payload);

/* ---- retention, disposition and legal holds (docs/disposition.md) ------- */

/* Where a record stands (KEY as for get; a reader).  Strings are "" when
 * they do not apply. */
typedef struct cu_record_state {
	char ref[128];
	char kind[32];
	char disposal_date[16];   /* "YYYY-MM-DD", "" when kept permanently (Y) */
	int held;                 /* on legal hold */
	char held_since[32], held_by[128], hold_reason[4096];
	int listed;               /* on an open destruction list */
	char list_ref[128];
	int disposed;             /* its content objects were disposed of */
	char disposed_by_list[128], disposed_at[32], approved_by[128];
} cu_record_state;
int cu_archive_record_state(cu_archive *a, const char *key, cu_record_state *st);

/* Puts a record on legal hold (add = 1) or releases it (add = 0), with a
 * reason (required): a "hold" event in the history, shown by trace.  A held
 * record can be neither proposed for disposal nor disposed of.
 * CU_ECONFLICT, nothing done, when the record is already held (add), not
 * held (release), or already disposed of.  Fills ref and the event's id.
 * Needs WRITE. */
int cu_archive_hold(cu_archive *a, const char *key, int add, const char *reason,
	char ref[128], char event_id[65]);

/* Every record on hold, in ref order. */
typedef int (*cu_hold_cb)(const char *ref, const char *since, const char *user,
	unsigned long uid, const char *reason, void *payload);
int cu_archive_holds(cu_archive *a, cu_hold_cb cb, void *payload, size_t *n);

/* One record whose disposal date has come. */
typedef struct cu_due_entry {
	const char *ref, *id, *kind;
	const char *disposal_date;  /* "YYYY-MM-DD" */
	const char *state;          /* "due", "held" or "proposed" (on an open list) */
	const char *list_ref;       /* proposed: the list; else NULL */
	const char *summary;        /* what search shows as the summary (or a case's title) */
} cu_due_entry;
typedef int (*cu_due_cb)(const cu_due_entry *e, void *payload);

/* Calls cb for every record not yet disposed of whose disposal date is on
 * or before `at` ("YYYY-MM-DD"; NULL = today in the archive's time zone),
 * in ref order.  *n (may be NULL) counts them. */
int cu_archive_due(cu_archive *a, const char *at, cu_due_cb cb, void *payload, size_t *n);

/* One line of a proposal or an approval. */
typedef struct cu_disposal_line {
	const char *action;   /* "refused", "disposed", "removed", "pending", "kept" */
	const char *key;      /* the record (as given for "refused") */
	const char *digest;   /* removed, pending, kept: "sha256:<hex>" */
	uint64_t size;        /* removed, pending, kept: bytes */
	const char *detail;   /* refused: why; removed: "loose" or "packs/<pack>";
	                         kept: the ref of a record that still holds it */
} cu_disposal_line;
typedef int (*cu_disposal_cb)(const cu_disposal_line *l, void *payload);

/* Proposes records (KEYs: refs or ids) for disposal: a destruction list
 * (销毁清册), a record of kind "disposal_list" kept permanently, naming each
 * record with its id, content objects and disposal date, the reason, who
 * proposed it and when; with a "disposal" event for each record's trace.
 * Every key is checked first; a record not yet due, kept permanently, on
 * hold, already disposed of or on another open list is refused (each
 * reported through cb as "refused") and then nothing is created
 * (CU_ECONFLICT).  Fills the list's ref and id.  Needs WRITE. */
int cu_archive_propose(cu_archive *a, const char *const *keys, size_t nkeys,
	const char *reason, cu_disposal_cb cb, void *payload, char list_ref[128],
	char list_id[65]);

/* What an approval did. */
typedef struct cu_disposal_report {
	char list_ref[128];
	char list_id[65];     /* the id of the list's approved revision */
	size_t records, removed, kept, pending;
	uint64_t bytes_removed;
} cu_disposal_report;

/* Approves a destruction list (LIST: its ref or id) and performs it.  The
 * approver must be another user than the proposer; the list must be open;
 * none of its records may be on hold or have changed since the proposal.
 * Otherwise each refusal goes to cb and CU_ECONFLICT is returned, nothing
 * done.  The approval (a revision of the list naming the approver, the time
 * and the objects removed, and a "disposal" event) is committed FIRST; then
 * the content objects no other live record holds are removed: loose files
 * unlinked, packs rewritten without them.  Reports "disposed" per record,
 * "removed" (or "pending", if the removal failed and will be retried by the
 * next writer) and "kept" per object.  Needs WRITE. */
int cu_archive_approve(cu_archive *a, const char *list, cu_disposal_cb cb, void *payload,
	cu_disposal_report *r);

/* Rejects (or, by its proposer, withdraws) an open destruction list with a
 * reason: a revision of the list and a "disposal" event; its records are
 * free to be proposed again.  CU_ECONFLICT if the list is not open. */
int cu_archive_reject(cu_archive *a, const char *list, const char *reason,
	char list_ref[128], char list_id[65]);

/* ---- reindex and verify ------------------------------------------------- */

/* Rebuilds the index from history.git and the objects alone (REPAIR).
 * *commits (may be NULL) receives the number of commits replayed. */
int cu_archive_reindex(cu_archive *a, size_t *commits);

typedef struct cu_verify_opts {
	int quick;                     /* skip re-hashing objects unchanged since the
	                                  last full run (size, mtime, inode) */
	const char *since_checkpoint;  /* a signed checkpoint kept outside the archive */
} cu_verify_opts;

/* One problem found.  kind: "object", "record", "event", "commit",
 * "checkpoint", "log", "item", "index". */
typedef struct cu_verify_problem {
	const char *kind;
	const char *ref;       /* the record's ref, or NULL */
	const char *id;        /* record or event id, object digest, or NULL */
	const char *commit;    /* the commit concerned, or NULL */
	const char *message;
} cu_verify_problem;

typedef int (*cu_verify_cb)(const cu_verify_problem *p, void *payload);

typedef struct cu_verify_report {
	size_t commits, records, events, objects, objects_skipped, problems;
	size_t objects_disposed;       /* objects absent because a disposal removed them */
	uint64_t bytes_hashed, log_size;
	uint64_t objects_usec;  /* time spent re-hashing the objects */
	int quick;
	int recorded;          /* the run was recorded as an event in the history */
	char event_id[65];
} cu_verify_report;

/* Checks everything (REPAIR): every object against its name; every record's
 * object present with its size; every document canonical and hashed to its
 * id; every commit signed by the archive key; every checkpoint signed, and
 * its root equal to the root of the log recomputed from the documents (so
 * each is consistent with all before it); the log's leaves contiguous; item
 * numbers without gaps; the index against the history; with
 * since_checkpoint, the log consistent with that checkpoint; and the log no
 * shorter than at the last run.  Reports EVERY problem through cb, then
 * records the run as a verify event — unless the history or the log itself
 * failed, in which case no checkpoint is signed over it (r->recorded = 0).
 * Returns 0 whether or not problems were found (r->problems counts them);
 * an error only when the check itself could not run. */
int cu_archive_verify(cu_archive *a, const cu_verify_opts *o, cu_verify_cb cb, void *payload,
	cu_verify_report *r);

/* ---- the tamper-evident log -------------------------------------------- */

/* The latest signed checkpoint (a C2SP signed note), read from the history
 * head's log/checkpoint (new string). */
int cu_archive_checkpoint(char **note, cu_archive *a);

/* The signed-note verifier key of the archive's key, "<name>+<id>+<key>"
 * (new string). */
char *cu_archive_vkey(cu_archive *a);

/* An inclusion or consistency proof.  cu_proof_clear frees its strings. */
typedef struct cu_proof {
	uint64_t index;           /* inclusion: the leaf; consistency: the old size */
	uint64_t size;            /* the tree size proved against */
	unsigned char leaf[CU_MLOG_HASH];  /* inclusion: the leaf hash */
	unsigned char root[CU_MLOG_HASH];  /* the root at size */
	unsigned char old_root[CU_MLOG_HASH]; /* consistency: the root at index */
	unsigned char path[CU_MLOG_MAX_PROOF][CU_MLOG_HASH];
	size_t n;
	char *checkpoint;         /* the signed checkpoint note of size */
	char *text;               /* the proof in text form (docs/proofs.md) */
	char *document;           /* inclusion: the exact bytes of the logged entry */
	size_t document_len;
	char history_path[256];   /* inclusion: where history.git holds that entry */
} cu_proof;

/* The inclusion proof of a record (KEY as for get) in the log of `size`
 * leaves (0 = the latest), which must be a size some commit ended at. */
int cu_archive_prove(cu_proof *out, cu_archive *a, const char *key, uint64_t size);

/* The consistency proof between log sizes m and n (n 0 = the latest); n must
 * be a checkpointed size. */
int cu_archive_prove_consistency(cu_proof *out, cu_archive *a, uint64_t m, uint64_t n);

void cu_proof_clear(cu_proof *p);

/* ---- export -------------------------------------------------------------- */

typedef struct cu_export_opts {
	const char *purpose;            /* why (recorded with the access event) */
	const cu_search_query *search;  /* export every hit of this search (key NULL);
	                                   unmask and purpose in it are ignored */
} cu_export_opts;

typedef struct cu_export_result {
	size_t records;            /* records exported */
	size_t documents;          /* record documents (every revision) in custos/records/ */
	uint64_t payload_files;    /* files under data/ (Payload-Oxum) */
	uint64_t payload_bytes;
	uint64_t files;            /* every file of the bag */
	uint64_t log_size;         /* the size of the checkpoint the proofs are against */
	char format[16];           /* "tar", "tar.gz", "tar.xz", "tar.zst", "zip", "folder" */
	char event_id[65];         /* the access event that recorded the export */
} cu_export_result;

/* Exports a record (KEY as for get: a case with all its files, a receipt
 * with its content) or every hit of o->search as a BagIt 1.0 bag at out:
 * a .tar, .tar.gz, .tar.xz, .tar.zst or .zip file, or else a new folder
 * (docs/export.md).  data/ holds the content, custos/ the record documents
 * exactly as logged (every revision), their inclusion proofs, the signed
 * checkpoint they are proved against, the verifier key and a README;
 * manifests and tag manifests in SHA-256 and SHA-512.  out must not exist
 * (CU_EEXISTS); the bag is written under a temporary name beside it and
 * renamed at the end, so out either holds the whole bag or does not exist.
 * The export (who, when, which records, purpose; unmasked, since the
 * documents hold ID numbers in clear) is committed as an access event
 * BEFORE anything is written; if it cannot be, nothing is.  Once the event
 * is committed and the proofs are made, the writers' lock is released (the
 * bag is written from objects, which never change, and a large one takes
 * long): a is a reader from then on.  CU_ENOTFOUND when KEY names no record
 * or the search finds nothing.  Needs WRITE. */
int cu_archive_export(cu_archive *a, const char *key, const char *out, const cu_export_opts *o,
	cu_export_result *r);

/* ---- keys ------------------------------------------------------------- */

/* "ssh-ed25519 AAAA…" of the archive's signing key (new string). */
char *cu_archive_public_key(cu_archive *a);
/* The allowed-signers line for `git verify-commit` (new string). */
char *cu_archive_allowed_signers(cu_archive *a);

/* ---- fund control (docs/fund-control.md) ------------------------------- */

struct cu_policy;
/* The policy in force (loaded from the history head; valid until the
 * archive is freed).  CU_ENOTFOUND when none is installed. */
int cu_archive_policy(const struct cu_policy **out, cu_archive *a);

/* Checks DIR/fund-control.conf and DIR/staff.conf and makes them the
 * archive's policy: both files committed under policy/ with a "policy"
 * event (digest, who, when) in the log.  On any problem CU_EINVALID with
 * "FILE:LINE: …" and nothing changed.  digest receives the new policy's. */
int cu_archive_policy_install(cu_archive *a, const char *dir, char digest[65]);

/* The decision about a fund transaction (hex id): a new object
 * {"verdict","rules":[…],"state":"effective|standing|none","event","at",
 * "decision":{"verdict","policy","findings":[…]}}.  CU_ENOTFOUND when the
 * record has none (not a fund transaction). */
int cu_archive_decision(json_t **out, cu_archive *a, const char *id_hex);

/* Period close over the archive's state: cu_policy_close with the policy in
 * force and the balances of the effective transactions up to the close of
 * `period` (a cu_month_parse number).  Writes nothing. */
struct cu_decision;
int cu_archive_fund_close(cu_archive *a, int period, struct cu_decision *out);
/* The same, and the run recorded as an event (kind "period_close", action
 * "close", the period "YYYY-MM", the policy's digest and every finding)
 * committed in the log, so that the regular checks of GB/T 27768 §6.3
 * leave their evidence; event_id gets its id.  WRITE. */
int cu_archive_fund_close_record(cu_archive *a, int period, struct cu_decision *out,
	char event_id[65]);

/* ---- policy replay (docs/fund-control.md, "Replay") ------------------- */

typedef struct cu_replay_opts {
	const char *policy;      /* the candidate: a folder with fund-control.conf and
	                            staff.conf, or one fund-control.conf judged with the
	                            staff of the policy in force */
	const struct cu_policy *candidate; /* or a policy already parsed (policy NULL) */
	const char *from, *to;   /* "YYYY-MM-DD" or NULL: the window of posted_at's
	                            calendar day (its own offset), both ends included */
} cu_replay_opts;

/* One transaction in the window whose candidate decision differs from the
 * recorded one (verdict, or the set of rules that fired).  Rules are
 * comma-joined ids in rule order, "" when none fired. */
typedef struct cu_replay_diff {
	const char *ref, *id, *txn_no, *posted_at;
	int recorded, candidate;            /* enum cu_policy_verdict */
	const char *recorded_rules, *candidate_rules;
} cu_replay_diff;
typedef int (*cu_replay_cb)(const cu_replay_diff *d, void *payload);

/* How often a rule fired over the transactions in the window. */
typedef struct cu_replay_rule {
	char rule[17];
	size_t recorded, candidate;   /* fired under the recorded decision, the candidate */
	size_t newly, no_longer;      /* fired under the candidate only, the recorded only */
} cu_replay_rule;

typedef struct cu_replay_report {
	char policy[65];         /* the candidate's digest */
	size_t replayed;         /* archived transactions fed to the state */
	size_t compared;         /* of those, in the window */
	size_t differ;
	size_t reviews;          /* recorded reviews that settled a transaction
	                            the candidate, too, queued for review */
	cu_replay_rule *rules;   /* the candidate's rules in order, then rules only
	                            recorded decisions name, as first met */
	size_t nrules;
} cu_replay_report;
void cu_replay_report_clear(cu_replay_report *r);

/* Judges every archived fund transaction again, in log order, under the
 * candidate policy, over a state in memory (pstate.h) fed from the first
 * transaction on with the CANDIDATE's verdicts (what would have happened
 * under it).  A transaction the candidate queues for review stands (its
 * facts recorded, nothing posted) until a recorded review settles it at
 * the review's place in the log (approved: posted; rejected: withdrawn);
 * reviews of transactions the candidate did not queue change nothing.
 * For each transaction in the window
 * compares the candidate decision with the recorded decision event and
 * calls cb for each that differs; fills *r.  Writes nothing (a reader
 * will do).  Bad options or policy files: CU_EINVALID naming the option or
 * FILE:LINE; CU_ENOTFOUND when a single rules file is given and the archive
 * has no policy in force to take the staff from. */
int cu_archive_policy_replay(cu_archive *a, const cu_replay_opts *o, cu_replay_cb cb,
	void *payload, cu_replay_report *r);
/* The internal-control audit report's model (custos/report.h) for the fund
 * transactions posted from `from` to `to` (days YYYY-MM-DD in the
 * archive's time zone, both inclusive, at most CU_REPORT_MAX_MONTHS
 * months): the rules of the policy in force, the findings of their
 * decisions per month and rule and per maker (severities from the decision
 * events), the denied attempts, the review queue now with its age
 * histogram; and a row per reconciliation report archived in the period
 * (custos reconcile), its counts and sums per outcome from the report's
 * items (amounts that differ as |bank - books|).  Refs, maker ids, transaction
 * numbers and rule ids only, never an ID number.  *model a new object that
 * passes cu_report_validate; *ntxn (may be NULL) the transactions of the
 * period.  CU_EINVALID/CU_ELIMIT "--from: …"/"--to: …" for a bad period,
 * CU_ENOTFOUND without a policy.  A reader; writes nothing. */
int cu_archive_audit_model(cu_archive *a, const char *from, const char *to, json_t **model,
	size_t *ntxn);

#endif
