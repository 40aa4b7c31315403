/* test_cas.c — content objects: loose, packed, scanned, tampered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "custos/cas.h"
#include "custos/error.h"
#include "custos/util.h"

static char root[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/custos-test-cas.XXXXXX");
	return mkdtemp(root) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static cu_cas *
open_cas(const char *sub)
{
	char dir[128];
	cu_cas *c = NULL;

	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	assert_int_equal(cu_cas_open(&c, dir, 1), 0);
	return c;
}

static void
test_loose_round_trip(void **state)
{
	cu_cas *c = open_cas("loose");
	unsigned char d[32];
	char path[4096], *got = NULL, hex[65];
	size_t len;
	struct stat st;

	(void)state;
	assert_int_equal(cu_sha256(d, "hello\n", 6), 0);
	assert_int_equal(cu_cas_has_loose(c, d), 0);
	assert_int_equal(cu_cas_put_loose(c, d, "hello\n", 6), 0);
	assert_int_equal(cu_cas_has_loose(c, d), 1);
	assert_int_equal(cu_cas_put_loose(c, d, "hello\n", 6), 0);   /* again: a no-op */
	assert_int_equal(cu_cas_loose_path(path, sizeof(path), c, d), 0);
	cu_hex(hex, d, 32);
	assert_non_null(strstr(path, "/sha256/"));
	assert_memory_equal(strstr(path, "/sha256/") + 8, hex, 2);
	assert_string_equal(strrchr(path, '/') + 1, hex + 2);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	assert_int_equal(cu_cas_read_loose(&got, &len, c, d), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(got, "hello\n", 6);
	free(got);
	cu_cas_free(c);
}

static void
test_loose_tamper_detected(void **state)
{
	cu_cas *c = open_cas("tamper");
	unsigned char d[32];
	char path[4096], *got = NULL;
	size_t len;
	FILE *f;

	(void)state;
	assert_int_equal(cu_sha256(d, "record", 6), 0);
	assert_int_equal(cu_cas_put_loose(c, d, "record", 6), 0);
	assert_int_equal(cu_cas_loose_path(path, sizeof(path), c, d), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_non_null(f = fopen(path, "r+"));
	fputc('R', f);
	fclose(f);
	assert_int_equal(cu_cas_read_loose(&got, &len, c, d), CU_EINVALID);
	assert_null(got);
	assert_non_null(strstr(cu_error_last(), "does not match its name"));
	cu_cas_free(c);
}

struct member { unsigned char d[32]; char pack[96]; uint64_t off, size; };
struct members { struct member m[16]; int n; };

static int
collect(const unsigned char digest[32], const char *pack, uint64_t off, uint64_t size, void *p)
{
	struct members *ms = p;

	assert_true(ms->n < 16);
	memcpy(ms->m[ms->n].d, digest, 32);
	snprintf(ms->m[ms->n].pack, sizeof(ms->m[ms->n].pack), "%s", pack);
	ms->m[ms->n].off = off;
	ms->m[ms->n].size = size;
	ms->n++;
	return 0;
}

static int
count_packs(const char *pack, void *p)
{
	(void)pack;
	(*(int *)p)++;
	return 0;
}

static void
test_batch_pack(void **state)
{
	cu_cas *c = open_cas("batch");
	cu_cas_batch *b = NULL;
	const char *items[] = { "first", "second object", "", "first" };
	unsigned char d[4][32], big_d[32], sum[32];
	struct members written = { .n = 0 }, scanned = { .n = 0 };
	char pack[96], path[4096], hex[65], *got = NULL, *big;
	size_t len, plen;
	int packed = -1, npacks = 0;

	(void)state;
	assert_int_equal(cu_cas_batch_new(&b, c, 1000), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(cu_cas_batch_add(b, d[i], &packed, items[i], strlen(items[i])), 0);
	assert_int_equal(packed, 1);
	assert_int_equal(cu_cas_batch_count(b), 3);   /* "first" kept once */
	assert_memory_equal(d[0], d[3], 32);
	/* at the threshold: written loose at once */
	assert_non_null(big = calloc(1, 1000));
	assert_int_equal(cu_cas_batch_add(b, big_d, &packed, big, 1000), 0);
	assert_int_equal(packed, 0);
	assert_int_equal(cu_cas_has_loose(c, big_d), 1);
	assert_int_equal(cu_cas_batch_count(b), 3);
	free(big);

	assert_int_equal(cu_cas_batch_write(b, pack, collect, &written), 0);
	assert_int_equal(written.n, 3);
	assert_int_equal(cu_cas_batch_count(b), 0);
	/* the pack is named by its own digest */
	snprintf(path, sizeof(path), "%s/batch/packs/%s", root, pack);
	assert_int_equal(cu_read_file(&got, &plen, path, 1 << 20), 0);
	assert_int_equal(cu_sha256(sum, got, plen), 0);
	cu_hex(hex, sum, 32);
	assert_memory_equal(pack, "pack-", 5);
	assert_memory_equal(pack + 5, hex, 64);
	assert_string_equal(pack + 69, ".tar");
	free(got);
	got = NULL;
	/* every member reads back at its offset, and the scan agrees */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cu_cas_read_packed(&got, &len, c, pack, written.m[i].off,
			written.m[i].size, written.m[i].d), 0);
		assert_int_equal(len, strlen(items[i]));
		assert_memory_equal(got, items[i], len);
		free(got);
		got = NULL;
	}
	assert_int_equal(cu_cas_scan_pack(c, pack, collect, &scanned), 0);
	assert_int_equal(scanned.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(scanned.m[i].d, written.m[i].d, 32);
		assert_int_equal(scanned.m[i].off, written.m[i].off);
		assert_int_equal(scanned.m[i].size, written.m[i].size);
	}
	/* a wrong digest for an offset is refused */
	assert_int_equal(cu_cas_read_packed(&got, &len, c, pack, written.m[1].off,
		written.m[1].size, written.m[0].d), CU_EINVALID);
	assert_int_equal(cu_cas_read_packed(&got, &len, c, "../x", 0, 1, d[0]), CU_EINVALID);
	/* an empty batch writes nothing */
	assert_int_equal(cu_cas_batch_write(b, pack, NULL, NULL), 0);
	assert_string_equal(pack, "");
	assert_int_equal(cu_cas_list_packs(c, count_packs, &npacks), 0);
	assert_int_equal(npacks, 1);
	cu_cas_batch_free(b);
	cu_cas_free(c);
}

