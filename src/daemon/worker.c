/*
 * worker.c — what custosd's children do (daemon.h): run one command for a
 * client, be the writer for a round of ingest requests, the spool and the
 * denials, or run a scheduled job.  A child runs the very code of the
 * `custos` commands, with its standard output and error caught in memory
 * files, and answers with them (docs/protocol.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/proto.h"
#include "custos/spool.h"
#include "custos/util.h"
#include "daemon.h"

int daemon_fds[3] = { -1, -1, -1 };

void
child_setup(int keep)
{
	sigset_t all;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	(void)keep;
	for (int i = 0; i < 3; i++)
		if (daemon_fds[i] >= 0)
			close(daemon_fds[i]);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGHUP, &dfl, NULL);
	sigaction(SIGCHLD, &dfl, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	dlog_fd = dup(2);
}

int
answer_error(int fd, const char *kind, const char *fmt, ...)
{
	char msg[1024], line[1100];
	va_list ap;
	json_t *a;
	int error;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "custos: %s\n", msg);
	if ((a = json_pack("{s:i, s:s, s:s}", "exit", 2, "error", kind, "stderr", line)) == NULL)
		return CU_ERROR;
	error = cu_proto_write(fd, a);
	json_decref(a);
	return error;
}

/* The whole content of a memory file. */
static char *
slurp(int fd, size_t *len)
{
	char *buf = NULL;

	*len = 0;
	if (lseek(fd, 0, SEEK_SET) < 0 || cu_read_fd(&buf, len, fd, "output", (size_t)1 << 31) < 0)
		return NULL;
	return buf;
}

/* Removes a folder this child made, and everything in it. */
static void
remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			char p[PATH_MAX];
			struct stat st;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
			    cu_pathf(p, sizeof(p), "%s/%s", path, e->d_name) < 0)
				continue;
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				remove_tree(p);
			else
				unlink(p);
		}
		closedir(d);
	}
	rmdir(path);
}

/* A private folder for this child's files, beside the socket. */
static int
make_tmp(char *out, size_t n, const cu_dconf *conf)
{
	const char *slash = strrchr(conf->socket, '/');
	int len = slash ? (int)(slash - conf->socket) : 0;

	if (cu_pathf(out, n, "%.*s/.req.XXXXXX", len, conf->socket) < 0)
		return CU_EINVALID;
	if (mkdtemp(out) == NULL)
		return cu_error_sys("%s", out);
	return 0;
}

/* Runs argv as the `custos` command would, for actor (uid), with stdin as
 * its standard input; its standard output and error come back in *out and
 * *err (new buffers).  Returns its exit status. */
static int
run_captured(const cu_dconf *conf, int argc, char **argv, const char *actor, uid_t uid,
	const char *in, size_t inlen, char **out, size_t *outlen, char **err, size_t *errlen)
{
	const struct cli_command *cmd = cli_command_find(argv[0]);
	struct cli c = { conf->archive, CLI_DEFAULT_WAIT, actor, (unsigned long)uid, 1 };
	int fin = memfd_create("stdin", MFD_CLOEXEC), fout = memfd_create("stdout", MFD_CLOEXEC),
	    ferr = memfd_create("stderr", MFD_CLOEXEC);
	int code;

	*out = *err = NULL;
	*outlen = *errlen = 0;
	if (cmd == NULL || cmd->run == NULL || fin < 0 || fout < 0 || ferr < 0)
		return EXIT_USAGE;
	if (inlen && cu_write_all(fin, in, inlen) < 0)
		return EXIT_USAGE;
	fflush(stdout);
	fflush(stderr);
	if (lseek(fin, 0, SEEK_SET) < 0 || dup2(fin, 0) < 0 || dup2(fout, 1) < 0 || dup2(ferr, 2) < 0)
		return EXIT_USAGE;
	clearerr(stdin);
	optind = 0;          /* getopt starts afresh */
	opterr = 1;
	code = cmd->run(&c, argc, argv);
	fflush(stdout);
	fflush(stderr);
	*out = slurp(fout, outlen);
	*err = slurp(ferr, errlen);
	close(fin);
	close(fout);
	close(ferr);
	return code;
}

