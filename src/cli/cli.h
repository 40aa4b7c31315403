/*
 * cli.h — what the `custos` commands share: options common to all of them,
 * the archive path, exit codes and error printing.  Commands are thin: they
 * parse options, call the archive facade and print.
 */
#ifndef CUSTOS_CLI_H
#define CUSTOS_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "custos/archive.h"

/* Exit codes, documented in custos(1). */
enum { EXIT_DONE = 0, EXIT_PROBLEMS = 1, EXIT_USAGE = 2 };

#define CLI_DEFAULT_ARCHIVE "/var/lib/custos"
#define CLI_DEFAULT_WAIT 60

struct cli {
	const char *archive;   /* -A / --archive, else CUSTOS_ARCHIVE, else the default */
	int wait;              /* seconds to wait for the writers' lock */
	const char *actor;     /* the daemon's client: recorded as who acted (NULL: this process's user) */
	unsigned long actor_uid;
	int archive_fixed;     /* in the daemon: -A is refused (it serves one archive) */
	cu_archive *shared;    /* in a daemon's reader: its open archive, lent to READ opens */
};

/* The commands, in the order `custos help` lists them. */
#define CLI_LOCAL  1   /* always runs in the calling process (init, bag, restore) */
#define CLI_DAEMON 2   /* only the daemon answers it (status, run) */
struct cli_command {
	const char *name;
	int (*run)(struct cli *, int, char **);   /* NULL for CLI_DAEMON commands */
	int flags;
	const char *summary;
};

/* The table, ended by an entry whose name is NULL. */
const struct cli_command *cli_commands(void);

/* The command called name, or NULL. */
const struct cli_command *cli_command_find(const char *name);

/* The role (custos/dconf.h) a client of the daemon needs for the command
 * argv[0] with its arguments; 0 for a command the daemon does not run. */
uint32_t cli_command_role(int argc, char **argv);

/* 1 if the command with these arguments only reads the archive (the
 * daemon runs it beside others), 0 if it writes (an ingest, an event such
 * as an access or a review, a backup): those run one after another. */
int cli_command_reads(int argc, char **argv);

/* Sends the command to the daemon at sock (client side of docs/protocol.md)
 * and prints its answer as the command itself would: returns the exit
 * status, or -1 (nothing printed, nothing sent) when no daemon listens
 * there. */
int cli_remote(const struct cli *c, const char *sock, int argc, char **argv);

/* One outcome of an ingest, printed as `custos ingest` prints it (plain or
 * JSON line); 0 or a negative error. */
int cli_ingest_print(FILE *out, const cu_ingest_result *r, int json);

/* The summary lines of an ingest on err ("custos: N archived, …"). */
void cli_ingest_summary(FILE *err, const cu_ingest_stats *st);

/* The archive folder to act on. */
const char *cli_archive_path(const struct cli *c);

/* Opens the archive, telling the user on stderr when it waits for another
 * writer.  Prints the error and returns NULL on failure.  A read-only open
 * in a daemon's reader gets one more hold on the reader's open archive. */
cu_archive *cli_open(const struct cli *c, int mode);

/* Prints "custos: <what>: <last error>" (or without what) to stderr and
 * returns EXIT_USAGE. */
int cli_fail(const char *what);

/* Prints "custos: <message>" and the command's usage hint; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Handles -A/--archive and --wait inside a command's getopt loop: returns 1
 * if the option was one of them, 0 if not, -1 (after printing why) if its
 * value is bad. */
int cli_common_opt(struct cli *c, int opt, const char *arg);

/* getopt_long for a command, with the common options handled here: returns
 * the command's next option, -1 at the end, or OPT_BAD (after printing why)
 * when a common option's value is bad. */
#define OPT_BAD 1001
int cli_next_opt(struct cli *c, int argc, char **argv, const char *shortopts,
	const struct option *longopts);

/* The filter options of search, shared with export --search: long options
 * with ids from OPT_FILTER on, and the function that applies one to a
 * query. */
