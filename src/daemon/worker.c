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
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/index.h"
#include "custos/proto.h"
#include "custos/spool.h"
#include "custos/util.h"
#include "daemon.h"

int daemon_fds[3] = { -1, -1, -1 };

/* A reader's archive, opened read-only and lent to each read command: an
 * open costs more than most searches.  Opened again every few seconds. */
static cu_archive *reader_archive;
static time_t reader_opened;
static ino_t reader_index_ino;   /* the index file it has open */
#define READER_REOPEN_SECONDS 5

void
child_setup(void)
{
	sigset_t all;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (int i = 0; i < 3; i++)
		if (daemon_fds[i] >= 0)
			close(daemon_fds[i]);
	/* a stop reaches a worker as the end of its channel, after the work
	 * already sent to it; systemd's SIGTERM to the whole group is ignored */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigaction(SIGCHLD, &dfl, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	dlog_fd = dup(2);
	cu_proto_write_timeout_ms = 30000;
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

/* A private folder for a request's files, beside the socket. */
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
	struct cli c = { conf->archive, CLI_DEFAULT_WAIT, actor, (unsigned long)uid, 1, reader_archive };
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

/* Runs the request req for a client (user, uid) on this process, writes
 * the answer to fd; returns the command's exit status (2 when the request
 * could not be run).  The request's private folder is gone afterwards. */
static int
serve_request(const cu_dconf *conf, int fd, const char *user, uid_t uid, json_t *req)
{
	char tmp[PATH_MAX] = "", *in = NULL, *out = NULL, *err = NULL;
	size_t inlen = 0, outlen = 0, errlen = 0, i;
	char **av = NULL;
	int argc = 0, code = EXIT_USAGE;
	json_t *files = json_object_get(req, "files"), *outs = json_object_get(req, "outputs"), *f;
	json_t *ans = NULL, *jouts = json_array();
	char **outpath = NULL;

	if ((av = request_argv(fd, req, &argc)) == NULL)
		goto done;
	/* a folder only for requests that carry files */
	if ((json_array_size(files) || json_array_size(outs)) && make_tmp(tmp, sizeof(tmp), conf) < 0) {
		answer_error(fd, "internal", "%s", cu_error_last());
		tmp[0] = '\0';
		goto done;
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
			goto done;
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
			goto done;
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
			goto done;
		}
		if (cu_pathf(dir, sizeof(dir), "%s/o%d", tmp, (int)arg) < 0 || mkdir(dir, 0700) < 0 ||
		    cu_pathf(path, sizeof(path), "%s/%s", dir, base_name(av[arg])) < 0) {
			answer_error(fd, "internal", "%s: %s", dir, strerror(errno));
			goto done;
		}
		free(av[arg]);
		av[arg] = strdup(path);
		outpath[arg] = strdup(path);
	}
	if (cu_proto_get_bytes(req, "stdin", &in, &inlen) < 0) {
		answer_error(fd, "malformed", "%s", cu_error_last());
		goto done;
	}
	code = run_captured(conf, argc, av, user, uid, in, inlen, &out, &outlen, &err, &errlen);
	if ((ans = json_pack("{s:i}", "exit", code)) == NULL ||
	    cu_proto_put_bytes(ans, "stdout", out ? out : "", outlen) < 0 ||
	    cu_proto_put_bytes(ans, "stderr", err ? err : "", errlen) < 0) {
		answer_error(fd, "internal", "out of memory");
		goto done;
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
			goto done;
		}
		free(data);
	}
	if (json_array_size(jouts))
		json_object_set(ans, "outputs", jouts);
	cu_proto_write(fd, ans);
done:
	cu_error_clear();
	if (tmp[0])
		remove_tree(tmp);
	for (int k = 0; av && k < argc; k++) {
		free(av[k]);
		if (outpath)
			free(outpath[k]);
	}
	free(av);
	free(outpath);
	free(in);
	free(out);
	free(err);
	json_decref(ans);
	json_decref(jouts);
	return code;
}