/* The request's argv as strings; NULL after answering why not. */
static char **
request_argv(int fd, json_t *req, int *argc)
{
	json_t *jargv = json_object_get(req, "argv"), *v;
	size_t i, n = json_array_size(jargv);
	char **av = calloc(n + 1, sizeof(*av));

	if (av == NULL) {
		answer_error(fd, "internal", "out of memory");
		return NULL;
	}
	json_array_foreach(jargv, i, v)
		if ((av[i] = strdup(json_string_value(v))) == NULL) {
			answer_error(fd, "internal", "out of memory");
			return NULL;
		}
	*argc = (int)n;
	return av;
}

/* The last component of a path, for the copy's own name (extensions tell
 * the commands what a file is). */
static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	s = s ? s + 1 : p;
	return s[0] && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 ? s : "file";
}

/* 1 if name can name a file in a folder made here. */
static int
plain_name(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
		strlen(name) < 256;
}

void
worker_request(const cu_dconf *conf, int fd, const char *user, uid_t uid, json_t *req)
{
	char tmp[PATH_MAX], *in = NULL, *out = NULL, *err = NULL;
	size_t inlen = 0, outlen = 0, errlen = 0, i;
	char **av;
	int argc = 0, code;
	json_t *files = json_object_get(req, "files"), *outs = json_object_get(req, "outputs"), *f;
	json_t *ans = NULL, *jouts = json_array();
	char **outpath = NULL;

	child_setup(fd);
	if ((av = request_argv(fd, req, &argc)) == NULL)
		_exit(2);
	if (make_tmp(tmp, sizeof(tmp), conf) < 0) {
		answer_error(fd, "internal", "%s", cu_error_last());
		_exit(2);
	}
	outpath = calloc((size_t)argc, sizeof(*outpath));
	/* uploaded files: argv[arg] becomes the copy (a folder of them when they have names) */
	json_array_foreach(files, i, f) {
		json_int_t arg = json_integer_value(json_object_get(f, "arg"));
		const char *name = json_string_value(json_object_get(f, "name")) ?: "";
		char dir[PATH_MAX], path[PATH_MAX], *data = NULL;
		size_t len = 0;
		if (arg < 1 || arg >= argc || (name[0] && !plain_name(name)) ||
		    cu_proto_get_bytes(f, "data", &data, &len) < 0) {
			answer_error(fd, "malformed", "files[%zu]: needs arg (an argument's index), "
				"name (\"\" or a plain file name) and data", i);
			goto fail;
		}
		if (cu_pathf(dir, sizeof(dir), "%s/a%d", tmp, (int)arg) < 0 ||
		    (mkdir(dir, 0700) < 0 && errno != EEXIST) ||
		    (name[0] && cu_pathf(dir, sizeof(dir), "%s/a%d/%s", tmp, (int)arg,
			base_name(av[arg])) < 0) ||
		    (name[0] && mkdir(dir, 0700) < 0 && errno != EEXIST) ||
		    cu_pathf(path, sizeof(path), "%s/%s", dir, name[0] ? name : base_name(av[arg])) < 0 ||
		    cu_write_file_durable(path, data ? data : "", len, 0600, 1) < 0) {
			free(data);
			answer_error(fd, "internal", "%s", cu_error_last());
			goto fail;
		}
		free(data);
		free(av[arg]);
		av[arg] = strdup(name[0] ? dir : path);
	}
	/* output files: written in a folder here, sent back */
	json_array_foreach(outs, i, f) {
		json_int_t arg = json_integer_value(f);
		char dir[PATH_MAX], path[PATH_MAX];
		if (arg < 1 || arg >= argc || outpath == NULL) {
			answer_error(fd, "malformed", "outputs[%zu]: must be the index of an argument", i);
			goto fail;
		}
		if (cu_pathf(dir, sizeof(dir), "%s/o%d", tmp, (int)arg) < 0 || mkdir(dir, 0700) < 0 ||
		    cu_pathf(path, sizeof(path), "%s/%s", dir, base_name(av[arg])) < 0) {
			answer_error(fd, "internal", "%s: %s", dir, strerror(errno));
			goto fail;
		}
		free(av[arg]);
		av[arg] = strdup(path);
		outpath[arg] = strdup(path);
	}
	if (cu_proto_get_bytes(req, "stdin", &in, &inlen) < 0) {
		answer_error(fd, "malformed", "%s", cu_error_last());
		goto fail;
	}
	code = run_captured(conf, argc, av, user, uid, in, inlen, &out, &outlen, &err, &errlen);
	if ((ans = json_pack("{s:i}", "exit", code)) == NULL ||
	    cu_proto_put_bytes(ans, "stdout", out ? out : "", outlen) < 0 ||
	    cu_proto_put_bytes(ans, "stderr", err ? err : "", errlen) < 0) {
		answer_error(fd, "internal", "out of memory");
		goto fail;
	}
	for (int k = 0; outpath && k < argc; k++) {
		char *data = NULL;
		size_t len = 0;
		json_t *o;
		if (outpath[k] == NULL || cu_read_file(&data, &len, outpath[k], (size_t)1 << 31) < 0)
			continue;   /* not written: the command said why */
		if ((o = json_pack("{s:i}", "arg", k)) == NULL ||
		    cu_proto_put_bytes(o, "data", data, len) < 0 || json_array_append_new(jouts, o) < 0) {
			free(data);
			answer_error(fd, "internal", "out of memory");
			goto fail;
		}
		free(data);
	}
	if (json_array_size(jouts))
		json_object_set(ans, "outputs", jouts);
	cu_proto_write(fd, ans);
	remove_tree(tmp);
	_exit(0);
fail:
	remove_tree(tmp);
	_exit(2);
}

