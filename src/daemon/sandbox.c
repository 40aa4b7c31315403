/* sandbox.c — custosd's process hardening, Landlock rules and seccomp
 * allow-list (see sandbox.h and docs/sandbox.md). */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <stddef.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "custos/error.h"
#include "custos/util.h"
#include "sandbox.h"

/* ---- process attributes ---------------------------------------------------- */

int
cu_sandbox_harden(void)
{
	struct rlimit none = { 0, 0 };

	umask(077);
	if (setrlimit(RLIMIT_CORE, &none) < 0)
		return cu_error_sys("sandbox: RLIMIT_CORE 0");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return cu_error_sys("sandbox: PR_SET_DUMPABLE 0");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cu_error_sys("sandbox: PR_SET_NO_NEW_PRIVS 1");
	return 0;
}

/* ---- Landlock ---------------------------------------------------------------- */

/* The rights of ABIs newer than the system's linux/landlock.h (Debian 12's
 * knows ABI 2); the values are the kernel's. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* the newest ABI whose rights this file knows */
#define LL_ABI_KNOWN 7

/* struct landlock_ruleset_attr as of ABI 6; the size passed says which
 * fields the kernel reads */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;   /* ABI 4 */
	uint64_t scoped;               /* ABI 6 */
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

#define FS_ABI1 ((1ULL << 13) - 1)     /* EXECUTE … MAKE_SYM */
#define FS_FILE (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* beneath a read-write folder: everything but running programs, device
 * ioctls and making devices, FIFOs or symbolic links */
#define FS_RW (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)
#define FS_RO (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

/* Every file-system right an ABI knows. */
static uint64_t
fs_rights(int abi)
{
	uint64_t r = FS_ABI1;

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* Grants `access` (cut to what the ABI handles, and to the rights a file can
 * carry when path is not a folder) beneath path. */
static int
ll_grant(int ruleset, const char *path, uint64_t access, uint64_t handled, cu_sandbox *s)
{
	struct ll_path_beneath pb;
	struct stat st;
	int fd;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			s->skipped++;
			return 0;
		}
		return cu_error_sys("sandbox: landlock: %s", path);
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return cu_error_sys("sandbox: landlock: %s", path);
	}
	access &= handled;
	if (!S_ISDIR(st.st_mode))
		access &= FS_FILE;
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access;
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
		close(fd);
		return cu_error_sys("sandbox: landlock: rule for %s", path);
	}
	close(fd);
	return 0;
}

int
cu_sandbox_landlock(cu_sandbox *s)
{
	struct ll_ruleset_attr attr;
	size_t attr_size;
	int abi, ruleset, error = 0;

	s->landlock = 0;
	s->skipped = 0;
	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;
		return cu_error_sys("sandbox: landlock: ABI version");
	}
	/* ABI 1 refuses every move of a file into another folder, and the
	 * archive and the spool move files between folders: run without */
	if (abi < 2)
		return 0;
	/* a newer kernel's rights are not known here: it gets ABI 7's */
	if (abi > LL_ABI_KNOWN)
		abi = LL_ABI_KNOWN;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = fs_rights(abi);
	attr_size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		/* no TCP at all: no rule grants any port */
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
		attr_size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_SIGNAL;
		if (!s->abstract_unix)
			attr.scoped |= LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
		attr_size = sizeof(attr);
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0)
		return cu_error_sys("sandbox: landlock: ruleset (ABI %d)", abi);

	for (size_t i = 0; error == 0 && s->rw_paths != NULL && s->rw_paths[i] != NULL; i++)
		error = ll_grant(ruleset, s->rw_paths[i], FS_RW, attr.handled_access_fs, s);
	for (size_t i = 0; error == 0 && s->ro_paths != NULL && s->ro_paths[i] != NULL; i++)
		error = ll_grant(ruleset, s->ro_paths[i], FS_RO, attr.handled_access_fs, s);
	if (error == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		if (errno == EPERM)
			error = cu_error_set(CU_ERROR, "sandbox: landlock: no_new_privs is not set "
				"(cu_sandbox_harden first)");
		else
			error = cu_error_sys("sandbox: landlock: restrict");
	}
	close(ruleset);
	if (error == 0)
		s->landlock = abi;
	return error;
}

/* ---- seccomp ------------------------------------------------------------------ */

