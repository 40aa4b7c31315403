/*
 * custosd.c — the custos daemon (custosd(8)): reads custos.conf, takes in
 * the spool, answers the socket (docs/protocol.md), runs the scheduled
 * backups and checks.  See daemon.h for how the work is divided between
 * this process and its children.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/proto.h"
#include "custos/spool.h"
#include "custos/util.h"
#include "daemon.h"
#if __has_include("sandbox.h")
#include "sandbox.h"
#define HAVE_SANDBOX 1
#endif

#ifndef CUSTOS_VERSION
#define CUSTOS_VERSION "0.1.0"
#endif

#define MAX_ARGS 1024

struct client {
	int fd;
	uid_t uid;
	pid_t pid;
	char user[64];
	uint32_t roles;
	char *buf;             /* bytes of the request being read */
	size_t len, cap;
	time_t since;          /* when its first byte came (0: none pending) */
	int busy;              /* a child is answering it, or it waits for the writer */
	time_t draining;       /* answered with an error: what it still sends is read and
	                          dropped until it closes or this time passes */
};

enum child_kind { CH_REQUEST, CH_WRITER, CH_JOB };
struct child {
	pid_t pid;
	enum child_kind kind;
	int job;                   /* CH_JOB */
	int result_fd;             /* CH_JOB: the pipe its result line comes through */
	struct client **clients;   /* the clients it answers */
	size_t nclients;
	time_t started;
};

static struct {
	const char *conf_path;
	cu_dconf *conf;
	char archive_real[PATH_MAX];
	int lfd, sfd, ifd;
	struct client **clients;
	size_t nclients, capclients;
	struct child *children;
	size_t nchildren, capchildren;
	struct client **ingest_q;  /* waiting for the writer */
	json_t **ingest_req;
	size_t ningest, capingest;
	struct denial *denials;
	size_t ndenials, capdenials;
	int spool_dirty;
	time_t spool_retry;        /* no pass before this after a failed one */
	time_t spool_backoff;      /* seconds: 5 after a failure, doubling to 600 */
	time_t spool_scan;         /* the next look at incoming/ without an event */
	struct job jobs[CU_JOB_COUNT];
	time_t started;
	int stopping;
	uint64_t requests, denied_total, ingest_rounds;
	uint64_t watchdog_usec;
	struct timespec last_watchdog;
} d;

/* ---- clients ------------------------------------------------------------ */

static uint32_t
roles_of(uid_t uid, char *user, size_t usersz)
{
	struct passwd pw, *pp = NULL;
	char pwbuf[4096];
	gid_t groups[256];
	int ng = 256;
	uint32_t roles = 0;

	/* root and the daemon's own user can read the files anyway */
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pp) != 0 || pp == NULL) {
		snprintf(user, usersz, "%lu", (unsigned long)uid);
		return uid == 0 || uid == getuid() ? 0xffffffffu : 0;
	}
	snprintf(user, usersz, "%s", pw.pw_name);
	if (uid == 0 || uid == getuid())
		return 0xffffffffu;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
		ng = 256;
	for (int i = 0; i < ng; i++) {
		struct group gr, *gp = NULL;
		char grbuf[8192];
		if (getgrgid_r(groups[i], &gr, grbuf, sizeof(grbuf), &gp) == 0 && gp != NULL)
			roles |= cu_dconf_group_roles(d.conf, gr.gr_name);
	}
	return roles;
}

static void
client_free(struct client *c)
{
	close(c->fd);
	free(c->buf);
	free(c);
}

static void
drop_client(size_t i)
{
	client_free(d.clients[i]);
	d.clients[i] = d.clients[--d.nclients];
}