#define OPT_FILTER 1100
#define SEARCH_FILTER_LONG_OPTS \
	{ "person", required_argument, NULL, OPT_FILTER + 0 }, \
	{ "org", required_argument, NULL, OPT_FILTER + 1 }, \
	{ "service", required_argument, NULL, OPT_FILTER + 2 }, \
	{ "insurance", required_argument, NULL, OPT_FILTER + 3 }, \
	{ "channel", required_argument, NULL, OPT_FILTER + 4 }, \
	{ "operator", required_argument, NULL, OPT_FILTER + 5 }, \
	{ "agency", required_argument, NULL, OPT_FILTER + 6 }, \
	{ "from", required_argument, NULL, OPT_FILTER + 7 }, \
	{ "to", required_argument, NULL, OPT_FILTER + 8 }, \
	{ "text", required_argument, NULL, OPT_FILTER + 9 }, \
	{ "limit", required_argument, NULL, OPT_FILTER + 10 }, \
	{ "offset", required_argument, NULL, OPT_FILTER + 11 }, \
	{ "type", required_argument, NULL, OPT_FILTER + 12 }, \
	{ "case", required_argument, NULL, OPT_FILTER + 13 }, \
	{ "file-name", required_argument, NULL, OPT_FILTER + 14 }, \
	{ "scheme", required_argument, NULL, OPT_FILTER + 15 }, \
	{ "period", required_argument, NULL, OPT_FILTER + 16 }

/* Applies a filter option to q: 1 if opt was one, 0 if not, -1 (after
 * printing "custos CMD: …") if its value is bad. */
int cli_filter_opt(cu_search_query *q, int opt, const char *arg, const char *cmd);

/* Commands. */
/* Prints s with tabs and line breaks turned into spaces (one field of a
 * tab-separated line). */
void cli_put_field(const char *s);

/* A refusal of KEY (the last error says why): prints "refused KEY: why"
 * on standard output and "custos: CMD: why" on standard error; returns
 * EXIT_PROBLEMS. */
int cli_refused(const char *cmd, const char *key);

/* For a command with one subcommand (config check, spool run): -1 when
 * argv[1] is sub (go on), else the exit status to return after printing the
 * help (-h) or the usage error. */
int cli_one_subcommand(const char *cmd, const char *sub, int argc, char **argv, void (*help)(void));

/* Parses --version N (a revision, 1 or more); -1 after a usage message. */
long cli_revision(const char *cmd, const char *arg);

int cmd_init(struct cli *c, int argc, char **argv);
int cmd_ingest(struct cli *c, int argc, char **argv);
int cmd_search(struct cli *c, int argc, char **argv);
int cmd_get(struct cli *c, int argc, char **argv);
int cmd_keys(struct cli *c, int argc, char **argv);
int cmd_checkpoint(struct cli *c, int argc, char **argv);
int cmd_prove(struct cli *c, int argc, char **argv);
int cmd_verify(struct cli *c, int argc, char **argv);
int cmd_trace(struct cli *c, int argc, char **argv);
int cmd_amend(struct cli *c, int argc, char **argv);
int cmd_reindex(struct cli *c, int argc, char **argv);
int cmd_bag(struct cli *c, int argc, char **argv);
int cmd_ls(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_disposition(struct cli *c, int argc, char **argv);
int cmd_hold(struct cli *c, int argc, char **argv);
int cmd_review(struct cli *c, int argc, char **argv);
int cmd_reconcile(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_policy(struct cli *c, int argc, char **argv);
int cmd_backup(struct cli *c, int argc, char **argv);
int cmd_restore(struct cli *c, int argc, char **argv);
int cmd_config(struct cli *c, int argc, char **argv);
int cmd_spool(struct cli *c, int argc, char **argv);

/* Progress of a backup or restore on a terminal (cmd_backup.c): one line on
 * stderr rewritten with \r: bytes, rate, time left. */
struct cu_backup_progress;
struct cli_progress {
	const char *what;
	double start;
	int shown;
};
void cli_progress_begin(struct cli_progress *p, const char *what);
void cli_progress(const struct cu_backup_progress *pr, void *payload);
void cli_progress_end(struct cli_progress *p);

/* getopt_long ids of the shared long options */
#define OPT_ARCHIVE 'A'
#define OPT_WAIT 1000
#define COMMON_LONG_OPTS \
	{ "archive", required_argument, NULL, OPT_ARCHIVE }, \
	{ "wait", required_argument, NULL, OPT_WAIT }, \
	{ "help", no_argument, NULL, 'h' }

#endif
