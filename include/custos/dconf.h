/*
 * dconf.h — the daemon's configuration (custos.conf, libconfig): the archive,
 * spool and socket paths, the roles granted to UNIX groups, the schedules of
 * the backup and verify jobs, limits, the backup target and what happens to
 * spool files once archived.  Only archive and spool are required; every
 * other setting has a safe default (docs/daemon-config.md, custos.conf(5)).
 *
 * Every error names the file, the line and the setting:
 *   custos.conf:12: limits.clients: must be an integer 1-4096
 * Unknown settings are errors at every level.  Paths must be absolute.
 */
#ifndef CUSTOS_DCONF_H
#define CUSTOS_DCONF_H

#include <stddef.h>
#include <stdint.h>

#define CU_DCONF_DEFAULT_PATH "/etc/custos/custos.conf"
#define CU_DCONF_DEFAULT_SOCKET "/run/custos/custos.sock"

/* Roles: one bit each.  The names in the file are the ones cu_role_name
 * gives (e.g. "disposition-propose"). */
enum cu_role {
	CU_ROLE_INGEST              = 1u << 0,
	CU_ROLE_GET                 = 1u << 1,
	CU_ROLE_SEARCH              = 1u << 2,
	CU_ROLE_TRACE               = 1u << 3,
	CU_ROLE_EXPORT              = 1u << 4,
	CU_ROLE_LS                  = 1u << 5,
	CU_ROLE_HOLDS               = 1u << 6,
	CU_ROLE_DISPOSITION_PROPOSE = 1u << 7,
	CU_ROLE_POLICY              = 1u << 8,
	CU_ROLE_REVIEW              = 1u << 9,
	CU_ROLE_RECONCILE           = 1u << 10,
	CU_ROLE_AUDIT_REPORT        = 1u << 11,
	CU_ROLE_VERIFY              = 1u << 12,
	CU_ROLE_BACKUP              = 1u << 13,
	CU_ROLE_RESTORE             = 1u << 14,
	CU_ROLE_KEYS                = 1u << 15,
	CU_ROLE_CONFIG              = 1u << 16,
	CU_ROLE_DISPOSITION_APPROVE = 1u << 17,
	CU_ROLE_STATUS              = 1u << 18,
	CU_ROLE_RUN                 = 1u << 19,
};
#define CU_ROLE_COUNT 20

/* The name of one role bit ("ingest", "audit-report"…); NULL if role is not
 * exactly one known bit. */
const char *cu_role_name(uint32_t role);

/* The bit of a role name; 0 if the name is unknown. */
uint32_t cu_role_parse(const char *name);

/* The scheduled jobs. */
enum cu_dconf_job {
	CU_JOB_BACKUP_FULL,
	CU_JOB_BACKUP_INCREMENTAL,
	CU_JOB_VERIFY,
	CU_JOB_VERIFY_FULL,
	CU_JOB_COUNT
};

/* The setting name of a job ("backup_full"…). */
const char *cu_dconf_job_name(enum cu_dconf_job job);

/* One UNIX group and the roles its members have. */
typedef struct cu_dconf_grant {
	char group[33];
	uint32_t roles;
} cu_dconf_grant;

typedef struct cu_dconf {
	char *archive;             /* required, absolute */
	char *spool;               /* required, absolute */
	char *socket;              /* default CU_DCONF_DEFAULT_SOCKET */
	char *state;               /* the daemon's own state (custosd.state: the job
	                              runs), absolute; default the archive's parent */

	cu_dconf_grant *grants;    /* roles = { GROUP = [ ROLE, … ]; … } or the defaults */
	size_t ngrants;

	/* schedules = { backup_full = "Sun 02:00"; …; random_delay = 0; }:
	 * a calendar expression (custos/calendar.h, checked here) per job, NULL
	 * when the job is off ("" in the file).  The backup jobs run only with backup.to. */
	char *schedule[CU_JOB_COUNT];
	uint32_t random_delay;     /* seconds, 0-86400, default 0 */

	struct {
		uint64_t request_bytes;    /* one socket request, default 1 MiB */
		uint32_t clients;          /* concurrent socket clients, default 64 */
		uint64_t spool_file_bytes; /* one spool file, default 1 GiB */
		uint32_t request_seconds;  /* to read one request, default 30 */
	} limits;

	struct {
		char *to;                  /* backup folder, absolute; NULL = no backups */
		char *key;                 /* backup key file, absolute; NULL = unencrypted */
		uint32_t keep_daily, keep_weekly, keep_monthly;   /* default 7, 5, 12 */
	} backup;

	int keep_archived;         /* spool_options.keep_archived, default 1 */
} cu_dconf;

/* Parses and checks configuration text; name is the file name used in
 * messages.  On success *out is a new configuration (cu_dconf_free).  On
 * failure *out is NULL, the last error is the first problem, and, if errors
 * is not NULL, *errors is a new string (free) with every problem found, by
 * line number, one line each ending in "\n": "NAME:LINE: SETTING: REASON".
 * A syntax error stops the reading, so it comes alone. */
int cu_dconf_parse(cu_dconf **out, const char *text, const char *name, char **errors);

/* Reads and parses a file, as cu_dconf_parse.  CU_ENOTFOUND or CU_ERROR (and
 * no *errors) when the file cannot be read. */
int cu_dconf_load(cu_dconf **out, const char *path, char **errors);

void cu_dconf_free(cu_dconf *c);

/* The roles of the members of a group (0 if the group has none). */
uint32_t cu_dconf_group_roles(const cu_dconf *c, const char *group);

#endif