/* The request a frame brought: the JSON text in the memory file mfd. */
static json_t *
frame_request(int mfd)
{
	char *text = NULL;
	size_t len = 0;
	json_t *req;

	if (lseek(mfd, 0, SEEK_SET) < 0 || cu_read_fd(&text, &len, mfd, "request", (size_t)1 << 31) < 0)
		return NULL;
	req = json_loadb(text, len, 0, NULL);
	explicit_bzero(text, len);
	free(text);
	return req;
}

/* Tells the daemon that the work of token is done. */
static void
done(int ch, json_int_t token, int code, const char *result)
{
	json_t *m = json_pack("{s:I, s:i, s:s}", "token", token, "exit", code, "result",
		result ? result : "");

	if (m == NULL || chan_send(ch, m, NULL, 0) < 0)
		dlog(LOG_ERR_, "worker %ld: telling the daemon: %s", (long)getpid(), cu_error_last());
	json_decref(m);
}

static void
close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

void
worker_reader(const cu_dconf *conf, int ch)
{
	child_setup();
	for (;;) {
		json_t *msg;
		int fds[2], nfds, r = chan_recv(ch, &msg, fds, &nfds);
		if (r != 0) {
			if (r < 0)
				dlog(LOG_ERR_, "reader %ld: %s", (long)getpid(), cu_error_last());
			_exit(r < 0 ? 2 : 0);
		}
		json_int_t token = json_integer_value(json_object_get(msg, "token"));
		json_t *req = nfds == 2 ? frame_request(fds[1]) : NULL;
		int code = EXIT_USAGE;
		time_t now = time(NULL);
		struct stat ist;
		char ipath[PATH_MAX];
		/* a reindex makes the index anew (another file): open it then */
		if (reader_archive && (cu_pathf(ipath, sizeof(ipath), "%s/index/data.mdb", conf->archive) < 0 ||
		    stat(ipath, &ist) < 0 || ist.st_ino != reader_index_ino))
			reader_opened = 0;
		if (reader_archive && now - reader_opened >= READER_REOPEN_SECONDS) {
			cu_archive_free(reader_archive);
			reader_archive = NULL;
		}
		if (reader_archive == NULL) {
			/* on failure each command opens (and reports) for itself */
			if (cu_archive_open(&reader_archive, conf->archive, CU_ARCHIVE_READ, 0) < 0)
				reader_archive = NULL;
			reader_opened = now;
			reader_index_ino = cu_pathf(ipath, sizeof(ipath), "%s/index/data.mdb", conf->archive) == 0 &&
				stat(ipath, &ist) == 0 ? ist.st_ino : 0;
			cu_error_clear();
		} else {
			cu_archive_refresh(reader_archive);
		}
		if (req != NULL)
			code = serve_request(conf, fds[0],
				json_string_value(json_object_get(msg, "user")) ?: "?",
				(uid_t)json_integer_value(json_object_get(msg, "uid")), req);
		else if (nfds >= 1)
			answer_error(fds[0], "internal", "the request did not reach its worker");
		json_decref(req);
		json_decref(msg);
		close_fds(fds, nfds);
		done(ch, token, code, NULL);
	}
}

/* ---- the writer -------------------------------------------------------- */

/* One ingest request taken by the writer, answered once every outcome of
 * it has been reported (after the commit of the batch holding its last). */
struct wreq {
	json_int_t token;
	int fd;
	int json;
	size_t start, end;    /* its outcomes' indexes; end SIZE_MAX while it is read */
	size_t delivered;
	FILE *out;
	char *buf;
	size_t len;
	cu_ingest_stats st;
	size_t batch_seen;
	json_t *commits;      /* the commits holding its items: ids unique to this writer */
};

struct writer {
	const cu_dconf *conf;
	int ch;
	cu_archive *a;
	cu_ingest *in;
	struct wreq **reqs;   /* taken, not yet answered */
	size_t n, cap;
	size_t seen, batch;   /* outcomes reported; batches committed */
	char tmp[PATH_MAX];   /* bag copies */
};

