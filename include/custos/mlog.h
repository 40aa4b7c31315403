/*
 * mlog.h — the append-only Merkle log (RFC 6962 / RFC 9162 hashing).
 *
 * Every record and event of the archive is a leaf, in the order it was
 * archived.  Leaf hash = SHA-256(0x00 ‖ canonical document); node hash =
 * SHA-256(0x01 ‖ left ‖ right); the empty tree's root is SHA-256("").
 *
 * The module keeps no state of its own: it reads and writes the hashes of
 * perfect subtrees through a node store.  Node (level k, index i) is the
 * root of the 2^k leaves [i·2^k, (i+1)·2^k); level 0 holds the leaf hashes.
 * Appending leaf n stores (0, n) and every parent that leaf completes, so the
 * store holds about 2n hashes and any root or proof needs O(log² n) reads.
 */
#ifndef CUSTOS_MLOG_H
#define CUSTOS_MLOG_H

#include <stddef.h>
#include <stdint.h>

#define CU_MLOG_HASH 32
#define CU_MLOG_MAX_PROOF 64   /* hashes in any proof for sizes below 2^63 */

typedef struct cu_mlog_store {
	/* Reads node (level, index) into out: 0, CU_ENOTFOUND, or an error. */
	int (*get)(void *ctx, unsigned level, uint64_t index, unsigned char out[CU_MLOG_HASH]);
	/* Writes node (level, index): 0 or an error. */
	int (*put)(void *ctx, unsigned level, uint64_t index,
		const unsigned char hash[CU_MLOG_HASH]);
	void *ctx;
} cu_mlog_store;

/* SHA-256(0x00 ‖ data).  0, or CU_ERROR if OpenSSL fails. */
int cu_mlog_leaf_hash(unsigned char out[CU_MLOG_HASH], const void *data, size_t len);

/* SHA-256(0x01 ‖ left ‖ right); out may be left or right.  0 or CU_ERROR. */
int cu_mlog_node_hash(unsigned char out[CU_MLOG_HASH], const unsigned char left[CU_MLOG_HASH],
	const unsigned char right[CU_MLOG_HASH]);

/* Appends a leaf to a log of `size` leaves (it becomes leaf `size`) and
 * stores the parents it completes. */
int cu_mlog_append(const cu_mlog_store *s, uint64_t size, const unsigned char leaf[CU_MLOG_HASH]);

/* The root of the first `size` leaves (SHA-256("") for 0). */
int cu_mlog_root(unsigned char out[CU_MLOG_HASH], const cu_mlog_store *s, uint64_t size);

/* The inclusion proof (RFC 6962 §2.1.1 PATH) of leaf `index` in the tree of
 * the first `size` leaves: *n hashes into proof (room for CU_MLOG_MAX_PROOF).
 * CU_EINVALID if index >= size. */
int cu_mlog_inclusion(unsigned char proof[][CU_MLOG_HASH], size_t *n, const cu_mlog_store *s,
	uint64_t index, uint64_t size);

/* The consistency proof (RFC 6962 §2.1.2 PROOF) between the trees of the
 * first m and the first n leaves, 0 < m <= n: *count hashes into proof.
 * (m == n gives an empty proof.)  CU_EINVALID otherwise. */
int cu_mlog_consistency(unsigned char proof[][CU_MLOG_HASH], size_t *count,
	const cu_mlog_store *s, uint64_t m, uint64_t n);

/* Checks an inclusion proof (RFC 9162 §2.1.3.2): 0 if leaf is at index in
 * the tree of `size` leaves whose root is root, CU_EINVALID otherwise. */
int cu_mlog_verify_inclusion(const unsigned char leaf[CU_MLOG_HASH], uint64_t index,
	uint64_t size, const unsigned char proof[][CU_MLOG_HASH], size_t n,
	const unsigned char root[CU_MLOG_HASH]);

/* Checks a consistency proof (RFC 9162 §2.1.4.2) between (m, root_m) and
 * (n, root_n): 0 if consistent, CU_EINVALID otherwise. */
int cu_mlog_verify_consistency(uint64_t m, uint64_t n, const unsigned char root_m[CU_MLOG_HASH],
	const unsigned char root_n[CU_MLOG_HASH], const unsigned char proof[][CU_MLOG_HASH],
	size_t count);

#endif