/* ---- the writer -------------------------------------------------------- */

struct wctx {
	struct wreq *reqs;
	size_t n;
	size_t *start;        /* first outcome of each request */
	FILE **out;
	char **buf;
	size_t *len;
	cu_ingest_stats *st;
	size_t *batch_seen;   /* the batch number each request last had an outcome in */
	size_t seen, batch;
};

static int
writer_result(const cu_ingest_result *r, void *payload)
{
	struct wctx *w = payload;
	size_t idx = w->seen++, k = 0;

	while (k + 1 < w->n && w->start[k + 1] <= idx)
		k++;
	if (cli_ingest_print(w->out[k], r, w->reqs[k].json) < 0)
		return CU_ERROR;
	if (r->status == CU_INGEST_ARCHIVED)
		w->st[k].archived++;
	else if (r->status == CU_INGEST_DUPLICATE)
		w->st[k].duplicates++;
	else
		w->st[k].rejected++;
	if (r->denied)
		w->st[k].denied++;
	if (w->batch_seen[k] != w->batch + 1 && r->status != CU_INGEST_REJECTED) {
		w->batch_seen[k] = w->batch + 1;
		w->st[k].commits++;
	}
	if (r->end_of_batch)
		w->batch++;
	return 0;
}

static int
spool_entry(const cu_spool_entry *e, void *payload)
{
	(void)payload;
	if (e->status == CU_SPOOL_ARCHIVED)
		dlog(LOG_INFO_, "spool: %s archived (%zu record%s)%s%s", e->name, e->records,
			e->records == 1 ? "" : "s", e->moved_to ? " to " : ", removed",
			e->moved_to ? e->moved_to : "");
	else if (e->status == CU_SPOOL_REJECTED)
		dlog(LOG_WARN_, "spool: %s rejected to %s: %s", e->name,
			e->moved_to ? e->moved_to : "?", e->reason ? e->reason : "");
	return 0;
}

void
worker_writer(const cu_dconf *conf, const struct denial *d, size_t nd, int spool,
	struct wreq *reqs, size_t nreqs)
{
	cu_archive *a = NULL;
	cu_ingest *in = NULL;
	struct wctx w = { .reqs = reqs, .n = nreqs };
	char tmp[PATH_MAX] = "";
	int error, spool_failed = 0;

