/* test_backup.c — backups: the prune rules on a synthetic calendar, the key
 * id, a chain written from a real archive, read back, damaged, restored. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "custos/archive.h"
#include "custos/backup.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/sig.h"
#include "custos/util.h"

static char root[64];

static int
group_setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/custos-test-backup.XXXXXX");
	return mkdtemp(root) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s'; rm -rf '%s'", root, root);
	return system(cmd);
}

static time_t
day(int y, int m, int d, int h)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	return timegm(&tm);
}

/* ---- prune ------------------------------------------------------------------ */

/* A calendar: a full backup every Sunday at 01:00 and an incremental on
 * every other day at 01:00, from 2026-08-02 (a Sunday) to 2026-11-28 (a
 * Saturday), 119 days. */
#define NDAYS 119
static cu_prune_item items[NDAYS];
static char ids[NDAYS][16], parents[NDAYS][16];

static void
calendar(void)
{
	time_t t0 = day(2026, 8, 2, 1);
	int last_full = 0;

	for (int i = 0; i < NDAYS; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		snprintf(ids[i], sizeof(ids[i]), "b%03d", i);
		items[i].time = t0 + (time_t)i * 86400;
		items[i].id = ids[i];
		if (i % 7 == 0) {
			last_full = i;
			parents[i][0] = '\0';
		} else {
			items[i].incremental = 1;
			/* each incremental builds on the day before */
			snprintf(parents[i], sizeof(parents[i]), "b%03d", i - 1);
		}
		(void)last_full;
		items[i].parent = parents[i];
	}
}

static int
kept(void)
{
	int n = 0;

	for (int i = 0; i < NDAYS; i++)
		n += items[i].keep;
	return n;
}

static void
test_prune_newest_only(void **state)
{
	(void)state;
	calendar();
	cu_backup_prune_select(items, NDAYS, 0, 0, 0);
	/* the newest (Saturday 2026-11-28, an incremental) and the six days of
	 * its chain back to Sunday's full */
	assert_true(items[NDAYS - 1].keep);
	assert_string_equal(items[NDAYS - 1].why, "the newest backup");
	assert_int_equal(kept(), 7);
	for (int i = NDAYS - 7; i < NDAYS - 1; i++) {
		assert_true(items[i].keep);
		assert_non_null(strstr(items[i].why, "needed by"));
	}
	assert_false(items[NDAYS - 8].keep);
	assert_string_equal(items[NDAYS - 8].why,
		"not selected by --keep-daily 0 --keep-weekly 0 --keep-monthly 0");
}

static void
test_prune_rules(void **state)
{
	(void)state;
	calendar();
	/* with every backup a full one, the rules alone decide */
	for (int i = 0; i < NDAYS; i++) {
		items[i].incremental = 0;
		items[i].parent = "";
	}
	cu_backup_prune_select(items, NDAYS, 7, 4, 3);
	/* daily: the last 7 days (the newest is one of them) */
	for (int i = NDAYS - 7; i < NDAYS; i++)
		assert_true(items[i].keep);
	assert_string_equal(items[NDAYS - 2].why, "daily 2026-11-27");
	/* weekly: the newest of each of the last 4 ISO weeks: Sundays
	 * 11-22, 11-15, 11-08 (the week of 11-23..11-28 is already kept) */
	assert_true(items[NDAYS - 7].keep);       /* 11-22, a Sunday: daily first */
	assert_true(items[NDAYS - 14].keep);
	assert_string_equal(items[NDAYS - 14].why, "weekly 2026-W46");
	assert_true(items[NDAYS - 21].keep);
	assert_string_equal(items[NDAYS - 21].why, "weekly 2026-W45");
	assert_false(items[NDAYS - 28].keep && strncmp(items[NDAYS - 28].why, "weekly", 6) == 0);
	/* monthly: the newest of November (kept already), October 31, September 30 */
	{
		int oct31 = (int)((day(2026, 10, 31, 1) - day(2026, 8, 2, 1)) / 86400);
		int sep30 = (int)((day(2026, 9, 30, 1) - day(2026, 8, 2, 1)) / 86400);
		assert_true(items[oct31].keep);
		assert_string_equal(items[oct31].why, "monthly 2026-10");
		assert_true(items[sep30].keep);
		assert_string_equal(items[sep30].why, "monthly 2026-09");
		assert_false(items[oct31 - 1].keep);
	}
	/* 7 daily + 2 weekly more + 2 monthly more */
	assert_int_equal(kept(), 11);
}