static void
answer_ingest(struct writer *w, size_t k, const char *failure)
{
	struct wreq *r = w->reqs[k];
	char line[1200] = "";
	int code = r->st.rejected || r->st.denied ? 1 : 0;
	json_t *ans;

	fclose(r->out);
	if (failure) {
		snprintf(line, sizeof(line), "custos: ingest: %s\n", failure);
		code = 2;
	}
	ans = json_pack("{s:i, s:s#, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:o}}", "exit", code,
		"stdout", r->buf ? r->buf : "", r->buf ? r->len : 0, "stderr", line,
		"ingest", "archived", (json_int_t)r->st.archived,
		"duplicates", (json_int_t)r->st.duplicates,
		"rejected", (json_int_t)r->st.rejected, "denied", (json_int_t)r->st.denied,
		"commits", (json_int_t)r->st.commits,
		"commit_ids", r->commits ? r->commits : json_array());
	r->commits = NULL;   /* the answer owns it */
	if (ans == NULL || cu_proto_write(r->fd, ans) < 0)
		dlog(LOG_WARN_, "ingest: an answer could not be sent: %s",
			ans ? cu_error_last() : "out of memory");
	json_decref(ans);
	close(r->fd);
	done(w->ch, r->token, code, NULL);
	free(r->buf);
	free(r);
	memmove(&w->reqs[k], &w->reqs[k + 1], (w->n - k - 1) * sizeof(*w->reqs));
	w->n--;
}

/* Answers the requests all of whose outcomes are reported. */
static void
answer_complete(struct writer *w)
{
	for (size_t k = 0; k < w->n;)
		if (w->reqs[k]->end != SIZE_MAX && w->reqs[k]->delivered == w->reqs[k]->end - w->reqs[k]->start)
			answer_ingest(w, k, NULL);
		else
			k++;
}

static int
writer_result(const cu_ingest_result *r, void *payload)
{
	struct writer *w = payload;
	size_t idx = w->seen++, k = 0;
	struct wreq *q;

	while (k + 1 < w->n && w->reqs[k + 1]->start <= idx)
		k++;
	if (w->n == 0)
		return 0;
	q = w->reqs[k];
	if (cli_ingest_print(q->out, r, q->json) < 0)
		return CU_ERROR;
	q->delivered++;
	if (r->status == CU_INGEST_ARCHIVED)
		q->st.archived++;
	else if (r->status == CU_INGEST_DUPLICATE)
		q->st.duplicates++;
	else
		q->st.rejected++;
	if (r->denied)
		q->st.denied++;
	if (q->batch_seen != w->batch + 1 && r->status != CU_INGEST_REJECTED) {
		q->batch_seen = w->batch + 1;
		/* one id per commit of this writer: a client whose pipelined
		 * requests share commits counts each once */
		if (q->commits == NULL)
			q->commits = json_array();
		json_array_append_new(q->commits,
			json_integer((json_int_t)getpid() << 31 | (json_int_t)(w->batch + 1)));
		q->st.commits++;
	}
	if (r->end_of_batch)
		w->batch++;
	return 0;
}

/* Commits what is pending and answers every request taken; the archive
 * stays open.  failure: answer them with this error instead. */
static void
writer_finish(struct writer *w)
{
	const char *failure = NULL;

	if (w->in) {
		int error = cu_ingest_finish(w->in, NULL);
		w->in = NULL;
		if (error < 0) {
			failure = cu_error_last();
			dlog(LOG_ERR_, "ingest: %s", failure);
		}
	}
	answer_complete(w);
	while (w->n)
		answer_ingest(w, 0, failure ? failure : "the ingest stopped before this request's end");
	if (w->tmp[0]) {
		remove_tree(w->tmp);
		w->tmp[0] = '\0';
	}
}

/* Closes the archive (its lock goes). */
static void
writer_close(struct writer *w)
{
	writer_finish(w);
	cu_archive_free(w->a);
	w->a = NULL;
}

