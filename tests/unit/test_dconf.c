/* test_dconf.c — the daemon's configuration file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/dconf.h"
#include "custos/error.h"

#define THREE "archive = \"/var/lib/custos/archive\";\n" \
	"spool = \"/var/lib/custos/spool\";\n" \
	"socket = \"/run/custos/custos.sock\";\n"

static void
test_three_lines_and_defaults(void **state)
{
	cu_dconf *c = NULL;
	char *errors = (char *)"untouched";

	(void)state;
	assert_int_equal(cu_dconf_parse(&c, THREE, "t.conf", &errors), 0);
	assert_null(errors);
	assert_string_equal(c->archive, "/var/lib/custos/archive");
	assert_string_equal(c->spool, "/var/lib/custos/spool");
	assert_string_equal(c->socket, "/run/custos/custos.sock");
	assert_int_equal(c->ngrants, 4);
	assert_int_equal(cu_dconf_group_roles(c, "custos-operator"), CU_ROLE_INGEST);
	assert_int_equal(cu_dconf_group_roles(c, "custos-archivist"),
		CU_ROLE_GET | CU_ROLE_SEARCH | CU_ROLE_TRACE | CU_ROLE_EXPORT | CU_ROLE_LS |
		CU_ROLE_HOLDS | CU_ROLE_DISPOSITION_PROPOSE);
	assert_int_equal(cu_dconf_group_roles(c, "custos-auditor"),
		CU_ROLE_SEARCH | CU_ROLE_TRACE | CU_ROLE_POLICY | CU_ROLE_REVIEW |
		CU_ROLE_RECONCILE | CU_ROLE_AUDIT_REPORT | CU_ROLE_VERIFY);
	assert_int_equal(cu_dconf_group_roles(c, "custos-admin"),
		CU_ROLE_BACKUP | CU_ROLE_RESTORE | CU_ROLE_KEYS | CU_ROLE_CONFIG |
		CU_ROLE_DISPOSITION_APPROVE | CU_ROLE_STATUS | CU_ROLE_RUN);
	assert_int_equal(cu_dconf_group_roles(c, "wheel"), 0);
	assert_string_equal(c->schedule[CU_JOB_BACKUP_FULL], "Sun 02:00");
	assert_string_equal(c->schedule[CU_JOB_BACKUP_INCREMENTAL], "*-*-* 02:30");
	assert_string_equal(c->schedule[CU_JOB_VERIFY], "*-*-* 04:00");
	assert_string_equal(c->schedule[CU_JOB_VERIFY_FULL], "*-*-01 05:00");
	assert_int_equal(c->random_delay, 0);
	assert_int_equal(c->limits.request_bytes, 1 << 20);
	assert_int_equal(c->limits.clients, 64);
	assert_int_equal(c->limits.spool_file_bytes, 1ULL << 30);
	assert_int_equal(c->limits.request_seconds, 30);
	assert_null(c->backup.to);
	assert_null(c->backup.key);
	assert_int_equal(c->backup.keep_daily, 7);
	assert_int_equal(c->backup.keep_weekly, 5);
	assert_int_equal(c->backup.keep_monthly, 12);
	assert_int_equal(c->keep_archived, 1);
	cu_dconf_free(c);

	/* the socket too has a default */
	assert_int_equal(cu_dconf_parse(&c, "archive = \"/a\"; spool = \"/s\";", "t.conf", NULL), 0);
	assert_string_equal(c->socket, CU_DCONF_DEFAULT_SOCKET);
	cu_dconf_free(c);
}

static void
test_example_file(void **state)
{
	cu_dconf *c = NULL;
	char *errors = NULL;

	(void)state;
	if (cu_dconf_load(&c, "conf/custos.conf", &errors) < 0)
		fail_msg("conf/custos.conf: %s", errors ? errors : cu_error_last());
	assert_string_equal(c->archive, "/var/lib/custos/archive");
	assert_int_equal(c->ngrants, 4);
	assert_int_equal(cu_dconf_group_roles(c, "custos-auditor") & CU_ROLE_AUDIT_REPORT,
		CU_ROLE_AUDIT_REPORT);
	assert_string_equal(c->schedule[CU_JOB_VERIFY_FULL], "*-*-01 05:00");
	assert_int_equal(c->keep_archived, 1);
	cu_dconf_free(c);
}

