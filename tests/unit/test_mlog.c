/* test_mlog.c — the Merkle log against a naive RFC 6962 reference, the
 * Certificate Transparency test vectors, failing stores and a timing run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "custos/error.h"
#include "custos/mlog.h"
#include "custos/util.h"

#define HL CU_MLOG_HASH
#define MAX_LEAVES 130     /* roots are checked for every size up to this */
#define PROOF_LEAVES 70    /* proofs are checked for every size up to this */

/* ---- an in-memory node store, one growable array per level ------------- */

struct mem_store {
	unsigned char *nodes[64];
	uint64_t len[64], cap[64];
	uint64_t visible;       /* nodes covering a leaf >= visible read as missing */
	int missing;            /* node (miss_level, miss_index) reads as missing */
	unsigned miss_level;
	uint64_t miss_index;
	int get_error;          /* returned by every get when nonzero */
	int put_error;          /* returned by puts at level >= put_min_level */
	unsigned put_min_level;
	uint64_t gets, puts;
};

static void
mem_init(struct mem_store *m)
{
	memset(m, 0, sizeof(*m));
	m->visible = UINT64_MAX;
}

static void
mem_free(struct mem_store *m)
{
	for (int k = 0; k < 64; k++)
		free(m->nodes[k]);
	memset(m, 0, sizeof(*m));
}

static int
mem_get(void *ctx, unsigned level, uint64_t index, unsigned char out[HL])
{
	struct mem_store *m = ctx;

	m->gets++;
	if (m->get_error != 0) {
		if (m->get_error < 0)
			cu_error_set(m->get_error, "disk on fire");
		return m->get_error;
	}
	if (level >= 64 || index >= m->len[level])
		return CU_ENOTFOUND;
	if (m->missing && level == m->miss_level && index == m->miss_index)
		return CU_ENOTFOUND;
	/* the nodes a log of `visible` leaves did not have yet */
	if (((index + 1) << level) > m->visible)
		return CU_ENOTFOUND;
	memcpy(out, m->nodes[level] + index * HL, HL);
	return 0;
}

static int
mem_put(void *ctx, unsigned level, uint64_t index, const unsigned char hash[HL])
{
	struct mem_store *m = ctx;

	m->puts++;
	if (m->put_error != 0 && level >= m->put_min_level)
		return cu_error_set(m->put_error, "disk full");
	/* appending fills each level left to right: anything else is a bug */
	if (level >= 64 || index > m->len[level])
		return cu_error_set(CU_EINVALID, "put (%u, %llu) out of order",
			level, (unsigned long long)index);
	if (index == m->len[level]) {
		if (m->len[level] == m->cap[level]) {
			uint64_t cap = m->cap[level] ? 2 * m->cap[level] : 64;
			unsigned char *p = realloc(m->nodes[level], cap * HL);
			if (p == NULL)
				return cu_error_set(CU_ERROR, "out of memory");
			m->nodes[level] = p;
			m->cap[level] = cap;
		}
		m->len[level]++;
	}
	memcpy(m->nodes[level] + index * HL, hash, HL);
	return 0;
}

static cu_mlog_store
store_of(struct mem_store *m)
{
	cu_mlog_store s = { mem_get, mem_put, m };
	return s;
}

/* ---- a reference straight from the RFC 6962 definitions ----------------- */

static void
ref_digest(unsigned char out[HL], const void *data, size_t len)
{
	assert_int_equal(EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL), 1);
}

static void
ref_leaf(unsigned char out[HL], const void *data, size_t len)
{
	unsigned char *buf = malloc(len + 1);

	assert_non_null(buf);
	buf[0] = 0x00;
	if (len > 0)
		memcpy(buf + 1, data, len);
	ref_digest(out, buf, len + 1);
	free(buf);
}

static void
ref_node(unsigned char out[HL], const unsigned char l[HL], const unsigned char r[HL])
{
	unsigned char buf[1 + 2 * HL];

	buf[0] = 0x01;
	memcpy(buf + 1, l, HL);
	memcpy(buf + 1 + HL, r, HL);
	ref_digest(out, buf, sizeof(buf));
}

