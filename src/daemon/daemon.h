/*
 * daemon.h — what the parts of custosd share (custosd(8), docs/protocol.md).
 *
 * One process, one thread, one poll loop: the socket, the spool's inotify
 * watch, a signalfd and the scheduler's clock.  It never opens the archive
 * itself: each request runs in a forked child (readers at once, side by
 * side, on LMDB snapshots), and everything that writes goes through one
 * writer child at a time, which takes every queued ingest request, the
 * spool and the denials to record in one go.  A child that crashes takes
 * only its own request with it.
 */
#ifndef CUSTOS_DAEMON_H
#define CUSTOS_DAEMON_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "custos/dconf.h"

/* ---- log.c: stderr with sd-daemon priority prefixes (journald) ---------- */
#define LOG_ERR_ 3
#define LOG_WARN_ 4
#define LOG_NOTICE_ 5
#define LOG_INFO_ 6
void dlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern int dlog_fd;      /* where the lines go: 2, or a copy of it in a child */
extern int daemon_fds[3];/* listening socket, signalfd, inotify: closed in children */

/* sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET; 0 when there is
 * none (not under systemd). */
int notify(const char *state);
/* $WATCHDOG_USEC for this process, in microseconds; 0 when off. */
uint64_t notify_watchdog_usec(void);

/* ---- sched.c: the scheduled jobs --------------------------------------- */
struct job {
	const char *name;        /* "backup_full", … (cu_dconf_job_name) */
	char *calendar;          /* NULL: off */
	time_t last_start, last_end;
	int last_exit;           /* -1: never ran */
	char last_result[160];   /* one line */
	time_t next;             /* 0: not scheduled */
	pid_t running;           /* the child, 0 when idle */
};

/* Sets the jobs' calendars from the configuration, reads the last runs
 * from STATE/custosd.state, and computes each next time from now: a run
 * missed while the daemon was down is due at once (next = now). */
int sched_load(struct job jobs[CU_JOB_COUNT], const cu_dconf *conf, time_t now);
/* Next time of job j after t, or 0 when off. */
time_t sched_next(const struct job *j, const cu_dconf *conf, time_t t);
/* Writes the last runs to STATE/custosd.state (temp file, fsync, rename). */
int sched_save(const struct job jobs[CU_JOB_COUNT], const cu_dconf *conf);

/* ---- worker.c: what the children do (never return) --------------------- */
struct upload {
	char *name;     /* as the client named it */
	char *data;
	size_t len;
	int bag_tar;    /* a bag folder the client sent as a tar ("bag": "tar") */
};
struct wreq {                /* one ingest request taken by the writer */
	int fd;                  /* the client's connection */
	char user[64];
	uid_t uid;
	int json;
	struct upload *files;
	size_t nfiles;
};
struct denial {
	char user[64];
	uid_t uid;
	char command[32];
	char role[32];
	char reason[200];
};

/* Runs the command of request req for a client, with its files, writes
 * the answer to fd, exits. */
void worker_request(const cu_dconf *conf, int fd, const char *user, uid_t uid,
	json_t *req) __attribute__((noreturn));
/* The writer: records the denials, runs a spool pass if asked, then the
 * ingest requests in one ingest (one commit per batch), answers each
 * client, exits. */
void worker_writer(const cu_dconf *conf, const struct denial *d, size_t nd, int spool,
	struct wreq *reqs, size_t nreqs) __attribute__((noreturn));
/* A scheduled job; its output goes to the log, its one-line result to
 * result_fd (a pipe the daemon reads) and, when fd >= 0 (`custos run`),
 * its whole output as an answer to that client; the exit status is the
 * job's. */
void worker_job(const cu_dconf *conf, int job, int fd, const char *user, uid_t uid,
	int result_fd) __attribute__((noreturn));
/* The answer {"exit": 2, "error": kind, "stderr": "custos: msg\n"}. */
int answer_error(int fd, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What every child does first: default signal dispositions, nothing
 * blocked, the daemon's own descriptors closed except keep. */
void child_setup(int keep);

#endif