static void
test_prune_keeps_chains(void **state)
{
	(void)state;
	calendar();
	cu_backup_prune_select(items, NDAYS, 0, 0, 3);
	/* the newest of September and October are incrementals: their chains
	 * back to their Sunday full are kept */
	int oct31 = (int)((day(2026, 10, 31, 1) - day(2026, 8, 2, 1)) / 86400);
	assert_true(items[oct31].keep);
	for (int i = oct31; i >= 0 && items[i].incremental; i--)
		assert_true(items[i - 1].keep);
	/* and the order of the items does not matter */
	cu_prune_item rev[NDAYS];
	for (int i = 0; i < NDAYS; i++)
		rev[i] = items[NDAYS - 1 - i];
	cu_backup_prune_select(rev, NDAYS, 0, 0, 3);
	for (int i = 0; i < NDAYS; i++)
		assert_int_equal(rev[i].keep, items[NDAYS - 1 - i].keep);
}

/* ---- keys ------------------------------------------------------------------- */

static void
test_keygen(void **state)
{
	char p[200], id[17], id2[17], hex[65];
	unsigned char key[32], buf[21 + 32], d[32];
	struct stat st;
	FILE *f;

	(void)state;
	snprintf(p, sizeof(p), "%s/k", root);
	assert_int_equal(cu_backup_keygen(p, id), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cu_backup_keygen(p, id2), CU_EEXISTS);
	assert_non_null(f = fopen(p, "rb"));
	assert_int_equal(fread(key, 1, 32, f), 32);
	fclose(f);
	memcpy(buf, "custos backup key id\n", 21);
	memcpy(buf + 21, key, 32);
	cu_sha256(d, buf, sizeof(buf));
	cu_hex(hex, d, 32);
	assert_memory_equal(id, hex, 16);
	cu_backup_key_id(id2, key);
	assert_string_equal(id, id2);
}

/* ---- a chain from a real archive -------------------------------------------- */

static int
ingest_cb(const cu_ingest_result *r, void *payload)
{
	(void)payload;
	if (r->status == CU_INGEST_REJECTED)
		fail_msg("rejected %s: %s", r->source, r->reason);
	return 0;
}

static void
ingest(const char *arch, int from, int n)
{
	cu_archive *a = NULL;
	cu_ingest *in = NULL;
	char buf[600];

	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0), 0);
	assert_int_equal(cu_ingest_begin(&in, a, ingest_cb, NULL), 0);
	for (int i = from; i < from + n; i++) {
		int len = snprintf(buf, sizeof(buf), "{\"type\":\"receipt\",\"receipt_no\":\"R-%d\","
			"\"issued_at\":\"2026-11-20T09:31:00+08:00\",\"agency\":\"110105\","
			"\"channel\":\"window\",\"service\":\"registration\",\"insurance\":\"pension\","
			"\"subject\":{\"kind\":\"person\",\"id_no\":\"11010519491231002X\","
			"\"name\":\"张三\"},\"operator\":\"op-1\",\"summary\":\"登记 %d\"}", i, i);
		assert_int_equal(cu_ingest_buffer(in, "t", buf, (size_t)len), 0);
	}
	assert_int_equal(cu_ingest_finish(in, NULL), 0);
	cu_archive_free(a);
}

static int
count_hit(const json_t *hit, void *payload)
{
	(void)hit;
	(*(size_t *)payload)++;
	return 0;
}

static int
count_info(const cu_backup_info *b, void *payload)
{
	(void)b;
	(*(int *)payload)++;
	return 0;
}

static int
count_problem(const cu_backup_problem *p, void *payload)
{
	(void)p;
	(*(int *)payload)++;
	return 0;
}

static void
backup(const char *arch, const char *dir, int kind, const char *key, cu_backup_result *r)
{
	cu_archive *a = NULL;
	cu_backup_opts o;

	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.kind = kind;
	o.key_file = key;
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0), 0);
	if (cu_archive_backup(a, &o, r) < 0)
		fail_msg("backup: %s", cu_error_last());
	cu_archive_free(a);
}