static int
writer_open(struct writer *w)
{
	if (w->a)
		return 0;
	if (cu_archive_open(&w->a, w->conf->archive, CU_ARCHIVE_WRITE, 600) == 0)
		return 0;
	/* an open that had to rebuild much of the index can outgrow the
	 * write-mapped headroom: then the ordinary map */
	w->a = NULL;
	cu_index_set_writemap(0);
	int error = cu_archive_open(&w->a, w->conf->archive, CU_ARCHIVE_WRITE, 600);
	cu_index_set_writemap(1);
	if (error < 0) {
		w->a = NULL;
		return CU_ERROR;
	}
	return 0;
}

/* Takes one ingest request into the open ingest. */
static void
writer_ingest(struct writer *w, json_int_t token, int fd, const char *user, uid_t uid, json_t *req)
{
	json_t *files = json_object_get(req, "files"), *f, *jargv = json_object_get(req, "argv");
	struct wreq *q = calloc(1, sizeof(*q));
	size_t i;
	int error = 0;

	if (q == NULL || cu_grow(&w->reqs, &w->cap, w->n + 1, sizeof(*w->reqs)) < 0) {
		free(q);
		answer_error(fd, "internal", "out of memory");
		close(fd);
		done(w->ch, token, 2, NULL);
		return;
	}
	q->token = token;
	q->fd = fd;
	q->end = SIZE_MAX;
	json_array_foreach(jargv, i, f)
		if (json_is_string(f) && strcmp(json_string_value(f), "--json") == 0)
			q->json = 1;
	if ((q->out = open_memstream(&q->buf, &q->len)) == NULL) {
		free(q);
		answer_error(fd, "internal", "out of memory");
		close(fd);
		done(w->ch, token, 2, NULL);
		return;
	}
	if (w->in == NULL)
		w->seen = 0;   /* outcomes are counted per ingest */
	if (writer_open(w) < 0 || (w->in == NULL && cu_ingest_begin(&w->in, w->a, writer_result, w) < 0)) {
		fclose(q->out);
		free(q->buf);
		free(q);
		answer_error(fd, "internal", "ingest: %s", cu_error_last());
		close(fd);
		done(w->ch, token, 2, NULL);
		return;
	}
	w->reqs[w->n++] = q;
	cu_archive_set_actor(w->a, user, (unsigned long)uid);
	q->start = cu_ingest_items(w->in);
	json_array_foreach(files, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *bag = json_string_value(json_object_get(f, "bag"));
		int bag_tar = bag && strcmp(bag, "tar") == 0;
		char *data = NULL, dir[PATH_MAX], path[PATH_MAX];
		size_t len = 0;
		if (name == NULL || cu_proto_get_bytes(f, "data", &data, &len) < 0) {
			/* not decodable: an empty input, rejected in its place like any other */
			if ((error = cu_ingest_buffer(w->in, name ? name : "?", "", 0)) < 0)
				break;
			continue;
		}
		if (!bag_tar && !cu_ingest_is_bag(name, 0)) {
			error = cu_ingest_buffer(w->in, name, data, len);
			free(data);
			if (error < 0)
				break;
			continue;
		}
		/* a bag is read from disk: a copy of it, under its own name */
		if ((w->tmp[0] == '\0' && (error = make_tmp(w->tmp, sizeof(w->tmp), w->conf)) < 0) ||
		    (error = cu_pathf(dir, sizeof(dir), "%s/%lld-%zu", w->tmp, (long long)token, i)) < 0) {
			free(data);
			break;
		}
		if (mkdir(dir, 0700) < 0) {
			error = cu_error_sys("%s", dir);
			free(data);
			break;
		}
		if ((error = cu_pathf(path, sizeof(path), "%s/%s%s", dir, base_name(name),
			bag_tar ? ".tar" : "")) < 0 ||
		    (error = cu_write_file_durable(path, data, len, 0600, 1)) < 0) {
			free(data);
			break;
		}
		free(data);
		error = cu_ingest_bag(w->in, path, name);
		if (error < 0)
			break;
	}
	if (error < 0) {
		/* a system failure: what is pending is dropped, every request taken fails */
		char why[1024];
		snprintf(why, sizeof(why), "%s", cu_error_last());
		dlog(LOG_ERR_, "ingest: %s", why);
		cu_ingest_abort(w->in);
		w->in = NULL;
		answer_complete(w);
		while (w->n)
			answer_ingest(w, 0, why);
		cu_archive_free(w->a);
		w->a = NULL;
		return;
	}
	q->end = cu_ingest_items(w->in);
	answer_complete(w);
}

