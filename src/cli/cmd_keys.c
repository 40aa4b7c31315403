/* cmd_keys.c — custos keys [--public] [--allowed-signers] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "custos/error.h"

static void
help(void)
{
	printf("usage: custos [-A DIR] keys [--public] [--allowed-signers] [--vkey]\n\n"
		"  --public            the archive's Ed25519 signing key, OpenSSH form\n"
		"  --allowed-signers   the line for git's gpg.ssh.allowedSignersFile, so that\n"
		"                      `git verify-commit` checks every history commit\n"
		"  --vkey              the signed-note verifier key of the log's checkpoints\n"
		"Without options, the first two, labelled.\n");
}

int
cmd_keys(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "public", no_argument, NULL, 'p' },
		{ "allowed-signers", no_argument, NULL, 's' },
		{ "vkey", no_argument, NULL, 'v' },
		COMMON_LONG_OPTS, { NULL, 0, NULL, 0 } };
	int pub = 0, signers = 0, vkey = 0, opt;
	cu_archive *a;
	char *line;

	while ((opt = cli_next_opt(c, argc, argv, "A:h", opts)) != -1) {
		if (opt == OPT_BAD)
			return EXIT_USAGE;
		switch (opt) {
		case 'p': pub = 1; break;
		case 's': signers = 1; break;
		case 'v': vkey = 1; break;
		case 'h': help(); return EXIT_DONE;
		default: return cli_usage("keys", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage("keys", "unexpected argument %s", argv[optind]);
	if ((a = cli_open(c, CU_ARCHIVE_READ)) == NULL)
		return EXIT_USAGE;
	if (vkey) {
		/* alone, or with the others labelled */
		if ((line = cu_archive_vkey(a)) == NULL)
			goto fail;
		printf(pub || signers ? "note verifier:   %s\n" : "%s\n", line);
		free(line);
		if (!pub && !signers) {
			cu_archive_free(a);
			return EXIT_DONE;
		}
	}
	if (pub || !signers) {
		if ((line = cu_archive_public_key(a)) == NULL)
			goto fail;
		printf(pub && !signers ? "%s\n" : "public key:      %s\n", line);
		free(line);
	}
	if (signers || !pub) {
		if ((line = cu_archive_allowed_signers(a)) == NULL)
			goto fail;
		printf(signers && !pub ? "%s\n" : "allowed signers: %s\n", line);
		free(line);
	}
	cu_archive_free(a);
	return EXIT_DONE;
fail:
	cu_archive_free(a);
	return cli_fail("keys");
}
