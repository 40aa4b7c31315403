/* cmd_restore.c — custos restore --to NEWDIR FILE... [--key FILE] (docs/backup.md) */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "custos/backup.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos restore --to NEWDIR FILE... [--key FILE] [--verify]\n"
		"                      [--signing-key FILE --person-key FILE]\n\n"
		"Restores a full backup and its incrementals (in any order: the chain\n"
		"decides) into NEWDIR, which must not exist or be empty.  Everything is\n"
		"written into a hidden folder beside NEWDIR and renamed into place only\n"
		"after every member's digest, the signatures and the chain's links were\n"
		"checked, the index (carried by the full backup) was brought up to the\n"
		"last backup's head, and the log it holds was checked against the last\n"
		"backup's signed checkpoint (size and root).  --verify also runs the\n"
		"whole of custos verify (every document re-derived) before the rename;\n"
		"a full backup made without an index always gets the index rebuilt and\n"
		"the whole check.  --key for encrypted\n"
		"backups; a backup that is not encrypted holds no secret key, and then\n"
		"--signing-key and --person-key give the archive's keys/signing.pem and\n"
		"keys/person.hmac.\n"
		"Prints: restored NEWDIR: N backups, M files, B bytes, head H, checkpoint S\n"
		"A problem in a member is printed as problem FILE: MEMBER: why; the reason\n"
		"for a refusal goes to stderr.\n"
		"Exit 0 done, 1 refused (a bad or altered backup, a broken chain, a wrong\n"
		"key: nothing written), 2 usage or system error.\n");
}

static int
print_problem(const cu_backup_problem *p, void *payload)
{
	(void)payload;
	printf("problem %s: %s%s", p->file, p->member ? p->member : "", p->member ? ": " : "");
	cli_put_field(p->message);
	putchar('\n');
	return 0;
}

int
cmd_restore(struct cli *c, int argc, char **argv)
{
	enum { O_TO = 2100, O_KEY, O_SIGN, O_PERSON, O_VERIFY };
	static const struct option opts[] = {
		{ "to", required_argument, NULL, O_TO },
		{ "key", required_argument, NULL, O_KEY },
		{ "signing-key", required_argument, NULL, O_SIGN },
		{ "person-key", required_argument, NULL, O_PERSON },
		{ "verify", no_argument, NULL, O_VERIFY },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	cu_restore_opts o;
	cu_restore_result r;
	struct cli_progress pg;
	const char *to = NULL;
	int opt, error;

	memset(&o, 0, sizeof(o));
	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case O_TO: to = optarg; break;
		case O_KEY: o.key_file = optarg; break;
		case O_SIGN: o.signing_key = optarg; break;
		case O_PERSON: o.person_key = optarg; break;
		case O_VERIFY: o.full_check = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("restore", "bad option");
		}
	}
	if (to == NULL)
		return cli_usage("restore", "--to NEWDIR is required");
	if (argc - optind < 1)
		return cli_usage("restore", "one backup FILE or more is needed");
	if ((o.signing_key == NULL) != (o.person_key == NULL))
		return cli_usage("restore", "--signing-key and --person-key go together");
	cli_progress_begin(&pg, "restore");
	if (isatty(2)) {
		o.progress = cli_progress;
		o.progress_payload = &pg;
	}
	error = cu_backup_restore(to, (const char *const *)argv + optind, (size_t)(argc - optind),
		&o, print_problem, NULL, &r);
	cli_progress_end(&pg);
	if (error < 0) {
		cli_fail("restore");
		return error == CU_EINVALID ? EXIT_PROBLEMS : EXIT_USAGE;
	}
	printf("restored %s: %zu backup%s, %llu files, %llu bytes, head %s, checkpoint %llu\n", to,
		r.backups, r.backups == 1 ? "" : "s", (unsigned long long)r.members,
		(unsigned long long)r.bytes, r.head, (unsigned long long)r.log_size);
	return EXIT_DONE;
}
