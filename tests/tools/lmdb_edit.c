/*
 * lmdb_edit — damages an LMDB index on purpose, for the tamper tests:
 *
 *   lmdb_edit DIR DB del KEY            delete the entry whose key is the string KEY
 *   lmdb_edit DIR DB put KEY VALUE_HEX  set the entry KEY to the bytes VALUE_HEX
 *
 * (LMDB's own utilities can dump and load but not delete.)  Exit 0 done,
 * 1 no such entry, 2 usage or LMDB error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

static int
unhex(unsigned char *out, const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	unsigned char val[4096];
	int rc, del;

	if (argc < 5 || (strcmp(argv[3], "del") != 0 && strcmp(argv[3], "put") != 0) ||
	    (strcmp(argv[3], "put") == 0 && (argc != 6 || strlen(argv[5]) % 2 != 0 ||
		strlen(argv[5]) / 2 > sizeof(val)))) {
		fprintf(stderr, "usage: lmdb_edit DIR DB del KEY | put KEY VALUE_HEX\n");
		return 2;
	}
	del = strcmp(argv[3], "del") == 0;
	k.mv_data = argv[4];
	k.mv_size = strlen(argv[4]);
	if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, 32)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, (size_t)64 << 30)) != 0 ||
	    (rc = mdb_env_open(env, argv[1], 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, argv[2], 0, &dbi)) != 0) {
		fprintf(stderr, "lmdb_edit: %s\n", mdb_strerror(rc));
		return 2;
	}
	if (del) {
		rc = mdb_del(txn, dbi, &k, NULL);
	} else {
		v.mv_size = strlen(argv[5]) / 2;
		v.mv_data = val;
		if (unhex(val, argv[5], v.mv_size) < 0) {
			fprintf(stderr, "lmdb_edit: VALUE_HEX is not hex\n");
			return 2;
		}
		rc = mdb_put(txn, dbi, &k, &v, 0);
	}
	if (rc == MDB_NOTFOUND) {
		fprintf(stderr, "lmdb_edit: no such entry\n");
		mdb_txn_abort(txn);
		return 1;
	}
	if (rc != 0 || (rc = mdb_txn_commit(txn)) != 0) {
		fprintf(stderr, "lmdb_edit: %s\n", mdb_strerror(rc));
		return 2;
	}
	mdb_env_close(env);
	return 0;
}