static void
test_chain(void **state)
{
	char arch[200], dir[200], key[200], out[200], copy[300], cmd[9000];
	cu_backup_result r1, r2, r3;
	cu_backup_verify_report rep;
	cu_restore_opts ro;
	cu_restore_result rr;
	const char *files[3];
	int problems = 0;
	size_t n = 0;

	(void)state;
	snprintf(arch, sizeof(arch), "%s/arch", root);
	snprintf(dir, sizeof(dir), "%s/backups", root);
	snprintf(key, sizeof(key), "%s/bk.key", root);
	cu_archive_init_opts io = { "test.custos/SI01", "SI01", NULL };
	assert_int_equal(cu_archive_init(arch, &io), 0);
	assert_int_equal(cu_backup_keygen(key, NULL), 0);
	ingest(arch, 0, 40);
	backup(arch, dir, CU_BACKUP_AUTO, key, &r1);
	assert_string_equal(r1.kind, "full");
	assert_string_equal(r1.parent, "");
	assert_true(r1.members > 5);
	sleep(1);
	ingest(arch, 40, 10);
	backup(arch, dir, CU_BACKUP_AUTO, key, &r2);
	assert_string_equal(r2.kind, "incremental");
	assert_string_equal(r2.parent, r1.id);
	/* only what changed: a pack, the git pack of the batch and of the
	 * backup event, the ref and little more */
	assert_true(r2.members < r1.members + 4);
	assert_true(r2.log_size == r1.log_size + 1 + 10);
	sleep(1);
	ingest(arch, 50, 5);
	backup(arch, dir, CU_BACKUP_INCREMENTAL, key, &r3);
	assert_string_equal(r3.parent, r2.id);
	assert_int_equal(cu_backup_list(dir, count_info, &problems, &n), 0);
	assert_int_equal(n, 3);
	problems = 0;

	/* read back */
	files[0] = r1.file;
	files[1] = r2.file;
	files[2] = r3.file;
	assert_int_equal(cu_backup_verify(files, 3, key, NULL, count_problem, NULL, &problems, &rep), 0);
	assert_int_equal(rep.problems, 0);
	assert_int_equal(problems, 0);
	assert_int_equal(rep.members, r1.members + r2.members + r3.members);

	/* one byte changed in a copy: found */
	snprintf(copy, sizeof(copy), "%s/copy.cbk", root);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod u+w '%s' && printf 'Z' | dd of='%s' bs=1 "
		"seek=%llu conv=notrunc 2>/dev/null", r2.file, copy, copy, copy,
		(unsigned long long)(r2.bytes_out - 30));
	assert_int_equal(system(cmd), 0);
	files[1] = copy;
	assert_int_equal(cu_backup_verify(files, 2, key, NULL, count_problem, NULL, &problems, &rep), 0);
	assert_true(rep.problems > 0);
	assert_true(problems > 0);

	/* restored: the damaged copy refused, nothing left; the chain restored */
	memset(&ro, 0, sizeof(ro));
	ro.key_file = key;
	snprintf(out, sizeof(out), "%s/restored", root);
	files[1] = copy;
	assert_int_equal(cu_backup_restore(out, files, 3, &ro, NULL, NULL, &rr), CU_EINVALID);
	assert_int_equal(access(out, F_OK), -1);
	files[1] = r2.file;
	if (cu_backup_restore(out, files, 3, &ro, NULL, NULL, &rr) < 0)
		fail_msg("restore: %s", cu_error_last());
	assert_int_equal(rr.backups, 3);
	assert_string_equal(rr.head, r3.head);
	assert_int_equal(rr.log_size, r3.log_size);
	{
		cu_archive *b = NULL;
		cu_search_query q;
		size_t hits = 0, seen = 0;
		memset(&q, 0, sizeof(q));
		q.text = "登记";
		assert_int_equal(cu_archive_open(&b, out, CU_ARCHIVE_READ, 0), 0);
		assert_int_equal(cu_archive_search(b, &q, count_hit, &seen, &hits), 0);
		assert_int_equal(hits, 55);
		assert_int_equal(seen, 55);
		cu_archive_free(b);
	}
	/* a second restore into it is refused */
	assert_int_equal(cu_backup_restore(out, files, 3, &ro, NULL, NULL, &rr), CU_EEXISTS);
}