/* A command (not an ingest) on the archive: run here once the writer's own
 * hold on the archive is let go, so the command takes the lock itself. */
static int
writer_command(struct writer *w, int fd, const char *user, uid_t uid, json_t *req)
{
	int code;

	writer_close(w);
	/* the command opens the archive as without the daemon (a reindex may
	 * write more than the write-mapped headroom) */
	cu_index_set_writemap(0);
	code = serve_request(w->conf, fd, user, uid, req);
	cu_index_set_writemap(1);
	return code;
}

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

/* A scheduled job, run here; its output goes to the log and, when fd >= 0
 * (`custos run`), as the answer to that client.  Returns its exit status,
 * its one-line result in result. */
static int
run_job(const cu_dconf *conf, int job, int fd, const char *user, uid_t uid, char *result,
	size_t rsz)
{
	const char *name = cu_dconf_job_name((enum cu_dconf_job)job);
	char *argv[16], keep[3][16];
	char *out = NULL, *err = NULL, *acc = NULL, *eacc = NULL;
	size_t outlen = 0, errlen = 0, alen = 0, elen = 0;
	int argc = 0, code;
	int backup = job == CU_JOB_BACKUP_FULL || job == CU_JOB_BACKUP_INCREMENTAL;

	result[0] = '\0';
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
	last_line(result, rsz, out ? out : "", outlen);
	if (code == EXIT_USAGE || result[0] == '\0')
		last_line(result, rsz, err ? err : "", errlen);
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
			last_line(result, rsz, err ? err : "", errlen);
		}
		free(out);
		free(err);
	}
	log_lines(name, acc ? acc : "", alen, LOG_INFO_);
	log_lines(name, eacc ? eacc : "", elen, code == EXIT_DONE ? LOG_INFO_ : LOG_WARN_);
	if (fd >= 0) {
		json_t *ans = json_pack("{s:i}", "exit", code);
		if (ans && cu_proto_put_bytes(ans, "stdout", acc ? acc : "", alen) == 0 &&
		    cu_proto_put_bytes(ans, "stderr", eacc ? eacc : "", elen) == 0)
			cu_proto_write(fd, ans);
		json_decref(ans);
	}
	free(acc);
	free(eacc);
	cu_error_clear();
	return code;
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

/* One spool pass on the writer's archive: 0, or 2 after logging why. */
static int
writer_spool(struct writer *w)
{
	cu_spool_opts so = { w->conf->keep_archived, w->conf->limits.spool_file_bytes };
	cu_spool_report rep = { 0 };

	writer_finish(w);
	if (writer_open(w) == 0) {
		/* what the spool brings is taken in by the daemon itself, whoever
		 * the last client was */
		char me[64];
		cu_user_name(me, sizeof(me));
		cu_archive_set_actor(w->a, me, (unsigned long)getuid());
	}
	if (writer_open(w) < 0 || cu_spool_prepare(w->conf->spool) < 0 ||
	    cu_spool_pass(w->a, w->conf->spool, &so, spool_entry, NULL, &rep) < 0) {
		dlog(LOG_ERR_, "spool: %s", cu_error_last());
		cu_error_clear();
		return 2;
	}
	if (rep.archived || rep.rejected)
		dlog(LOG_NOTICE_, "spool: %zu archived, %zu rejected, %zu waiting, %zu records",
			rep.archived, rep.rejected, rep.skipped, rep.records);
	return 0;
}

