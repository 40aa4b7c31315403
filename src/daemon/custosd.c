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
#include <sys/mman.h>
#include <sys/resource.h>
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
#include "sandbox.h"

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
	int busy;              /* a worker is answering it (or it waits for a reader) */
	int ingest_out;        /* ingest requests of it with the writer (they may be pipelined) */
	int eof;               /* it hung up while work of it was in hand */
	time_t draining;       /* answered with an error: what it still sends is read and
	                          dropped until it closes or this time passes */
};

/* A worker process and its channel. */
struct worker {
	pid_t pid;
	int ch;                    /* -1 once closed (it finishes what it has, then exits) */
	int reader;                /* 1 a reader, 0 the writer */
	int retired;               /* its channel is shut for writing: no new work */
	size_t outstanding;        /* frames sent, not yet done */
};

/* Work handed to a worker, waiting for its "done". */
enum pend_kind { P_REQUEST, P_JOB, P_SPOOL };
struct pending {
	uint64_t token;
	enum pend_kind kind;
	struct client *client;     /* NULL for a scheduled job or the spool */
	int ingest;                /* an ingest request (pipelined, counted in ingest_out) */
	int job;
	pid_t worker;
};

/* A reader request waiting for a free reader. */
struct waiting {
	struct client *client;
	int mfd;                   /* the request's text */
};

