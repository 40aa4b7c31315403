/* test_conf.c — archive settings and the classification table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "custos/conf.h"
#include "custos/error.h"

static void
test_default_table(void **state)
{
	cu_conf *c = NULL;
	cu_class k;

	(void)state;
	assert_int_equal(cu_conf_parse(&c, cu_conf_default_text(), "archive.conf"), 0);
	assert_int_equal(cu_conf_batch_size(c), 10000);
	assert_int_equal(cu_conf_pack_threshold(c), 65536);
	assert_int_equal(cu_conf_tz_offset(c), 480);
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "registration", "org"), 0);
	assert_string_equal(k.retention, "Y");
	assert_string_equal(k.class_, "DJ");
	assert_string_equal(k.category, "SB");
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "registration", "person"), 0);
	assert_string_equal(k.retention, "D100");
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "contribution", "person"), 0);
	assert_string_equal(k.retention, "D10");
	assert_string_equal(k.class_, "JF");
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "benefit", "org"), 0);
	assert_string_equal(k.retention, "D30");
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "complaint", "person"), 0);
	assert_string_equal(k.class_, "TS");
	assert_int_equal(cu_conf_classify(&k, c, "fund_txn", "benefit", NULL), CU_ENOTFOUND);
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "teleportation", "person"), CU_ENOTFOUND);
	cu_conf_free(c);
}

/* Parses text and expects failure with a message containing want. */
static void
expect_bad(const char *text, const char *want)
{
	cu_conf *c = NULL;

	assert_int_equal(cu_conf_parse(&c, text, "t.conf"), CU_EINVALID);
	assert_null(c);
	if (strstr(cu_error_last(), want) == NULL)
		fail_msg("message [%s] lacks [%s]", cu_error_last(), want);
}

#define ROW "{ kind = \"receipt\"; category = \"SB\"; class = \"ZX\"; retention = \"D10\"; }"

static void
test_errors_name_the_line(void **state)
{
	(void)state;
	expect_bad("classes = ( " ROW " );\ncolour = 3;\n", "t.conf:2: unknown setting colour");
	expect_bad("classes = (\n { kind = \"receipt\"; category = \"SB\"; class = \"ZX\"; retention = \"D20\"; }\n);",
		"t.conf:2: retention: must be one of");
	expect_bad("classes = ( { kind = \"receipt\"; category = \"sb\"; class = \"ZX\"; retention = \"D10\"; } );",
		"category: only capital letters");
	expect_bad("classes = ( { kind = \"receipt\"; class = \"ZX\"; retention = \"D10\"; } );",
		"category missing");
	expect_bad("classes = ( { kind = \"receipt\"; category = \"SB\"; class = \"ZX\"; retention = \"D10\"; shelf = 1; } );",
		"unknown setting shelf");
	expect_bad("batch_size = 0;\nclasses = ( " ROW " );", "t.conf:1: batch_size");
	expect_bad("timezone = \"CST\";\nclasses = ( " ROW " );", "timezone: must be an offset");
	expect_bad("classes = ();", "classes: must be a non-empty list");
	expect_bad("classes = ( " ROW " ) oops", "t.conf:1:");
	/* destruction lists are kept permanently, whatever their row says */
	expect_bad("classes = ( " ROW ",\n { kind = \"disposal_list\"; category = \"SB\"; "
		"class = \"XH\"; retention = \"D30\"; } );",
		"t.conf:2: retention: a disposal_list row must be Y");
	expect_bad("classes = ( { kind = \"disposal_list\"; service = \"benefit\"; category = "
		"\"SB\"; class = \"XH\"; retention = \"Y\"; } );", "a disposal_list row has no service");
}

static void
test_disposal_list_row(void **state)
{
	cu_conf *c = NULL;
	cu_class k;

	(void)state;
	assert_int_equal(cu_conf_parse(&c, cu_conf_default_text(), "archive.conf"), 0);
	assert_int_equal(cu_conf_classify(&k, c, "disposal_list", NULL, NULL), 0);
	assert_string_equal(k.category, "SB");
	assert_string_equal(k.class_, "XH");
	assert_string_equal(k.retention, "Y");
	cu_conf_free(c);
	assert_int_equal(cu_conf_parse(&c, "classes = ( " ROW " );", "t.conf"), 0);
	assert_int_equal(cu_conf_classify(&k, c, "disposal_list", NULL, NULL), CU_ENOTFOUND);
	cu_conf_free(c);
}

static void
test_settings_and_first_match(void **state)
{
	cu_conf *c = NULL;
	cu_class k;

	(void)state;
	assert_int_equal(cu_conf_parse(&c,
		"batch_size = 7; pack_threshold = 0; timezone = \"-05:30\";\n"
		"classes = ( { kind = \"receipt\"; service = \"benefit\"; category = \"SB\"; class = \"A1\"; retention = \"D50\"; },\n"
		"            { kind = \"receipt\"; category = \"SB\"; class = \"B2\"; retention = \"D10\"; } );",
		"t.conf"), 0);
	assert_int_equal(cu_conf_batch_size(c), 7);
	assert_int_equal(cu_conf_pack_threshold(c), 0);
	assert_int_equal(cu_conf_tz_offset(c), -330);
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "benefit", "person"), 0);
	assert_string_equal(k.class_, "A1");
	assert_int_equal(cu_conf_classify(&k, c, "receipt", "complaint", "person"), 0);
	assert_string_equal(k.class_, "B2");
	cu_conf_free(c);
}

static void
test_codes(void **state)
{
	(void)state;
	assert_int_equal(cu_conf_check_code("SI01", "--fonds"), 0);
	assert_int_equal(cu_conf_check_code("", "--fonds"), CU_EINVALID);
	assert_int_equal(cu_conf_check_code("SI-01", "--fonds"), CU_EINVALID);
	assert_int_equal(cu_conf_check_code("SI·1", "--fonds"), CU_EINVALID);
	assert_int_equal(cu_conf_check_code("ABCDEFGHIJKLMNOPQ", "--fonds"), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "--fonds"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_table),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_disposal_list_row),
		cmocka_unit_test(test_settings_and_first_match),
		cmocka_unit_test(test_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