enum sc_rule {
	SC_ALLOW,        /* any arguments */
	SC_AF_UNIX,      /* first argument AF_UNIX */
	SC_NO_NS,        /* clone without a namespace flag */
	SC_ENOSYS,       /* fails with ENOSYS, the process lives */
	SC_PRCTL,        /* options of prctl_ok[] */
	SC_IOCTL,        /* requests of ioctl_ok[] */
	SC_GET_LIMIT,    /* prlimit64 of this process, reading only */
};

struct sc_entry {
	const char *name;
	enum sc_rule rule;
};

#define NS_FLAGS ((uint64_t)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
	CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET))

/* The allow-list.  Found by running every end-to-end test of custos under
 * strace -f (docs/sandbox.md says how to do it again), plus what the
 * daemon's own loop needs.  Absent, so fatal: ptrace, mount, chroot,
 * modules, kexec, reboot, swap, set*id, bpf, perf_event_open,
 * process_vm_*, keyctl, personality, unshare, setns, open_by_handle_at,
 * userfaultfd, execve, umask, chown, mknod, and seccomp and Landlock
 * themselves. */
static const struct sc_entry allow_list[] = {
	/* memory: malloc, LMDB's map, libgit2's pack windows, dlopen of NSS modules */
	{ "brk", SC_ALLOW }, { "mmap", SC_ALLOW }, { "munmap", SC_ALLOW },
	{ "mremap", SC_ALLOW }, { "mprotect", SC_ALLOW }, { "madvise", SC_ALLOW },
	/* threads (libdeflate and zstd workers) and the worker processes */
	{ "clone", SC_NO_NS }, { "clone3", SC_ENOSYS },
	{ "futex", SC_ALLOW }, { "set_robust_list", SC_ALLOW }, { "rseq", SC_ALLOW },
	{ "set_tid_address", SC_ALLOW }, { "sched_yield", SC_ALLOW },
	{ "sched_getaffinity", SC_ALLOW },
	/* the writer lowers its own priority so that searches come first (it
	 * cannot raise one: no CAP_SYS_NICE) */
	{ "setpriority", SC_ALLOW }, { "getpriority", SC_ALLOW },
	{ "exit", SC_ALLOW }, { "exit_group", SC_ALLOW }, { "wait4", SC_ALLOW },
	{ "waitid", SC_ALLOW }, { "kill", SC_ALLOW }, { "tgkill", SC_ALLOW },
	{ "restart_syscall", SC_ALLOW },
	/* signals: handlers, masks, signalfd in the main loop */
	{ "rt_sigaction", SC_ALLOW }, { "rt_sigprocmask", SC_ALLOW },
	{ "rt_sigreturn", SC_ALLOW }, { "rt_sigtimedwait", SC_ALLOW },
	{ "sigaltstack", SC_ALLOW }, { "signalfd4", SC_ALLOW },
	/* identity and the system: user names (getpwuid), threads to start
	 * (sysinfo, affinity), limits read by the C library */
	{ "getpid", SC_ALLOW }, { "gettid", SC_ALLOW }, { "getppid", SC_ALLOW },
	{ "getuid", SC_ALLOW }, { "geteuid", SC_ALLOW }, { "getgid", SC_ALLOW },
	{ "getegid", SC_ALLOW }, { "getgroups", SC_ALLOW }, { "getresuid", SC_ALLOW },
	{ "getresgid", SC_ALLOW }, { "uname", SC_ALLOW }, { "sysinfo", SC_ALLOW },
	{ "getrusage", SC_ALLOW }, { "prlimit64", SC_GET_LIMIT }, { "prctl", SC_PRCTL },
	{ "getrandom", SC_ALLOW },
	/* time: timestamps of records, the scheduler, waits for the lock */
	{ "clock_gettime", SC_ALLOW }, { "clock_getres", SC_ALLOW },
	{ "gettimeofday", SC_ALLOW }, { "time", SC_ALLOW }, { "clock_nanosleep", SC_ALLOW },
	{ "nanosleep", SC_ALLOW }, { "timerfd_create", SC_ALLOW },
	{ "timerfd_settime", SC_ALLOW }, { "timerfd_gettime", SC_ALLOW },
	/* descriptors */
	{ "close", SC_ALLOW }, { "close_range", SC_ALLOW }, { "dup", SC_ALLOW },
	{ "dup2", SC_ALLOW }, { "dup3", SC_ALLOW }, { "fcntl", SC_ALLOW },
	{ "flock", SC_ALLOW }, { "pipe2", SC_ALLOW }, { "eventfd2", SC_ALLOW },
	{ "memfd_create", SC_ALLOW },
	{ "ioctl", SC_IOCTL },
	/* reading and writing files: objects, packs, LMDB, git packs, backups */
	{ "read", SC_ALLOW }, { "write", SC_ALLOW }, { "pread64", SC_ALLOW },
	{ "pwrite64", SC_ALLOW }, { "readv", SC_ALLOW }, { "writev", SC_ALLOW },
	{ "lseek", SC_ALLOW }, { "ftruncate", SC_ALLOW },
	/* durability: every write is fsynced before it is named or acknowledged */
	{ "fsync", SC_ALLOW }, { "fdatasync", SC_ALLOW }, { "syncfs", SC_ALLOW },
	/* the writer's index is mapped writable: LMDB commits with msync */
	{ "msync", SC_ALLOW },
	/* the file system: paths (the Landlock rules decide where) */
	{ "open", SC_ALLOW }, { "openat", SC_ALLOW },
	{ "stat", SC_ALLOW }, { "fstat", SC_ALLOW }, { "lstat", SC_ALLOW },
	{ "newfstatat", SC_ALLOW }, { "statx", SC_ALLOW }, { "statfs", SC_ALLOW },
	{ "fstatfs", SC_ALLOW }, { "access", SC_ALLOW }, { "faccessat", SC_ALLOW },
	{ "faccessat2", SC_ALLOW }, { "getdents64", SC_ALLOW }, { "getcwd", SC_ALLOW },
	{ "readlink", SC_ALLOW }, { "readlinkat", SC_ALLOW },
	{ "mkdir", SC_ALLOW }, { "mkdirat", SC_ALLOW }, { "rmdir", SC_ALLOW },
	{ "rename", SC_ALLOW }, { "renameat", SC_ALLOW }, { "renameat2", SC_ALLOW },
	{ "link", SC_ALLOW }, { "linkat", SC_ALLOW },
	{ "unlink", SC_ALLOW }, { "unlinkat", SC_ALLOW },
	/* libgit2 tries a symbolic link when it creates a repository (Landlock
	 * refuses it; the call must not kill) */
	{ "symlink", SC_ALLOW }, { "symlinkat", SC_ALLOW },
	{ "chmod", SC_ALLOW }, { "fchmod", SC_ALLOW }, { "fchmodat", SC_ALLOW },
	{ "utimensat", SC_ALLOW },
	/* watching the spool */
	{ "inotify_init1", SC_ALLOW }, { "inotify_add_watch", SC_ALLOW },
	{ "inotify_rm_watch", SC_ALLOW },
	/* waiting for several things */
	{ "poll", SC_ALLOW }, { "ppoll", SC_ALLOW }, { "pselect6", SC_ALLOW },
	{ "epoll_create1", SC_ALLOW }, { "epoll_ctl", SC_ALLOW },
	{ "epoll_wait", SC_ALLOW }, { "epoll_pwait", SC_ALLOW }, { "epoll_pwait2", SC_ALLOW },
	/* UNIX sockets only: the API, $NOTIFY_SOCKET, nscd and systemd-userdb
	 * for user and group look-ups */
	{ "socket", SC_AF_UNIX }, { "socketpair", SC_AF_UNIX },
	{ "bind", SC_ALLOW }, { "listen", SC_ALLOW }, { "accept", SC_ALLOW },
	{ "accept4", SC_ALLOW }, { "connect", SC_ALLOW }, { "shutdown", SC_ALLOW },
	{ "getsockopt", SC_ALLOW }, { "setsockopt", SC_ALLOW }, { "getsockname", SC_ALLOW },
	{ "getpeername", SC_ALLOW }, { "sendto", SC_ALLOW }, { "sendmsg", SC_ALLOW },
	{ "recvfrom", SC_ALLOW }, { "recvmsg", SC_ALLOW },
};