static void
test_every_setting(void **state)
{
	cu_dconf *c = NULL;
	const char *text = THREE
		"roles = { clerks = [ \"ingest\", \"search\" ]; custos-admin = [ ]; };\n"
		"schedules = { backup_full = \"Sat 01:00\"; backup_incremental = \"\";\n"
		"  random_delay = 600; };\n"
		"limits = { request_bytes = 4096; clients = 8; spool_file_bytes = 8589934592L;\n"
		"  request_seconds = 5; };\n"
		"backup = { to = \"/srv/b\"; key = \"/etc/custos/b.key\"; keep_daily = 0;\n"
		"  keep_weekly = 0; keep_monthly = 1; };\n"
		"spool_options = { keep_archived = false; };\n";

	(void)state;
	assert_int_equal(cu_dconf_parse(&c, text, "t.conf", NULL), 0);
	assert_int_equal(c->ngrants, 2);
	assert_int_equal(cu_dconf_group_roles(c, "clerks"), CU_ROLE_INGEST | CU_ROLE_SEARCH);
	assert_int_equal(cu_dconf_group_roles(c, "custos-admin"), 0);
	assert_int_equal(cu_dconf_group_roles(c, "custos-operator"), 0);
	assert_string_equal(c->schedule[CU_JOB_BACKUP_FULL], "Sat 01:00");
	assert_null(c->schedule[CU_JOB_BACKUP_INCREMENTAL]);
	assert_string_equal(c->schedule[CU_JOB_VERIFY], "*-*-* 04:00");
	assert_int_equal(c->random_delay, 600);
	assert_int_equal(c->limits.request_bytes, 4096);
	assert_int_equal(c->limits.clients, 8);
	assert_int_equal(c->limits.spool_file_bytes, 8589934592ULL);
	assert_int_equal(c->limits.request_seconds, 5);
	assert_string_equal(c->backup.to, "/srv/b");
	assert_string_equal(c->backup.key, "/etc/custos/b.key");
	assert_int_equal(c->backup.keep_monthly, 1);
	assert_int_equal(c->keep_archived, 0);
	cu_dconf_free(c);
}

/* Parses text, expects CU_EINVALID, and that want is one of the lines of
 * the error list (and the last error is its first line). */
static void
expect_bad(const char *text, const char *want)
{
	cu_dconf *c = NULL;
	char *errors = NULL, line[600];

	assert_int_equal(cu_dconf_parse(&c, text, "t.conf", &errors), CU_EINVALID);
	assert_null(c);
	assert_non_null(errors);
	snprintf(line, sizeof(line), "%s\n", want);
	if (strstr(errors, line) == NULL)
		fail_msg("errors [%s] lack the line [%s]", errors, want);
	assert_non_null(strchr(errors, '\n'));
	assert_int_equal(strncmp(errors, cu_error_last(), strlen(cu_error_last())), 0);
	assert_null(strchr(cu_error_last(), '\n'));
	free(errors);
}

static void
test_required_and_paths(void **state)
{
	(void)state;
	expect_bad("spool = \"/s\";\n", "t.conf:1: archive: missing (required: the archive folder)");
	expect_bad("archive = \"/a\";\n", "t.conf:1: spool: missing (required: the spool folder)");
	expect_bad("spool = \"/s\";\narchive = \"var/lib/custos\";\n",
		"t.conf:2: archive: must be an absolute path (starting with /)");
	expect_bad("archive = \"/a\";\nspool = \"/s/../etc\";\n",
		"t.conf:2: spool: must be a plain absolute path (no //, . or .. parts)");
	expect_bad("archive = \"/a\";\nspool = \"/s\";\nsocket = \"run.sock\";\n",
		"t.conf:3: socket: must be an absolute path (starting with /)");
	expect_bad("archive = \"/a\";\nspool = \"/s\";\n\nsocket = \"/run/"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\";\n",
		"t.conf:4: socket: too long for a UNIX socket (107 bytes at most)");
	expect_bad("archive = 3;\nspool = \"/s\";\n", "t.conf:1: archive: must be a string in double quotes");
	expect_bad("archive = \"\";\nspool = \"/s\";\n", "t.conf:1: archive: must not be empty");
	expect_bad("archive = \"/a\";\nspool = \"/a\";\n", "t.conf:2: spool: must not be the archive folder");
	expect_bad("archive = \"/a\";\nspool = \"/s\";\nbackup = { to = \"backups\"; };\n",
		"t.conf:3: backup.to: must be an absolute path (starting with /)");
}

static void
test_unknown_at_each_level(void **state)
{
	(void)state;
	expect_bad(THREE "colour = \"blue\";\n", "t.conf:4: colour: unknown setting");
	expect_bad(THREE "schedules = {\n  verify = \"daily\";\n  defrag = \"daily\";\n};\n",
		"t.conf:6: schedules.defrag: unknown setting");
	expect_bad(THREE "limits = { clients = 3;\n threads = 4; };\n", "t.conf:5: limits.threads: unknown setting");
	expect_bad(THREE "backup = {\n\n  keep_yearly = 2; };\n", "t.conf:6: backup.keep_yearly: unknown setting");
	expect_bad(THREE "spool_options = { keep_rejected = true; };\n",
		"t.conf:4: spool_options.keep_rejected: unknown setting");
	/* a group where a string is expected, and a string where a group is */
	expect_bad(THREE "limits = 5;\n", "t.conf:4: limits: must be a group { … }");
	expect_bad(THREE "roles = [ \"ingest\" ];\n", "t.conf:4: roles: must be a group { … }");
}

