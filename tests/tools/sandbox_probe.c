/* sandbox_probe.c — puts itself in custosd's sandbox (src/daemon/sandbox.c),
 * then does one thing and says how it went, for tests/e2e/sandbox.sh.
 *
 *   sandbox_probe [--rw PATH]... [--ro PATH]... [--abstract-unix] [--no-landlock]
 *                 [--no-seccomp] ACTION [ARG...]
 *
 *   list                 the seccomp allow-list (no sandbox)
 *   status               umask, core limit, dumpable, no_new_privs, seccomp mode, Landlock ABI
 *   write FILE           creates FILE, writes, fsyncs it and reads it back
 *   read FILE            reads FILE
 *   mkdir DIR | rename FROM TO | unlink FILE
 *   forbidden CALL       makes a call the filter does not allow: the process dies of
 *                        SIGSYS; if the call returns, says so and exits 1
 *   allowed WHAT [DIR]   thread, fork, kill-child, getpwuid, unix-server DIR, notify DIR
 *   abstract-notify      a datagram to an abstract UNIX socket bound before the sandbox
 *                        (Landlock ABI 6 refuses it unless --abstract-unix)
 *   signal PID           sends SIGTERM to PID (Landlock ABI 6 refuses a process outside)
 *   work ARCHIVE INPUT SPOOL BACKUPS
 *                        in a forked child, as custosd does per request: ingest INPUT,
 *                        search, get, a spool pass, backup create and verify, verify
 *
 * Exit status: 0 done, 1 refused (one line says why), 2 usage or the sandbox
 * could not be set up; a call the filter kills ends the process with SIGSYS.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "custos/archive.h"
#include "custos/backup.h"
#include "custos/error.h"
#include "custos/spool.h"
#include "sandbox.h"

#define MAXP 32

static int
refused(const char *what)
{
	printf("refused: %s: %s\n", what, strerror(errno));
	return 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: sandbox_probe [--rw PATH]... [--ro PATH]... [--abstract-unix] "
		"[--no-landlock] [--no-seccomp] ACTION [ARG...]\n");
	return 2;
}

/* ---- what the process is --------------------------------------------------------- */

/* The value of a "Name:\tvalue" line of /proc/self/status, or "?". */
static void
proc_status(const char *name, char *out, size_t outsz)
{
	char line[256];
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(out, outsz, "?");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			char *v = line + n + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, outsz, "%s", v);
			break;
		}
	}
	fclose(f);
}

