/*
 * fuzz_receipt.c — libFuzzer target for everything custos does with the
 * bytes of an input file before they reach the archive: split into items,
 * parse each item, validate it as a receipt, serialise canonically.
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks properties
 * that must hold for any input (an abort() is a finding):
 *   - every span lies inside the input;
 *   - canonical JSON is a fixed point: parsing the canonical text and
 *     serialising it again gives the same bytes;
 *   - an accepted receipt is accepted again unchanged when its own
 *     normalised form is fed back with amount_fen turned into amount;
 *   - an amount that parses formats back to the same number of fen.
 *
 * Build with `make fuzz` (clang -fsanitize=fuzzer,address,undefined) and
 * run `./build/fuzz_receipt tests/fuzz/corpus/receipt`; without libFuzzer,
 * tests/fuzz/replay.c runs the corpus through the same function.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Canonicalises v; when that succeeds, checks that the text parses and
 * canonicalises to itself. */
static void
check_canon_fixed_point(const json_t *v)
{
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	json_t *again;
	json_error_t jerr;

	if (cu_canon(&a, &alen, v) < 0)
		return;
	if (memchr(a, '\0', alen) != NULL)
		abort();  /* a raw NUL must have been escaped */
	again = json_loadb(a, alen, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (again == NULL)
		abort();  /* canonical output is not JSON */
	if (cu_canon(&b, &blen, again) < 0 || blen != alen || memcmp(a, b, alen) != 0)
		abort();  /* canonical form is not a fixed point */
	json_decref(again);
	free(a);
	free(b);
}

/* Runs the scalar checkers on a string value, whatever it holds. */
static void
poke_string(const char *s)
{
	cu_time t;
	int64_t fen, back, epoch;
	char buf[24], masked[19];

	if (cu_money_parse(&fen, s) == 0) {
		cu_money_format(buf, sizeof(buf), fen);
		if (cu_money_parse(&back, buf) != 0 || back != fen)
			abort();
		if (fen > CU_MONEY_MAX_FEN || fen < -CU_MONEY_MAX_FEN)
			abort();
	}
	if (cu_time_parse(&t, s) == 0 && (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31))
		abort();
	(void)cu_date_parse(&epoch, s, 480, 1);
	if (cu_idno_check(s) == 0) {
		cu_idno_normalize(masked, s);
		if (strlen(masked) != 18)
			abort();
	}
	cu_idno_mask(masked, s);
	if (strlen(masked) > 18)
		abort();
	(void)cu_uscc_check(s);
}

/* Feeds the normalised receipt back in (amount_fen as an amount string)
 * and requires the same result. */
static void
check_revalidate(const json_t *norm)
{
	json_t *in = json_deep_copy(norm), *out = NULL, *fen;
	char *a = NULL, *b = NULL;
	size_t alen, blen;

	if (in == NULL)
		abort();
	if ((fen = json_object_get(in, "amount_fen")) != NULL) {
		char buf[24];
		cu_money_format(buf, sizeof(buf), json_integer_value(fen));
		json_object_set_new(in, "amount", json_string(buf));
		json_object_del(in, "amount_fen");
	}
	if (cu_receipt_validate(&out, in) != 0)
		abort();  /* a normalised receipt must stay valid */
	if (cu_canon(&a, &alen, norm) != 0 || cu_canon(&b, &blen, out) != 0 ||
	    alen != blen || memcmp(a, b, alen) != 0)
		abort();  /* normalising must be idempotent */
	free(a);
	free(b);
	json_decref(out);
	json_decref(in);
}

/* Parses and validates one item. */
static void
run_item(const char *buf, size_t len)
{
	json_t *item = NULL, *norm = NULL;
	const char *key;
	json_t *value;
	char digest[65];

	if (cu_item_parse(&item, buf, len) < 0)
		return;
	check_canon_fixed_point(item);
	json_object_foreach(item, key, value)
		if (json_is_string(value))
			poke_string(json_string_value(value));
	if (cu_receipt_validate(&norm, item) == 0) {
		char *id = cu_receipt_key(norm);

		if (id == NULL || cu_canon_digest(digest, norm) != 0)
			abort();
		check_revalidate(norm);
		free(id);
	}
	json_decref(norm);
	json_decref(item);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cu_span *spans = NULL;
	size_t n = 0;

	if (cu_input_split(&spans, &n, (const char *)data, size) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (spans[i].off > size || spans[i].len > size - spans[i].off || spans[i].len == 0)
			abort();
		run_item((const char *)data + spans[i].off, spans[i].len);
	}
	free(spans);
	return 0;
}