/* Writes manifest m (consumed) into the unpacked backup in work, signs it
 * with the key of archive arch, and packs work back into out in the
 * order of work.list. */
static void
resign_and_pack(const char *out, const char *work, json_t *m, const char *arch)
{
	char p[4400], cmd[16384], *mtext = NULL, *sig = NULL;
	cu_signer *sg = NULL;
	FILE *f;

	assert_non_null(mtext = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS));
	json_decref(m);
	snprintf(p, sizeof(p), "%s/custos-backup/manifest.json", work);
	assert_non_null(f = fopen(p, "w"));
	fputs(mtext, f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/keys/signing.pem", arch);
	assert_int_equal(cu_signer_load(&sg, p), 0);
	assert_int_equal(cu_sshsig_sign(&sig, sg, "custos-backup", mtext, strlen(mtext)), 0);
	cu_signer_free(sg);
	snprintf(p, sizeof(p), "%s/custos-backup/manifest.sig", work);
	assert_non_null(f = fopen(p, "w"));
	fputs(sig, f);
	fclose(f);
	free(sig);
	free(mtext);
	snprintf(cmd, sizeof(cmd), "tar --zstd -cf '%s' -C '%s' --no-recursion -T '%s.list'",
		out, work, work);
	assert_int_equal(system(cmd), 0);
}

/* A backup of another archive, its manifest changed to claim this archive
 * and signed again with the other archive's key: consistent in itself, so
 * only the archive's own key (trusted) shows the forgery. */
static void
test_forged_identity(void **state)
{
	char a1[200], a2[200], dir[200], x[200], forged[300], p[400], cmd[16384], *text = NULL;
	char ident[65];
	cu_archive_init_opts o1 = { "test.custos/SI01", "SI01", NULL };
	cu_archive_init_opts o2 = { "test.custos/SI02", "SI02", NULL };
	cu_backup_result r;
	cu_backup_verify_report rep;
	cu_archive *a = NULL;
	const char *files[1];
	unsigned char d[32];
	size_t len;
	int problems = 0;
	json_t *m;

	(void)state;
	snprintf(a1, sizeof(a1), "%s/f1", root);
	snprintf(a2, sizeof(a2), "%s/f2", root);
	snprintf(dir, sizeof(dir), "%s/fb", root);
	snprintf(x, sizeof(x), "%s/fx", root);
	assert_int_equal(cu_archive_init(a1, &o1), 0);
	assert_int_equal(cu_archive_init(a2, &o2), 0);
	backup(a2, dir, CU_BACKUP_FULL, NULL, &r);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && tar --zstd -xf '%s' -C '%s' && "
		"tar --zstd -tf '%s' > '%s.list' && chmod -R u+w '%s'", x, r.file, x, r.file, x, x);
	assert_int_equal(system(cmd), 0);
	/* the identity of a1 */
	snprintf(p, sizeof(p), "%s/archive.json", a1);
	assert_int_equal(cu_read_file(&text, &len, p, 65536), 0);
	cu_sha256(d, text, len);
	cu_hex(ident, d, 32);
	free(text);
	snprintf(p, sizeof(p), "%s/custos-backup/manifest.json", x);
	assert_non_null(m = json_load_file(p, 0, NULL));
	json_object_set_new(json_object_get(m, "archive"), "id", json_string(ident));
	snprintf(forged, sizeof(forged), "%s/forged.cbk", root);
	resign_and_pack(forged, x, m, a2);
	files[0] = forged;
	assert_int_equal(cu_backup_verify(files, 1, NULL, NULL, count_problem, NULL, &problems,
		&rep), 0);
	assert_int_equal(rep.problems, 0);
	assert_int_equal(cu_archive_open(&a, a1, CU_ARCHIVE_READ, 0), 0);
	assert_int_equal(cu_backup_verify(files, 1, NULL, a, count_problem, NULL, &problems,
		&rep), 0);
	assert_int_equal(rep.problems, 1);
	/* the genuine backup of a2, checked with a1 at hand: nothing to say */
	files[0] = r.file;
	assert_int_equal(cu_backup_verify(files, 1, NULL, a, count_problem, NULL, &problems,
		&rep), 0);
	assert_int_equal(rep.problems, 0);
	cu_archive_free(a);
}