static struct {
	const char *conf_path;
	cu_dconf *conf;
	char archive_real[PATH_MAX];
	int lfd, sfd, ifd;
	struct client **clients;
	size_t nclients, capclients;
	struct worker *workers;
	size_t nworkers, capworkers;
	size_t readers_wanted;
	struct pending *pend;
	size_t npend, cappend;
	struct waiting *wait;
	size_t nwait, capwait;
	uint64_t next_token;
	int spool_dirty;
	int spool_pending;         /* a pass is with the writer */
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

/* ---- workers ------------------------------------------------------------ */

static struct worker *
spawn_worker(int reader)
{
	int sv[2];
	pid_t pid;
	struct worker *w;

	if (cu_grow(&d.workers, &d.capworkers, d.nworkers + 1, sizeof(*d.workers)) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		dlog(LOG_ERR_, "a worker's channel: %s", strerror(errno));
		return NULL;
	}
	if ((pid = fork()) < 0) {
		dlog(LOG_ERR_, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		/* the other workers' channels are not this one's business */
		for (size_t i = 0; i < d.nworkers; i++)
			if (d.workers[i].ch >= 0)
				close(d.workers[i].ch);
		for (size_t i = 0; i < d.nclients; i++)
			close(d.clients[i]->fd);
		/* readers first: the writer yields the processor to them */
		if (!reader && setpriority(PRIO_PROCESS, 0, 10) < 0)
			dlog(LOG_WARN_, "writer: nice: %s", strerror(errno));
		if (reader)
			worker_reader(d.conf, sv[1]);
		worker_writer(d.conf, sv[1]);
	}
	close(sv[1]);
	w = &d.workers[d.nworkers++];
	*w = (struct worker){ .pid = pid, .ch = sv[0], .reader = reader };
	return w;
}

static struct worker *
the_writer(void)
{
	for (size_t i = 0; i < d.nworkers; i++)
		if (!d.workers[i].reader && d.workers[i].ch >= 0 && !d.workers[i].retired)
			return &d.workers[i];
	return d.stopping ? NULL : spawn_worker(0);
}

static struct worker *
idle_reader(void)
{
	size_t readers = 0;

	for (size_t i = 0; i < d.nworkers; i++)
		if (d.workers[i].reader && d.workers[i].ch >= 0 && !d.workers[i].retired) {
			readers++;
			if (d.workers[i].outstanding == 0)
				return &d.workers[i];
		}
	return readers < d.readers_wanted && !d.stopping ? spawn_worker(1) : NULL;
}

/* Sends a frame of kind to w; the work is pending under a new token. */
static int
hand_over(struct worker *w, json_t *msg, const int *fds, int nfds, enum pend_kind kind,
	struct client *c, int job, int ingest)
{
	uint64_t token = ++d.next_token;
	struct pending *p;

	if (cu_grow(&d.pend, &d.cappend, d.npend + 1, sizeof(*d.pend)) < 0)
		return -1;
	json_object_set_new(msg, "token", json_integer((json_int_t)token));
	if (chan_send(w->ch, msg, fds, nfds) < 0) {
		dlog(LOG_ERR_, "worker %ld: %s", (long)w->pid, cu_error_last());
		return -1;
	}
	p = &d.pend[d.npend++];
	*p = (struct pending){ .token = token, .kind = kind, .client = c, .ingest = ingest,
		.job = job, .worker = w->pid };
	w->outstanding++;
	if (c && ingest)
		c->ingest_out++;
	else if (c)
		c->busy = 1;
	return 0;
}

/* A request (its text in the memory file mfd) to a worker. */
static int
send_request(struct worker *w, struct client *c, int mfd, int ingest)
{
	json_t *msg = json_pack("{s:s, s:s, s:I}", "type", "request", "user", c->user,
		"uid", (json_int_t)c->uid);
	int fds[2] = { c->fd, mfd }, r;

	if (msg == NULL)
		return -1;
	r = hand_over(w, msg, fds, 2, P_REQUEST, c, 0, ingest);
	json_decref(msg);
	return r;
}

/* Reader requests waiting: to the readers that are free. */
static void
dispatch_waiting(void)
{
	struct worker *w;

	while (d.nwait > 0 && (w = idle_reader()) != NULL) {
		struct waiting x = d.wait[0];
		memmove(&d.wait[0], &d.wait[1], (d.nwait - 1) * sizeof(*d.wait));
		d.nwait--;
		if (send_request(w, x.client, x.mfd, 0) < 0) {
			answer_error(x.client->fd, "internal", "no worker could take the request");
			x.client->busy = 0;
		}
		close(x.mfd);
	}
}

static void
deny(struct client *c, const char *cmd, uint32_t role)
{
	const char *rname = cu_role_name(role) ? cu_role_name(role) : "?";
	char reason[200];
	struct worker *w;
	json_t *msg;

	snprintf(reason, sizeof(reason), "%s needs the role %s, which uid %lu (%s) does not have",
		cmd, rname, (unsigned long)c->uid, c->user);
	answer_error(c->fd, "denied", "permission denied: %s", reason);
	dlog(LOG_NOTICE_, "denied: uid %lu (%s): %s needs role %s", (unsigned long)c->uid, c->user,
		cmd, rname);
	d.denied_total++;
	/* recorded in the log by the writer */
	msg = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", "denial", "user", c->user,
		"uid", (json_int_t)c->uid, "command", cmd, "role", rname, "reason", reason);
	if (msg && (w = the_writer()) != NULL && chan_send(w->ch, msg, NULL, 0) < 0)
		dlog(LOG_ERR_, "a denial not recorded: %s", cu_error_last());
	json_decref(msg);
}

/* Starts a job now, answering c (may be NULL) when it ends.  1 started, 0
 * already running, -1 on failure. */
static int
start_job(int k, struct client *c)
{
	struct worker *w;
	json_t *msg;
	int r;

	if (d.jobs[k].running)
		return 0;
	if ((w = the_writer()) == NULL ||
	    (msg = json_pack("{s:s, s:i, s:s, s:I}", "type", "job", "job", k,
		"user", c ? c->user : "custosd", "uid", (json_int_t)(c ? c->uid : getuid()))) == NULL)
		return -1;
	r = hand_over(w, msg, c ? &c->fd : NULL, c ? 1 : 0, P_JOB, c, k, 0);
	json_decref(msg);
	if (r < 0)
		return -1;
	d.jobs[k].running = w->pid;
	d.jobs[k].last_start = time(NULL);
	dlog(LOG_NOTICE_, "job %s: started%s%s", d.jobs[k].name, c ? ", asked by " : "",
		c ? c->user : "");
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
	size_t running = 0, waiting = spool_waiting(), wbusy = 0;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	json_t *ans, *j, *jobs;

	for (size_t i = 0; i < d.nworkers; i++)
		if (d.workers[i].reader)
			running += d.workers[i].outstanding;
		else
			wbusy += d.workers[i].outstanding;
	running += d.nwait;
	if (f == NULL)
		return;
	j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:b, s:I, s:{}}",
		"version", CUSTOS_VERSION, "pid", (json_int_t)getpid(),
		"uptime", (json_int_t)(now - d.started), "archive", d.conf->archive,
		"spool", d.conf->spool, "socket", d.conf->socket, "protocol", CU_PROTO_VERSION,
		"clients", (json_int_t)d.nclients, "requests_running", (json_int_t)running,
		"requests", (json_int_t)d.requests, "denied", (json_int_t)d.denied_total,
		"writer", wbusy != 0, "spool_waiting", (json_int_t)waiting, "jobs");
	jobs = json_object_get(j, "jobs");
	fprintf(f, "custosd %s pid %ld, up %lds, archive %s\n", CUSTOS_VERSION, (long)getpid(),
		(long)(now - d.started), d.conf->archive);
	fprintf(f, "clients %zu, requests running %zu, served %llu, denied %llu, writer %s\n",
		d.nclients, running, (unsigned long long)d.requests,
		(unsigned long long)d.denied_total, wbusy ? "busy" : "idle");
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
static void retire_workers(void);

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

