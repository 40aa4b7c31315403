/*
 * sandbox.h — custosd narrows itself once at start-up, before it serves
 * anything, in three steps that only ever take rights away
 * (docs/sandbox.md):
 *
 *   cu_sandbox_harden()    process attributes: umask 077, no core files,
 *                          not dumpable, no new privileges
 *   cu_sandbox_landlock()  the file system: read and write beneath a few
 *                          folders, read beneath a few more, nothing else
 *   cu_sandbox_seccomp()   the system calls: an allow-list, any other call
 *                          kills the whole process (SIGSYS)
 *
 * Every step is inherited by the children the daemon forks for requests
 * and cannot be undone by them.  Call them in that order: the Landlock
 * calls are not on the seccomp allow-list.  cu_sandbox_enter() makes the
 * three with the paths of custosd's configuration.  Like the archive
 * facade, nothing here prints or exits.
 */
#ifndef CUSTOS_SANDBOX_H
#define CUSTOS_SANDBOX_H

#include "custos/dconf.h"

typedef struct cu_sandbox {
	/* folders custosd may read and write beneath (archive, spool, runtime
	 * folder, backup folder, temporary folder); NULL-terminated, may be NULL */
	const char **rw_paths;
	/* folders or files it may only read (configuration, /usr, the files of
	 * /etc it needs, /usr/share/zoneinfo, …); NULL-terminated, may be NULL */
	const char **ro_paths;
	/* 1: leave abstract UNIX sockets outside the sandbox reachable, for a
	 * $NOTIFY_SOCKET that starts with '@' (Landlock ABI 6 scopes them out
	 * otherwise) */
	int abstract_unix;
	/* out: the Landlock ABI applied; 0 when the kernel has none (the daemon
	 * says so in one log line and runs with seccomp alone) */
	int landlock;
	/* out: paths of rw_paths and ro_paths that did not exist and were
	 * skipped */
	int skipped;
} cu_sandbox;

/* umask 077, RLIMIT_CORE 0 (soft and hard), PR_SET_DUMPABLE 0 and
 * PR_SET_NO_NEW_PRIVS 1.  Returns 0, or CU_ERROR naming the step that
 * failed. */
int cu_sandbox_harden(void);

/* Restricts this process and every child it forks from now on with
 * Landlock: every file-system access right the running kernel's ABI knows
 * is handled (and, from ABI 4, TCP bind and connect; from ABI 6, signals to
 * processes outside the sandbox and, unless s->abstract_unix, abstract UNIX
 * sockets outside it); beneath each of s->rw_paths all of them are
 * granted except running programs, device ioctls and making devices,
 * FIFOs or symbolic links; beneath each of
 * s->ro_paths reading files and listing folders (a file: reading it).  A
 * path that does not exist is skipped (counted in s->skipped); another
 * path that cannot be opened is CU_ERROR naming it.  A kernel without
 * Landlock (ENOSYS, EOPNOTSUPP), or with ABI 1 only (which refuses every
 * move of a file into another folder, and the archive and the spool move
 * files), sets s->landlock = 0 and returns 0 with nothing restricted;
 * otherwise s->landlock is the ABI applied (7 at most: a newer kernel gets
 * the rights this file knows).  Needs no_new_privs
 * (cu_sandbox_harden) unless the caller has CAP_SYS_ADMIN. */
int cu_sandbox_landlock(cu_sandbox *s);

/* Loads the seccomp allow-list of cu_sandbox_syscall_list() for every
 * thread of the process: any other system call (or another architecture's
 * call) kills the process with SIGSYS.  clone3 fails with ENOSYS (the C
 * library falls back to clone, whose flags the filter can see), clone with
 * a namespace flag kills, socket and socketpair are allowed for AF_UNIX
 * only.  Returns 0, or CU_ERROR (nothing loaded) when libseccomp fails. */
int cu_sandbox_seccomp(void);

/* The allow-list as text, one line per system call: "NAME" or
 * "NAME  CONDITION", grouped, for docs/sandbox.md and the tests.  A static
 * string. */
const char *cu_sandbox_syscall_list(void);

/* The whole sandbox of custosd with configuration c, read from conf_path:
 * cu_sandbox_harden, then Landlock with read-write access beneath the
 * archive, the spool, the state folder, the socket's folder (the socket,
 * and the requests' temporary folders) and the backup folder (made 0700
 * first if absent, as a backup would), read access to conf_path's folder
 * (a reload reads the file again; an editor may replace it), the backup
 * key and what the C library and the libraries read (the list of
 * docs/sandbox.md); abstract UNIX sockets stay reachable when
 * $NOTIFY_SOCKET is one; then cu_sandbox_seccomp.  Returns the Landlock ABI
 * applied (0: the kernel has none, which the daemon logs) or a negative
 * cu_error_code naming the step. */
int cu_sandbox_enter(const cu_dconf *c, const char *conf_path);

#endif