/* A pack replaced by other bytes and the manifest made to match them, then
 * signed again by the archive's own key: each member matches the manifest,
 * but the pack is no longer what its name says. */
static void
test_object_not_its_name(void **state)
{
	char arch[200], dir[200], x[200], forged[300], p[4400], cmd[16384], hex[65];
	cu_archive_init_opts io = { "test.custos/SI03", "SI03", NULL };
	cu_backup_result r;
	cu_backup_verify_report rep;
	const char *files[1], *path = NULL;
	unsigned char d[32];
	json_t *m, *e = NULL, *mem;
	size_t i;
	int problems = 0;
	FILE *f;

	(void)state;
	snprintf(arch, sizeof(arch), "%s/n1", root);
	snprintf(dir, sizeof(dir), "%s/nb", root);
	snprintf(x, sizeof(x), "%s/nx", root);
	assert_int_equal(cu_archive_init(arch, &io), 0);
	ingest(arch, 0, 3);
	backup(arch, dir, CU_BACKUP_FULL, NULL, &r);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && tar --zstd -xf '%s' -C '%s' && "
		"tar --zstd -tf '%s' > '%s.list' && chmod -R u+w '%s'", x, r.file, x, r.file, x, x);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/custos-backup/manifest.json", x);
	assert_non_null(m = json_load_file(p, 0, NULL));
	mem = json_object_get(m, "members");
	json_array_foreach(mem, i, e)
		if (strncmp(json_string_value(json_object_get(e, "path")), "objects/packs/", 14) == 0)
			break;
	assert_true(i < json_array_size(mem));
	path = json_string_value(json_object_get(e, "path"));
	snprintf(p, sizeof(p), "%s/%s", x, path);
	assert_non_null(f = fopen(p, "w"));
	fputs("evil", f);
	fclose(f);
	cu_sha256(d, "evil", 4);
	cu_hex(hex, d, 32);
	json_object_set_new(m, "bytes", json_integer(json_integer_value(json_object_get(m, "bytes")) -
		json_integer_value(json_object_get(e, "size")) + 4));
	json_object_set_new(e, "size", json_integer(4));
	json_object_set_new(e, "sha256", json_string(hex));
	snprintf(forged, sizeof(forged), "%s/renamed.cbk", root);
	resign_and_pack(forged, x, m, arch);
	files[0] = forged;
	assert_int_equal(cu_backup_verify(files, 1, NULL, NULL, count_problem, NULL, &problems,
		&rep), 0);
	assert_int_equal(rep.problems, 1);
	files[0] = r.file;
	assert_int_equal(cu_backup_verify(files, 1, NULL, NULL, count_problem, NULL, &problems,
		&rep), 0);
	assert_int_equal(rep.problems, 0);
}

/* Rewrites a plain backup: its manifest changed by edit, signed again with
 * the key of archive `arch`, the members as they are, into out. */
static void
forge(const char *arch, const char *file, const char *work, const char *out,
	void (*edit)(json_t *m))
{
	char p[4400], cmd[16384];
	json_t *m;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s' && tar --zstd -xf '%s' -C '%s' && "
		"tar --zstd -tf '%s' > '%s.list' && chmod -R u+w '%s'", work, work, file, work, file,
		work, work);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/custos-backup/manifest.json", work);
	assert_non_null(m = json_load_file(p, 0, NULL));
	edit(m);
	resign_and_pack(out, work, m, arch);
}

/* A member made to look 1 TiB large. */
static void
edit_huge(json_t *m)
{
	json_t *e = json_array_get(json_object_get(m, "members"), 0);
	json_int_t big = (json_int_t)1 << 40;

	json_object_set_new(m, "bytes", json_integer(json_integer_value(json_object_get(m, "bytes")) -
		json_integer_value(json_object_get(e, "size")) + big));
	json_object_set_new(e, "size", json_integer(big));
}