static int
do_status(int landlock)
{
	struct rlimit rl;
	char v[64];

	proc_status("Umask", v, sizeof(v));
	printf("umask %s\n", v);
	if (getrlimit(RLIMIT_CORE, &rl) < 0)
		return refused("getrlimit");
	printf("core %llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	printf("dumpable %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	printf("no_new_privs %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	proc_status("Seccomp", v, sizeof(v));
	printf("seccomp %s\n", v);
	printf("landlock %d\n", landlock);
	return 0;
}

/* ---- files --------------------------------------------------------------------------- */

static int
do_write(const char *path)
{
	static const char text[] = "written inside the sandbox\n";
	char back[64];
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return refused(path);
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1 || fsync(fd) < 0) {
		close(fd);
		return refused(path);
	}
	close(fd);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return refused(path);
	n = read(fd, back, sizeof(back));
	close(fd);
	if (n != (ssize_t)sizeof(text) - 1 || memcmp(back, text, (size_t)n) != 0) {
		printf("refused: %s: read back differs\n", path);
		return 1;
	}
	printf("wrote %s\n", path);
	return 0;
}

static int
do_read(const char *path)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return refused(path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	close(fd);
	if (n < 0)
		return refused(path);
	printf("read %zu bytes\n", total);
	return 0;
}

/* ---- calls the filter kills ------------------------------------------------------------ */

static int
do_forbidden(const char *call)
{
	long r;

	if (strcmp(call, "ptrace") == 0)
		r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (strcmp(call, "execve") == 0) {
		char *args[] = { (char *)"true", NULL };
		r = execve("/bin/true", args, environ);
	} else if (strcmp(call, "socket-inet") == 0)
		r = socket(AF_INET, SOCK_STREAM, 0);
	else if (strcmp(call, "socket-netlink") == 0)
		r = socket(AF_NETLINK, SOCK_RAW, 0);
	else if (strcmp(call, "mount") == 0)
		r = mount("none", "/mnt", "tmpfs", 0, NULL);
	else if (strcmp(call, "unshare") == 0)
		r = unshare(CLONE_NEWUSER);
	else if (strcmp(call, "clone-newuser") == 0)
		r = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0);
	else if (strcmp(call, "setuid") == 0)
		r = syscall(SYS_setuid, 0);
	else if (strcmp(call, "bpf") == 0)
		r = syscall(SYS_bpf, 0, NULL, 0);
	else if (strcmp(call, "keyctl") == 0)
		r = syscall(SYS_keyctl, 0, 0, 0, 0, 0);
	else if (strcmp(call, "personality") == 0)
		r = syscall(SYS_personality, 0xffffffffUL);
	else if (strcmp(call, "umask") == 0)
		r = umask(0);
	else if (strcmp(call, "prctl-dumpable") == 0)
		r = prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	else if (strcmp(call, "ioctl-tiocsti") == 0) {
		char c = 'x';
		r = ioctl(0, TIOCSTI, &c);
	} else if (strcmp(call, "setrlimit-core") == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		r = setrlimit(RLIMIT_CORE, &rl);
	} else {
		fprintf(stderr, "sandbox_probe: forbidden: unknown call %s\n", call);
		return 2;
	}
	printf("%s returned %ld (%s)\n", call, r, r < 0 ? strerror(errno) : "no error");
	return 1;
}

/* ---- allowed work of the daemon's loop ----------------------------------------------- */

static void *
thread_main(void *arg)
{
	*(int *)arg = 42;
	return arg;
}

