/*
 * daemon.h — what the parts of custosd share (custosd(8), docs/protocol.md).
 *
 * One process, one thread, one poll loop: the socket, the spool's inotify
 * watch, a signalfd, the workers' channels and the scheduler's clock.  It
 * never opens the archive itself.  Requests go to long-lived worker
 * processes forked at the start: readers (one request at a time each, side
 * by side on LMDB snapshots) and one writer, which takes every write in
 * order — ingest requests into one open ingest (group commit), the other
 * write commands, the jobs, the spool passes and the denials to record.
 * A worker that dies takes only the requests in its hands with it, and
 * is started again.
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
	char last_result[512];   /* one line */
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

/* ---- chan.c: frames between the daemon and its workers ----------------- */

/* Sends msg (small JSON) with up to two descriptors riding along. */
int chan_send(int ch, const json_t *msg, const int *fds, int nfds);
/* Receives one frame: *msg new, the descriptors in fds[0..*nfds).  0, 1 at
 * the end of the channel, <0 on error. */
int chan_recv(int ch, json_t **msg, int fds[2], int *nfds);

/* ---- worker.c: the workers (never return) ------------------------------ */
/*
 * Frames from the daemon, each with a token the worker's "done" frame
 * ({"token", "exit", "result"}) gives back:
 *   {"type": "request", "token", "user", "uid"}   + [client, memfd with the request]
 *   {"type": "job", "job": K, "token", "user", "uid"} + [client] for `custos run`
 *   {"type": "spool", "token"}
 *   {"type": "denial", "user", "uid", "command", "role", "reason"} (no done)
 * The end of the channel ends a worker, after the work already sent.
 */

/* A reader: runs the requests it is given one at a time, each with the
 * commands' code on an archive it opens read-only. */
void worker_reader(const cu_dconf *conf, int ch) __attribute__((noreturn));
/* The writer: ingest requests go into one open ingest, committed when the
 * batch is full or no request came for a moment, each answered once its
 * last item is committed; other requests, jobs, spool passes and denials
 * run here one after another, in the order sent. */
void worker_writer(const cu_dconf *conf, int ch) __attribute__((noreturn));
/* The answer {"exit": 2, "error": kind, "stderr": "custos: msg\n"}. */
int answer_error(int fd, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* What every worker does first: its own signal handling (the daemon's
 * stop comes as the end of its channel), the daemon's descriptors closed. */
void child_setup(void);

#endif