/* Writes a tar with one member of the given type and name into packs/. */
static void
write_hostile_pack(const char *dir, const char *name, int type, const char *member)
{
	char path[4096];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	snprintf(path, sizeof(path), "%s/packs/%s", dir, name);
	archive_write_set_format_ustar(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, member);
	archive_entry_set_filetype(e, (unsigned)type);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, "/etc/passwd");
	archive_entry_set_size(e, type == AE_IFREG ? 3 : 0);
	archive_entry_set_perm(e, 0444);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (type == AE_IFREG)
		archive_write_data(a, "abc", 3);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
}

static void
test_scan_rejects_hostile_members(void **state)
{
	cu_cas *c = open_cas("hostile");
	struct members ms = { .n = 0 };
	char dir[128], path[4096];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/hostile", root);
	write_hostile_pack(dir, "pack-link.tar", AE_IFLNK,
		"sha256/ab/cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	assert_int_equal(cu_cas_scan_pack(c, "pack-link.tar", collect, &ms), CU_EINVALID);
	write_hostile_pack(dir, "pack-name.tar", AE_IFREG, "../../etc/passwd");
	assert_int_equal(cu_cas_scan_pack(c, "pack-name.tar", collect, &ms), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "is not an object"));
	assert_int_equal(ms.n, 0);
	/* truncated in the middle of a header */
	snprintf(path, sizeof(path), "%s/packs/pack-trunc.tar", dir);
	write_hostile_pack(dir, "pack-trunc.tar", AE_IFREG,
		"sha256/ab/cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	assert_int_equal(truncate(path, 300), 0);
	assert_true(cu_cas_scan_pack(c, "pack-trunc.tar", collect, &ms) < 0);
	cu_cas_free(c);
}

/* drop() for cu_cas_repack: the digests in a list ending with an all-zero one */
static int
drop_listed(const unsigned char digest[32], void *payload)
{
	const unsigned char (*list)[32] = payload;
	static const unsigned char zero[32];

	for (; memcmp(*list, zero, 32) != 0; list++)
		if (memcmp(*list, digest, 32) == 0)
			return 1;
	return 0;
}

static void
test_repack_and_remove(void **state)
{
	cu_cas *c = open_cas("repack");
	cu_cas_batch *b = NULL;
	const char *items[] = { "alpha", "beta, the one to go", "gamma", "delta" };
	unsigned char d[4][32], drop[3][32], sum[32], big_d[32];
	struct members written = { .n = 0 }, moved = { .n = 0 }, again = { .n = 0 };
	struct members scanned = { .n = 0 };
	char pack[96], pack2[96], pack3[96], path[4096], hex[65], *got = NULL;
	size_t len, dropped = 99;
	int npacks = 0;

	(void)state;
	assert_int_equal(cu_cas_batch_new(&b, c, 1000), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(cu_cas_batch_add(b, d[i], NULL, items[i], strlen(items[i])), 0);
	assert_int_equal(cu_cas_batch_write(b, pack, collect, &written), 0);
	cu_cas_batch_free(b);

	/* nothing to drop: nothing written */
	memset(drop, 0, sizeof(drop));
	assert_int_equal(cu_cas_repack(c, pack, drop_listed, drop, pack2, collect, &moved,
		&dropped), 0);
	assert_string_equal(pack2, "");
	assert_int_equal(dropped, 0);
	assert_int_equal(moved.n, 0);

	/* drop "beta": the others keep their order and bytes in a new pack */
	memcpy(drop[0], d[1], 32);
	assert_int_equal(cu_cas_repack(c, pack, drop_listed, drop, pack2, collect, &moved,
		&dropped), 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(moved.n, 3);
	assert_string_not_equal(pack2, pack);
	snprintf(path, sizeof(path), "%s/repack/packs/%s", root, pack2);
	assert_int_equal(cu_read_file(&got, &len, path, 1 << 20), 0);
	assert_int_equal(cu_sha256(sum, got, len), 0);
	cu_hex(hex, sum, 32);
	assert_memory_equal(pack2 + 5, hex, 64);     /* named by its digest */
	free(got);
	got = NULL;
	for (int i = 0, k = 0; i < 4; i++) {
		if (i == 1)
			continue;
		assert_memory_equal(moved.m[k].d, d[i], 32);
		assert_string_equal(moved.m[k].pack, pack2);
		assert_int_equal(cu_cas_read_packed(&got, &len, c, pack2, moved.m[k].off,
			moved.m[k].size, d[i]), 0);
		assert_memory_equal(got, items[i], len);
		free(got);
		got = NULL;
		k++;
	}
	assert_int_equal(cu_cas_scan_pack(c, pack2, collect, &scanned), 0);
	assert_int_equal(scanned.n, 3);
	/* the same input gives the very same pack (a re-run after a crash) */
	assert_int_equal(cu_cas_repack(c, pack, drop_listed, drop, pack3, collect, &again,
		&dropped), 0);
	assert_string_equal(pack3, pack2);
	assert_int_equal(again.n, 3);
	/* the old pack goes only when asked, and absent is fine */
	assert_int_equal(cu_cas_list_packs(c, count_packs, &npacks), 0);
	assert_int_equal(npacks, 2);
	assert_int_equal(cu_cas_remove_pack(c, pack), 0);
	assert_int_equal(cu_cas_remove_pack(c, pack), 0);
	assert_int_equal(cu_cas_remove_pack(c, "../x"), CU_EINVALID);
	npacks = 0;
	assert_int_equal(cu_cas_list_packs(c, count_packs, &npacks), 0);
	assert_int_equal(npacks, 1);

	/* every member dropped: no new pack */
	memcpy(drop[0], d[0], 32);
	memcpy(drop[1], d[2], 32);
	memcpy(drop[2], d[3], 32);
	{
		unsigned char all[4][32];
		memcpy(all, drop, sizeof(drop));
		memset(all[3], 0, 32);
		assert_int_equal(cu_cas_repack(c, pack2, drop_listed, all, pack3, collect, &again,
			&dropped), 0);
	}
	assert_string_equal(pack3, "");
	assert_int_equal(dropped, 3);

	/* a damaged member is never carried into a new pack */
	snprintf(path, sizeof(path), "%s/repack/packs/%s", root, pack2);
	assert_int_equal(chmod(path, 0644), 0);
	{
		int fd = open(path, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "X", 1, (off_t)moved.m[2].off), 1);
		close(fd);
	}
	memset(drop, 0, sizeof(drop));
	memcpy(drop[0], d[0], 32);
	assert_int_equal(cu_cas_repack(c, pack2, drop_listed, drop, pack3, collect, &again,
		&dropped), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "does not match its name"));
	assert_string_equal(pack3, "");
	npacks = 0;
	assert_int_equal(cu_cas_list_packs(c, count_packs, &npacks), 0);
	assert_int_equal(npacks, 1);

	/* loose objects */
	assert_int_equal(cu_sha256(big_d, "loose bytes", 11), 0);
	assert_int_equal(cu_cas_put_loose(c, big_d, "loose bytes", 11), 0);
	assert_int_equal(cu_cas_remove_loose(c, big_d), 1);
	assert_int_equal(cu_cas_has_loose(c, big_d), 0);
	assert_int_equal(cu_cas_remove_loose(c, big_d), 0);
	cu_cas_free(c);
}

static void
test_open_missing(void **state)
{
	cu_cas *c = NULL;
	char dir[128];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/none", root);
	assert_int_equal(cu_cas_open(&c, dir, 0), CU_ENOTFOUND);
	assert_null(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loose_round_trip),
		cmocka_unit_test(test_loose_tamper_detected),
		cmocka_unit_test(test_batch_pack),
		cmocka_unit_test(test_scan_rejects_hostile_members),
		cmocka_unit_test(test_repack_and_remove),
		cmocka_unit_test(test_open_missing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