/* prctl options: thread names, reading the process's own state, a child
 * that dies with its parent, malloc naming its arenas, libcap counting the
 * capabilities when the systemd NSS module loads it (the first user
 * look-up).  PR_SET_DUMPABLE is not among them: what cu_sandbox_harden set
 * stays set. */
static const struct { int value; const char *name; } prctl_ok[] = {
	{ PR_SET_NAME, "PR_SET_NAME" }, { PR_GET_NAME, "PR_GET_NAME" },
	{ PR_GET_DUMPABLE, "PR_GET_DUMPABLE" }, { PR_GET_NO_NEW_PRIVS, "PR_GET_NO_NEW_PRIVS" },
	{ PR_GET_SECCOMP, "PR_GET_SECCOMP" }, { PR_SET_PDEATHSIG, "PR_SET_PDEATHSIG" },
	{ PR_CAPBSET_READ, "PR_CAPBSET_READ" },
	{ 0x53564d41 /* PR_SET_VMA */, "PR_SET_VMA" },
};

/* ioctl requests: isatty() and the bytes waiting on a socket */
static const struct { unsigned long value; const char *name; } ioctl_ok[] = {
	{ TCGETS, "TCGETS" }, { FIONREAD, "FIONREAD" }, { FIONBIO, "FIONBIO" },
	{ FIOCLEX, "FIOCLEX" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
sc_add(scmp_filter_ctx ctx, const char *name, uint32_t action, int nr, unsigned ncmp,
	const struct scmp_arg_cmp *cmp)
{
	int rc = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);

	if (rc < 0)
		return cu_error_set(CU_ERROR, "sandbox: seccomp: rule for %s: %s", name, strerror(-rc));
	return 0;
}

static int
sc_rule(scmp_filter_ctx ctx, const struct sc_entry *e)
{
	struct scmp_arg_cmp cmp[2];
	int nr, error = 0;

	nr = seccomp_syscall_resolve_name(e->name);
	if (nr == __NR_SCMP_ERROR)
		return 0;   /* a call this libseccomp does not know: none can make it */
	switch (e->rule) {
	case SC_ALLOW:
		return sc_add(ctx, e->name, SCMP_ACT_ALLOW, nr, 0, NULL);
	case SC_ENOSYS:
		return sc_add(ctx, e->name, SCMP_ACT_ERRNO(ENOSYS), nr, 0, NULL);
	case SC_AF_UNIX:
		cmp[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
		return sc_add(ctx, e->name, SCMP_ACT_ALLOW, nr, 1, cmp);
	case SC_NO_NS:
		cmp[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0);
		return sc_add(ctx, e->name, SCMP_ACT_ALLOW, nr, 1, cmp);
	case SC_GET_LIMIT:
		cmp[0] = SCMP_A0(SCMP_CMP_EQ, 0);
		cmp[1] = SCMP_A2(SCMP_CMP_EQ, 0);
		return sc_add(ctx, e->name, SCMP_ACT_ALLOW, nr, 2, cmp);
	case SC_PRCTL:
		for (size_t i = 0; error == 0 && i < NELEM(prctl_ok); i++) {
			cmp[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_ok[i].value);
			error = sc_add(ctx, e->name, SCMP_ACT_ALLOW, nr, 1, cmp);
		}
		return error;
	case SC_IOCTL:
		for (size_t i = 0; error == 0 && i < NELEM(ioctl_ok); i++) {
			/* the request is an unsigned int in the kernel */
			cmp[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctl_ok[i].value);
			error = sc_add(ctx, e->name, SCMP_ACT_ALLOW, nr, 1, cmp);
		}
		return error;
	}
	return cu_error_set(CU_ERROR, "sandbox: seccomp: %s: unknown rule", e->name);
}

int
cu_sandbox_seccomp(void)
{
	scmp_filter_ctx ctx;
	int rc, error = 0;

	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL)
		return cu_error_set(CU_ERROR, "sandbox: seccomp: cannot start a filter");
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		seccomp_release(ctx);
		return cu_error_set(CU_ERROR, "sandbox: seccomp: filter attributes: %s", strerror(-rc));
	}
	for (size_t i = 0; error == 0 && i < NELEM(allow_list); i++)
		error = sc_rule(ctx, &allow_list[i]);
	if (error == 0 && (rc = seccomp_load(ctx)) < 0)
		error = cu_error_set(CU_ERROR, "sandbox: seccomp: load: %s", strerror(-rc));
	seccomp_release(ctx);
	return error;
}