/* A restore that would not fit is refused before anything is written. */
static void
test_restore_room(void **state)
{
	char arch[200], dir[200], work[200], out[200], forged[300], skey[300], pkey[300];
	cu_archive_init_opts io = { "test.custos/SI04", "SI04", NULL };
	cu_backup_result r;
	cu_restore_opts ro;
	cu_restore_result rr;
	const char *files[1];

	(void)state;
	snprintf(arch, sizeof(arch), "%s/room", root);
	snprintf(dir, sizeof(dir), "%s/room-b", root);
	snprintf(work, sizeof(work), "%s/room-x", root);
	snprintf(out, sizeof(out), "%s/room-restored", root);
	snprintf(forged, sizeof(forged), "%s/room.cbk", root);
	assert_int_equal(cu_archive_init(arch, &io), 0);
	backup(arch, dir, CU_BACKUP_FULL, NULL, &r);
	forge(arch, r.file, work, forged, edit_huge);
	memset(&ro, 0, sizeof(ro));
	snprintf(skey, sizeof(skey), "%s/keys/signing.pem", arch);
	snprintf(pkey, sizeof(pkey), "%s/keys/person.hmac", arch);
	ro.signing_key = skey;
	ro.person_key = pkey;
	files[0] = forged;
	assert_int_equal(cu_backup_restore(out, files, 1, &ro, NULL, NULL, &rr), CU_ELIMIT);
	assert_non_null(strstr(cu_error_last(), "are free there"));
	assert_int_equal(access(out, F_OK), -1);
	/* the genuine one restores */
	files[0] = r.file;
	if (cu_backup_restore(out, files, 1, &ro, NULL, NULL, &rr) != 0)
		fail_msg("restore: %s", cu_error_last());
}

static int
no_line(const cu_disposal_line *l, void *payload)
{
	(void)l;
	(void)payload;
	return 0;
}

/* A record disposed of between a full backup and an incremental: the
 * incremental lists its content object as removed, and the restored
 * archive is without it (and verifies). */