static int
allowed_unix_server(const char *dir)
{
	struct sockaddr_un sa;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char buf[16];
	pid_t pid;
	int s, c, status;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/api.sock", dir) >= sizeof(sa.sun_path))
		return refused("socket path too long");
	unlink(sa.sun_path);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return refused("socket");
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4) < 0)
		return refused(sa.sun_path);
	if ((pid = fork()) < 0)
		return refused("fork");
	if (pid == 0) {
		int k = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (k < 0 || connect(k, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    send(k, "hello", 5, 0) != 5)
			_exit(1);
		_exit(0);
	}
	if ((c = accept4(s, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return refused("accept4");
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return refused("SO_PEERCRED");
	memset(buf, 0, sizeof(buf));
	if (recv(c, buf, sizeof(buf) - 1, 0) != 5)
		return refused("recv");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("refused: the client failed\n");
		return 1;
	}
	printf("unix-server: \"%s\" from pid %s, uid %u\n", buf,
		cred.pid == pid ? "of the client" : "?", (unsigned)cred.uid);
	close(c);
	close(s);
	unlink(sa.sun_path);
	return 0;
}

/* A datagram to a UNIX socket path, as sd_notify sends READY=1. */
static int
allowed_notify(const char *dir)
{
	struct sockaddr_un sa;
	char buf[32];
	int r, s;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", dir) >= sizeof(sa.sun_path))
		return refused("socket path too long");
	unlink(sa.sun_path);
	if ((r = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(r, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return refused(sa.sun_path);
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return refused("socket");
	if (sendto(s, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) != 7)
		return refused("sendto");
	memset(buf, 0, sizeof(buf));
	if (recv(r, buf, sizeof(buf) - 1, 0) != 7)
		return refused("recv");
	printf("notify: %s\n", buf);
	close(r);
	close(s);
	unlink(sa.sun_path);
	return 0;
}

/* An abstract socket's address (a leading NUL, then the name), and its length. */
static socklen_t
abstract_addr(struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "custos-sandbox-probe-%ld",
		(long)getpid());
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* The receiving end, bound before the sandbox: made outside it. */
static int
abstract_bind(void)
{
	struct sockaddr_un sa;
	socklen_t len = abstract_addr(&sa);
	int r = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (r < 0 || bind(r, (struct sockaddr *)&sa, len) < 0) {
		perror("sandbox_probe: abstract socket");
		return -1;
	}
	return r;
}

static int
do_abstract_notify(int r)
{
	struct sockaddr_un sa;
	socklen_t len = abstract_addr(&sa);
	char buf[32];
	int s;

	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return refused("socket");
	if (sendto(s, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) != 7)
		return refused("sendto @custos-sandbox-probe");
	memset(buf, 0, sizeof(buf));
	if (recv(r, buf, sizeof(buf) - 1, 0) != 7)
		return refused("recv");
	printf("abstract-notify: %s\n", buf);
	return 0;
}

static int
do_signal(const char *arg)
{
	long pid = strtol(arg, NULL, 10);

	if (pid <= 1)
		return usage();
	if (kill((pid_t)pid, SIGTERM) < 0)
		return refused("kill");
	printf("signalled %ld\n", pid);
	return 0;
}

static int
do_allowed(const char *what, const char *dir)
{
	if (strcmp(what, "thread") == 0) {
		pthread_t t;
		int v = 0, e;
		void *ret;
		if ((e = pthread_create(&t, NULL, thread_main, &v)) != 0 ||
		    (e = pthread_join(t, &ret)) != 0) {
			errno = e;
			return refused("thread");
		}
		printf("thread: %d\n", v);
		return 0;
	}
	if (strcmp(what, "fork") == 0) {
		int status;
		pid_t pid = fork();
		if (pid < 0)
			return refused("fork");
		if (pid == 0)
			_exit(7);
		if (waitpid(pid, &status, 0) != pid)
			return refused("waitpid");
		printf("fork: child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return 0;
	}
	if (strcmp(what, "kill-child") == 0) {
		int status;
		pid_t pid = fork();
		if (pid < 0)
			return refused("fork");
		if (pid == 0) {
			/* waits as a request waits, in an allowed call (pause is not one) */
			for (;;)
				sleep(60);
		}
		if (kill(pid, SIGTERM) < 0)
			return refused("kill");
		if (waitpid(pid, &status, 0) != pid)
			return refused("waitpid");
		printf("kill-child: child ended by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		return 0;
	}
	if (strcmp(what, "getpwuid") == 0) {
		struct passwd *pw;
		errno = 0;
		if ((pw = getpwuid(getuid())) == NULL)
			return refused("getpwuid");
		printf("getpwuid: %s\n", pw->pw_name);
		return 0;
	}
	if (strcmp(what, "unix-server") == 0 && dir != NULL)
		return allowed_unix_server(dir);
	if (strcmp(what, "notify") == 0 && dir != NULL)
		return allowed_notify(dir);
	fprintf(stderr, "sandbox_probe: allowed: unknown or incomplete: %s\n", what);
	return 2;
}

/* ---- the real work, in a child as custosd runs a request ----------------------------- */

static int
on_ingest(const cu_ingest_result *r, void *payload)
{
	(void)payload;
	if (r->status == CU_INGEST_REJECTED)
		printf("ingest: rejected %s: %s\n", r->source, r->reason);
	return 0;
}

static int
on_hit(const json_t *hit, void *payload)
{
	char *first = payload;
	const char *id = json_string_value(json_object_get(hit, "id"));

	if (first[0] == '\0' && id != NULL)
		snprintf(first, 65, "%s", id);
	return 0;
}

static int
on_spool(const cu_spool_entry *e, void *payload)
{
	(void)payload;
	printf("spool: %s %s\n", e->name, e->status == CU_SPOOL_ARCHIVED ? "archived" :
		e->status == CU_SPOOL_REJECTED ? "rejected" : "skipped");
	return 0;
}

static int
on_backup_problem(const cu_backup_problem *p, void *payload)
{
	(void)payload;
	printf("backup verify: %s %s: %s\n", p->file, p->member ? p->member : "", p->message);
	return 0;
}

static int
on_verify_problem(const cu_verify_problem *p, void *payload)
{
	(void)payload;
	printf("verify: %s: %s\n", p->kind, p->message);
	return 0;
}

static int
fail(const char *step)
{
	printf("work: %s: %s\n", step, cu_error_last());
	return 1;
}

static int
work(const char *archive, const char *input, const char *spool, const char *backups)
{
	cu_archive *a;
	cu_ingest *in;
	cu_ingest_stats st;
	cu_search_query q;
	cu_get_opts go;
	cu_spool_opts so = { .keep_archived = 1 };
	cu_spool_report sr;
	cu_backup_opts bo;
	cu_backup_result br;
	cu_backup_verify_report bvr;
	cu_verify_opts vo;
	cu_verify_report vr;
	json_t *doc = NULL;
	char first[65] = "";
	const char *files[1];
	size_t n = 0;

	if (cu_archive_open(&a, archive, CU_ARCHIVE_WRITE, 10) < 0)
		return fail("open");
	if (cu_ingest_begin(&in, a, on_ingest, NULL) < 0)
		return fail("ingest");
	if (cu_ingest_path(in, input) < 0) {
		cu_ingest_abort(in);
		return fail("ingest");
	}
	if (cu_ingest_finish(in, &st) < 0)
		return fail("ingest");
	printf("ingest: %zu archived, %zu duplicates, %zu rejected\n", st.archived, st.duplicates,
		st.rejected);

	memset(&q, 0, sizeof(q));
	q.service = "registration";
	if (cu_archive_search(a, &q, on_hit, first, &n) < 0)
		return fail("search");
	printf("search: %zu hits\n", n);
	if (n == 0)
		return fail("search");

	memset(&go, 0, sizeof(go));
	go.purpose = "sandbox test";
	if (cu_archive_get(a, first, &go, &doc, NULL, NULL) < 0)
		return fail("get");
	printf("get: %s\n", json_string_value(json_object_get(doc, "ref")));
	json_decref(doc);

	if (cu_spool_prepare(spool) < 0 || cu_spool_pass(a, spool, &so, on_spool, NULL, &sr) < 0)
		return fail("spool");
	printf("spool: %zu archived, %zu rejected\n", sr.archived, sr.rejected);

	memset(&bo, 0, sizeof(bo));
	bo.dir = backups;
	if (cu_archive_backup(a, &bo, &br) < 0)
		return fail("backup create");
	printf("backup: %s, %llu files\n", br.kind, (unsigned long long)br.members);
	files[0] = br.file;
	if (cu_backup_verify(files, 1, NULL, a, on_backup_problem, NULL, NULL, &bvr) < 0)
		return fail("backup verify");
	printf("backup verify: %zu problems\n", bvr.problems);
	cu_archive_free(a);

	if (cu_archive_open(&a, archive, CU_ARCHIVE_REPAIR, 10) < 0)
		return fail("open");
	memset(&vo, 0, sizeof(vo));
	if (cu_archive_verify(a, &vo, on_verify_problem, NULL, &vr) < 0)
		return fail("verify");
	printf("verify: %zu records, %zu commits, %zu problems\n", vr.records, vr.commits, vr.problems);
	cu_archive_free(a);
	return bvr.problems == 0 && vr.problems == 0 ? 0 : 1;
}

static int
do_work(char **argv)
{
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) < 0)
		return refused("fork");
	if (pid == 0) {
		int r = work(argv[0], argv[1], argv[2], argv[3]);
		fflush(stdout);
		_exit(r);
	}
	if (waitpid(pid, &status, 0) != pid)
		return refused("waitpid");
	if (WIFSIGNALED(status)) {
		printf("work: the child was killed by signal %d (%s)\n", WTERMSIG(status),
			strsignal(WTERMSIG(status)));
		return 1;
	}
	if (WEXITSTATUS(status) != 0) {
		printf("work: the child exited %d\n", WEXITSTATUS(status));
		return 1;
	}
	printf("work: ok\n");
	return 0;
}

int
main(int argc, char **argv)
{
	const char *rw[MAXP + 1] = { 0 }, *ro[MAXP + 1] = { 0 };
	size_t nrw = 0, nro = 0;
	int use_landlock = 1, use_seccomp = 1, abstract_unix = 0, abstract_fd = -1, i;
	cu_sandbox s;
	const char *act;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--rw") == 0 && i + 1 < argc && nrw < MAXP)
			rw[nrw++] = argv[++i];
		else if (strcmp(argv[i], "--ro") == 0 && i + 1 < argc && nro < MAXP)
			ro[nro++] = argv[++i];
		else if (strcmp(argv[i], "--abstract-unix") == 0)
			abstract_unix = 1;
		else if (strcmp(argv[i], "--no-landlock") == 0)
			use_landlock = 0;
		else if (strcmp(argv[i], "--no-seccomp") == 0)
			use_seccomp = 0;
		else
			return usage();
	}
	if (i >= argc)
		return usage();
	act = argv[i++];
	if (strcmp(act, "list") == 0) {
		fputs(cu_sandbox_syscall_list(), stdout);
		return 0;
	}

	if (strcmp(act, "abstract-notify") == 0 && (abstract_fd = abstract_bind()) < 0)
		return 2;
	memset(&s, 0, sizeof(s));
	s.rw_paths = rw;
	s.ro_paths = ro;
	s.abstract_unix = abstract_unix;
	if (cu_sandbox_harden() < 0 ||
	    (use_landlock && cu_sandbox_landlock(&s) < 0) ||
	    (use_seccomp && cu_sandbox_seccomp() < 0)) {
		fprintf(stderr, "sandbox_probe: %s\n", cu_error_last());
		return 2;
	}
	/* what comes next writes through stdio: line by line, so nothing is
	 * lost when the filter kills the process */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (strcmp(act, "status") == 0)
		return do_status(s.landlock);
	if (strcmp(act, "write") == 0 && argc - i == 1)
		return do_write(argv[i]);
	if (strcmp(act, "read") == 0 && argc - i == 1)
		return do_read(argv[i]);
	if (strcmp(act, "mkdir") == 0 && argc - i == 1) {
		if (mkdir(argv[i], 0700) < 0)
			return refused(argv[i]);
		printf("made %s\n", argv[i]);
		return 0;
	}
	if (strcmp(act, "rename") == 0 && argc - i == 2) {
		if (rename(argv[i], argv[i + 1]) < 0)
			return refused(argv[i]);
		printf("renamed %s\n", argv[i]);
		return 0;
	}
	if (strcmp(act, "unlink") == 0 && argc - i == 1) {
		if (unlink(argv[i]) < 0)
			return refused(argv[i]);
		printf("removed %s\n", argv[i]);
		return 0;
	}
	if (strcmp(act, "forbidden") == 0 && argc - i == 1)
		return do_forbidden(argv[i]);
	if (strcmp(act, "allowed") == 0 && argc - i >= 1)
		return do_allowed(argv[i], argc - i >= 2 ? argv[i + 1] : NULL);
	if (strcmp(act, "abstract-notify") == 0 && argc - i == 0)
		return do_abstract_notify(abstract_fd);
	if (strcmp(act, "signal") == 0 && argc - i == 1)
		return do_signal(argv[i]);
	if (strcmp(act, "work") == 0 && argc - i == 4)
		return do_work(argv + i);
	return usage();
}
