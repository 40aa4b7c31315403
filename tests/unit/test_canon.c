/* test_canon.c — RFC 8785 canonical JSON (src/canon.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"

/* Parses JSON text that the test itself wrote (numbers stay integers). */
static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (v == NULL)
		fail_msg("test JSON does not parse: %s (%s)", jerr.text, text);
	return v;
}

/* Asserts that the canonical form of v is exactly `expect`, and consumes v. */
static void
expect_canon_value(json_t *v, const char *expect)
{
	char *out = NULL;
	size_t len = 0;
	int rc = cu_canon(&out, &len, v);

	if (rc != 0)
		fail_msg("cu_canon failed: %s", cu_error_last());
	assert_non_null(out);
	assert_string_equal(out, expect);
	assert_int_equal(len, strlen(expect));
	free(out);
	json_decref(v);
}

/* As expect_canon_value for JSON text. */
static void
expect_canon(const char *text, const char *expect)
{
	expect_canon_value(load(text), expect);
}

/* Asserts that cu_canon refuses v with exactly the message `msg`; consumes v. */
static void
expect_reject_value(json_t *v, const char *msg)
{
	char *out = (char *)"sentinel";
	size_t len = 99;
	int rc = cu_canon(&out, &len, v);

	assert_int_equal(rc, CU_EINVALID);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_string_equal(cu_error_last(), msg);
	json_decref(v);
}

static void
expect_reject(const char *text, const char *msg)
{
	expect_reject_value(load(text), msg);
}

/* RFC 8785 section 3.2.3: names sort by UTF-16 code units, so U+1F600
 * (surrogates D83D DE00) comes before U+FB33 although its UTF-8 bytes
 * (F0 ...) sort after EF AC B3. */