	child_setup(-1);
	/* SIGTERM: this batch is finished first; the daemon starts no other */
	signal(SIGTERM, SIG_IGN);
	if (cu_archive_open(&a, conf->archive, CU_ARCHIVE_WRITE, 600) < 0) {
		dlog(LOG_ERR_, "writer: %s", cu_error_last());
		for (size_t k = 0; k < nreqs; k++)
			answer_error(reqs[k].fd, "internal", "ingest: %s", cu_error_last());
		_exit(2);
	}
	for (size_t i = 0; i < nd; i++) {
		char id[65];
		cu_archive_set_actor(a, d[i].user, (unsigned long)d[i].uid);
		if (cu_archive_record_denial(a, d[i].command, d[i].role, d[i].reason, id) < 0)
			dlog(LOG_ERR_, "recording a denial: %s", cu_error_last());
	}
	cu_archive_set_actor(a, "custosd", (unsigned long)getuid());
	if (spool) {
		cu_spool_opts so = { conf->keep_archived, conf->limits.spool_file_bytes };
		cu_spool_report rep = { 0 };
		if ((error = cu_spool_prepare(conf->spool)) < 0 ||
		    (error = cu_spool_pass(a, conf->spool, &so, spool_entry, NULL, &rep)) < 0) {
			dlog(LOG_ERR_, "spool: %s", cu_error_last());
			spool_failed = 1;
		}
		else if (rep.archived || rep.rejected)
			dlog(LOG_NOTICE_, "spool: %zu archived, %zu rejected, %zu waiting, %zu records",
				rep.archived, rep.rejected, rep.skipped, rep.records);
	}
	if (nreqs == 0) {
		cu_archive_free(a);
		_exit(spool_failed ? 2 : 0);
	}
	w.start = calloc(nreqs, sizeof(*w.start));
	w.out = calloc(nreqs, sizeof(*w.out));
	w.buf = calloc(nreqs, sizeof(*w.buf));
	w.len = calloc(nreqs, sizeof(*w.len));
	w.st = calloc(nreqs, sizeof(*w.st));
	w.batch_seen = calloc(nreqs, sizeof(*w.batch_seen));
	error = w.start && w.out && w.buf && w.len && w.st && w.batch_seen ? 0
		: cu_error_set(CU_ERROR, "out of memory");
	for (size_t k = 0; k < nreqs && error == 0; k++)
		if ((w.out[k] = open_memstream(&w.buf[k], &w.len[k])) == NULL)
			error = cu_error_set(CU_ERROR, "out of memory");
	if (error == 0)
		error = cu_ingest_begin(&in, a, writer_result, &w);
	for (size_t k = 0; k < nreqs && error == 0; k++) {
		cu_archive_set_actor(a, reqs[k].user, (unsigned long)reqs[k].uid);
		w.start[k] = cu_ingest_items(in);
		for (size_t i = 0; i < reqs[k].nfiles && error == 0; i++) {
			struct upload *u = &reqs[k].files[i];
			char dir[PATH_MAX], path[PATH_MAX];
			if (!u->bag_tar && !cu_ingest_is_bag(u->name, 0)) {
				error = cu_ingest_buffer(in, u->name, u->data, u->len);
				continue;
			}
			/* a bag file is read from disk: a copy of it, under its own name */
			if ((tmp[0] == '\0' && (error = make_tmp(tmp, sizeof(tmp), conf)) < 0) ||
			    (error = cu_pathf(dir, sizeof(dir), "%s/%zu-%zu", tmp, k, i)) < 0)
				break;
			if (mkdir(dir, 0700) < 0) {
				error = cu_error_sys("%s", dir);
				break;
			}
			if ((error = cu_pathf(path, sizeof(path), "%s/%s%s", dir, base_name(u->name),
				u->bag_tar ? ".tar" : "")) < 0 ||
			    (error = cu_write_file_durable(path, u->data, u->len, 0600, 1)) < 0)
				break;
			error = cu_ingest_bag(in, path, u->name);
		}
	}
	if (error == 0)
		error = cu_ingest_finish(in, NULL);
	else if (in)
		cu_ingest_abort(in);
	if (error < 0)
		dlog(LOG_ERR_, "ingest: %s", cu_error_last());
	for (size_t k = 0; k < nreqs; k++) {
		json_t *ans;
		char line[1200] = "";
		int code = w.st[k].rejected || w.st[k].denied ? 1 : 0;
		if (w.out[k])
			fclose(w.out[k]);
		if (error < 0) {
			snprintf(line, sizeof(line), "custos: ingest: %s\n", cu_error_last());
			code = 2;
		}
		ans = json_pack("{s:i, s:s#, s:s, s:{s:I, s:I, s:I, s:I, s:I}}", "exit", code,
			"stdout", w.buf[k] ? w.buf[k] : "", w.buf[k] ? w.len[k] : 0, "stderr", line,
			"ingest", "archived", (json_int_t)w.st[k].archived,
			"duplicates", (json_int_t)w.st[k].duplicates,
			"rejected", (json_int_t)w.st[k].rejected, "denied", (json_int_t)w.st[k].denied,
			"commits", (json_int_t)w.st[k].commits);
		if (ans == NULL || cu_proto_write(reqs[k].fd, ans) < 0)
			dlog(LOG_WARN_, "ingest: uid %lu: the answer could not be sent: %s",
				(unsigned long)reqs[k].uid, ans ? cu_error_last() : "out of memory");
		json_decref(ans);
	}
	if (tmp[0])
		remove_tree(tmp);
	cu_archive_free(a);
	_exit(error < 0 || spool_failed ? 2 : 0);
}

/* ---- scheduled jobs ---------------------------------------------------- */