/* The largest power of two below n (n >= 2), by counting up. */
static uint64_t
ref_split(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

/* MTH(D[a:b]) over the leaf hashes. */
static void
ref_mth(unsigned char out[HL], unsigned char leaves[][HL], uint64_t a, uint64_t b)
{
	unsigned char l[HL], r[HL];
	uint64_t k;

	if (b == a) {
		ref_digest(out, "", 0);
		return;
	}
	if (b - a == 1) {
		memcpy(out, leaves[a], HL);
		return;
	}
	k = ref_split(b - a);
	ref_mth(l, leaves, a, a + k);
	ref_mth(r, leaves, a + k, b);
	ref_node(out, l, r);
}

/* PATH(m, D[a:b]) appended to out; dirs gets 'L' or 'R' for where each
 * sibling sits.  leaves may be NULL to get the shape only. */
static void
ref_path(unsigned char out[][HL], char *dirs, size_t *len, unsigned char leaves[][HL],
	uint64_t m, uint64_t a, uint64_t b)
{
	uint64_t k;

	if (b - a <= 1)
		return;
	k = ref_split(b - a);
	if (m < k) {
		ref_path(out, dirs, len, leaves, m, a, a + k);
		if (leaves != NULL)
			ref_mth(out[*len], leaves, a + k, b);
		dirs[(*len)++] = 'R';
	} else {
		ref_path(out, dirs, len, leaves, m - k, a + k, b);
		if (leaves != NULL)
			ref_mth(out[*len], leaves, a, a + k);
		dirs[(*len)++] = 'L';
	}
}

/* SUBPROOF(m, D[a:b], complete) appended to out. */
static void
ref_subproof(unsigned char out[][HL], size_t *len, unsigned char leaves[][HL],
	uint64_t m, uint64_t a, uint64_t b, int complete)
{
	uint64_t k;

	if (m == b - a) {
		if (!complete)
			ref_mth(out[(*len)++], leaves, a, b);
		return;
	}
	k = ref_split(b - a);
	if (m <= k) {
		ref_subproof(out, len, leaves, m, a, a + k, complete);
		ref_mth(out[(*len)++], leaves, a + k, b);
	} else {
		ref_subproof(out, len, leaves, m - k, a + k, b, 0);
		ref_mth(out[(*len)++], leaves, a, a + k);
	}
}

/* ---- shared fixtures ----------------------------------------------------- */

static unsigned char leaves[MAX_LEAVES][HL];
static unsigned char roots[MAX_LEAVES + 1][HL];   /* reference MTH per size */

static int
setup(void **state)
{
	(void)state;
	for (unsigned i = 0; i < MAX_LEAVES; i++) {
		char data[32];
		int len = snprintf(data, sizeof(data), "record %u", i);
		ref_leaf(leaves[i], data, (size_t)len);
	}
	for (unsigned n = 0; n <= MAX_LEAVES; n++)
		ref_mth(roots[n], leaves, 0, n);
	return 0;
}

static void
build(struct mem_store *m, unsigned count)
{
	cu_mlog_store s = store_of(m);

	mem_init(m);
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(cu_mlog_append(&s, i, leaves[i]), 0);
}

static void
flip(unsigned char h[HL], unsigned bit)
{
	h[(bit / 8) % HL] ^= (unsigned char)(1u << (bit % 8));
}

static void
unhex(unsigned char out[HL], const char *hex)
{
	assert_int_equal(cu_unhex(out, HL, hex), 0);
}

static void
assert_hash_hex(const unsigned char h[HL], const char *hex)
{
	char got[2 * HL + 1];

	cu_hex(got, h, HL);
	assert_string_equal(got, hex);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_hashes(void **state)
{
	static const char fox[] = "the quick brown fox";
	unsigned char got[HL], want[HL], l[HL], r[HL], a[HL];
	size_t big_len = (3u << 20) + 7;   /* a document-sized input, odd length */
	unsigned char *big = malloc(big_len);

	(void)state;
	assert_non_null(big);
	/* the leaf hash of the empty string is the CT one-leaf root */
	cu_mlog_leaf_hash(got, NULL, 0);
	assert_hash_hex(got, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	cu_mlog_leaf_hash(got, fox, sizeof(fox) - 1);
	ref_leaf(want, fox, sizeof(fox) - 1);
	assert_memory_equal(got, want, HL);

	for (size_t i = 0; i < big_len; i++)
		big[i] = (unsigned char)(i * 131 + (i >> 9));
	cu_mlog_leaf_hash(got, big, big_len);
	ref_leaf(want, big, big_len);
	assert_memory_equal(got, want, HL);
	free(big);

	/* node hash, also with the output on top of either input */
	memcpy(l, leaves[0], HL);
	memcpy(r, leaves[1], HL);
	ref_node(want, l, r);
	cu_mlog_node_hash(got, l, r);
	assert_memory_equal(got, want, HL);
	memcpy(a, l, HL);
	cu_mlog_node_hash(a, a, r);
	assert_memory_equal(a, want, HL);
	memcpy(a, r, HL);
	cu_mlog_node_hash(a, l, a);
	assert_memory_equal(a, want, HL);
	/* order matters: H(l, r) != H(r, l) */
	cu_mlog_node_hash(got, r, l);
	assert_memory_not_equal(got, want, HL);
}

static void
test_root_every_size(void **state)
{
	struct mem_store m;
	cu_mlog_store s = store_of(&m);
	unsigned char got[HL];

	(void)state;
	mem_init(&m);
	/* the empty root reads nothing: a store that fails every read is fine */
	m.get_error = CU_ERROR;
	assert_int_equal(cu_mlog_root(got, &s, 0), 0);
	assert_hash_hex(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_memory_equal(got, roots[0], HL);
	assert_int_equal(m.gets, 0);
	m.get_error = 0;

	for (unsigned n = 0; n <= MAX_LEAVES; n++) {
		assert_int_equal(cu_mlog_root(got, &s, n), 0);
		assert_memory_equal(got, roots[n], HL);
		if (n < MAX_LEAVES)
			assert_int_equal(cu_mlog_append(&s, n, leaves[n]), 0);
	}
	/* the leaves plus every completed parent, nothing more: 2n - popcount(n) */
	assert_int_equal(m.puts, 2 * MAX_LEAVES - __builtin_popcount(MAX_LEAVES));
	/* an older root needs only the nodes that existed at that size */
	for (unsigned n = 0; n <= MAX_LEAVES; n++) {
		m.visible = n;
		assert_int_equal(cu_mlog_root(got, &s, n), 0);
		assert_memory_equal(got, roots[n], HL);
	}
	/* a root beyond the log names the node it lacks */
	m.visible = UINT64_MAX;
	assert_int_equal(cu_mlog_root(got, &s, MAX_LEAVES + 1), CU_ENOTFOUND);
	assert_string_equal(cu_error_last(), "log node (0, 130) missing");
	mem_free(&m);
}

static void
test_inclusion_every_size(void **state)
{
	struct mem_store m;
	cu_mlog_store s;
	unsigned char proof[CU_MLOG_MAX_PROOF][HL], want[CU_MLOG_MAX_PROOF][HL];
	unsigned char bad[CU_MLOG_MAX_PROOF + 2][HL], leaf[HL], root[HL];
	char dirs[CU_MLOG_MAX_PROOF], dirs2[CU_MLOG_MAX_PROOF];
	unsigned long wrong_size_accepted = 0, wrong_size_checked = 0;

	(void)state;
	build(&m, PROOF_LEAVES);
	s = store_of(&m);
	for (uint64_t n = 1; n <= PROOF_LEAVES; n++) {
		m.visible = n;
		for (uint64_t i = 0; i < n; i++) {
			size_t len = 99, wlen = 0;

			assert_int_equal(cu_mlog_inclusion(proof, &len, &s, i, n), 0);
			ref_path(want, dirs, &wlen, leaves, i, 0, n);
			assert_int_equal(len, wlen);
			if (len > 0)
				assert_memory_equal(proof, want, len * HL);
			assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, n,
				proof, len, roots[n]), 0);

			/* any changed bit of the proof, the leaf or the root */
			for (size_t j = 0; j < len; j++) {
				memcpy(bad, proof, len * HL);
				flip(bad[j], (unsigned)(j * 37 + i));
				assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, n,
					bad, len, roots[n]), CU_EINVALID);
			}
			memcpy(leaf, leaves[i], HL);
			flip(leaf, (unsigned)n);
			assert_int_equal(cu_mlog_verify_inclusion(leaf, i, n,
				proof, len, roots[n]), CU_EINVALID);
			memcpy(root, roots[n], HL);
			flip(root, (unsigned)i);
			assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, n,
				proof, len, root), CU_EINVALID);

			/* every other index, and indexes outside the tree */
			for (uint64_t j = 0; j < n; j++)
				if (j != i)
					assert_int_equal(cu_mlog_verify_inclusion(leaves[i], j, n,
						proof, len, roots[n]),
						CU_EINVALID);
			assert_int_equal(cu_mlog_verify_inclusion(leaves[i], n, n,
				proof, len, roots[n]), CU_EINVALID);
			assert_int_equal(cu_mlog_verify_inclusion(leaves[i], UINT64_MAX, n,
				proof, len, roots[n]), CU_EINVALID);

			/*
			 * Other sizes.  The check binds the size only through the
			 * shape of the path: a size whose path for this index has the
			 * same length and the same left/right sides gives the same
			 * root, so it must be accepted (the root itself pins the
			 * size); any other size must be refused.
			 */
			for (uint64_t w = 0; w <= 2 * n + 2; w++) {
				size_t wl = 0;
				int expect;

				if (w == n)
					continue;
				if (w > i)
					ref_path(NULL, dirs2, &wl, NULL, i, 0, w);
				expect = w > i && wl == len && memcmp(dirs, dirs2, len) == 0
					? 0 : CU_EINVALID;
				assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, w,
					proof, len, roots[n]), expect);
				wrong_size_checked++;
				wrong_size_accepted += expect == 0;
			}
			assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, UINT64_MAX,
				proof, len, roots[n]), CU_EINVALID);

			/* truncated at either end, extended: the length alone gives
			 * these away, before any root is compared */
			if (len > 0) {
				assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, n,
					proof, len - 1, roots[n]),
					CU_EINVALID);
				assert_non_null(strstr(cu_error_last(), "too short"));
				assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, n,
					proof + 1, len - 1, roots[n]),
					CU_EINVALID);
			}
			memcpy(bad, proof, len * HL);
			memset(bad[len], 0, HL);
			memcpy(bad[len + 1], roots[n], HL);
			assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, n,
				bad, len + 1, roots[n]), CU_EINVALID);
			assert_non_null(strstr(cu_error_last(), "too long"));
			assert_int_equal(cu_mlog_verify_inclusion(leaves[i], i, n,
				bad, len + 2, roots[n]), CU_EINVALID);
			assert_int_equal(cu_error_code(), CU_EINVALID);
		}
		/* no proof for a leaf the tree does not have */
		{
			size_t len = 99;
			assert_int_equal(cu_mlog_inclusion(proof, &len, &s, n, n), CU_EINVALID);
			assert_int_equal(len, 0);
		}
	}
	{
		size_t len = 99;
		assert_int_equal(cu_mlog_inclusion(proof, &len, &s, 0, 0), CU_EINVALID);
		assert_int_equal(len, 0);
	}
	print_message("inclusion: %lu of %lu wrong sizes share the path shape and are "
		"accepted, as RFC 9162 allows\n", wrong_size_accepted, wrong_size_checked);
	assert_true(wrong_size_checked > 0);
	mem_free(&m);
}

