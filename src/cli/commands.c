/* commands.c — the table of `custos` commands, shared by the command line
 * (main.c) and the daemon, which runs the same commands for its clients. */
#include <string.h>

#include "cli.h"
#include "custos/dconf.h"

static const struct cli_command commands[] = {
	{ "init",   cmd_init,   CLI_LOCAL, "create an archive" },
	{ "ingest", cmd_ingest, 0, "archive receipts and case files (BagIt bags)" },
	{ "search", cmd_search, 0, "find records by person, organisation, service, time, words" },
	{ "get",    cmd_get,    0, "retrieve a record or its content (the access is recorded)" },
	{ "ls",     cmd_ls,     0, "list the volumes and files of a case" },
	{ "export", cmd_export, 0, "a record or a search result as a BagIt bag with proofs (recorded)" },
	{ "keys",   cmd_keys,   0, "print the archive's public key, allowed-signers line, note key" },
	{ "checkpoint", cmd_checkpoint, 0, "print the log's latest signed checkpoint" },
	{ "prove",  cmd_prove,  0, "inclusion proof of a record, or consistency between log sizes" },
	{ "amend",  cmd_amend,  0, "correct a record: a new revision with the changes and the reason" },
	{ "trace",  cmd_trace,  0, "the whole life of a record: ingested, accessed, verified" },
	{ "verify", cmd_verify, 0, "check everything; report every problem (recorded as an event)" },
	{ "reindex", cmd_reindex, 0, "rebuild the search index from the history and the objects" },
	{ "bag", cmd_bag, CLI_LOCAL, "check BagIt bags (custos bag validate PATH...)" },
	{ "disposition", cmd_disposition, 0, "retention: records due, destruction lists, approval" },
	{ "hold",   cmd_hold,   0, "legal holds: keep records from disposal" },
	{ "review", cmd_review, 0, "the review queue of fund transactions (four eyes)" },
	{ "reconcile", cmd_reconcile, 0, "a bank statement against the books of one account" },
	{ "policy", cmd_policy, 0, "the fund-control policy in force: install, check, list, replay" },
	{ "audit",  cmd_audit,  0, "the internal-control audit report of a period (HTML or JSON)" },
	{ "backup", cmd_backup, 0, "backups: keygen, create, list, verify, prune" },
	{ "restore", cmd_restore, CLI_LOCAL, "restore a chain of backups into a new archive folder" },
	{ "config", cmd_config, 0, "check the daemon's configuration; make the daemon re-read it" },
	{ "spool",  cmd_spool,  0, "one pass of the spool intake (custos spool run --spool DIR)" },
	{ "status", NULL, CLI_DAEMON, "the daemon: spool queue, last and next run of each job" },
	{ "run",    NULL, CLI_DAEMON, "start a scheduled job now (custos run backup|verify)" },
	{ NULL, NULL, 0, NULL }
};

const struct cli_command *
cli_commands(void)
{
	return commands;
}

const struct cli_command *
cli_command_find(const char *name)
{
	for (const struct cli_command *k = commands; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

uint32_t
cli_command_role(int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "";
	const char *sub = argc > 1 ? argv[1] : "";
	static const struct { const char *cmd; uint32_t role; } simple[] = {
		{ "ingest", CU_ROLE_INGEST }, { "amend", CU_ROLE_INGEST },
		{ "get", CU_ROLE_GET }, { "search", CU_ROLE_SEARCH },
		{ "trace", CU_ROLE_TRACE }, { "export", CU_ROLE_EXPORT },
		{ "ls", CU_ROLE_LS }, { "hold", CU_ROLE_HOLDS },
		{ "policy", CU_ROLE_POLICY }, { "review", CU_ROLE_REVIEW },
		{ "reconcile", CU_ROLE_RECONCILE }, { "audit", CU_ROLE_AUDIT_REPORT },
		{ "verify", CU_ROLE_VERIFY }, { "checkpoint", CU_ROLE_VERIFY },
		{ "prove", CU_ROLE_VERIFY }, { "keys", CU_ROLE_KEYS },
		{ "backup", CU_ROLE_BACKUP }, { "restore", CU_ROLE_RESTORE },
		{ "config", CU_ROLE_CONFIG }, { "status", CU_ROLE_STATUS },
		{ "run", CU_ROLE_RUN }, { "reindex", CU_ROLE_RUN }, { "spool", CU_ROLE_RUN },
	};

	if (strcmp(cmd, "disposition") == 0)
		return strcmp(sub, "approve") == 0 || strcmp(sub, "reject") == 0
			? CU_ROLE_DISPOSITION_APPROVE : CU_ROLE_DISPOSITION_PROPOSE;
	for (size_t i = 0; i < sizeof(simple) / sizeof(*simple); i++)
		if (strcmp(cmd, simple[i].cmd) == 0)
			return simple[i].role;
	return 0;
}

int
cli_command_reads(int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "", *sub = argc > 1 ? argv[1] : "";
	static const char *const readers[] = { "trace", "ls", "checkpoint", "prove", "keys" };

	for (size_t i = 0; i < sizeof(readers) / sizeof(*readers); i++)
		if (strcmp(cmd, readers[i]) == 0)
			return 1;
	if (strcmp(cmd, "search") == 0) {
		/* --unmask is recorded (an access event): a write */
		for (int i = 1; i < argc; i++) {
			/* getopt takes any unambiguous start of it: "--u" is enough */
			size_t n = strlen(argv[i]);
			if (n >= 3 && strncmp(argv[i], "--unmask", n) == 0)
				return 0;
		}
		return 1;
	}
	if (strcmp(cmd, "audit") == 0)
		return 1;
	if (strcmp(cmd, "review") == 0 || strcmp(cmd, "hold") == 0 || strcmp(cmd, "backup") == 0)
		return strcmp(sub, "list") == 0;
	if (strcmp(cmd, "disposition") == 0)
		return strcmp(sub, "due") == 0;
	if (strcmp(cmd, "policy") == 0)
		return strcmp(sub, "list") == 0 || strcmp(sub, "check") == 0 || strcmp(sub, "replay") == 0;
	return 0;
}
