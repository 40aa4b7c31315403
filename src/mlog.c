/* mlog.c — the append-only Merkle log over a node store (see custos/mlog.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "custos/error.h"
#include "custos/mlog.h"
#include "custos/util.h"

/*
 * Every size handled by the proof functions stays below 2^63: a tree of
 * fewer than 2^63 leaves is at most 63 levels deep, so an inclusion proof
 * has at most 63 hashes and a consistency proof at most 64, which is what
 * CU_MLOG_MAX_PROOF promises the caller's buffer can hold.
 */
#define MLOG_SIZE_LIMIT (UINT64_C(1) << 63)

/*
 * SHA-256(0x00 ‖ data), streamed so that a large document is never copied
 * to put the prefix in front of it.
 */
int
cu_mlog_leaf_hash(unsigned char out[CU_MLOG_HASH], const void *data, size_t len)
{
	static const unsigned char prefix = 0x00;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL &&
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		EVP_DigestUpdate(ctx, &prefix, 1) &&
		(len == 0 || EVP_DigestUpdate(ctx, data, len)) &&
		EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : cu_error_set(CU_ERROR, "SHA-256 failed");
}

/*
 * SHA-256(0x01 ‖ left ‖ right).  The input is assembled on the stack first,
 * so out may be the same buffer as left or right.
 */
int
cu_mlog_node_hash(unsigned char out[CU_MLOG_HASH], const unsigned char left[CU_MLOG_HASH],
	const unsigned char right[CU_MLOG_HASH])
{
	unsigned char buf[1 + 2 * CU_MLOG_HASH];

	buf[0] = 0x01;
	memcpy(buf + 1, left, CU_MLOG_HASH);
	memcpy(buf + 1 + CU_MLOG_HASH, right, CU_MLOG_HASH);
	return cu_sha256(out, buf, sizeof(buf));
}

/*
 * Reads node (level, index) from the store.  A missing node means the store
 * does not hold the log the caller believes it does, so the message names
 * the node; other store errors keep their own message, prefixed with it.
 */
static int
node_get(const cu_mlog_store *s, unsigned level, uint64_t index,
	unsigned char out[CU_MLOG_HASH])
{
	int error = s->get(s->ctx, level, index, out);

	if (error == 0)
		return 0;
	if (error == CU_ENOTFOUND)
		return cu_error_set(CU_ENOTFOUND, "log node (%u, %llu) missing",
			level, (unsigned long long)index);
	if (error > 0)   /* outside the store contract: never report success */
		return cu_error_set(CU_ERROR, "log node (%u, %llu): store returned %d",
			level, (unsigned long long)index, error);
	return cu_error_prefix(error, "reading log node (%u, %llu)",
		level, (unsigned long long)index);
}

/* Writes node (level, index) to the store, naming the node on failure. */
static int
node_put(const cu_mlog_store *s, unsigned level, uint64_t index,
	const unsigned char hash[CU_MLOG_HASH])
{
	int error = s->put(s->ctx, level, index, hash);

	if (error == 0)
		return 0;
	if (error > 0)
		return cu_error_set(CU_ERROR, "log node (%u, %llu): store returned %d",
			level, (unsigned long long)index, error);
	return cu_error_prefix(error, "writing log node (%u, %llu)",
		level, (unsigned long long)index);
}