/* Milliseconds without a new request before the writer commits what it
 * has taken: requests arriving together share a commit. */
#define WRITER_COMMIT_IDLE_MS 10
/* ... and before it lets the archive go, so that `custos --direct` and
 * other writers get their turn. */
#define WRITER_CLOSE_IDLE_MS 200

void
worker_writer(const cu_dconf *conf, int ch)
{
	struct writer w = { .conf = conf, .ch = ch };

	child_setup();
	/* the batches' dirty index pages in the file mapping, not on the heap */
	cu_index_set_writemap(1);
	for (;;) {
		struct pollfd p = { ch, POLLIN, 0 };
		int timeout = w.in ? WRITER_COMMIT_IDLE_MS : w.a ? WRITER_CLOSE_IDLE_MS : -1;
		int r = poll(&p, 1, timeout);
		if (r < 0 && errno != EINTR) {
			dlog(LOG_ERR_, "writer: poll: %s", strerror(errno));
			break;
		}
		if (r == 0) {
			if (w.in)
				writer_finish(&w);
			else if (w.a)
				writer_close(&w);
			continue;
		}
		if (r < 0)
			continue;
		json_t *msg;
		int fds[2], nfds;
		if ((r = chan_recv(ch, &msg, fds, &nfds)) != 0) {
			if (r < 0)
				dlog(LOG_ERR_, "writer: %s", cu_error_last());
			break;
		}
		const char *type = json_string_value(json_object_get(msg, "type")) ?: "";
		json_int_t token = json_integer_value(json_object_get(msg, "token"));
		const char *user = json_string_value(json_object_get(msg, "user")) ?: "custosd";
		uid_t uid = (uid_t)json_integer_value(json_object_get(msg, "uid"));
		if (strcmp(type, "request") == 0) {
			json_t *req = nfds == 2 ? frame_request(fds[1]) : NULL;
			const char *cmd = json_string_value(json_array_get(json_object_get(req, "argv"), 0));
			if (nfds == 2)
				close(fds[1]);
			if (req == NULL || cmd == NULL) {
				if (nfds >= 1) {
					answer_error(fds[0], "internal", "the request did not reach its worker");
					close(fds[0]);
				}
				done(ch, token, 2, NULL);
			} else if (strcmp(cmd, "ingest") == 0) {
				writer_ingest(&w, token, fds[0], user, uid, req);   /* answered later */
			} else {
				int code = writer_command(&w, fds[0], user, uid, req);
				close(fds[0]);
				done(ch, token, code, NULL);
			}
			json_decref(req);
		} else if (strcmp(type, "job") == 0) {
			char result[512];
			int k = (int)json_integer_value(json_object_get(msg, "job"));
			writer_close(&w);
			cu_index_set_writemap(0);
			int code = run_job(conf, k, nfds ? fds[0] : -1, user, uid, result, sizeof(result));
			cu_index_set_writemap(1);
			close_fds(fds, nfds);
			done(ch, token, code, result);
		} else if (strcmp(type, "spool") == 0) {
			close_fds(fds, nfds);
			done(ch, token, writer_spool(&w), NULL);
		} else if (strcmp(type, "denial") == 0) {
			char id[65];
			close_fds(fds, nfds);
			writer_finish(&w);
			if (writer_open(&w) == 0) {
				cu_archive_set_actor(w.a, user, (unsigned long)uid);
				if (cu_archive_record_denial(w.a, json_string_value(json_object_get(msg, "command")) ?: "?",
					json_string_value(json_object_get(msg, "role")) ?: "?",
					json_string_value(json_object_get(msg, "reason")) ?: "", id) < 0)
					dlog(LOG_ERR_, "recording a denial: %s", cu_error_last());
			} else {
				dlog(LOG_ERR_, "recording a denial: %s", cu_error_last());
			}
			cu_error_clear();
		} else {
			close_fds(fds, nfds);
		}
		json_decref(msg);
	}
	/* the daemon is stopping (or gone): the batch in hand is committed */
	writer_close(&w);
	_exit(0);
}