static char list_text[8192];

const char *
cu_sandbox_syscall_list(void)
{
	size_t len = 0;
	int n;

	if (list_text[0] != '\0')
		return list_text;
#define ADD(...) do { \
		n = snprintf(list_text + len, sizeof(list_text) - len, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= sizeof(list_text) - len) \
			goto full; \
		len += (size_t)n; \
	} while (0)
	for (size_t i = 0; i < NELEM(allow_list); i++) {
		const struct sc_entry *e = &allow_list[i];
		switch (e->rule) {
		case SC_ALLOW:
			ADD("%s\n", e->name);
			break;
		case SC_ENOSYS:
			ADD("%s  fails with ENOSYS\n", e->name);
			break;
		case SC_AF_UNIX:
			ADD("%s  AF_UNIX only\n", e->name);
			break;
		case SC_NO_NS:
			ADD("%s  without CLONE_NEW* flags\n", e->name);
			break;
		case SC_GET_LIMIT:
			ADD("%s  own limits, reading only\n", e->name);
			break;
		case SC_PRCTL:
			ADD("%s ", e->name);
			for (size_t k = 0; k < NELEM(prctl_ok); k++)
				ADD(" %s", prctl_ok[k].name);
			ADD("\n");
			break;
		case SC_IOCTL:
			ADD("%s ", e->name);
			for (size_t k = 0; k < NELEM(ioctl_ok); k++)
				ADD(" %s", ioctl_ok[k].name);
			ADD("\n");
			break;
		}
	}