/* Checks one request line and sends it on.  Returns -1 when the
 * connection should be closed. */
static int
handle_request(struct client *c, const char *line)
{
	json_error_t je;
	json_t *req = json_loads(line, 0, &je), *jargv, *v, *f;
	char *argv[MAX_ARGS + 1];
	const struct cli_command *cmd;
	const char *arch;
	size_t i, argc;
	uint32_t role;

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
	if (strcmp(argv[0], "ingest") == 0)
		json_array_foreach(json_object_get(req, "files"), i, f)
			if (!json_is_string(json_object_get(f, "name"))) {
				answer_error(c->fd, "malformed", "malformed request: files[%zu].name: "
					"must be a string", i);
				goto close;
			}
	if (d.stopping) {
		answer_error(c->fd, "stopping", "%s: the daemon is stopping; the request was not run",
			argv[0]);
		goto done;
	}
	/* the request's text goes to its worker in a memory file */
	int mfd = memfd_create("request", MFD_CLOEXEC);
	if (mfd < 0 || cu_write_all(mfd, line, strlen(line)) < 0) {
		if (mfd >= 0)
			close(mfd);
		answer_error(c->fd, "internal", "a memory file: %s", strerror(errno));
		goto done;
	}
	if (cli_command_reads((int)argc, argv)) {
		if (cu_grow(&d.wait, &d.capwait, d.nwait + 1, sizeof(*d.wait)) < 0) {
			close(mfd);
			answer_error(c->fd, "internal", "out of memory");
			goto done;
		}
		d.wait[d.nwait++] = (struct waiting){ c, mfd };
		c->busy = 1;
		dispatch_waiting();
	} else {
		struct worker *w = the_writer();
		if (w == NULL || send_request(w, c, mfd, strcmp(argv[0], "ingest") == 0) < 0)
			answer_error(c->fd, "internal", "the writer could not take the request");
		close(mfd);
	}
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

/* Ingest requests of one client in the writer's hands at once. */
#define PIPELINE_MAX 8

/* 1 if the line (len bytes) is an ingest request that will go to the
 * writer as it is (no error the daemon would answer itself, which would
 * come before the answers still due). */
static int
pipelinable(struct client *c, const char *line, size_t len)
{
	json_t *req = json_loadb(line, len, 0, NULL);
	const char *cmd = json_string_value(json_array_get(json_object_get(req, "argv"), 0));
	const char *arch = json_string_value(json_object_get(req, "archive"));
	int ok = cmd && strcmp(cmd, "ingest") == 0 && (c->roles & CU_ROLE_INGEST) && !d.stopping &&
		(json_object_get(req, "archive") == NULL ||
		 (arch && (strcmp(arch, d.archive_real) == 0 || strcmp(arch, d.conf->archive) == 0)));

	json_decref(req);
	return ok;
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
	/* behind ingest requests still in hand, only another ingest goes on
	 * (answers come in order); anything else waits for them */
	if (c->ingest_out > 0 && (c->ingest_out >= PIPELINE_MAX || ll > limit ||
	    !pipelinable(c, c->buf, ll)))
		return 0;
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
	/* requests carry ID numbers (search --person): not left in freed memory */
	explicit_bzero(line, ll);
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

/* ---- what the workers say, and their ends ------------------------------ */

static struct pending *
find_pending(uint64_t token)
{
	for (size_t i = 0; i < d.npend; i++)
		if (d.pend[i].token == token)
			return &d.pend[i];
	return NULL;
}

static struct worker *
find_worker(pid_t pid)
{
	for (size_t i = 0; i < d.nworkers; i++)
		if (d.workers[i].pid == pid)
			return &d.workers[i];
	return NULL;
}

/* The work of p is over (code its exit status, result its line). */
static void
pending_over(struct pending *p, int code, const char *result)
{
	struct worker *w = find_worker(p->worker);

	if (w && w->outstanding)
		w->outstanding--;
	if (p->client && p->ingest)
		p->client->ingest_out--;
	else if (p->client)
		p->client->busy = 0;
	if (p->kind == P_JOB) {
		struct job *jb = &d.jobs[p->job];
		jb->running = 0;
		jb->last_end = time(NULL);
		jb->last_exit = code;
		snprintf(jb->last_result, sizeof(jb->last_result), "%s", result ? result : "");
		jb->next = sched_next(jb, d.conf, time(NULL));
		if (sched_save(d.jobs, d.conf) < 0)
			dlog(LOG_ERR_, "%s", cu_error_last());
		dlog(code == 0 ? LOG_NOTICE_ : LOG_WARN_, "job %s: %s (exit %d): %s", jb->name,
			code == 0 ? "done" : "failed", code, jb->last_result);
		char st[300];
		snprintf(st, sizeof(st), "STATUS=last %s: %s", jb->name, code == 0 ? "ok" : "failed");
		notify(st);
	} else if (p->kind == P_SPOOL) {
		d.spool_pending = 0;
		if (code != 0) {
			/* again later, less and less often while it keeps failing */
			d.spool_backoff = d.spool_backoff ? (d.spool_backoff * 2 > 600 ? 600 : d.spool_backoff * 2) : 5;
			d.spool_retry = time(NULL) + d.spool_backoff;
			d.spool_dirty = 1;
		} else {
			d.spool_backoff = 0;
		}
	}
	*p = d.pend[--d.npend];
}

/* Reads the "done" frames a worker sent. */
static void
read_worker(struct worker *w)
{
	for (;;) {
		struct pollfd pf = { w->ch, POLLIN, 0 };
		json_t *msg;
		int fds[2], nfds, r;

		if (poll(&pf, 1, 0) <= 0 || !(pf.revents & (POLLIN | POLLHUP)))
			return;
		if ((r = chan_recv(w->ch, &msg, fds, &nfds)) != 0) {
			/* it is ending; its exit is seen through SIGCHLD */
			close(w->ch);
			w->ch = -1;
			return;
		}
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		struct pending *p = find_pending((uint64_t)json_integer_value(json_object_get(msg, "token")));
		if (p)
			pending_over(p, (int)json_integer_value(json_object_get(msg, "exit")),
				json_string_value(json_object_get(msg, "result")));
		json_decref(msg);
	}
}

static void
worker_ended(pid_t pid, int status)
{
	struct worker *w = find_worker(pid);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	if (w == NULL)
		return;
	if (w->ch >= 0)
		read_worker(w);   /* what it said before it went */
	if (WIFSIGNALED(status) || (code != 0 && !d.stopping))
		dlog(LOG_ERR_, "%s %ld ended (%s %d)%s", w->reader ? "reader" : "writer", (long)pid,
			WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : code,
			WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ?
			" — a system call outside the sandbox" : "");
	/* the work in its hands: its clients are told, jobs marked failed */
	for (size_t i = 0; i < d.npend;) {
		struct pending *p = &d.pend[i];
		if (p->worker != pid) {
			i++;
			continue;
		}
		if (p->client && p->kind == P_REQUEST)
			answer_error(p->client->fd, "internal", "the request's worker died (%s %d); "
				"nothing it had not acknowledged was archived",
				WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : code);
		pending_over(p, code ? code : 2, "its worker died");
	}
	if (w->ch >= 0)
		close(w->ch);
	*w = d.workers[--d.nworkers];
}

static void
reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		worker_ended(pid, status);
}

/* A spool pass to the writer when something came and none is under way. */
static void
maybe_spool(time_t now)
{
	struct worker *w;
	json_t *msg;

	if (!d.spool_dirty || d.spool_pending || d.stopping || now < d.spool_retry)
		return;
	if ((w = the_writer()) == NULL || (msg = json_pack("{s:s}", "type", "spool")) == NULL)
		return;
	if (hand_over(w, msg, NULL, 0, P_SPOOL, NULL, 0, 0) == 0) {
		d.spool_pending = 1;
		d.spool_dirty = 0;
	}
	json_decref(msg);
}

/* Closes every worker's channel: each finishes what it has and exits
 * (at a stop, or after a reload so that new ones read the new settings). */
static void
retire_workers(void)
{
	for (size_t i = 0; i < d.nworkers; i++)
		if (d.workers[i].ch >= 0 && !d.workers[i].retired) {
			shutdown(d.workers[i].ch, SHUT_WR);
			d.workers[i].retired = 1;
		}
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
	/* new workers read the new settings; the old ones finish what they have */
	retire_workers();
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
			/* a file being created is still being written: its rename or
			 * its close is the event that counts */
			if (!((e->mask & IN_CREATE) && !(e->mask & IN_ISDIR)))
				d.spool_dirty = 1;
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
	/* the loop never waits long on a client that reads nothing */
	cu_proto_write_timeout_ms = 1000;
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
		int abi = cu_sandbox_enter(d.conf, d.conf_path);
		if (abi < 0) {
			dlog(LOG_ERR_, "%s", cu_error_last());
			return 2;
		}
		if (abi == 0)
			dlog(LOG_WARN_, "sandbox: the kernel has no Landlock: seccomp and the process "
				"limits only");
	} else {
		dlog(LOG_WARN_, "sandbox off (--no-sandbox, a sanitizer build)");
	}
	d.spool_dirty = 1;   /* the scan at start */
	/* readers: two per processor, at least 2, at most 16, started as needed */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	d.readers_wanted = ncpu < 1 ? 2 : ncpu > 8 ? 16 : (size_t)ncpu * 2;
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

		if (d.stopping && d.nworkers == 0)
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
		maybe_spool(now);
		/* requests that came while the last one was being answered */
		for (size_t i = 0; i < d.nclients; i++)
			if (!d.clients[i]->busy && !d.clients[i]->draining && d.clients[i]->len)
				take_line(d.clients[i]);
		dispatch_waiting();
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
			if (c->eof && !c->busy && c->ingest_out == 0) {
				drop_client(i--);
			} else if (c->eof) {
				continue;
			} else if (c->draining && now >= c->draining) {
				drop_client(i--);
			} else if (c->draining) {
				if (1000 < timeout)
					timeout = 1000;
			} else if (!c->busy && c->ingest_out == 0 && c->since &&
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
		pf = calloc(3 + d.nworkers + d.nclients, sizeof(*pf));
		who = calloc(3 + d.nworkers + d.nclients, sizeof(*who));
		if (pf == NULL || who == NULL) {
			free(pf);
			free(who);
			sleep(1);
			continue;
		}
		pf[0] = (struct pollfd){ .fd = d.stopping ? -1 : d.lfd, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = d.sfd, .events = POLLIN };
		pf[2] = (struct pollfd){ .fd = d.ifd, .events = POLLIN };
		size_t nwk = 0;
		pid_t *wpid = calloc(d.nworkers + 1, sizeof(*wpid));
		for (size_t i = 0; wpid && i < d.nworkers; i++)
			if (d.workers[i].ch >= 0) {
				wpid[nwk++] = d.workers[i].pid;
				pf[npf++] = (struct pollfd){ .fd = d.workers[i].ch, .events = POLLIN };
			}
		size_t first_client = npf;
		for (size_t i = 0; i < d.nclients; i++)
			if (!d.clients[i]->busy && !d.clients[i]->eof &&
			    d.clients[i]->ingest_out < PIPELINE_MAX) {
				who[npf] = i;
				pf[npf++] = (struct pollfd){ .fd = d.clients[i]->fd, .events = POLLIN };
			}
		if (poll(pf, npf, (int)(timeout < 0 ? 0 : timeout)) < 0 && errno != EINTR) {
			dlog(LOG_ERR_, "poll: %s", strerror(errno));
			free(pf);
			free(who);
			free(wpid);
			return 2;
		}
		/* what the workers said first: it frees clients and readers */
		for (size_t j = 0; j < nwk; j++)
			if (pf[3 + j].revents & (POLLIN | POLLHUP | POLLERR)) {
				struct worker *w = find_worker(wpid[j]);
				if (w && w->ch >= 0)
					read_worker(w);
			}
		free(wpid);
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
					/* waiting for a reader: not started, told so */
					for (size_t k = 0; k < d.nwait; k++) {
						answer_error(d.wait[k].client->fd, "stopping", "the daemon is "
							"stopping; the request was not run");
						d.wait[k].client->busy = 0;
						close(d.wait[k].mfd);
					}
					d.nwait = 0;
					retire_workers();
				}
			}
			reap();
		}
		if (pf[2].revents & POLLIN)
			drain_inotify();
		if (pf[0].revents & POLLIN)
			accept_clients();
		/* from the end, so that dropping one does not move those still to see */
		for (size_t j = npf; j-- > first_client;) {
			size_t i = who[j];
			if (pf[j].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (read_client(d.clients[i]) < 0) {
					if (!d.clients[i]->busy && d.clients[i]->ingest_out == 0)
						drop_client(i);
					else
						d.clients[i]->eof = 1;   /* dropped once its work is done */
				}
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