/* The largest power of two strictly below n (n >= 2): where RFC 6962 splits. */
static uint64_t
split_point(uint64_t n)
{
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/*
 * MTH of the leaves [a, b), a < b, for a range that the RFC 6962 recursion
 * produces (the whole tree, or either half of such a range).  Such an `a`
 * is a multiple of the smallest power of two >= b - a, so the range is a
 * run of perfect subtrees, one per set bit of b - a, largest first, each of
 * them a single stored node.  MTH splits off the largest one and recurses
 * on the rest, which is the same as folding the subtrees from the right:
 * at most 64 reads and 63 hashes, no recursion.
 */
static int
range_root(unsigned char out[CU_MLOG_HASH], const cu_mlog_store *s, uint64_t a, uint64_t b)
{
	unsigned char piece[CU_MLOG_HASH];
	uint64_t rest = b - a, end = b;
	int error, first = 1;

	while (rest != 0) {
		unsigned level = (unsigned)__builtin_ctzll(rest);
		uint64_t width = UINT64_C(1) << level;

		end -= width;
		if (first) {
			if ((error = node_get(s, level, end >> level, out)) < 0)
				return error;
			first = 0;
		} else {
			if ((error = node_get(s, level, end >> level, piece)) < 0)
				return error;
			if ((error = cu_mlog_node_hash(out, piece, out)) < 0)
				return error;
		}
		rest -= width;
	}
	return 0;
}

/*
 * Stores leaf `size`, then every perfect subtree it completes: while the
 * new node is a right child (odd index), its left sibling is already stored
 * and their parent is complete.  Re-running an append that failed halfway
 * with the same leaf rewrites the same hashes, so a retry is safe.
 */
int
cu_mlog_append(const cu_mlog_store *s, uint64_t size, const unsigned char leaf[CU_MLOG_HASH])
{
	unsigned char h[CU_MLOG_HASH], left[CU_MLOG_HASH];
	uint64_t i = size;
	unsigned k = 0;
	int error;

	if (size >= MLOG_SIZE_LIMIT - 1)
		return cu_error_set(CU_ELIMIT, "log is full at %llu leaves",
			(unsigned long long)size);
	if ((error = node_put(s, 0, size, leaf)) < 0)
		return error;
	memcpy(h, leaf, CU_MLOG_HASH);
	while (i & 1) {
		if ((error = node_get(s, k, i - 1, left)) < 0)
			return error;
		if ((error = cu_mlog_node_hash(h, left, h)) < 0)
			return error;
		i >>= 1;
		k++;
		if ((error = node_put(s, k, i, h)) < 0)
			return error;
	}
	return 0;
}

/* MTH of the first `size` leaves; the empty tree's root is SHA-256(""). */
int
cu_mlog_root(unsigned char out[CU_MLOG_HASH], const cu_mlog_store *s, uint64_t size)
{
	if (size == 0)
		return cu_sha256(out, "", 0);
	return range_root(out, s, 0, size);
}

/*
 * RFC 6962 §2.1.1 PATH(index, D[0:size]), without recursion: walk down from
 * the root towards the leaf, noting at each split the sibling subtree (the
 * half that does not hold the leaf).  PATH lists those siblings from the
 * leaf upwards, so they are hashed into the proof in reverse order.
 */
int
cu_mlog_inclusion(unsigned char proof[][CU_MLOG_HASH], size_t *n, const cu_mlog_store *s,
	uint64_t index, uint64_t size)
{
	uint64_t lo[CU_MLOG_MAX_PROOF], hi[CU_MLOG_MAX_PROOF];
	uint64_t a = 0, b = size;
	size_t depth = 0;
	int error;

	*n = 0;
	if (index >= size)
		return cu_error_set(CU_EINVALID, "leaf %llu is not in a log of %llu leaves",
			(unsigned long long)index, (unsigned long long)size);
	if (size >= MLOG_SIZE_LIMIT)
		return cu_error_set(CU_ELIMIT, "log size %llu is beyond the proof limit",
			(unsigned long long)size);
	while (b - a > 1) {
		uint64_t k = split_point(b - a);

		if (index < a + k) {
			lo[depth] = a + k;
			hi[depth] = b;
			b = a + k;
		} else {
			lo[depth] = a;
			hi[depth] = a + k;
			a += k;
		}
		depth++;
	}
	for (size_t j = 0; j < depth; j++)
		if ((error = range_root(proof[j], s, lo[depth - 1 - j], hi[depth - 1 - j])) < 0)
			return error;
	*n = depth;
	return 0;
}

/*
 * RFC 6962 §2.1.2 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true), without
 * recursion.  Walking down: while the old tree does not fill the current
 * range, split it; if the old tree fits in the left half, the right half is
 * a proof element and the walk goes left; otherwise the left half (wholly
 * old) is an element, the walk goes right and the old tree's root is no
 * longer a node the verifier already knows.  Where the old tree ends up
 * filling the range, that range's hash is the first element unless the
 * verifier knows it (it is the old root itself).  SUBPROOF appends on the
 * way back up, so the noted siblings follow in reverse order.
 */
int
cu_mlog_consistency(unsigned char proof[][CU_MLOG_HASH], size_t *count,
	const cu_mlog_store *s, uint64_t m, uint64_t n)
{
	uint64_t lo[CU_MLOG_MAX_PROOF], hi[CU_MLOG_MAX_PROOF];
	uint64_t a = 0, b = n, old = m;   /* old: leaves of the old tree within [a, b) */
	size_t depth = 0, out = 0;
	int known = 1, error;

	*count = 0;
	if (m == 0 || m > n)
		return cu_error_set(CU_EINVALID, "no consistency proof from %llu to %llu leaves",
			(unsigned long long)m, (unsigned long long)n);
	if (n >= MLOG_SIZE_LIMIT)
		return cu_error_set(CU_ELIMIT, "log size %llu is beyond the proof limit",
			(unsigned long long)n);
	while (old != b - a) {
		uint64_t k = split_point(b - a);

		if (old <= k) {
			lo[depth] = a + k;
			hi[depth] = b;
			b = a + k;
		} else {
			lo[depth] = a;
			hi[depth] = a + k;
			old -= k;
			a += k;
			known = 0;
		}
		depth++;
	}
	if (!known) {
		if ((error = range_root(proof[out], s, a, b)) < 0)
			return error;
		out++;
	}
	for (size_t j = 0; j < depth; j++, out++)
		if ((error = range_root(proof[out], s, lo[depth - 1 - j], hi[depth - 1 - j])) < 0)
			return error;
	*count = out;
	return 0;
}

/*
 * RFC 9162 §2.1.3.2, step by step.  fn is the leaf's position and sn the
 * last position at the current level; a proof hash goes on the left when
 * the running node is a right child (fn odd) or the last node of a level
 * that has no right sibling (fn == sn), which is then promoted unchanged
 * through the levels where it is a lone left child.  A proof that runs out
 * before sn reaches 0, or goes on after it, does not describe this tree.
 */
int
cu_mlog_verify_inclusion(const unsigned char leaf[CU_MLOG_HASH], uint64_t index,
	uint64_t size, const unsigned char proof[][CU_MLOG_HASH], size_t n,
	const unsigned char root[CU_MLOG_HASH])
{
	unsigned char r[CU_MLOG_HASH];
	int error;
	uint64_t fn = index, sn;

	if (index >= size)
		return cu_error_set(CU_EINVALID, "leaf %llu is not in a log of %llu leaves",
			(unsigned long long)index, (unsigned long long)size);
	sn = size - 1;
	memcpy(r, leaf, CU_MLOG_HASH);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return cu_error_set(CU_EINVALID,
				"inclusion proof for leaf %llu of %llu is too long (%zu hashes)",
				(unsigned long long)index, (unsigned long long)size, n);
		if ((fn & 1) || fn == sn) {
			if ((error = cu_mlog_node_hash(r, proof[i], r)) < 0)
				return error;
			while (fn != 0 && !(fn & 1)) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			if ((error = cu_mlog_node_hash(r, r, proof[i])) < 0)
				return error;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return cu_error_set(CU_EINVALID,
			"inclusion proof for leaf %llu of %llu is too short (%zu hashes)",
			(unsigned long long)index, (unsigned long long)size, n);
	if (memcmp(r, root, CU_MLOG_HASH) != 0)
		return cu_error_set(CU_EINVALID,
			"inclusion proof for leaf %llu of %llu does not lead to the root",
			(unsigned long long)index, (unsigned long long)size);
	return 0;
}

/*
 * RFC 9162 §2.1.4.2, step by step, computing the old root (fr) and the new
 * root (sr) from the same proof.  Equal sizes need an empty proof and equal
 * roots.  An empty old tree is refused like the RFC does (0 < first): the
 * proof functions never produce such a proof.  When m is a power of two the
 * old root is itself a node of the new tree, which RFC 6962 leaves out of
 * the proof, so it seeds both running hashes instead of proof[0].
 */
int
cu_mlog_verify_consistency(uint64_t m, uint64_t n, const unsigned char root_m[CU_MLOG_HASH],
	const unsigned char root_n[CU_MLOG_HASH], const unsigned char proof[][CU_MLOG_HASH],
	size_t count)
{
	unsigned char fr[CU_MLOG_HASH], sr[CU_MLOG_HASH];
	int error;
	uint64_t fn, sn;
	size_t i;

	if (m == 0 || m > n)
		return cu_error_set(CU_EINVALID, "no consistency proof from %llu to %llu leaves",
			(unsigned long long)m, (unsigned long long)n);
	if (m == n) {
		if (count != 0)
			return cu_error_set(CU_EINVALID,
				"consistency proof between equal sizes must be empty");
		if (memcmp(root_m, root_n, CU_MLOG_HASH) != 0)
			return cu_error_set(CU_EINVALID,
				"two different roots for a log of %llu leaves",
				(unsigned long long)m);
		return 0;
	}
	if (count == 0)
		return cu_error_set(CU_EINVALID, "empty consistency proof from %llu to %llu leaves",
			(unsigned long long)m, (unsigned long long)n);
	if ((m & (m - 1)) == 0) {
		memcpy(fr, root_m, CU_MLOG_HASH);
		i = 0;
	} else {
		memcpy(fr, proof[0], CU_MLOG_HASH);
		i = 1;
	}
	memcpy(sr, fr, CU_MLOG_HASH);
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < count; i++) {
		if (sn == 0)
			return cu_error_set(CU_EINVALID,
				"consistency proof from %llu to %llu is too long (%zu hashes)",
				(unsigned long long)m, (unsigned long long)n, count);
		if ((fn & 1) || fn == sn) {
			if ((error = cu_mlog_node_hash(fr, proof[i], fr)) < 0)
				return error;
			if ((error = cu_mlog_node_hash(sr, proof[i], sr)) < 0)
				return error;
			while (fn != 0 && !(fn & 1)) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			if ((error = cu_mlog_node_hash(sr, sr, proof[i])) < 0)
				return error;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return cu_error_set(CU_EINVALID,
			"consistency proof from %llu to %llu is too short (%zu hashes)",
			(unsigned long long)m, (unsigned long long)n, count);
	if (memcmp(fr, root_m, CU_MLOG_HASH) != 0)
		return cu_error_set(CU_EINVALID,
			"consistency proof does not lead to the root of %llu leaves",
			(unsigned long long)m);
	if (memcmp(sr, root_n, CU_MLOG_HASH) != 0)
		return cu_error_set(CU_EINVALID,
			"consistency proof does not lead to the root of %llu leaves",
			(unsigned long long)n);
	return 0;
}