#undef ADD
	return list_text;
full:
	/* the buffer is sized for the table: a longer table needs a larger one */
	list_text[len] = '\0';
	return list_text;
}

/* ---- custosd's sandbox ---------------------------------------------------------- */

/* What the C library and the libraries read, found by tracing the commands
 * (docs/sandbox.md): NSS modules, gconv modules and zoneinfo under /usr, the
 * password and group files, OpenSSL's configuration, the CPU count. */
static const char *const system_ro[] = {
	"/usr", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ld.so.cache",
	"/etc/localtime", "/etc/ssl/openssl.cnf", "/dev/null", "/dev/urandom",
	"/sys/devices/system/cpu",
};

/* The folder of path into out ("/" for a path in the root, "." for a bare name). */
static int
folder_of(char *out, size_t outsz, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return cu_pathf(out, outsz, ".");
	if (slash == path)
		return cu_pathf(out, outsz, "/");
	return cu_pathf(out, outsz, "%.*s", (int)(slash - path), path);
}

int
cu_sandbox_enter(const cu_dconf *c, const char *conf_path)
{
	char sock_dir[4096], conf_dir[4096];
	const char *rw[8], *ro[NELEM(system_ro) + 4];
	const char *notify = getenv("NOTIFY_SOCKET");
	size_t nrw = 0, nro = 0;
	cu_sandbox s;
	int error;

	if ((error = folder_of(sock_dir, sizeof(sock_dir), c->socket)) < 0 ||
	    (conf_path != NULL && (error = folder_of(conf_dir, sizeof(conf_dir), conf_path)) < 0))
		return error;
	rw[nrw++] = c->archive;
	rw[nrw++] = c->spool;
	rw[nrw++] = sock_dir;
	if (c->state != NULL)
		rw[nrw++] = c->state;
	if (c->backup.to != NULL) {
		/* a folder that does not exist cannot be granted */
		if ((error = cu_mkdir_p(c->backup.to, 0700)) < 0)
			return cu_error_prefix(error, "sandbox: backup folder");
		rw[nrw++] = c->backup.to;
	}
	rw[nrw] = NULL;
	for (size_t i = 0; i < NELEM(system_ro); i++)
		ro[nro++] = system_ro[i];
	if (conf_path != NULL)
		ro[nro++] = conf_dir;
	if (c->backup.key != NULL)
		ro[nro++] = c->backup.key;
	ro[nro] = NULL;

	memset(&s, 0, sizeof(s));
	s.rw_paths = rw;
	s.ro_paths = ro;
	s.abstract_unix = notify != NULL && notify[0] == '@';
	if ((error = cu_sandbox_harden()) < 0 || (error = cu_sandbox_landlock(&s)) < 0 ||
	    (error = cu_sandbox_seccomp()) < 0)
		return error;
	return s.landlock;
}
