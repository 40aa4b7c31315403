/*
 * archive_int.h — what the facade's own source files share (archive.c,
 * verify.c); not part of the public contract.
 */
#ifndef CUSTOS_ARCHIVE_INT_H
#define CUSTOS_ARCHIVE_INT_H

#include <jansson.h>

#include "custos/archive.h"
#include "custos/cas.h"
#include "custos/conf.h"
#include "custos/history.h"
#include "custos/index.h"
#include "custos/policy.h"
#include "custos/sig.h"

/* The person key last computed by arc_person_key, with the normalised
 * number it belongs to; wiped when the archive is closed.  An archive
 * handle is used by one thread at a time. */
struct arc_person_memo {
	char          norm[19];
	unsigned char key[32];
	int           valid;
};

struct cu_archive {
	int refs;                  /* holds: cu_archive_ref / cu_archive_free */
	char path[3800];
	int mode;
	int lock_fd;
	char name[160];
	char fonds[32];
	char signing_key[128];      /* "ssh-ed25519 AAAA…" from archive.json */
	cu_conf *conf;
	cu_cas *cas;
	cu_history *hist;
	cu_index *ix;
	cu_signer *signer;          /* writers only */
	unsigned char hmac[CU_HMAC_KEY_LEN];
	int have_hmac;
	struct arc_person_memo *person_memo;  /* the last person key computed */
	char user[128];
	unsigned long uid;
	int index_behind;           /* a reader found the index behind the history */
	cu_policy *policy;          /* the fund-control policy in force (writers), or NULL */
	int verify_no_record;       /* verify checks only: no event, no verify.state
	                               (restore's check of the archive it rebuilt) */
};

/* The history path of a record's revision from its ref
 * (records/<class>/<item/1000>/<item>.json, then <item>.r2.json, …). */
int arc_record_path(char *out, size_t outsz, const char *ref, long revision);

/* A record document's revision (1 when it has none). */
long arc_revision(const json_t *doc);

/* A string member of o, or NULL. */
const char *arc_jstr(const json_t *o, const char *key);

/* Sets doc's "id" to the SHA-256 of its canonical form without "id" and
 * returns the canonical text with it. */
int arc_seal_document(char **text, size_t *len, char id_hex[65], json_t *doc);

/* The display summary the index stores for a record document (new string). */
char *arc_summary_json(const cu_archive *a, const json_t *doc);

/* Commits files plus log/checkpoint for log_size, signed; the checkpoint's
 * root is `root` when given, else computed from the index's log in t.  With
 * t, records checkpoint, log size and head in it (the caller commits t). */
int arc_commit_logged(cu_archive *a, cu_index_txn *t, const cu_history_file *files, size_t n,
	uint64_t log_size, const unsigned char *root, const char *subject, char head[CU_OID_HEX]);

/* The raw key of an "ssh-ed25519 AAAA…" line. */
int arc_ssh_pub_raw(unsigned char pub[CU_ED25519_PUB], const char *line);

/* Indexes a record document; a revision takes the place of the one it
 * supersedes under every key. */
int arc_index_record(cu_archive *a, cu_index_txn *t, const json_t *doc);

/* A record by id from the history head (the index gives its ref and
 * revision); with raw, also its exact bytes. */
int arc_load_record(json_t **doc, cu_archive *a, const char *id_hex);
int arc_load_record_raw(json_t **doc, char **raw, size_t *rawlen, cu_archive *a,
	const char *id_hex);

/* A given revision of a record, by ref. */
int arc_load_revision(json_t **doc, cu_archive *a, const char *ref, long revision);

/* The ref (and revision) of a record the index holds, new string or NULL. */
char *arc_ref_of(cu_index_txn *t, const unsigned char id[32]);
char *arc_ref_rev_of(cu_index_txn *t, const unsigned char id[32], long *revision);

/* Replaces the resident ID number of a record document by its masked form. */
void arc_mask_document(json_t *doc);

/* ---- ingest.c's batch, shared with case.c ---- */

/* The batch's index transaction (begun if need be) and its time. */
int arc_ingest_txn(cu_ingest *in, cu_index_txn **t, const char **now);
/* The log's size with the batch's leaves. */
uint64_t arc_ingest_log_size(const cu_ingest *in);
/* Stores content bytes in the batch (packed or loose) unless already stored. */
int arc_ingest_store(cu_ingest *in, unsigned char digest[32], const void *buf, size_t len);
/* Reports an outcome (acknowledged when the batch commits). */
int arc_ingest_outcome(cu_ingest *in, cu_ingest_status st, const char *source, const char *ref,
	const char *id, const char *reason);