static void
test_sort_rfc8785_example(void **state)
{
	(void)state;
	expect_canon(
		"{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\","
		"\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\","
		"\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\","
		"\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}",
		"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
		"\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
		"\"\xe2\x82\xac\":\"Euro Sign\","
		"\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
		"\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

/* The one place UTF-8 order and UTF-16 order disagree, on its own: U+FFFD
 * against U+10000, and U+D7FF (below the surrogates) against U+10000. */
static void
test_sort_supplementary_vs_bmp_high(void **state)
{
	(void)state;
	expect_canon("{\"\\ufffd\":1,\"\\ud800\\udc00\":2,\"\\ud7ff\":3}",
		"{\"\xed\x9f\xbf\":3,\"\xf0\x90\x80\x80\":2,\"\xef\xbf\xbd\":1}");
	/* same order with the members inserted the other way round */
	expect_canon("{\"\\ud7ff\":3,\"\\ud800\\udc00\":2,\"\\ufffd\":1}",
		"{\"\xed\x9f\xbf\":3,\"\xf0\x90\x80\x80\":2,\"\xef\xbf\xbd\":1}");
}

static void
test_sort_ascii_and_prefixes(void **state)
{
	(void)state;
	expect_canon("{\"b\":1,\"aa\":2,\"a\":3,\"B\":4,\"\":5,\"a0\":6}",
		"{\"\":5,\"B\":4,\"a\":3,\"a0\":6,\"aa\":2,\"b\":1}");
}

static void
test_escapes(void **state)
{
	(void)state;
	expect_canon("\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f \\u007f / \\/\"",
		"\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f \x7f / /\"");
	/* \u00xx uses lower-case hex */
	expect_canon("\"\\u001B\\u000b\"", "\"\\u001b\\u000b\"");
}

/* A NUL inside a string (possible when built in code) is \u0000. */
static void
test_escape_nul(void **state)
{
	(void)state;
	expect_canon_value(json_stringn("a\0b", 3), "\"a\\u0000b\"");
}

static void
test_unicode_raw(void **state)
{
	(void)state;
	expect_canon("{\"name\":\"\\u5f20\\u4e09\",\"e\":\"\\ud83d\\ude00\",\"ls\":\"\\u2028\"}",
		"{\"e\":\"\xf0\x9f\x98\x80\",\"ls\":\"\xe2\x80\xa8\","
		"\"name\":\"\xe5\xbc\xa0\xe4\xb8\x89\"}");
}

static void
test_nested(void **state)
{
	(void)state;
	expect_canon("{ \"b\" : [1, {\"z\": null, \"a\": true}],\n \"a\": {\"y\": false, \"x\": -5} }",
		"{\"a\":{\"x\":-5,\"y\":false},\"b\":[1,{\"a\":true,\"z\":null}]}");
}

static void
test_empty_containers(void **state)
{
	(void)state;
	expect_canon("{}", "{}");
	expect_canon("[]", "[]");
	expect_canon("{\"b\":[],\"a\":{}}", "{\"a\":{},\"b\":[]}");
	expect_canon("[[],[{}]]", "[[],[{}]]");
}

static void
test_scalars(void **state)
{
	(void)state;
	expect_canon("0", "0");
	expect_canon("-0", "0");
	expect_canon("true", "true");
	expect_canon("null", "null");
	expect_canon("\"\"", "\"\"");
}

static void
test_integer_limits(void **state)
{
	(void)state;
	expect_canon("[9007199254740991,-9007199254740991]",
		"[9007199254740991,-9007199254740991]");
	expect_reject("{\"n\":9007199254740992}",
		"n: integer out of range (more than 2^53 - 1 in magnitude)");
	expect_reject("{\"a\":[-9007199254740992]}",
		"a[0]: integer out of range (more than 2^53 - 1 in magnitude)");
}

static void
test_real_rejected_with_path(void **state)
{
	(void)state;
	expect_reject("{\"ext\":{\"rate\":1.5}}", "ext.rate: real numbers are not allowed");
	expect_reject("{\"a\":[1,[2,0.5]]}", "a[1][1]: real numbers are not allowed");
	expect_reject("[{\"x\":{\"y\":1e3}}]", "[0].x.y: real numbers are not allowed");
	expect_reject("2.0", "real numbers are not allowed");
}

/* A control character in a member name must not reach the message. */
static void
test_path_is_clean(void **state)
{
	(void)state;
	expect_reject("{\"a\\u001bb\":0.5}", "a?b: real numbers are not allowed");
}

/* Strings built without UTF-8 checking are refused, not guessed at. */
static void
test_invalid_utf8_rejected(void **state)
{
	json_t *o = json_object();

	(void)state;
	json_object_set_new(o, "s", json_stringn_nocheck("a\xff", 2));
	expect_reject_value(o, "s: string is not valid UTF-8");
}

static void
test_digest(void **state)
{
	char hex[65];
	json_t *v = load("{ }");

	(void)state;
	assert_int_equal(cu_canon_digest(hex, v), 0);
	assert_string_equal(hex, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
	json_decref(v);
	v = load("{\n \"a\" : 1 }");
	assert_int_equal(cu_canon_digest(hex, v), 0);
	assert_string_equal(hex, "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862");
	json_decref(v);
	v = load("{\"a\":0.5}");
	assert_int_equal(cu_canon_digest(hex, v), CU_EINVALID);
	assert_string_equal(hex, "");
	json_decref(v);
}

/* Canonical form does not depend on insertion order. */
static void
test_insertion_order_irrelevant(void **state)
{
	char *a = NULL, *b = NULL;
	size_t la, lb;
	json_t *x = json_object(), *y = json_object();
	const char *names[] = { "z", "\xe4\xb8\x89", "m", "\xf0\x9f\x98\x80", "A", "\xef\xbc\xa1" };

	(void)state;
	for (int i = 0; i < 6; i++) {
		json_object_set_new(x, names[i], json_integer(i));
		json_object_set_new(y, names[5 - i], json_integer(5 - i));
	}
	assert_int_equal(cu_canon(&a, &la, x), 0);
	assert_int_equal(cu_canon(&b, &lb, y), 0);
	assert_string_equal(a, b);
	assert_string_equal(a, "{\"A\":4,\"m\":2,\"z\":0,\"\xe4\xb8\x89\":1,"
		"\"\xf0\x9f\x98\x80\":3,\"\xef\xbc\xa1\":5}");
	free(a);
	free(b);
	json_decref(x);
	json_decref(y);
}

/* cu_canon_sealed gives exactly what sealing by hand gives: the digest of
 * the canonical form without the member, and the canonical form with it —
 * wherever the member falls (first, between, last, alone, among non-ASCII
 * names that sort by UTF-16). */
static void
expect_sealed(const char *text)
{
	json_t *doc = load(text), *with;
	char *body = NULL, *sealed = NULL, *want = NULL, hex[65], id[65];
	size_t blen, slen, wlen;

	assert_int_equal(cu_canon(&body, &blen, doc), 0);
	assert_int_equal(cu_canon_digest(hex, doc), 0);
	with = json_deep_copy(doc);
	json_object_set_new(with, "id", json_string(hex));
	assert_int_equal(cu_canon(&want, &wlen, with), 0);
	assert_int_equal(cu_canon_sealed(&sealed, &slen, id, "id", doc), 0);
	assert_string_equal(id, hex);
	assert_string_equal(sealed, want);
	assert_int_equal(slen, wlen);
	free(body);
	free(sealed);
	free(want);
	json_decref(with);
	json_decref(doc);
}

static void
test_sealed_everywhere(void **state)
{
	(void)state;
	expect_sealed("{}");
	expect_sealed("{\"a\":1}");
	expect_sealed("{\"z\":1}");
	expect_sealed("{\"a\":1,\"z\":[1,{\"id\":2}]}");
	expect_sealed("{\"i\":1,\"ia\":2,\"idx\":3,\"ie\":4}");
	expect_sealed("{\"I\":1,\"\\u4e09\":2,\"\\ud83d\\ude00\":3,\"\\uff21\":4}");
	expect_sealed("{\"version\":1,\"kind\":\"receipt\",\"leaf\":7,\"by\":{\"user\":\"u\"}}");
}

static void
test_sealed_refusals(void **state)
{
	json_t *doc = load("{\"id\":\"x\",\"a\":1}"), *arr = load("[1]"), *real = load("{\"r\":1.5}");
	char *out = (char *)"sentinel", hex[65];
	size_t len = 9;

	(void)state;
	assert_int_equal(cu_canon_sealed(&out, &len, hex, "id", doc), CU_EINVALID);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(cu_canon_sealed(&out, &len, hex, "id", arr), CU_EINVALID);
	assert_int_equal(cu_canon_sealed(&out, &len, hex, "id", real), CU_EINVALID);
	assert_string_equal(cu_error_last(), "r: real numbers are not allowed");
	assert_null(out);
	json_decref(doc);
	json_decref(arr);
	json_decref(real);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_rfc8785_example),
		cmocka_unit_test(test_sort_supplementary_vs_bmp_high),
		cmocka_unit_test(test_sort_ascii_and_prefixes),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_escape_nul),
		cmocka_unit_test(test_unicode_raw),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_empty_containers),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_integer_limits),
		cmocka_unit_test(test_real_rejected_with_path),
		cmocka_unit_test(test_path_is_clean),
		cmocka_unit_test(test_invalid_utf8_rejected),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_insertion_order_irrelevant),
		cmocka_unit_test(test_sealed_everywhere),
		cmocka_unit_test(test_sealed_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