static void
test_consistency_every_pair(void **state)
{
	struct mem_store m;
	cu_mlog_store s;
	unsigned char proof[CU_MLOG_MAX_PROOF][HL], want[CU_MLOG_MAX_PROOF][HL];
	unsigned char bad[CU_MLOG_MAX_PROOF + 1][HL], root[HL];

	(void)state;
	build(&m, PROOF_LEAVES);
	s = store_of(&m);
	for (uint64_t n = 1; n <= PROOF_LEAVES; n++) {
		m.visible = n;
		for (uint64_t k = 1; k <= n; k++) {
			size_t count = 99, wlen = 0;

			assert_int_equal(cu_mlog_consistency(proof, &count, &s, k, n), 0);
			ref_subproof(want, &wlen, leaves, k, 0, n, 1);
			assert_int_equal(count, wlen);
			if (k == n)
				assert_int_equal(count, 0);
			if (count > 0)
				assert_memory_equal(proof, want, count * HL);
			assert_int_equal(cu_mlog_verify_consistency(k, n, roots[k], roots[n],
				proof, count), 0);

			for (size_t j = 0; j < count; j++) {
				memcpy(bad, proof, count * HL);
				flip(bad[j], (unsigned)(j * 29 + k));
				assert_int_equal(cu_mlog_verify_consistency(k, n, roots[k], roots[n],
					bad, count), CU_EINVALID);
			}
			memcpy(root, roots[k], HL);
			flip(root, (unsigned)n);
			assert_int_equal(cu_mlog_verify_consistency(k, n, root, roots[n],
				proof, count), CU_EINVALID);
			memcpy(root, roots[n], HL);
			flip(root, (unsigned)k);
			assert_int_equal(cu_mlog_verify_consistency(k, n, roots[k], root,
				proof, count), CU_EINVALID);
			if (k < n) {
				/* swapped sizes, with the roots swapped or not */
				assert_int_equal(cu_mlog_verify_consistency(n, k, roots[n], roots[k],
					proof, count), CU_EINVALID);
				assert_int_equal(cu_mlog_verify_consistency(n, k, roots[k], roots[n],
					proof, count), CU_EINVALID);
				/* a different tree's roots */
				assert_int_equal(cu_mlog_verify_consistency(k, n, roots[n], roots[n],
					proof, count), CU_EINVALID);
			}
			if (count > 0) {
				/* as for inclusion, the length alone gives these away */
				assert_int_equal(cu_mlog_verify_consistency(k, n, roots[k], roots[n],
					proof, count - 1), CU_EINVALID);
				assert_non_null(strstr(cu_error_last(),
					count == 1 ? "empty consistency proof" : "too short"));
				assert_int_equal(cu_mlog_verify_consistency(k, n, roots[k], roots[n],
					proof + 1, count - 1), CU_EINVALID);
			}
			memcpy(bad, proof, count * HL);
			memset(bad[count], 0, HL);
			assert_int_equal(cu_mlog_verify_consistency(k, n, roots[k], roots[n],
				bad, count + 1), CU_EINVALID);
			assert_non_null(strstr(cu_error_last(),
				k == n ? "must be empty" : "too long"));
			/* nothing is consistent with an empty tree by this check */
			assert_int_equal(cu_mlog_verify_consistency(0, n, roots[0], roots[n],
				proof, count), CU_EINVALID);
			assert_int_equal(cu_error_code(), CU_EINVALID);
		}
		{
			size_t count = 99;
			assert_int_equal(cu_mlog_consistency(proof, &count, &s, 0, n), CU_EINVALID);
			assert_int_equal(count, 0);
			count = 99;
			assert_int_equal(cu_mlog_consistency(proof, &count, &s, n + 1, n),
				CU_EINVALID);
			assert_int_equal(count, 0);
		}
	}
	/* equal sizes: empty proof, equal roots */
	assert_int_equal(cu_mlog_verify_consistency(5, 5, roots[5], roots[5], NULL, 0), 0);
	assert_int_equal(cu_mlog_verify_consistency(5, 5, roots[5], roots[6], NULL, 0),
		CU_EINVALID);
	assert_int_equal(cu_mlog_verify_consistency(0, 0, roots[0], roots[0], NULL, 0),
		CU_EINVALID);
	/* an empty proof never proves two different sizes, power of two or not */
	assert_int_equal(cu_mlog_verify_consistency(4, 8, roots[4], roots[8], NULL, 0),
		CU_EINVALID);
	assert_string_equal(cu_error_last(), "empty consistency proof from 4 to 8 leaves");
	assert_int_equal(cu_mlog_verify_consistency(3, 8, roots[3], roots[8], NULL, 0),
		CU_EINVALID);
	assert_string_equal(cu_error_last(), "empty consistency proof from 3 to 8 leaves");
	mem_free(&m);
}