static void
test_disposal_between(void **state)
{
	char arch[200], dir[200], out[200], conf[16384], p[4300], list[128], lid[65];
	char skey[300], pkey[300];
	const char *def = cu_conf_default_text(), *at = strstr(def, "pack_threshold = 65536;");
	cu_archive_init_opts io = { "test.custos/SI01", "SI01", conf };
	const char *keys[1] = { "SI01-SB·2010-D10-JF-000001" };
	cu_backup_result r1, r2;
	cu_restore_opts ro;
	cu_restore_result rr;
	cu_disposal_report dr;
	const char *files[2];
	cu_archive *a = NULL;
	cu_ingest *in = NULL;
	char digest[65] = "";
	static const char rec[] = "{\"type\":\"receipt\",\"receipt_no\":\"R-1\","
		"\"issued_at\":\"2010-03-01T09:00:00+08:00\",\"agency\":\"110105\","
		"\"channel\":\"window\",\"service\":\"contribution\",\"insurance\":\"pension\","
		"\"subject\":{\"kind\":\"person\",\"id_no\":\"11010519491231002X\","
		"\"name\":\"张三\"},\"operator\":\"op-017\",\"summary\":\"r1 缴费\"}";

	(void)state;
	/* loose objects, so that the disposal removes a file */
	assert_non_null(at);
	snprintf(conf, sizeof(conf), "%.*spack_threshold = 0;%s", (int)(at - def), def,
		at + strlen("pack_threshold = 65536;"));
	snprintf(arch, sizeof(arch), "%s/disp", root);
	snprintf(dir, sizeof(dir), "%s/disp-backups", root);
	snprintf(out, sizeof(out), "%s/disp-restored", root);
	assert_int_equal(cu_archive_init(arch, &io), 0);
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0), 0);
	assert_int_equal(cu_ingest_begin(&in, a, ingest_cb, NULL), 0);
	assert_int_equal(cu_ingest_buffer(in, "r.json", rec, strlen(rec)), 0);
	assert_int_equal(cu_ingest_finish(in, NULL), 0);
	cu_archive_free(a);
	{
		unsigned char d[32];
		cu_sha256(d, rec, strlen(rec));
		cu_hex(digest, d, 32);
	}
	snprintf(p, sizeof(p), "%s/objects/sha256/%.2s/%s", arch, digest, digest + 2);
	assert_int_equal(access(p, F_OK), 0);
	backup(arch, dir, CU_BACKUP_FULL, NULL, &r1);

	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0), 0);
	cu_archive_set_actor(a, "alice", 1001);
	if (cu_archive_propose(a, keys, 1, "保管期满", no_line, NULL, list, lid) != 0)
		fail_msg("propose: %s", cu_error_last());
	cu_archive_set_actor(a, "bob", 1002);
	if (cu_archive_approve(a, list, no_line, NULL, &dr) != 0)
		fail_msg("approve: %s", cu_error_last());
	cu_archive_free(a);
	assert_int_equal(dr.removed, 1);
	assert_int_equal(access(p, F_OK), -1);

	sleep(1);
	backup(arch, dir, CU_BACKUP_AUTO, NULL, &r2);
	assert_string_equal(r2.kind, "incremental");
	{
		/* the manifest names the object as removed */
		char cmd[9000], *text = NULL;
		size_t len;
		snprintf(cmd, sizeof(cmd), "tar --zstd -xOf '%s' custos-backup/manifest.json > "
			"'%s/disp.manifest'", r2.file, root);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s/disp.manifest", root);
		assert_int_equal(cu_read_file(&text, &len, cmd, 1 << 24), 0);
		snprintf(cmd, sizeof(cmd), "\"removed\":[\"objects/sha256/%.2s/%s\"]", digest,
			digest + 2);
		assert_non_null(strstr(text, cmd));
		free(text);
	}
	memset(&ro, 0, sizeof(ro));
	snprintf(skey, sizeof(skey), "%s/keys/signing.pem", arch);
	snprintf(pkey, sizeof(pkey), "%s/keys/person.hmac", arch);
	ro.signing_key = skey;
	ro.person_key = pkey;
	files[0] = r1.file;
	files[1] = r2.file;
	if (cu_backup_restore(out, files, 2, &ro, NULL, NULL, &rr) != 0)
		fail_msg("restore: %s", cu_error_last());
	assert_string_equal(rr.head, r2.head);
	snprintf(p, sizeof(p), "%s/objects/sha256/%.2s/%s", out, digest, digest + 2);
	assert_int_equal(access(p, F_OK), -1);
	/* and the full alone restores the archive as it was, object included */
	snprintf(out, sizeof(out), "%s/disp-restored-full", root);
	if (cu_backup_restore(out, files, 1, &ro, NULL, NULL, &rr) != 0)
		fail_msg("restore of the full: %s", cu_error_last());
	snprintf(p, sizeof(p), "%s/objects/sha256/%.2s/%s", out, digest, digest + 2);
	assert_int_equal(access(p, F_OK), 0);
}

static void
test_holds(void **state)
{
	char d[200];
	json_t *full = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:I}}", "kind", "backup", "action",
		"create", "backup", "kind", "full", "file", "f.cbk", "id", "x", "log_size", 10);
	json_t *inc = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:I, s:I}}", "kind", "backup",
		"action", "create", "backup", "kind", "incremental", "file", "i.cbk", "id", "y",
		"parent", "x", "log_size", 20, "parent_log_size", 10);

	(void)state;
	assert_int_equal(cu_backup_holds(full, 0, d, sizeof(d)), 1);
	assert_int_equal(cu_backup_holds(full, 9, d, sizeof(d)), 1);
	assert_int_equal(cu_backup_holds(full, 10, d, sizeof(d)), 0);
	assert_int_equal(cu_backup_holds(inc, 9, d, sizeof(d)), 0);
	assert_int_equal(cu_backup_holds(inc, 10, d, sizeof(d)), 1);
	assert_non_null(strstr(d, "incremental backup i.cbk"));
	assert_int_equal(cu_backup_holds(inc, 20, d, sizeof(d)), 0);
	json_decref(full);
	json_decref(inc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prune_newest_only),
		cmocka_unit_test(test_prune_rules),
		cmocka_unit_test(test_prune_keeps_chains),
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_forged_identity),
		cmocka_unit_test(test_object_not_its_name),
		cmocka_unit_test(test_restore_room),
		cmocka_unit_test(test_disposal_between),
		cmocka_unit_test(test_holds),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