/* Adds a new record document (or revision) to the batch: sets its leaf,
 * seals, indexes and logs it, reports it archived; fills id_hex. */
int arc_ingest_record(cu_ingest *in, json_t *doc, const char *source, char id_hex[65]);
/* Commits the batch now. */
int arc_ingest_flush(cu_ingest *in);
/* 1 if the batch not yet committed holds a record with this ref. */
int arc_ingest_pending(const cu_ingest *in, const char *ref);

/* case.c: ingests the bag at path as a case (or a supplement to one). */
int arc_ingest_case(cu_ingest *in, cu_archive *a, const char *path, const char *source);
/* 1 if path names a bag: a folder holding bagit.txt, or a file whose name
 * ends in .tar, .tar.gz, .tgz, .tar.xz, .tar.zst or .zip. */
int arc_is_bag_path(const char *path, int is_dir);
/* The display summary of a case record (masked), a new reference. */
json_t *arc_case_summary(const cu_archive *a, const json_t *doc);
/* Indexes (remove = 0) or un-indexes a case record document. */
int arc_index_case(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove);
/* Splits a file ref "<case ref>-<volume>-<item>" (eight parts); CU_EINVALID
 * if key does not have that shape. */
int arc_split_file_ref(const char *key, char *case_ref, size_t sz, long *vol, long *item);
/* The file of a case document named by a file ref (key) or by path (under
 * data/, "data/" allowed in front); CU_EINVALID / CU_ENOTFOUND otherwise. */
int arc_case_file(const json_t **file, const json_t *doc, const char *key, const char *path);
/* HMAC person key of a resident ID number; the item number of a ref noted. */
int arc_person_key(unsigned char out[32], const cu_archive *a, const char *idno);
int arc_note_item(cu_index_txn *t, const char *ref);
/* The common end of a record's index entries: the identity's digest (the
 * canonical digest of `identity`), the display summary, then put (with its
 * item number noted) or remove. */
int arc_index_entry_apply(cu_archive *a, cu_index_txn *t, cu_index_entry *e, const json_t *doc,
	const json_t *identity, int remove);
/* The person key (HMAC) and USCC of a subject {kind, id_no | uscc} into e. */
int arc_subject_entry(cu_index_entry *e, const cu_archive *a, const json_t *subj);

/* Commits an access event (archive.c): records is an array of {id, ref};
 * event (may be NULL) receives the event document's exact text. */
int arc_record_access(cu_archive *a, const char *action, json_t *records, const char *purpose,
	int unmasked, const char *output, const char *what, char **event, size_t *event_len);

/* prove.c: the inclusion proof of a logged entry (its exact bytes and its
 * leaf) in the log of `size` leaves (0 = the latest); leaves out->document
 * and out->history_path to the caller. */
int arc_prove_entry(cu_proof *out, cu_archive *a, const char *entry, size_t len, uint64_t leaf,
	uint64_t size);

/* ---- dispose.c: retention, disposition, holds (docs/disposition.md) ---- */

/* Indexes an event document (access, hold, disposal, …) under each record it
 * names; the disposition state of hold events follows. */
int arc_index_event(cu_index_txn *t, const json_t *doc);
/* The disposition state a record document brings: a destruction list marks
 * its records listed, disposed (with the objects removed) or free again; any
 * other record that is not disposed of takes back the objects it holds
 * (a live record needs them). */
int arc_dispo_index_record(cu_archive *a, cu_index_txn *t, const json_t *doc);
/* Holds from hold events. */
int arc_dispo_index_event(cu_index_txn *t, const json_t *doc);
/* Index entries and display summary of a destruction list. */
int arc_index_list(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove);
json_t *arc_list_summary(const json_t *doc);
/* Removes from disk the objects whose removal an approved disposal left
 * pending (a crash after its commit): loose files, and packs rewritten
 * without them.  Needs the writers' lock.  Nothing to do is cheap. */
int arc_dispo_complete(cu_archive *a);
/* CU_ENOTFOUND naming the list when a record's content was disposed of. */
int arc_dispo_check_content(cu_archive *a, const json_t *doc);
/* -1 with reason filled if the record (ref) may take no new revision
 * because it was disposed of; 0 if it may. */
int arc_dispo_refuse_change(cu_index_txn *t, const char *ref, char *reason, size_t rsz);
/* Adds "held" and "disposed" to a search hit. */
void arc_dispo_mark_hit(cu_index_txn *t, json_t *hit);
/* For trace: describes holds, disposal events and a list's revisions (1 if
 * ev is one of them). */
int arc_dispo_describe(const json_t *ev, const char **action, const char **time,
	const json_t **by, char *detail, size_t dsz);

/* ---- fundtxn.c: fund transactions (docs/fund-control.md) ---- */

