/*
 * proof_bench — in-process timing of inclusion proofs at the archive's full
 * size (what `custos prove` costs without starting a process):
 *
 *   proof_bench ARCHIVE N      N proofs of records spread over the archive
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "custos/archive.h"
#include "custos/error.h"

struct refs {
	char **v;
	size_t n, cap;
};

static int
take_ref(const json_t *hit, void *payload)
{
	struct refs *r = payload;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		char **p = realloc(r->v, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		r->v = p;
		r->cap = cap;
	}
	r->v[r->n++] = strdup(json_string_value(json_object_get(hit, "ref")));
	return 0;
}

int
main(int argc, char **argv)
{
	cu_archive *a;
	cu_search_query q = { 0 };
	struct refs refs = { NULL, 0, 0 };
	struct timespec t0, t1;
	size_t n = argc > 2 ? (size_t)atol(argv[2]) : 1000, done = 0;
	cu_proof p;

	if (argc < 2 || cu_archive_open(&a, argv[1], CU_ARCHIVE_READ, 0) < 0) {
		fprintf(stderr, "proof_bench: %s\n", argc < 2 ? "usage: proof_bench ARCHIVE [N]"
			: cu_error_last());
		return 2;
	}
	q.limit = 0;
	if (cu_archive_search(a, &q, take_ref, &refs, NULL) < 0 || refs.n == 0) {
		fprintf(stderr, "proof_bench: %s\n", cu_error_last());
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		if (cu_archive_prove(&p, a, refs.v[(i * 7919) % refs.n], 0) < 0) {
			fprintf(stderr, "proof_bench: %s\n", cu_error_last());
			return 1;
		}
		cu_proof_clear(&p);
		done++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / (double)done);
	for (size_t i = 0; i < refs.n; i++)
		free(refs.v[i]);
	free(refs.v);
	cu_archive_free(a);
	return 0;
}