/* The Certificate Transparency "merkle tree" test data (RFC 6962 hashing). */
static void
test_ct_vectors(void **state)
{
	static const char *const data[8] = {
		"", "\x00", "\x10", "\x20\x21", "\x30\x31", "\x40\x41\x42\x43",
		"\x50\x51\x52\x53\x54\x55\x56\x57",
		"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
	};
	static const size_t data_len[8] = { 0, 1, 1, 2, 2, 4, 8, 16 };
	static const char *const root_hex[9] = {
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	};
	static const struct {
		uint64_t index, size;
		size_t n;
		const char *hex[3];
	} incl[] = {
		{ 0, 1, 0, { NULL } },
		{ 0, 8, 3, {
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
		{ 5, 8, 3, {
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
		{ 2, 3, 1, {
			"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
		{ 1, 5, 3, {
			"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	};
	static const struct {
		uint64_t m, n;
		size_t count;
		const char *hex[3];
	} cons[] = {
		{ 1, 1, 0, { NULL } },
		{ 1, 8, 3, {
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
		{ 6, 8, 3, {
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
		{ 2, 5, 2, {
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	};
	unsigned char ct[8][HL], rt[9][HL], got[HL], want[HL];
	unsigned char proof[CU_MLOG_MAX_PROOF][HL], lit[3][HL];
	struct mem_store m;
	cu_mlog_store s = store_of(&m);

	(void)state;
	mem_init(&m);
	for (unsigned i = 0; i <= 8; i++)
		unhex(rt[i], root_hex[i]);
	for (unsigned i = 0; i < 8; i++) {
		cu_mlog_leaf_hash(ct[i], data[i], data_len[i]);
		assert_int_equal(cu_mlog_append(&s, i, ct[i]), 0);
	}
	for (unsigned n = 0; n <= 8; n++) {
		ref_mth(want, ct, 0, n);               /* the reference agrees ... */
		assert_memory_equal(want, rt[n], HL);
		assert_int_equal(cu_mlog_root(got, &s, n), 0);   /* ... and so do we */
		assert_memory_equal(got, rt[n], HL);
	}
	for (size_t t = 0; t < sizeof(incl) / sizeof(incl[0]); t++) {
		size_t n = 99;

		assert_int_equal(cu_mlog_inclusion(proof, &n, &s, incl[t].index, incl[t].size), 0);
		assert_int_equal(n, incl[t].n);
		for (size_t j = 0; j < n; j++) {
			unhex(lit[j], incl[t].hex[j]);
			assert_memory_equal(proof[j], lit[j], HL);
		}
		assert_int_equal(cu_mlog_verify_inclusion(ct[incl[t].index], incl[t].index,
			incl[t].size, lit, n, rt[incl[t].size]), 0);
	}
	for (size_t t = 0; t < sizeof(cons) / sizeof(cons[0]); t++) {
		size_t count = 99;

		assert_int_equal(cu_mlog_consistency(proof, &count, &s, cons[t].m, cons[t].n), 0);
		assert_int_equal(count, cons[t].count);
		for (size_t j = 0; j < count; j++) {
			unhex(lit[j], cons[t].hex[j]);
			assert_memory_equal(proof[j], lit[j], HL);
		}
		assert_int_equal(cu_mlog_verify_consistency(cons[t].m, cons[t].n, rt[cons[t].m],
			rt[cons[t].n], lit, count), 0);
	}
	mem_free(&m);
}

/* Checks that a call failed because of the missing node (k, i), or passed. */
static void
check_missing(int error, unsigned k, uint64_t i, int *hit)
{
	char msg[64];

	if (error == 0)
		return;
	assert_int_equal(error, CU_ENOTFOUND);
	snprintf(msg, sizeof(msg), "log node (%u, %llu) missing", k, (unsigned long long)i);
	assert_string_equal(cu_error_last(), msg);
	*hit = 1;
}

static void
test_failing_store(void **state)
{
	struct mem_store m;
	cu_mlog_store s;
	unsigned char proof[CU_MLOG_MAX_PROOF][HL], got[HL];
	const uint64_t size = 20;
	size_t n;

	(void)state;
	build(&m, (unsigned)size);
	s = store_of(&m);

	/* remove each stored node in turn: every call that needs it names it,
	 * every call that does not still gives the right answer */
	for (unsigned k = 0; k < 64 && m.len[k] > 0; k++) {
		for (uint64_t i = 0; i < m.len[k]; i++) {
			int hit = 0, error;

			m.missing = 1;
			m.miss_level = k;
			m.miss_index = i;
			for (uint64_t b = 1; b <= size; b++) {
				error = cu_mlog_root(got, &s, b);
				check_missing(error, k, i, &hit);
				if (error == 0)
					assert_memory_equal(got, roots[b], HL);
				for (uint64_t a = 0; a < b; a++) {
					n = 99;
					error = cu_mlog_inclusion(proof, &n, &s, a, b);
					check_missing(error, k, i, &hit);
					if (error == 0)
						assert_int_equal(cu_mlog_verify_inclusion(leaves[a], a, b,
							proof, n, roots[b]), 0);
					else
						assert_int_equal(n, 0);
					n = 99;
					error = cu_mlog_consistency(proof, &n, &s, a + 1, b);
					check_missing(error, k, i, &hit);
					if (error == 0)
						assert_int_equal(cu_mlog_verify_consistency(a + 1, b,
							roots[a + 1], roots[b],
							proof, n), 0);
					else
						assert_int_equal(n, 0);
				}
			}
			assert_true(hit);   /* every stored node is needed by something */
		}
	}
	m.missing = 0;

	/* appending needs the left siblings of the new leaf */
	m.missing = 1;
	m.miss_level = 2;
	m.miss_index = 4;
	assert_int_equal(cu_mlog_append(&s, size, leaves[size]), 0);   /* 20: even, reads nothing */
	assert_int_equal(cu_mlog_append(&s, size + 1, leaves[size + 1]), 0);
	assert_int_equal(cu_mlog_append(&s, size + 2, leaves[size + 2]), 0);
	assert_int_equal(cu_mlog_append(&s, size + 3, leaves[size + 3]), CU_ENOTFOUND);
	assert_string_equal(cu_error_last(), "log node (2, 4) missing");
	m.missing = 0;
	/* a retry of the same append completes the log */
	assert_int_equal(cu_mlog_append(&s, size + 3, leaves[size + 3]), 0);
	assert_int_equal(cu_mlog_root(got, &s, size + 4), 0);
	assert_memory_equal(got, roots[size + 4], HL);

	/* a store error keeps its message and code */
	m.get_error = CU_ERROR;
	assert_int_equal(cu_mlog_root(got, &s, 7), CU_ERROR);
	assert_non_null(strstr(cu_error_last(), "reading log node ("));
	assert_non_null(strstr(cu_error_last(), "disk on fire"));
	n = 99;
	assert_int_equal(cu_mlog_inclusion(proof, &n, &s, 3, 7), CU_ERROR);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(cu_mlog_consistency(proof, &n, &s, 3, 7), CU_ERROR);
	assert_int_equal(n, 0);
	assert_int_equal(cu_mlog_append(&s, 7, leaves[7]), CU_ERROR);
	assert_non_null(strstr(cu_error_last(), "disk on fire"));
	/* a store that breaks its contract with a positive value still fails */
	m.get_error = 1;
	assert_int_equal(cu_mlog_root(got, &s, 7), CU_ERROR);
	assert_non_null(strstr(cu_error_last(), "store returned 1"));
	m.get_error = 0;

	/* write errors, at the leaf and at a parent */
	m.put_error = CU_ERROR;
	m.put_min_level = 0;
	assert_int_equal(cu_mlog_append(&s, size + 4, leaves[size + 4]), CU_ERROR);
	assert_string_equal(cu_error_last(), "writing log node (0, 24): disk full");
	m.put_min_level = 2;
	assert_int_equal(cu_mlog_append(&s, size + 4, leaves[size + 4]), 0);   /* 24: no parent */
	assert_int_equal(cu_mlog_append(&s, size + 5, leaves[size + 5]), 0);   /* 25: (1, 12) */
	assert_int_equal(cu_mlog_append(&s, size + 6, leaves[size + 6]), 0);
	assert_int_equal(cu_mlog_append(&s, size + 7, leaves[size + 7]), CU_ERROR);
	assert_string_equal(cu_error_last(), "writing log node (2, 6): disk full");
	m.put_error = 0;
	assert_int_equal(cu_mlog_append(&s, size + 7, leaves[size + 7]), 0);
	assert_int_equal(cu_mlog_root(got, &s, size + 8), 0);
	assert_memory_equal(got, roots[size + 8], HL);
	mem_free(&m);
}

/*
 * A store for the largest sizes: every leaf is the same, so every node of a
 * level is the same hash, h[k + 1] = H(h[k], h[k]).  That keeps the store
 * consistent (a node is the hash of its children) at any size.
 */
static unsigned char fake_level[64][HL];

static int
fake_get(void *ctx, unsigned level, uint64_t index, unsigned char out[HL])
{
	(void)ctx;
	(void)index;
	if (level >= 64)
		return CU_ENOTFOUND;
	memcpy(out, fake_level[level], HL);
	return 0;
}

static int
fake_put(void *ctx, unsigned level, uint64_t index, const unsigned char hash[HL])
{
	(void)ctx;
	(void)level;
	(void)index;
	(void)hash;
	return cu_error_set(CU_ERROR, "read-only");
}

static void
test_limits(void **state)
{
	cu_mlog_store fake = { fake_get, fake_put, NULL };
	const uint64_t top = (UINT64_C(1) << 63) - 1;   /* the largest size */
	unsigned char proof[CU_MLOG_MAX_PROOF][HL];   /* exactly the promised room */
	unsigned char leaf[HL], rn[HL], rm[HL];
	static const uint64_t indexes[] = { 0, 1, UINT64_C(1) << 62, top - 2, top - 1 };
	static const uint64_t olds[] = {
		1, 2, 3, UINT64_C(1) << 62, (UINT64_C(1) << 62) + 1, top - 1, top - 2,
		(UINT64_C(1) << 63) / 3, top,
	};
	size_t n, most = 0;
	struct mem_store m;
	cu_mlog_store s = store_of(&m);

	(void)state;
	mem_init(&m);
	/* a log may grow to top leaves, not one more */
	assert_int_equal(cu_mlog_append(&s, top, leaves[0]), CU_ELIMIT);
	assert_int_equal(cu_mlog_append(&s, UINT64_MAX, leaves[0]), CU_ELIMIT);
	assert_int_equal(m.puts, 0);
	m.put_error = CU_ERROR;   /* the append of leaf top - 1 is allowed: it reaches the store */
	assert_int_equal(cu_mlog_append(&s, top - 1, leaves[0]), CU_ERROR);
	assert_int_equal(m.puts, 1);
	m.put_error = 0;
	n = 99;
	assert_int_equal(cu_mlog_inclusion(proof, &n, &s, 0, top + 1), CU_ELIMIT);
	assert_int_equal(n, 0);
	assert_int_equal(cu_mlog_consistency(proof, &n, &s, 1, top + 1), CU_ELIMIT);
	assert_int_equal(n, 0);
	assert_int_equal(m.gets, 0);

	/* the deepest proofs fit in CU_MLOG_MAX_PROOF and still verify */
	ref_leaf(fake_level[0], "same", 4);
	for (int k = 1; k < 64; k++)
		ref_node(fake_level[k], fake_level[k - 1], fake_level[k - 1]);
	assert_int_equal(cu_mlog_root(rn, &fake, top), 0);
	for (size_t t = 0; t < sizeof(indexes) / sizeof(indexes[0]); t++) {
		assert_int_equal(cu_mlog_inclusion(proof, &n, &fake, indexes[t], top), 0);
		assert_true(n <= CU_MLOG_MAX_PROOF);
		assert_int_equal(fake_get(NULL, 0, indexes[t], leaf), 0);
		assert_int_equal(cu_mlog_verify_inclusion(leaf, indexes[t], top,
			proof, n, rn), 0);
		most = n > most ? n : most;
	}
	assert_int_equal(most, 63);
	most = 0;
	for (size_t t = 0; t < sizeof(olds) / sizeof(olds[0]); t++) {
		assert_int_equal(cu_mlog_consistency(proof, &n, &fake, olds[t], top), 0);
		assert_true(n <= CU_MLOG_MAX_PROOF);
		assert_int_equal(cu_mlog_root(rm, &fake, olds[t]), 0);
		assert_int_equal(cu_mlog_verify_consistency(olds[t], top, rm, rn,
			proof, n), 0);
		most = n > most ? n : most;
	}
	assert_int_equal(most, CU_MLOG_MAX_PROOF);   /* e.g. 3 to 2^63 - 1 */
	mem_free(&m);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Not a pass/fail benchmark: prints the cost of proofs on a big log (the
 * target is under 1 ms per proof, store reads included), and checks every
 * timed proof afterwards. */
static void
test_timing(void **state)
{
	enum { LEAVES = 1000000, PROOFS = 10000 };
	struct mem_store m;
	cu_mlog_store s = store_of(&m);
	unsigned char (*proofs)[CU_MLOG_MAX_PROOF][HL] = malloc(PROOFS * sizeof(*proofs));
	uint64_t *idx = malloc(PROOFS * sizeof(*idx));
	size_t *len = malloc(PROOFS * sizeof(*len));
	unsigned char leaf[HL], root[HL];
	uint64_t x = 0x9e3779b97f4a7c15u, gets;
	double t0, t1, t2;

	(void)state;
	assert_non_null(proofs);
	assert_non_null(idx);
	assert_non_null(len);
	mem_init(&m);
	t0 = now_us();
	for (uint64_t i = 0; i < LEAVES; i++) {
		cu_mlog_leaf_hash(leaf, &i, sizeof(i));
		assert_int_equal(cu_mlog_append(&s, i, leaf), 0);
	}
	t1 = now_us();
	assert_int_equal(cu_mlog_root(root, &s, LEAVES), 0);
	for (int p = 0; p < PROOFS; p++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		idx[p] = x % LEAVES;
	}
	idx[0] = LEAVES - 1;   /* the right edge, the costliest path */
	gets = m.gets;
	t2 = now_us();
	for (int p = 0; p < PROOFS; p++)
		assert_int_equal(cu_mlog_inclusion(proofs[p], &len[p], &s, idx[p], LEAVES), 0);
	t2 = now_us() - t2;
	print_message("timing: %d appends %.2f us each; %d inclusion proofs at size %d: "
		"%.2f us/proof, %.1f store reads/proof\n", LEAVES, (t1 - t0) / LEAVES,
		PROOFS, LEAVES, t2 / PROOFS, (double)(m.gets - gets) / PROOFS);
	for (int p = 0; p < PROOFS; p++) {
		char dirs[CU_MLOG_MAX_PROOF];
		size_t want = 0;

		ref_path(NULL, dirs, &want, NULL, idx[p], 0, LEAVES);
		assert_int_equal(len[p], want);
		cu_mlog_leaf_hash(leaf, &idx[p], sizeof(idx[p]));
		assert_int_equal(cu_mlog_verify_inclusion(leaf, idx[p], LEAVES,
			proofs[p], len[p], root), 0);
	}
	free(proofs);
	free(idx);
	free(len);
	mem_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_root_every_size),
		cmocka_unit_test(test_inclusion_every_size),
		cmocka_unit_test(test_consistency_every_pair),
		cmocka_unit_test(test_ct_vectors),
		cmocka_unit_test(test_failing_store),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_timing),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