/* ingest.c's batch, for a record followed by its event: adds the record
 * without committing a full batch; adds an event document (leaf, seal,
 * index, file events/…); appends the decision ("allow", "deny RULE,…") to
 * the last outcome; commits the batch if it is full. */
int arc_ingest_record_held(cu_ingest *in, json_t *doc, const char *source, char id_hex[65]);
int arc_ingest_event(cu_ingest *in, json_t *ev, char id_hex[65]);
int arc_ingest_set_decision(cu_ingest *in, const char *decision, int denied);
int arc_ingest_maybe_flush(cu_ingest *in);
/* One fund transaction item (raw is the parsed input object): validated,
 * deduplicated, judged against the state, archived with its decision event.
 * Bad input is a rejected outcome and returns 0. */
int arc_ingest_fund(cu_ingest *in, cu_archive *a, const char *source, const json_t *raw,
	const char *content, size_t content_len);
/* Index entries and display summary of a fund transaction record. */
int arc_index_fund(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove);
json_t *arc_fund_summary(const json_t *doc);
/* THE state update: what a transaction (its record document) and its
 * decision event establish in the LMDB state (pstate.h's table); the same
 * on ingest and on replay; applying a decision twice changes nothing.
 * fresh: the transaction was archived in this very write (ingest), so it
 * cannot have been applied before and the check is skipped. */
int arc_fund_state_apply(cu_archive *a, cu_index_txn *t, const json_t *txn_doc,
	const json_t *decision_doc, int fresh);
/* Replay of a decision event: loads the transaction it names and applies. */
int arc_fund_replay_decision(cu_archive *a, cu_index_txn *t, const json_t *decision_doc);
/* For the review queue: a transaction queued for review becomes effective
 * (approve = 1: posted to the balances) or is withdrawn (approve = 0: its
 * facts taken back).  CU_EINVALID if it is not waiting for review. */
int arc_fund_state_effective(cu_archive *a, cu_index_txn *t, const json_t *txn_doc, int approve);
/* Adds "decision" (the verdict) to a search hit of a fund transaction. */
void arc_fund_mark_hit(cu_index_txn *t, json_t *hit);

/* dispose.c's event writing, shared with review.c: */
/* Gives doc the log's next leaf (*size, advanced), seals and logs it. */
int arc_log_doc(cu_index_txn *t, uint64_t *size, json_t *doc, char **text, size_t *len,
	char id[65]);
/* A new event document: kind, action, who and when. */
json_t *arc_new_event(const cu_archive *a, const char *kind, const char *action, const char *now);
/* events/<YYYY>/<MM-DD>/<id>.json */
int arc_event_path(char *out, size_t outsz, const char *now, const char *id);
/* One event as its own commit: logged, indexed, filed under events/ by its
 * "at", committed with subject; t (a write transaction) is committed or
 * aborted either way. */
int arc_commit_event(cu_archive *a, cu_index_txn *t, json_t *ev, const char *subject,
	char event_id[65]);
/* Commits files with the log's checkpoint, then the index transaction (freed). */
int arc_commit_docs(cu_archive *a, cu_index_txn *t, const cu_history_file *files, size_t n,
	uint64_t first, uint64_t size, const char *subject);
/* A free-text reason or note kept in clear: required, bounded, no control
 * characters, no resident ID number; option names it in messages. */
int arc_check_note(const char *reason, const char *option);

/* review.c: a review event's effect on the fund state, on replay. */
int arc_fund_replay_review(cu_archive *a, cu_index_txn *t, const json_t *review_doc);
/* fundtxn.c: the decision mark of a fund transaction (new reference);
 * CU_ENOTFOUND when it has none. */
int arc_fund_mark(json_t **out, cu_index_txn *t, const unsigned char id[32]);

/* fpolicy.c: the policy in force from the history head into a->policy
 * (NULL when the archive has none); committing a policy's two files and its
 * event (the texts are checked first; nothing is written if they fail),
 * with up to 5 extra files in the same commit (init's) and the commit's
 * subject (NULL: "policy: install …"). */
int arc_policy_load(cu_archive *a);
int arc_policy_commit(cu_archive *a, const char *rules, size_t rlen, const char *staff,
	size_t slen, const char *source, const cu_history_file *extra, size_t nextra,
	const char *subject, char digest[65]);

/* Replays into the index what it has not seen of the history. */
int arc_index_sync(cu_archive *a, size_t *replayed);

/* backup.c: lets the writers' lock go (a is a reader from then on), and
 * takes it again (waiting up to wait_seconds; a is a writer again). */
void arc_unlock(cu_archive *a);
int arc_relock(cu_archive *a, int wait_seconds);

#endif