static void
test_values(void **state)
{
	(void)state;
	expect_bad(THREE "roles = {\n  custos-operator = [ \"ingest\", \"fly\" ];\n};\n",
		"t.conf:5: roles.custos-operator: unknown role fly");
	expect_bad(THREE "roles = { ops = [ \"ingest\", \"ingest\" ]; };\n",
		"t.conf:4: roles.ops: role ingest listed twice");
	expect_bad(THREE "roles = { ops = \"ingest\"; };\n",
		"t.conf:4: roles.ops: must be a list of roles [ \"search\", … ]");
	expect_bad(THREE "roles = { Ops = [ ]; };\n", "t.conf:4: roles.Ops: not a valid group name");
	expect_bad(THREE "roles = { ops = [ 1 ]; };\n", "t.conf:4: roles.ops: each role must be a string");
	expect_bad(THREE "schedules = { verify = 4; };\n",
		"t.conf:4: schedules.verify: must be a string in double quotes");
	expect_bad(THREE "schedules = {\n  backup_full = \"Sun 02:61\";\n};\n",
		"t.conf:5: schedules.backup_full: calendar \"Sun 02:61\": minute \"61\": out of range 0-59");
	expect_bad(THREE "schedules = { verify = \"every night\"; };\n",
		"t.conf:4: schedules.verify: calendar \"every night\": weekday \"every\": not a day (Mon … Sun)");
	expect_bad(THREE "schedules = { random_delay = 86401; };\n",
		"t.conf:4: schedules.random_delay: must be an integer 0-86400");
	expect_bad(THREE "limits = { clients = 0; };\n", "t.conf:4: limits.clients: must be an integer 1-4096");
	expect_bad(THREE "limits = { request_bytes = \"1M\"; };\n",
		"t.conf:4: limits.request_bytes: must be an integer 1024-67108864");
	expect_bad(THREE "limits = { request_seconds = 1.5; };\n",
		"t.conf:4: limits.request_seconds: must be an integer 1-3600");
	expect_bad(THREE "backup = { key = \"/k\"; };\n",
		"t.conf:4: backup.key: needs backup.to (the folder the backups go to)");
	expect_bad(THREE "backup = { to = \"/b\"; keep_daily = 0; keep_weekly = 0; keep_monthly = 0; };\n",
		"t.conf:4: backup: keep_daily, keep_weekly and keep_monthly are all 0: every backup would be pruned");
	expect_bad(THREE "spool_options = { keep_archived = 1; };\n",
		"t.conf:4: spool_options.keep_archived: must be true or false");
}

static void
test_every_problem_listed(void **state)
{
	cu_dconf *c = NULL;
	char *errors = NULL;
	int lines = 0;

	(void)state;
	assert_int_equal(cu_dconf_parse(&c, "archive = \"a\";\nspool = 3;\nfoo = 1;\n"
		"limits = { clients = 0; };\n", "t.conf", &errors), CU_EINVALID);
	for (char *p = errors; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 4);
	/* in the order of the file */
	assert_string_equal(errors, "t.conf:1: archive: must be an absolute path (starting with /)\n"
		"t.conf:2: spool: must be a string in double quotes\n"
		"t.conf:3: foo: unknown setting\n"
		"t.conf:4: limits.clients: must be an integer 1-4096\n");
	assert_string_equal(cu_error_last(), "t.conf:1: archive: must be an absolute path (starting with /)");
	assert_non_null(strstr(errors, "t.conf:3: foo: unknown setting\n"));
	assert_non_null(strstr(errors, "t.conf:4: limits.clients: must be an integer 1-4096\n"));
	free(errors);
}

static void
test_syntax_and_files(void **state)
{
	cu_dconf *c = NULL;
	char *errors = NULL;

	(void)state;
	assert_int_equal(cu_dconf_parse(&c, THREE "limits = { clients = ; };\n", "t.conf", &errors),
		CU_EINVALID);
	assert_null(c);
	assert_string_equal(errors, "t.conf:4: syntax: syntax error\n");
	free(errors);
	assert_int_equal(cu_dconf_load(&c, "/nonexistent/custos.conf", &errors), CU_ENOTFOUND);
	assert_null(errors);
	assert_non_null(strstr(cu_error_last(), "/nonexistent/custos.conf"));
}

static void
test_role_names(void **state)
{
	(void)state;
	for (int i = 0; i < CU_ROLE_COUNT; i++) {
		const char *n = cu_role_name(1u << i);
		assert_non_null(n);
		assert_int_equal(cu_role_parse(n), 1u << i);
	}
	assert_null(cu_role_name(3));
	assert_null(cu_role_name(1u << CU_ROLE_COUNT));
	assert_int_equal(cu_role_parse("Ingest"), 0);
	assert_string_equal(cu_role_name(CU_ROLE_AUDIT_REPORT), "audit-report");
	assert_string_equal(cu_dconf_job_name(CU_JOB_VERIFY_FULL), "verify_full");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_lines_and_defaults),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_every_setting),
		cmocka_unit_test(test_required_and_paths),
		cmocka_unit_test(test_unknown_at_each_level),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_every_problem_listed),
		cmocka_unit_test(test_syntax_and_files),
		cmocka_unit_test(test_role_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