/* The last non-empty line of text (at most n - 1 bytes of it). */
static void
last_line(char *out, size_t n, const char *text, size_t len)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	size_t b = len;
	while (b > 0 && text[b - 1] != '\n')
		b--;
	snprintf(out, n, "%.*s", (int)(len - b), text + b);
}

/* Appends to *acc (a growing text). */
static void
append(char **acc, size_t *alen, const char *s, size_t len)
{
	char *p = realloc(*acc, *alen + len + 1);

	if (p == NULL)
		return;
	memcpy(p + *alen, s, len);
	*alen += len;
	p[*alen] = '\0';
	*acc = p;
}

/* Each line of text to the log, as "job NAME: line". */
static void
log_lines(const char *job, const char *text, size_t len, int prio)
{
	size_t a = 0;

	for (size_t i = 0; i <= len; i++)
		if (i == len || text[i] == '\n') {
			if (i > a)
				dlog(prio, "job %s: %.*s", job, (int)(i - a), text + a);
			a = i + 1;
		}
}

void
worker_job(const cu_dconf *conf, int job, int fd, const char *user, uid_t uid, int result_fd)
{
	const char *name = cu_dconf_job_name((enum cu_dconf_job)job);
	char *argv[16], keep[3][16], result[160] = "";
	char *out = NULL, *err = NULL, *acc = NULL, *eacc = NULL;
	size_t outlen = 0, errlen = 0, alen = 0, elen = 0;
	int argc = 0, code;
	int backup = job == CU_JOB_BACKUP_FULL || job == CU_JOB_BACKUP_INCREMENTAL;

	child_setup(fd);
	if (backup) {
		argv[argc++] = "backup";
		argv[argc++] = "create";
		/* an incremental one when there is a chain to add to, else a full one */
		if (job == CU_JOB_BACKUP_FULL)
			argv[argc++] = "--full";
		argv[argc++] = "--to";
		argv[argc++] = conf->backup.to;
		if (conf->backup.key) {
			argv[argc++] = "--key";
			argv[argc++] = conf->backup.key;
		}
	} else {
		argv[argc++] = "verify";
		if (job == CU_JOB_VERIFY)
			argv[argc++] = "--quick";
	}
	argv[argc] = NULL;
	code = run_captured(conf, argc, argv, user, uid, NULL, 0, &out, &outlen, &err, &errlen);
	append(&acc, &alen, out ? out : "", outlen);
	append(&eacc, &elen, err ? err : "", errlen);
	last_line(result, sizeof(result), out ? out : "", outlen);
	if (code == EXIT_USAGE || result[0] == '\0')
		last_line(result, sizeof(result), err ? err : "", errlen);
	free(out);
	free(err);
	/* a backup made: the older ones the rules no longer keep go */
	if (backup && code == EXIT_DONE) {
		snprintf(keep[0], sizeof(keep[0]), "%u", conf->backup.keep_daily);
		snprintf(keep[1], sizeof(keep[1]), "%u", conf->backup.keep_weekly);
		snprintf(keep[2], sizeof(keep[2]), "%u", conf->backup.keep_monthly);
		char *pv[] = { "backup", "prune", "--to", conf->backup.to, "--keep-daily", keep[0],
			"--keep-weekly", keep[1], "--keep-monthly", keep[2], NULL };
		int pcode = run_captured(conf, 10, pv, user, uid, NULL, 0, &out, &outlen, &err, &errlen);
		append(&acc, &alen, out ? out : "", outlen);
		append(&eacc, &elen, err ? err : "", errlen);
		if (pcode != EXIT_DONE) {
			code = pcode;
			last_line(result, sizeof(result), err ? err : "", errlen);
		}
		free(out);
		free(err);
	}
	log_lines(name, acc ? acc : "", alen, LOG_INFO_);
	log_lines(name, eacc ? eacc : "", elen, code == EXIT_DONE ? LOG_INFO_ : LOG_WARN_);
	if (result_fd >= 0) {
		(void)!write(result_fd, result, strlen(result));
		close(result_fd);
	}
	if (fd >= 0) {
		json_t *ans = json_pack("{s:i}", "exit", code);
		if (ans && cu_proto_put_bytes(ans, "stdout", acc ? acc : "", alen) == 0 &&
		    cu_proto_put_bytes(ans, "stderr", eacc ? eacc : "", elen) == 0)
			cu_proto_write(fd, ans);
		json_decref(ans);
	}
	_exit(code);
}