static void
accept_clients(void)
{
	for (;;) {
		int fd = accept4(d.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cr;
		socklen_t crl = sizeof(cr);
		struct client *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				dlog(LOG_WARN_, "accept: %s", strerror(errno));
			return;
		}
		if (d.nclients >= d.conf->limits.clients) {
			answer_error(fd, "busy", "the daemon serves %u clients already (limits.clients); "
				"try again", d.conf->limits.clients);
			close(fd);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 ||
		    cu_grow(&d.clients, &d.capclients, d.nclients + 1, sizeof(*d.clients)) < 0 ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cr.uid;
		c->pid = cr.pid;
		c->roles = roles_of(cr.uid, c->user, sizeof(c->user));
		d.clients[d.nclients++] = c;
	}
}

/* ---- requests ----------------------------------------------------------- */

static void
deny(struct client *c, const char *cmd, uint32_t role)
{
	const char *rname = cu_role_name(role) ? cu_role_name(role) : "?";
	char reason[200];
	struct denial *x;

	snprintf(reason, sizeof(reason), "%s needs the role %s, which uid %lu (%s) does not have",
		cmd, rname, (unsigned long)c->uid, c->user);
	answer_error(c->fd, "denied", "permission denied: %s", reason);
	dlog(LOG_NOTICE_, "denied: uid %lu (%s): %s needs role %s", (unsigned long)c->uid, c->user,
		cmd, rname);
	d.denied_total++;
	if (cu_grow(&d.denials, &d.capdenials, d.ndenials + 1, sizeof(*d.denials)) < 0)
		return;
	x = &d.denials[d.ndenials++];
	memset(x, 0, sizeof(*x));
	snprintf(x->user, sizeof(x->user), "%s", c->user);
	x->uid = c->uid;
	snprintf(x->command, sizeof(x->command), "%s", cmd);
	snprintf(x->role, sizeof(x->role), "%s", rname);
	snprintf(x->reason, sizeof(x->reason), "%s", reason);
}

static struct child *
add_child(pid_t pid, enum child_kind kind)
{
	struct child *ch;

	if (cu_grow(&d.children, &d.capchildren, d.nchildren + 1, sizeof(*d.children)) < 0)
		return NULL;
	ch = &d.children[d.nchildren++];
	memset(ch, 0, sizeof(*ch));
	ch->pid = pid;
	ch->kind = kind;
	ch->result_fd = -1;
	ch->started = time(NULL);
	return ch;
}

static int
attach(struct child *ch, struct client *c)
{
	struct client **p = realloc(ch->clients, (ch->nclients + 1) * sizeof(*p));

	if (p == NULL)
		return -1;
	ch->clients = p;
	ch->clients[ch->nclients++] = c;
	c->busy = 1;
	return 0;
}

static struct child *
writer_child(void)
{
	for (size_t i = 0; i < d.nchildren; i++)
		if (d.children[i].kind == CH_WRITER)
			return &d.children[i];
	return NULL;
}

/* Starts a job now, answering c (may be NULL) when it ends.  1 started, 0
 * already running, -1 on failure. */
static int
start_job(int k, struct client *c)
{
	int pfd[2];
	pid_t pid;
	struct child *ch;

	if (d.jobs[k].running)
		return 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		dlog(LOG_ERR_, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		worker_job(d.conf, k, c ? c->fd : -1, c ? c->user : "custosd",
			c ? c->uid : getuid(), pfd[1]);
	}
	close(pfd[1]);
	if ((ch = add_child(pid, CH_JOB)) == NULL) {
		close(pfd[0]);
		return -1;
	}
	ch->job = k;
	ch->result_fd = pfd[0];
	if (c)
		attach(ch, c);
	d.jobs[k].running = pid;
	d.jobs[k].last_start = time(NULL);
	dlog(LOG_NOTICE_, "job %s: started (pid %ld%s%s)", d.jobs[k].name, (long)pid,
		c ? ", asked by " : "", c ? c->user : "");
	return 1;
}

/* Entries of SPOOL/incoming a pass would take now. */
static size_t
spool_waiting(void)
{
	char path[PATH_MAX];
	DIR *dir;
	struct dirent *e;
	size_t n = 0;

	if (cu_pathf(path, sizeof(path), "%s/incoming", d.conf->spool) < 0 ||
	    (dir = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		size_t l = strlen(e->d_name);
		char p[PATH_MAX];
		struct stat st;
		if (e->d_name[0] == '.' || (l > 5 && strcmp(e->d_name + l - 5, ".part") == 0))
			continue;
		if (cu_pathf(p, sizeof(p), "%s/%s", path, e->d_name) < 0 || lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			char m[PATH_MAX];
			if (cu_pathf(m, sizeof(m), "%s/%s", p, CU_SPOOL_MARKER) < 0 || access(m, F_OK) < 0)
				continue;
			/* inotify on the folder's own files is not kept: it was seen */
		}
		n++;
	}
	closedir(dir);
	return n;
}

static void
status_answer(struct client *c, int json)
{
	time_t now = time(NULL);
	struct child *w = writer_child();
	size_t running = 0, waiting = spool_waiting();
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	json_t *ans, *j, *jobs;

	for (size_t i = 0; i < d.nchildren; i++)
		running += d.children[i].kind == CH_REQUEST;
	if (f == NULL)
		return;
	j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:b, s:I, s:{}}",
		"version", CUSTOS_VERSION, "pid", (json_int_t)getpid(),
		"uptime", (json_int_t)(now - d.started), "archive", d.conf->archive,
		"spool", d.conf->spool, "socket", d.conf->socket, "protocol", CU_PROTO_VERSION,
		"clients", (json_int_t)d.nclients, "requests_running", (json_int_t)running,
		"requests", (json_int_t)d.requests, "denied", (json_int_t)d.denied_total,
		"writer", w != NULL, "spool_waiting", (json_int_t)waiting, "jobs");
	jobs = json_object_get(j, "jobs");
	fprintf(f, "custosd %s pid %ld, up %lds, archive %s\n", CUSTOS_VERSION, (long)getpid(),
		(long)(now - d.started), d.conf->archive);
	fprintf(f, "clients %zu, requests running %zu, served %llu, denied %llu, writer %s\n",
		d.nclients, running, (unsigned long long)d.requests,
		(unsigned long long)d.denied_total, w ? "busy" : "idle");
	fprintf(f, "spool %s: %zu waiting\n", d.conf->spool, waiting);
	for (int k = 0; k < CU_JOB_COUNT; k++) {
		struct job *jb = &d.jobs[k];
		char last[40] = "never", next[40] = "off";
		struct tm tm;
		if (jb->last_start && gmtime_r(&jb->last_start, &tm))
			strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (jb->next && gmtime_r(&jb->next, &tm))
			strftime(next, sizeof(next), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(f, "job %s: %s; last %s", jb->name, jb->calendar ? jb->calendar : "off", last);
		if (jb->running)
			fprintf(f, " running (pid %ld)", (long)jb->running);
		else if (jb->last_start)
			fprintf(f, " %s (exit %d): %s", jb->last_exit == 0 ? "ok" : "failed",
				jb->last_exit, jb->last_result);
		fprintf(f, "; next %s\n", next);
		json_object_set_new(jobs, jb->name, json_pack("{s:s?, s:s?, s:s?, s:i, s:s, s:b, s:s?}",
			"calendar", jb->calendar, "last", jb->last_start ? last : NULL,
			"result", jb->last_start && !jb->running ? (jb->last_exit == 0 ? "ok" : "failed") : NULL,
			"exit", jb->last_exit, "message", jb->last_result, "running", jb->running != 0,
			"next", jb->next ? next : NULL));
	}
	fclose(f);
	if (json) {
		free(text);
		text = json_dumps(j, JSON_COMPACT);
		tlen = text ? strlen(text) : 0;
		if (text) {
			char *p = realloc(text, tlen + 2);
			if (p) {
				text = p;
				text[tlen++] = '\n';
				text[tlen] = '\0';
			}
		}
	}
	ans = json_pack("{s:i, s:s#, s:s}", "exit", 0, "stdout", text ? text : "", text ? tlen : 0,
		"stderr", "");
	if (ans)
		cu_proto_write(c->fd, ans);
	json_decref(ans);
	json_decref(j);
	free(text);
}

static int reload(void);

/* The job a `custos run` word names, or -1. */
static int
job_named(const char *w)
{
	if (strcmp(w, "backup") == 0)
		return CU_JOB_BACKUP_INCREMENTAL;
	if (strcmp(w, "backup-full") == 0)
		return CU_JOB_BACKUP_FULL;
	if (strcmp(w, "verify-full") == 0)
		return CU_JOB_VERIFY_FULL;
	for (int k = 0; k < CU_JOB_COUNT; k++)
		if (strcmp(w, cu_dconf_job_name((enum cu_dconf_job)k)) == 0)
			return k;
	return -1;
}

/* Answers what this process answers itself: status, run, config reload. */
static void
daemon_command(struct client *c, int argc, char **argv)
{
	if (strcmp(argv[0], "status") == 0) {
		int json = argc > 1 && strcmp(argv[1], "--json") == 0;
		if (argc > 2 || (argc == 2 && !json)) {
			answer_error(c->fd, "usage", "status: usage: custos status [--json]");
			return;
		}
		status_answer(c, json);
		return;
	}
	if (strcmp(argv[0], "run") == 0) {
		int k = argc == 2 ? job_named(argv[1]) : -1;
		if (k < 0) {
			answer_error(c->fd, "usage", "run: usage: custos run backup|backup-full|verify|"
				"verify-full");
			return;
		}
		if ((k == CU_JOB_BACKUP_FULL || k == CU_JOB_BACKUP_INCREMENTAL) && d.conf->backup.to == NULL) {
			answer_error(c->fd, "usage", "run: no backup folder is configured (backup.to in %s)",
				d.conf_path);
			return;
		}
		if (d.stopping) {
			answer_error(c->fd, "stopping", "run: the daemon is stopping");
			return;
		}
		int r = start_job(k, c);
		if (r == 0) {
			json_t *ans = json_pack("{s:i, s:s, s:s}", "exit", 1, "stdout", "", "stderr", "");
			char msg[200];
			snprintf(msg, sizeof(msg), "custos: run: %s is running already (pid %ld); "
				"a job never runs twice at once\n", d.jobs[k].name, (long)d.jobs[k].running);
			json_object_set_new(ans, "stderr", json_string(msg));
			cu_proto_write(c->fd, ans);
			json_decref(ans);
		} else if (r < 0) {
			answer_error(c->fd, "internal", "run: could not start %s", d.jobs[k].name);
		}
		return;
	}
	/* config reload */
	if (argc == 2 && strcmp(argv[1], "reload") == 0) {
		int r = reload();
		json_t *ans = json_pack("{s:i, s:s, s:s}", "exit", r < 0 ? 1 : 0, "stdout",
			r < 0 ? "" : "configuration reloaded\n", "stderr", "");
		if (r < 0) {
			char msg[1200];
			snprintf(msg, sizeof(msg), "custos: config reload: %s; the running configuration "
				"stays in force\n", cu_error_last());
			json_object_set_new(ans, "stderr", json_string(msg));
		}
		cu_proto_write(c->fd, ans);
		json_decref(ans);
		return;
	}
	answer_error(c->fd, "usage", "config: through the daemon only `custos config reload`; "
		"`custos config check FILE` runs by itself");
}

/* Takes an ingest request: its files decoded, queued for the writer. */
static int
queue_ingest(struct client *c, json_t *req)
{
	if (d.stopping) {
		answer_error(c->fd, "stopping", "ingest: the daemon is stopping; nothing of this "
			"request was archived");
		return 0;
	}
	if (cu_grow(&d.ingest_q, &d.capingest, d.ningest + 1, sizeof(*d.ingest_q)) < 0 ||
	    (d.ingest_req = realloc(d.ingest_req, d.capingest * sizeof(*d.ingest_req))) == NULL)
		return answer_error(c->fd, "internal", "out of memory");
	d.ingest_q[d.ningest] = c;
	d.ingest_req[d.ningest] = json_incref(req);
	d.ningest++;
	c->busy = 1;
	return 0;
}

/* Checks one request line and sends it on.  Returns -1 when the
 * connection should be closed. */
static int
handle_request(struct client *c, char *line)
{
	json_error_t je;
	json_t *req = json_loads(line, 0, &je), *jargv, *v, *f;
	char *argv[MAX_ARGS + 1];
	const struct cli_command *cmd;
	const char *arch;
	size_t i, argc;
	uint32_t role;
	pid_t pid;

	d.requests++;
	if (json_is_object(req) && json_object_get(req, "hello") != NULL) {
		/* what a client needs to know to send requests: no role needed */
		json_t *ans = json_pack("{s:i, s:i, s:s, s:I}", "exit", 0, "protocol", CU_PROTO_VERSION,
			"version", CUSTOS_VERSION, "request_bytes", (json_int_t)d.conf->limits.request_bytes);
		if (ans)
			cu_proto_write(c->fd, ans);
		json_decref(ans);
		json_decref(req);
		return 0;
	}
	if (!json_is_object(req)) {
		answer_error(c->fd, "malformed", "malformed request: %s (line 1, column %d)",
			req ? "not a JSON object" : je.text, je.column);
		json_decref(req);
		return -1;
	}
	jargv = json_object_get(req, "argv");
	argc = json_array_size(jargv);
	if (!json_is_array(jargv) || argc < 1 || argc > MAX_ARGS) {
		answer_error(c->fd, "malformed", "malformed request: argv: an array of 1 to %d strings",
			MAX_ARGS);
		goto close;
	}
	json_array_foreach(jargv, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			answer_error(c->fd, "malformed", "malformed request: argv[%zu]: must be a string "
				"without NUL", i);
			goto close;
		}
		argv[i] = (char *)json_string_value(v);
	}
	argv[argc] = NULL;
	if (((v = json_object_get(req, "files")) && !json_is_array(v)) ||
	    ((v = json_object_get(req, "outputs")) && !json_is_array(v)) ||
	    ((v = json_object_get(req, "archive")) && !json_is_string(v))) {
		answer_error(c->fd, "malformed", "malformed request: files and outputs must be arrays, "
			"archive a string");
		goto close;
	}
	if ((arch = json_string_value(json_object_get(req, "archive"))) != NULL &&
	    strcmp(arch, d.archive_real) != 0 && strcmp(arch, d.conf->archive) != 0) {
		answer_error(c->fd, "wrong-archive", "this daemon serves the archive %s, not %s "
			"(custos --direct opens another archive itself)", d.conf->archive, arch);
		goto done;
	}
	if ((cmd = cli_command_find(argv[0])) == NULL) {
		answer_error(c->fd, "unknown-command", "unknown command %.64s", argv[0]);
		goto done;
	}
	if ((cmd->flags & CLI_LOCAL) ||
	    (strcmp(argv[0], "config") == 0 && !(argc == 2 && strcmp(argv[1], "reload") == 0))) {
		answer_error(c->fd, "local-command", "%s runs without the daemon (custos --direct %s …)",
			argv[0], argv[0]);
		goto done;
	}
	role = cli_command_role((int)argc, argv);
	if (role == 0 || !(c->roles & role)) {
		deny(c, argv[0], role ? role : CU_ROLE_RUN);
		goto done;
	}
	if (cmd->flags & CLI_DAEMON || strcmp(argv[0], "config") == 0) {
		daemon_command(c, (int)argc, argv);
		goto done;
	}
	if (strcmp(argv[0], "ingest") == 0) {
		json_array_foreach(json_object_get(req, "files"), i, f)
			if (!json_is_string(json_object_get(f, "name"))) {
				answer_error(c->fd, "malformed", "malformed request: files[%zu].name: "
					"must be a string", i);
				goto close;
			}
		queue_ingest(c, req);
		goto done;
	}
	if ((pid = fork()) < 0) {
		answer_error(c->fd, "internal", "fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0)
		worker_request(d.conf, c->fd, c->user, c->uid, req);
	struct child *ch = add_child(pid, CH_REQUEST);
	if (ch)
		attach(ch, c);
done:
	json_decref(req);
	return 0;
close:
	json_decref(req);
	return -1;
}

/* After an error answer: no more requests from this client, but what it
 * is still sending is read and dropped before closing, or the kernel would
 * reset the connection and the client might lose the answer. */
static void
start_draining(struct client *c)
{
	shutdown(c->fd, SHUT_WR);
	c->draining = time(NULL) + 2;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
	c->since = 0;
}

/* Handles the first whole line the client has sent, if there is one (a
 * client may send its next request before the answer to the last). */
static int
take_line(struct client *c)
{
	size_t limit = (size_t)d.conf->limits.request_bytes;
	char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;

	if (nl == NULL || c->busy || c->draining)
		return 0;
	size_t ll = (size_t)(nl - c->buf);
	if (ll > limit) {
		answer_error(c->fd, "too-large", "request is larger than %zu bytes "
			"(limits.request_bytes)", limit);
		start_draining(c);
		return 0;
	}
	*nl = '\0';
	/* one request at a time: bytes after it wait until it is answered */
	char *line = c->buf;
	size_t rest = c->len - ll - 1;
	char *nbuf = rest ? malloc(rest + 65536) : NULL;
	if (rest && nbuf == NULL)
		return -1;
	if (rest)
		memcpy(nbuf, nl + 1, rest);
	c->buf = nbuf;
	c->len = rest;
	c->cap = rest ? rest + 65536 : 0;
	c->since = rest ? time(NULL) : 0;
	int e = handle_request(c, line);
	free(line);
	if (e < 0)
		start_draining(c);
	return 0;
}

/* Reads what a client sent; handles a complete line.  -1: it closed (or
 * failed, or has been drained): drop it. */
static int
read_client(struct client *c)
{
	size_t limit = (size_t)d.conf->limits.request_bytes;

	if (c->draining) {
		char sink[65536];
		for (;;) {
			ssize_t r = read(c->fd, sink, sizeof(sink));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			return r > 0 ? 0 : -1;
		}
	}

	for (;;) {
		if (c->cap - c->len < 65536) {
			size_t ncap = c->cap ? c->cap * 2 : 65536;
			if (ncap > limit + 65536)
				ncap = limit + 65536;
			if (ncap <= c->len) {
				answer_error(c->fd, "too-large", "request is larger than %zu bytes "
					"(limits.request_bytes)", limit);
				start_draining(c);
				return 0;
			}
			char *p = realloc(c->buf, ncap);
			if (p == NULL)
				return -1;
			c->buf = p;
			c->cap = ncap;
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0)
			return -1;
		if (c->len == 0)
			c->since = time(NULL);
		int had = memchr(c->buf + c->len, '\n', (size_t)r) != NULL;
		c->len += (size_t)r;
		if (had)
			return take_line(c);
		if (c->len > limit) {
			answer_error(c->fd, "too-large", "request is larger than %zu bytes "
				"(limits.request_bytes)", limit);
			start_draining(c);
			return 0;
		}
	}
}

/* ---- the writer and the children ------------------------------------- */

static void
maybe_start_writer(void)
{
	struct wreq *reqs = NULL;
	struct child *ch;
	pid_t pid;
	int spool = 0;
	time_t now = time(NULL);

	if (writer_child() != NULL || (d.stopping && d.ningest == 0 && d.ndenials == 0))
		return;
	if (d.spool_dirty && now >= d.spool_retry && !d.stopping)
		spool = 1;
	if (!spool && d.ningest == 0 && d.ndenials == 0)
		return;
	size_t nreq = d.ningest;
	if (nreq && (reqs = calloc(nreq, sizeof(*reqs))) == NULL)
		return;
	for (size_t k = 0; k < d.ningest; k++) {
		json_t *files = json_object_get(d.ingest_req[k], "files"), *f, *jargv;
		size_t i;
		reqs[k].fd = d.ingest_q[k]->fd;
		reqs[k].uid = d.ingest_q[k]->uid;
		snprintf(reqs[k].user, sizeof(reqs[k].user), "%s", d.ingest_q[k]->user);
		jargv = json_object_get(d.ingest_req[k], "argv");
		json_array_foreach(jargv, i, f)
			if (strcmp(json_string_value(f), "--json") == 0)
				reqs[k].json = 1;
		reqs[k].files = calloc(json_array_size(files) + 1, sizeof(*reqs[k].files));
		reqs[k].nfiles = 0;
		json_array_foreach(files, i, f) {
			struct upload *u = &reqs[k].files[reqs[k].nfiles];
			if (reqs[k].files == NULL)
				break;
			u->name = (char *)json_string_value(json_object_get(f, "name"));
			u->bag_tar = json_is_string(json_object_get(f, "bag")) &&
				strcmp(json_string_value(json_object_get(f, "bag")), "tar") == 0;
			if (cu_proto_get_bytes(f, "data", &u->data, &u->len) < 0) {
				/* a file that cannot be decoded: ingest rejects it as empty input */
				u->data = NULL;
				u->len = 0;
			}
			reqs[k].nfiles++;
		}
	}
	if ((pid = fork()) < 0) {
		dlog(LOG_ERR_, "fork: %s", strerror(errno));
	} else if (pid == 0) {
		worker_writer(d.conf, d.denials, d.ndenials, spool, reqs, d.ningest);
	} else if ((ch = add_child(pid, CH_WRITER)) != NULL) {
		for (size_t k = 0; k < d.ningest; k++) {
			attach(ch, d.ingest_q[k]);
			json_decref(d.ingest_req[k]);
		}
		d.ingest_rounds++;
		d.ningest = 0;
		d.ndenials = 0;
		if (spool)
			d.spool_dirty = 0;
	}
	/* the decoded copies went to the child; this process's are freed */
	for (size_t k = 0; k < nreq; k++) {
		for (size_t i = 0; reqs[k].files && i < reqs[k].nfiles; i++)
			free(reqs[k].files[i].data);
		free(reqs[k].files);
	}
	free(reqs);
}

static void
child_ended(pid_t pid, int status)
{
	size_t i;

	for (i = 0; i < d.nchildren && d.children[i].pid != pid; i++)
		;
	if (i == d.nchildren)
		return;
	struct child *ch = &d.children[i];
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (WIFSIGNALED(status))
		dlog(LOG_ERR_, "child %ld (%s) killed by signal %d%s", (long)pid,
			ch->kind == CH_WRITER ? "writer" : ch->kind == CH_JOB ? d.jobs[ch->job].name
			: "request", WTERMSIG(status),
			WTERMSIG(status) == SIGSYS ? " (a system call outside the sandbox)" : "");
	if (ch->kind == CH_WRITER && code != 0) {
		/* again later, less and less often while it keeps failing */
		d.spool_backoff = d.spool_backoff ? (d.spool_backoff * 2 > 600 ? 600 : d.spool_backoff * 2) : 5;
		d.spool_retry = time(NULL) + d.spool_backoff;
		d.spool_dirty = 1;
	} else if (ch->kind == CH_WRITER) {
		d.spool_backoff = 0;
	}
	if (ch->kind == CH_JOB) {
		struct job *jb = &d.jobs[ch->job];
		char res[160] = "";
		ssize_t r = read(ch->result_fd, res, sizeof(res) - 1);
		close(ch->result_fd);
		res[r > 0 ? r : 0] = '\0';
		jb->running = 0;
		jb->last_end = time(NULL);
		jb->last_exit = code;
		if (res[0] == '\0' && WIFSIGNALED(status))
			snprintf(res, sizeof(res), "killed by signal %d", WTERMSIG(status));
		snprintf(jb->last_result, sizeof(jb->last_result), "%s", res);
		jb->next = sched_next(jb, d.conf, time(NULL));
		if (sched_save(d.jobs, d.conf) < 0)
			dlog(LOG_ERR_, "%s", cu_error_last());
		dlog(code == 0 ? LOG_NOTICE_ : LOG_WARN_, "job %s: %s (exit %d): %s", jb->name,
			code == 0 ? "done" : "failed", code, res);
		char st[300];
		snprintf(st, sizeof(st), "STATUS=last %s: %s", jb->name, code == 0 ? "ok" : "failed");
		notify(st);
	}
	for (size_t k = 0; k < ch->nclients; k++) {
		struct client *c = ch->clients[k];
		/* a child that died before answering: say so, the client waits otherwise */
		if (code >= 128 && ch->kind != CH_JOB)
			answer_error(c->fd, "internal", "the request's worker died (signal %d); "
				"nothing it had not acknowledged was archived", code - 128);
		c->busy = 0;
	}
	free(ch->clients);
	d.children[i] = d.children[--d.nchildren];
}

static void
reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		child_ended(pid, status);
}

/* ---- configuration ------------------------------------------------------ */

static int
reload(void)
{
	cu_dconf *n = NULL;
	char *errors = NULL;

	if (cu_dconf_load(&n, d.conf_path, &errors) < 0) {
		if (errors) {
			for (char *l = strtok(errors, "\n"); l; l = strtok(NULL, "\n"))
				dlog(LOG_ERR_, "reload refused: %s", l);
		} else {
			dlog(LOG_ERR_, "reload refused: %s", cu_error_last());
		}
		free(errors);
		cu_error_set(CU_EINVALID, "%s has errors (see the log); nothing changed", d.conf_path);
		return -1;
	}
	/* the folders and the socket are the sandbox's: they change at a restart */
	if (strcmp(n->archive, d.conf->archive) != 0 || strcmp(n->spool, d.conf->spool) != 0 ||
	    strcmp(n->socket, d.conf->socket) != 0 || strcmp(n->state, d.conf->state) != 0) {
		dlog(LOG_WARN_, "reload: archive, spool, socket and state keep their values until "
			"custosd restarts");
		char *t;
		t = n->archive; n->archive = d.conf->archive; d.conf->archive = t;
		t = n->spool; n->spool = d.conf->spool; d.conf->spool = t;
		t = n->socket; n->socket = d.conf->socket; d.conf->socket = t;
		t = n->state; n->state = d.conf->state; d.conf->state = t;
	}
	cu_dconf_free(d.conf);
	d.conf = n;
	sched_load(d.jobs, d.conf, time(NULL));
	for (size_t i = 0; i < d.nclients; i++)
		d.clients[i]->roles = roles_of(d.clients[i]->uid, d.clients[i]->user,
			sizeof(d.clients[i]->user));
	dlog(LOG_NOTICE_, "configuration %s reloaded", d.conf_path);
	return 0;
}

/* ---- set-up ------------------------------------------------------------- */

static int
listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* a socket left by a daemon that died: taken over only if nobody answers */
	if (lstat(path, &st) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (!S_ISSOCK(st.st_mode)) {
			close(probe);
			return cu_error_set(CU_EEXISTS, "%s exists and is not a socket", path);
		}
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return cu_error_set(CU_ELOCKED, "another daemon answers at %s", path);
		}
		close(probe);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return cu_error_sys("socket");
	/* every local user may connect; what each may do is checked per request */
	mode_t old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		close(fd);
		return cu_error_sys("%s", path);
	}
	umask(old);
	if (listen(fd, 128) < 0) {
		close(fd);
		return cu_error_sys("listen %s", path);
	}
	return fd;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: custosd [-c FILE] [-f]\n\n"
		"The custos daemon: spool intake, the socket API with roles, scheduled\n"
		"backups and checks (custosd(8)).  -c the configuration (default %s),\n"
		"-f stay in the foreground (as under systemd).  Never as root.\n",
		CU_DCONF_DEFAULT_PATH);
}

