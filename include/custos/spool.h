/*
 * spool.h — the spool intake: what the agency's systems drop into a folder
 * is archived once, then moved aside (docs/spool.md).
 *
 *   SPOOL/
 *     incoming/   senders write NAME.part (or .NAME), then rename it to NAME;
 *                 a bag folder is taken once it holds the file .custos-complete
 *     archived/   NAME and NAME.refs (the ingest lines of its records)
 *     rejected/   NAME and NAME.reason (one line per rejected item), with
 *                 NAME.refs too when some of its items were archived
 *
 * One pass ingests every eligible entry of incoming/ in name order in one
 * ingest, and moves the entries only after that ingest has committed: after
 * a crash an entry is either moved (its records committed) or still in
 * incoming/, and taking it again adds no record (ingest deduplicates).
 * The pass never prints; it reports each entry through a callback.
 */
#ifndef CUSTOS_SPOOL_H
#define CUSTOS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "custos/archive.h"

/* The file a sender writes last into a bag folder, when the folder is whole. */
#define CU_SPOOL_MARKER ".custos-complete"

/* Creates SPOOL (0750) and SPOOL/incoming, SPOOL/archived and SPOOL/rejected where missing
 * (0750; an existing incoming/ keeps its mode, such as the group-writable
 * 3770 of the tmpfiles file) and checks that the three are folders on the
 * file system of SPOOL (moves are renames).  CU_EINVALID naming the folder
 * otherwise. */
int cu_spool_prepare(const char *dir);

typedef struct cu_spool_opts {
	int keep_archived;        /* 1: move an archived entry to archived/; 0: remove it */
	uint64_t max_file_bytes;  /* a larger regular file is rejected; 0 = 1 GiB */
} cu_spool_opts;

typedef enum {
	CU_SPOOL_ARCHIVED,   /* every item archived or already archived */
	CU_SPOOL_REJECTED,   /* some item rejected (or the entry unreadable) */
	CU_SPOOL_SKIPPED,    /* left in incoming/ for now (.part, bag without marker) */
} cu_spool_status;

typedef struct cu_spool_entry {
	cu_spool_status status;
	const char *name;     /* the name in incoming/ */
	const char *moved_to; /* "archived/NAME[.n]", "rejected/NAME[.n]"; NULL when
	                         removed (keep_archived 0) or skipped */
	size_t records;       /* items archived or found already archived */
	size_t rejected;      /* items rejected */
	const char *reason;   /* rejected: the first reason; skipped: why */
} cu_spool_entry;

/* Called once per entry, in name order, after the entry is moved. */
typedef int (*cu_spool_cb)(const cu_spool_entry *e, void *payload);

typedef struct cu_spool_report {
	size_t archived, rejected, skipped;   /* entries */
	size_t records;                       /* items archived or duplicates */
} cu_spool_report;

/* One pass over SPOOL/incoming (cu_spool_prepare first), on an archive
 * opened for writing (whose lock keeps two passes apart).  Names starting
 * with "." are not looked at; names ending in ".part" and bag folders
 * without the marker are skipped.  An error return (a system failure)
 * moves nothing that was not moved already: what stays is taken again by
 * the next pass. */
int cu_spool_pass(cu_archive *a, const char *dir, const cu_spool_opts *o,
	cu_spool_cb cb, void *payload, cu_spool_report *report);

#endif
