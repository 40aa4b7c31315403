/* prove.c — checkpoints, verifier key and proofs of the tamper-evident log
 * (cu_archive_checkpoint, _vkey, _prove, _prove_consistency in
 * custos/archive.h, docs/proofs.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "custos/archive.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/index.h"
#include "custos/mlog.h"
#include "custos/note.h"
#include "custos/util.h"
#include "archive_int.h"

/* ---- the tamper-evident log ---------------------------------------------------------- */

int
cu_archive_checkpoint(char **note, cu_archive *a)
{
	size_t len;

	return cu_history_read(note, &len, a->hist, NULL, "log/checkpoint");
}

/* The raw Ed25519 key of "ssh-ed25519 <base64 of string "ssh-ed25519" ‖
 * string key>". */
int
arc_ssh_pub_raw(unsigned char pub[CU_ED25519_PUB], const char *line)
{
	static const unsigned char prefix[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2',
		'5', '5', '1', '9', 0, 0, 0, 32 };
	unsigned char blob[64];
	const char *b64 = strchr(line, ' ');
	size_t n;

	if (b64 == NULL || (n = strcspn(b64 + 1, " \n")) != 68 ||
	    EVP_DecodeBlock(blob, (const unsigned char *)b64 + 1, 68) != 51 ||
	    memcmp(blob, prefix, sizeof(prefix)) != 0)
		return cu_error_set(CU_EINVALID, "archive.json: signing_key is not an Ed25519 key");
	memcpy(pub, blob + sizeof(prefix), CU_ED25519_PUB);
	return 0;
}

char *
cu_archive_vkey(cu_archive *a)
{
	unsigned char pub[CU_ED25519_PUB];

	if (arc_ssh_pub_raw(pub, a->signing_key) < 0)
		return NULL;
	return cu_note_vkey(a->name, pub);
}

void
cu_proof_clear(cu_proof *p)
{
	free(p->checkpoint);
	free(p->text);
	free(p->document);
	memset(p, 0, sizeof(*p));
}

/* The latest log size, or checks that size has a checkpoint; fills the
 * checkpoint note and root of that size. */
static int
proof_target(cu_proof *p, cu_index_txn *t, uint64_t size)
{
	char *origin = NULL, *text = NULL, *blank;
	uint64_t got;
	int error;

	if (size == 0 && (error = cu_index_log_size(&size, t)) < 0)
		return error;
	if ((error = cu_index_get_checkpoint(&p->checkpoint, t, size)) < 0)
		return error;
	p->size = size;
	if ((blank = strstr(p->checkpoint, "\n\n")) == NULL ||
	    (text = strndup(p->checkpoint, (size_t)(blank - p->checkpoint) + 1)) == NULL ||
	    cu_checkpoint_parse(&origin, &got, p->root, text) < 0 || got != size)
		error = cu_error_set(CU_EINVALID, "the stored checkpoint of size %llu is malformed",
			(unsigned long long)size);
	free(origin);
	free(text);
	return error;
}

/* The inclusion proof of a logged entry (its exact bytes, its leaf) in the
 * log of `size` leaves (0 = the latest); out->document and history_path are
 * left to the caller. */
int
arc_prove_entry(cu_proof *out, cu_archive *a, const char *entry, size_t len, uint64_t leaf,
	uint64_t size)
{
	cu_index_txn *t = NULL;
	cu_mlog_store st;
	unsigned char root[CU_MLOG_HASH];
	int error;

	out->index = leaf;
	if ((error = cu_mlog_leaf_hash(out->leaf, entry, len)) < 0)
		return error;
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0 || (error = proof_target(out, t, size)) < 0)
		goto done;
	if (out->index >= out->size) {
		error = cu_error_set(CU_EINVALID, "leaf %llu is not in a log of size %llu",
			(unsigned long long)out->index, (unsigned long long)out->size);
		goto done;
	}
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_inclusion(out->path, &out->n, &st, out->index, out->size)) < 0 ||
	    (error = cu_mlog_root(root, &st, out->size)) < 0)
		goto done;
	/* the index and the signed checkpoint must agree, or the proof is void */
	if (memcmp(root, out->root, CU_MLOG_HASH) != 0) {
		error = cu_error_set(CU_EINVALID, "the index's log root at size %llu differs from "
			"the signed checkpoint; run custos verify", (unsigned long long)out->size);
		goto done;
	}
	if ((error = cu_mlog_verify_inclusion(out->leaf, out->index, out->size,
			(const unsigned char (*)[CU_MLOG_HASH])out->path, out->n, out->root)) < 0) {
		cu_error_prefix(error, "leaf %llu is not in the log as stored",
			(unsigned long long)out->index);
		goto done;
	}
	if ((out->text = cu_proof_inclusion_text(out->index,
			(const unsigned char (*)[32])out->path, out->n, out->checkpoint)) == NULL)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	if (t)
		cu_index_abort(t);
	return error;
}

int
cu_archive_prove(cu_proof *out, cu_archive *a, const char *key, uint64_t size)
{
	char id_hex[65];
	json_t *doc = NULL, *leaf;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = cu_archive_resolve(id_hex, a, key)) < 0 ||
	    (error = arc_load_record_raw(&doc, &out->document, &out->document_len, a, id_hex)) < 0)
		goto done;
	leaf = json_object_get(doc, "leaf");
	if (!json_is_integer(leaf) || json_integer_value(leaf) < 0) {
		error = cu_error_set(CU_EINVALID, "record %s has no log leaf", id_hex);
		goto done;
	}
	if ((error = arc_record_path(out->history_path, sizeof(out->history_path),
			arc_jstr(doc, "ref") ? arc_jstr(doc, "ref") : "", arc_revision(doc))) < 0)
		goto done;
	if ((error = arc_prove_entry(out, a, out->document, out->document_len,
			(uint64_t)json_integer_value(leaf), size)) < 0)
		cu_error_prefix(error, "record %s", id_hex);
done:
	json_decref(doc);
	if (error < 0)
		cu_proof_clear(out);
	return error;
}

int
cu_archive_prove_consistency(cu_proof *out, cu_archive *a, uint64_t m, uint64_t n)
{
	cu_index_txn *t = NULL;
	cu_mlog_store st;
	unsigned char root[CU_MLOG_HASH];
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0 || (error = proof_target(out, t, n)) < 0)
		goto done;
	if (m == 0 || m > out->size) {
		error = cu_error_set(CU_EINVALID, "consistency needs 0 < M <= N (N is %llu)",
			(unsigned long long)out->size);
		goto done;
	}
	out->index = m;
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_consistency(out->path, &out->n, &st, m, out->size)) < 0 ||
	    (error = cu_mlog_root(out->old_root, &st, m)) < 0 ||
	    (error = cu_mlog_root(root, &st, out->size)) < 0)
		goto done;
	if (memcmp(root, out->root, CU_MLOG_HASH) != 0) {
		error = cu_error_set(CU_EINVALID, "the index's log root at size %llu differs from "
			"the signed checkpoint; run custos verify", (unsigned long long)out->size);
		goto done;
	}
	if ((out->text = cu_proof_consistency_text(m, (const unsigned char (*)[32])out->path,
			out->n, out->checkpoint)) == NULL)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	if (t)
		cu_index_abort(t);
	if (error < 0)
		cu_proof_clear(out);
	return error;
}