static int
watch_spool(void)
{
	char path[PATH_MAX];
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return cu_error_sys("inotify");
	if (cu_pathf(path, sizeof(path), "%s/incoming", d.conf->spool) < 0 ||
	    inotify_add_watch(fd, path, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_ATTRIB) < 0) {
		close(fd);
		return cu_error_sys("inotify %s", path);
	}
	return fd;
}

static void
drain_inotify(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t r = read(d.ifd, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *e = (struct inotify_event *)p;
			/* a new bag folder: its own events tell when its marker comes */
			if ((e->mask & (IN_CREATE | IN_MOVED_TO)) && (e->mask & IN_ISDIR) && e->len &&
			    e->name[0] != '.') {
				char path[PATH_MAX];
				if (cu_pathf(path, sizeof(path), "%s/incoming/%s", d.conf->spool, e->name) == 0)
					inotify_add_watch(d.ifd, path, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
			}
			p += sizeof(*e) + e->len;
		}
	}
	d.spool_dirty = 1;
}

static long
ms_until(time_t t, time_t now)
{
	return t <= now ? 0 : (long)(t - now) * 1000;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-sandbox", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 } };
	int opt, foreground = 0, sandbox = 1;
	char *errors = NULL;
	sigset_t mask;
	cu_archive *a = NULL;

	d.conf_path = CU_DCONF_DEFAULT_PATH;
	while ((opt = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': d.conf_path = optarg; break;
		case 'f': foreground = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("custosd %s\n", CUSTOS_VERSION); return 0;
		case 'S':
#ifdef CUSTOS_SANITIZE
			sandbox = 0;
			break;
#else
			fprintf(stderr, "custosd: --no-sandbox exists only in sanitizer builds\n");
			return 2;
#endif
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (geteuid() == 0 || getuid() == 0) {
		fprintf(stderr, "custosd: refusing to run as root: run it as the user custos "
			"(the systemd unit does: User=custos)\n");
		return 2;
	}
	umask(077);
	if (cu_dconf_load(&d.conf, d.conf_path, &errors) < 0) {
		if (errors)
			fputs(errors, stderr);
		else
			fprintf(stderr, "custosd: %s\n", cu_error_last());
		free(errors);
		return 2;
	}
	/* the archive must be there and readable before the socket opens */
	if (cu_archive_open(&a, d.conf->archive, CU_ARCHIVE_READ, 0) < 0) {
		fprintf(stderr, "custosd: %s\n", cu_error_last());
		return 2;
	}
	cu_archive_free(a);
	if (realpath(d.conf->archive, d.archive_real) == NULL)
		snprintf(d.archive_real, sizeof(d.archive_real), "%s", d.conf->archive);
	if (cu_spool_prepare(d.conf->spool) < 0) {
		fprintf(stderr, "custosd: %s\n", cu_error_last());
		return 2;
	}
	if (!foreground) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("custosd: fork");
			return 2;
		}
		if (pid > 0)
			return 0;
		setsid();
	}
	if ((d.lfd = listen_socket(d.conf->socket)) < 0 || (d.ifd = watch_spool()) < 0) {
		dlog(LOG_ERR_, "%s", cu_error_last());
		return 2;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((d.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		dlog(LOG_ERR_, "signalfd: %s", strerror(errno));
		return 2;
	}
	daemon_fds[0] = d.lfd;
	daemon_fds[1] = d.sfd;
	daemon_fds[2] = d.ifd;
	d.started = time(NULL);
	if (sched_load(d.jobs, d.conf, d.started) < 0)
		dlog(LOG_WARN_, "job runs: %s", cu_error_last());
	if (sandbox) {
#ifdef HAVE_SANDBOX
		int abi = cu_sandbox_enter(d.conf, d.conf_path);
		if (abi < 0) {
			dlog(LOG_ERR_, "%s", cu_error_last());
			return 2;
		}
		if (abi == 0)
			dlog(LOG_WARN_, "sandbox: the kernel has no Landlock: seccomp and the process "
				"limits only");
#endif
	} else {
		dlog(LOG_WARN_, "sandbox off (--no-sandbox, a sanitizer build)");
	}
	d.spool_dirty = 1;   /* the scan at start */
	d.watchdog_usec = notify_watchdog_usec();
	clock_gettime(CLOCK_MONOTONIC, &d.last_watchdog);
	dlog(LOG_NOTICE_, "custosd %s: archive %s, spool %s, socket %s", CUSTOS_VERSION,
		d.conf->archive, d.conf->spool, d.conf->socket);
	notify("READY=1\nSTATUS=serving");

	for (;;) {
		time_t now = time(NULL);
		struct pollfd *pf;
		size_t npf = 3, *who;
		long timeout = 60000;

		if (d.stopping && d.nchildren == 0)
			break;
		if (!d.stopping)
			for (int k = 0; k < CU_JOB_COUNT; k++)
				if (d.jobs[k].next && d.jobs[k].next <= now) {
					if (d.jobs[k].running) {
						dlog(LOG_WARN_, "job %s: due while its last run goes on; skipped",
							d.jobs[k].name);
					} else {
						start_job(k, NULL);
					}
					d.jobs[k].next = sched_next(&d.jobs[k], d.conf, now);
				}
		/* a look at incoming/ every minute, in case an event was missed */
		if (now >= d.spool_scan) {
			d.spool_scan = now + 60;
			if (!d.spool_dirty && spool_waiting() > 0)
				d.spool_dirty = 1;
		}
		maybe_start_writer();
		/* requests that came while the last one was being answered */
		for (size_t i = 0; i < d.nclients; i++)
			if (!d.clients[i]->busy && !d.clients[i]->draining && d.clients[i]->len)
				take_line(d.clients[i]);
		maybe_start_writer();
		for (int k = 0; k < CU_JOB_COUNT; k++)
			if (d.jobs[k].next && ms_until(d.jobs[k].next, now) < timeout)
				timeout = ms_until(d.jobs[k].next, now);
		if (d.spool_dirty && d.spool_retry > now && ms_until(d.spool_retry, now) < timeout)
			timeout = ms_until(d.spool_retry, now);
		if (d.watchdog_usec) {
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			long el = (long)(t.tv_sec - d.last_watchdog.tv_sec) * 1000 +
				(t.tv_nsec - d.last_watchdog.tv_nsec) / 1000000;
			long half = (long)(d.watchdog_usec / 2000);
			if (el >= half) {
				notify("WATCHDOG=1");
				d.last_watchdog = t;
				el = 0;
			}
			if (half - el < timeout)
				timeout = half - el;
		}
		/* a client slow to send its request is dropped */
		for (size_t i = 0; i < d.nclients; i++) {
			struct client *c = d.clients[i];
			if (c->draining && now >= c->draining) {
				drop_client(i--);
			} else if (c->draining) {
				if (1000 < timeout)
					timeout = 1000;
			} else if (!c->busy && c->since &&
				   now - c->since >= (time_t)d.conf->limits.request_seconds) {
				answer_error(c->fd, "timeout", "no whole request within %u s "
					"(limits.request_seconds)", d.conf->limits.request_seconds);
				start_draining(c);
			} else if (!c->busy && c->since) {
				long ms = ms_until(c->since + (time_t)d.conf->limits.request_seconds, now);
				if (ms < timeout)
					timeout = ms;
			}
		}
		pf = calloc(3 + d.nclients, sizeof(*pf));
		who = calloc(3 + d.nclients, sizeof(*who));
		if (pf == NULL || who == NULL) {
			free(pf);
			free(who);
			sleep(1);
			continue;
		}
		pf[0] = (struct pollfd){ .fd = d.stopping ? -1 : d.lfd, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = d.sfd, .events = POLLIN };
		pf[2] = (struct pollfd){ .fd = d.ifd, .events = POLLIN };
		for (size_t i = 0; i < d.nclients; i++)
			if (!d.clients[i]->busy) {
				who[npf] = i;
				pf[npf++] = (struct pollfd){ .fd = d.clients[i]->fd, .events = POLLIN };
			}
		if (poll(pf, npf, (int)(timeout < 0 ? 0 : timeout)) < 0 && errno != EINTR) {
			dlog(LOG_ERR_, "poll: %s", strerror(errno));
			free(pf);
			free(who);
			return 2;
		}
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(d.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					reap();
				} else if (si.ssi_signo == SIGHUP) {
					notify("RELOADING=1");
					reload();
					notify("READY=1");
				} else if (!d.stopping) {
					d.stopping = 1;
					notify("STOPPING=1\nSTATUS=stopping: finishing the current batch");
					dlog(LOG_NOTICE_, "signal %u: finishing the current batch, then exiting",
						si.ssi_signo);
					for (size_t k = 0; k < d.ningest; k++) {
						answer_error(d.ingest_q[k]->fd, "stopping", "ingest: the daemon is "
							"stopping; nothing of this request was archived");
						d.ingest_q[k]->busy = 0;
						json_decref(d.ingest_req[k]);
					}
					d.ningest = 0;
				}
			}
			reap();
		}
		if (pf[2].revents & POLLIN)
			drain_inotify();
		if (pf[0].revents & POLLIN)
			accept_clients();
		/* from the end, so that dropping one does not move those still to see */
		for (size_t j = npf; j-- > 3;) {
			size_t i = who[j];
			if (pf[j].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (read_client(d.clients[i]) < 0 && !d.clients[i]->busy)
					drop_client(i);
			}
		}
		free(pf);
		free(who);
	}
	/* clean exit: the last batch is committed, nothing is half-done */
	close(d.lfd);
	unlink(d.conf->socket);
	for (size_t i = 0; i < d.nclients; i++)
		client_free(d.clients[i]);
	free(d.clients);
	sched_save(d.jobs, d.conf);
	dlog(LOG_NOTICE_, "stopped");
	cu_dconf_free(d.conf);
	return 0;
}
