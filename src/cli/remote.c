/*
 * remote.c — `custos` as a client of custosd (docs/protocol.md): the same
 * commands and the same output, with the command run by the daemon.
 *
 * Files the command reads (policy folders, bank statements, receipts) are
 * sent with the request, since the daemon's sandbox cannot see the
 * caller's folders; files it writes (-o) come back in the answer and are
 * written here.  Ingest is sent in requests of at most REMOTE_CHUNK bytes,
 * and its summary line is added up here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "cli.h"
#include "custos/error.h"
#include "custos/proto.h"
#include "custos/util.h"

/* Ingest requests are cut at about this many bytes of files, or at 5/8 of
 * the daemon's request limit when that is smaller (JSON escapes and base64
 * make a request larger than its files). */
#define REMOTE_CHUNK (512u * 1024)
/* Ingest requests sent ahead of their answers (as many as the daemon takes). */
#define REMOTE_PIPELINE 8
/* A file larger than this is not sent (the daemon's limit is smaller anyway). */
#define REMOTE_MAX_FILE (64u << 20)

/* Arguments that name a file the command reads (IN) or writes (OUT). */
enum { ARG_IN = 1, ARG_OUT = 2 };
static const struct file_arg {
	const char *cmd, *sub;   /* sub NULL: any */
	const char *lopt;        /* the long option, or NULL: the first operand after sub */
	char sopt;               /* its short form, or 0 */
	int kind;
} file_args[] = {
	{ "policy", "install", NULL, 0, ARG_IN },
	{ "policy", "check", NULL, 0, ARG_IN },
	{ "policy", "replay", "policy", 'P', ARG_IN },
	{ "reconcile", NULL, "statement", 's', ARG_IN },
	{ "verify", NULL, "since-checkpoint", 0, ARG_IN },
	{ "get", NULL, "output", 'o', ARG_OUT },
	{ "export", NULL, "output", 'o', ARG_OUT },
	{ "audit", NULL, "output", 'o', ARG_OUT },
};

/* Connects to the daemon: the socket, -1 when nobody listens there
 * (nothing printed), -2 after printing why it cannot be reached. */
static int
connect_daemon(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "custos: socket path too long: %s\n", path);
		return -2;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "custos: socket: %s\n", strerror(errno));
		return -2;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	int e = errno;
	close(fd);
	if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
		return -1;
	fprintf(stderr, "custos: cannot reach the daemon at %s: %s%s\n", path, strerror(e),
		e == EACCES ? " (the socket is for the custos groups: see custosd(8))" : "");
	return -2;
}

/* Adds {"arg": i, "name": name, "data"|"data_base64": bytes of path}. */
static int
add_file(json_t *files, int arg, const char *name, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *f;

	if (cu_read_file(&buf, &len, path, REMOTE_MAX_FILE) < 0)
		return CU_ERROR;
	if ((f = json_pack("{s:i, s:s}", "arg", arg, "name", name)) == NULL ||
	    cu_proto_put_bytes(f, "data", buf, len) < 0 || json_array_append_new(files, f) < 0) {
		free(buf);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	free(buf);
	return 0;
}

/* Sends the file or the folder (its regular files, one level) named by
 * argv[arg]. */
static int
add_input(json_t *files, int arg, const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int error = 0;

	if (stat(path, &st) < 0)
		return cu_error_sys("%s", path);
	if (!S_ISDIR(st.st_mode))
		return add_file(files, arg, "", path);
	if ((d = opendir(path)) == NULL)
		return cu_error_sys("%s", path);
	while (error == 0 && (e = readdir(d)) != NULL) {
		char p[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		if (cu_pathf(p, sizeof(p), "%s/%s", path, e->d_name) < 0 || lstat(p, &st) < 0)
			error = cu_error_sys("%s", p);
		else if (S_ISREG(st.st_mode))
			error = add_file(files, arg, e->d_name, p);
	}
	closedir(d);
	return error;
}

/* Reads one answer; NULL after printing why. */
static json_t *
read_answer(int fd, char **rest, size_t *nrest)
{
	char *line = NULL;
	json_error_t je;
	json_t *j;
	int r = cu_proto_read_line(fd, (size_t)1 << 31, &line, rest, nrest);

	if (r <= 0) {
		fprintf(stderr, "custos: the daemon closed the connection without an answer%s%s\n",
			r < 0 ? ": " : "", r < 0 ? cu_error_last() : "");
		return NULL;
	}
	j = json_loads(line, 0, &je);
	free(line);
	if (!json_is_object(j)) {
		fprintf(stderr, "custos: the daemon's answer is not a JSON object: %s\n", je.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Prints stdout and stderr of an answer and writes its output files;
 * returns its exit status. */
static int
print_answer(const json_t *ans, char **argv)
{
	char *out = NULL;
	size_t len = 0;
	int code = (int)json_integer_value(json_object_get(ans, "exit"));
	const json_t *outs = json_object_get(ans, "outputs"), *o;
	size_t i;

	if (cu_proto_get_bytes(ans, "stdout", &out, &len) < 0 ||
	    fwrite(out ? out : "", 1, len, stdout) != len) {
		free(out);
		fprintf(stderr, "custos: the daemon's answer: %s\n", cu_error_last());
		return EXIT_USAGE;
	}
	free(out);
	fflush(stdout);
	json_array_foreach(outs, i, o) {
		json_int_t arg = json_integer_value(json_object_get(o, "arg"));
		const char *path = argv[arg];
		int fd;
		if (arg < 1 || cu_proto_get_bytes(o, "data", &out, &len) < 0) {
			fprintf(stderr, "custos: the daemon's answer: a bad output file\n");
			return EXIT_USAGE;
		}
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 ||
		    cu_write_all(fd, out ? out : "", len) < 0 || fsync(fd) < 0 || close(fd) < 0) {
			fprintf(stderr, "custos: %s: %s\n", path, strerror(errno));
			free(out);
			return EXIT_USAGE;
		}
		free(out);
	}
	if (cu_proto_get_bytes(ans, "stderr", &out, &len) == 0 && out) {
		fwrite(out, 1, len, stderr);
		free(out);
	}
	return code;
}

/* The operand index of the file argument fa in argv, or 0. */
static int
find_arg(const struct file_arg *fa, int argc, char **argv, int *split)
{
	int sub_at = 0;

	*split = 0;
	if (fa->sub) {
		if (argc < 2 || strcmp(argv[1], fa->sub) != 0)
			return 0;
		sub_at = 1;
	}
	for (int i = sub_at + 1; i < argc; i++) {
		size_t l = fa->lopt ? strlen(fa->lopt) : 0;
		if (fa->lopt == NULL) {
			if (argv[i][0] != '-')
				return i;
		} else if (argv[i][0] == '-' && argv[i][1] == '-' &&
			   strncmp(argv[i] + 2, fa->lopt, l) == 0) {
			if (argv[i][2 + l] == '\0')
				return i + 1 < argc ? i + 1 : 0;
			if (argv[i][2 + l] == '=') {
				*split = 1;
				return i;
			}
		} else if (fa->sopt && argv[i][0] == '-' && argv[i][1] == fa->sopt && argv[i][2] == '\0') {
			return i + 1 < argc ? i + 1 : 0;
		}
	}
	return 0;
}

/* The request's argv and its files: "--opt=FILE" is sent as two words so
 * that the file is one argument of its own. */
static json_t *
build_request(const struct cli *c, int argc, char **argv, char ***sent_argv, int *sent_argc)
{
	json_t *req = json_object(), *jargv = json_array(), *files = json_array(),
	       *outs = json_array();
	char **av = calloc((size_t)argc * 2 + 1, sizeof(*av));
	int n = 0;
	const char *archive = c->archive;

	if (req == NULL || jargv == NULL || files == NULL || outs == NULL || av == NULL)
		goto oom;
	for (int i = 0; i < argc; i++) {
		const char *eq = NULL;
		for (size_t k = 0; k < sizeof(file_args) / sizeof(*file_args); k++) {
			int split;
			if (strcmp(file_args[k].cmd, argv[0]) == 0 &&
			    find_arg(&file_args[k], argc, argv, &split) == i && split)
				eq = strchr(argv[i], '=');
		}
		/* -A inside the command's options names the archive too */
		if ((strcmp(argv[i], "-A") == 0 || strcmp(argv[i], "--archive") == 0) && i + 1 < argc) {
			archive = argv[++i];
			continue;
		}
		if (strncmp(argv[i], "--archive=", 10) == 0) {
			archive = argv[i] + 10;
			continue;
		}
		if (eq) {
			av[n++] = strndup(argv[i], (size_t)(eq - argv[i]));
			av[n++] = strdup(eq + 1);
		} else {
			av[n++] = strdup(argv[i]);
		}
	}
	for (int i = 0; i < n; i++)
		if (av[i] == NULL || json_array_append_new(jargv, json_string(av[i])) < 0)
			goto oom;
	for (size_t k = 0; k < sizeof(file_args) / sizeof(*file_args); k++) {
		int split, at;
		if (strcmp(file_args[k].cmd, av[0]) != 0 || (at = find_arg(&file_args[k], n, av, &split)) == 0)
			continue;
		if (file_args[k].kind == ARG_IN && strcmp(av[at], "-") != 0) {
			if (add_input(files, at, av[at]) < 0) {
				fprintf(stderr, "custos: %s: %s\n", av[0], cu_error_last());
				goto fail;
			}
		} else if (file_args[k].kind == ARG_OUT && strcmp(av[at], "-") != 0) {
			struct stat st;
			if (lstat(av[at], &st) == 0) {
				fprintf(stderr, "custos: %s: %s exists; it is not replaced\n", av[0], av[at]);
				goto fail;
			}
			if (json_array_append_new(outs, json_integer(at)) < 0)
				goto oom;
		}
	}
	if (archive == NULL && (archive = getenv("CUSTOS_ARCHIVE")) != NULL && !archive[0])
		archive = NULL;
	if (archive) {
		char real[PATH_MAX];
		if (json_object_set_new(req, "archive",
			json_string(realpath(archive, real) ? real : archive)) < 0)
			goto oom;
	}
	json_object_set_new(req, "argv", jargv);
	json_object_set_new(req, "files", files);
	json_object_set_new(req, "outputs", outs);
	*sent_argv = av;
	*sent_argc = n;
	return req;
oom:
	fprintf(stderr, "custos: out of memory\n");
fail:
	json_decref(req);
	json_decref(jargv);
	json_decref(files);
	json_decref(outs);
	for (int i = 0; av && i < n; i++)
		free(av[i]);
	free(av);
	return NULL;
}

/* ---- a bag folder, sent as a tar --------------------------------------- */

struct membuf {
	char *buf;
	size_t len, cap;
};

static la_ssize_t
mem_write(struct archive *a, void *payload, const void *data, size_t n)
{
	struct membuf *m = payload;

	if (m->len + n > REMOTE_MAX_FILE || cu_grow(&m->buf, &m->cap, m->len + n, 1) < 0) {
		archive_set_error(a, ENOMEM, "the bag is larger than %u bytes", REMOTE_MAX_FILE);
		return -1;
	}
	memcpy(m->buf + m->len, data, n);
	m->len += n;
	return (la_ssize_t)n;
}

/* Adds path (shown in the tar as name) and, for a folder, what it holds, in
 * name order.  Symbolic links go in as links: the daemon's bag check
 * refuses them, as it would in the folder. */
static int
tar_add(struct archive *a, const char *path, const char *name, int depth)
{
	struct archive_entry *e;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int error = 0;

	if (depth > 64 || lstat(path, &st) < 0)
		return cu_error_sys("%s", path);
	if ((e = archive_entry_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	if (S_ISDIR(st.st_mode)) {
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, target);
	} else if (S_ISREG(st.st_mode)) {
		if (cu_read_file(&buf, &len, path, REMOTE_MAX_FILE) < 0) {
			archive_entry_free(e);
			return CU_ERROR;
		}
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)len);
	} else {
		archive_entry_free(e);
		return 0;   /* FIFOs, devices: not part of a bag */
	}
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (len && archive_write_data(a, buf, len) != (la_ssize_t)len))
		error = cu_error_set(CU_ERROR, "%s: %s", path, archive_error_string(a));
	archive_entry_free(e);
	free(buf);
	if (error == 0 && S_ISDIR(st.st_mode)) {
		struct dirent **names;
		int n = scandir(path, &names, NULL, alphasort);
		if (n < 0)
			return cu_error_sys("%s", path);
		for (int i = 0; i < n; i++) {
			char p[PATH_MAX], q[PATH_MAX];
			if (error == 0 && strcmp(names[i]->d_name, ".") != 0 &&
			    strcmp(names[i]->d_name, "..") != 0) {
				if (cu_pathf(p, sizeof(p), "%s/%s", path, names[i]->d_name) < 0 ||
				    cu_pathf(q, sizeof(q), "%s/%s", name, names[i]->d_name) < 0)
					error = CU_EINVALID;
				else
					error = tar_add(a, p, q, depth + 1);
			}
			free(names[i]);
		}
		free(names);
	}
	return error;
}

/* The bag folder at path as a pax tar in memory, its files under the
 * folder's own name. */
static int
tar_folder(const char *path, char **out, size_t *len)
{
	struct membuf m = { 0 };
	struct archive *a = archive_write_new();
	const char *base = strrchr(path, '/');
	char top[256];
	int error;

	*out = NULL;
	*len = 0;
	snprintf(top, sizeof(top), "%s", base && base[1] ? base + 1 : path);
	if (a == NULL || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &m, NULL, mem_write, NULL) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", path, a ? archive_error_string(a) : "out of memory");
		archive_write_free(a);
		free(m.buf);
		return error;
	}
	error = tar_add(a, path, top, 0);
	if (archive_write_close(a) != ARCHIVE_OK && error == 0)
		error = cu_error_set(CU_ERROR, "%s: %s", path, archive_error_string(a));
	archive_write_free(a);
	if (error < 0) {
		free(m.buf);
		return error;
	}
	*out = m.buf;
	*len = m.len;
	return 0;
}

/* ---- ingest ------------------------------------------------------------ */

struct ingest_run {
	int fd;
	int json;
	json_t *req;          /* the request being filled */
	size_t bytes;         /* of files in it */
	char *rest;
	size_t nrest;
	cu_ingest_stats st;
	size_t chunk;         /* bytes of files per request */
	json_t *commit_ids;   /* the distinct commits the answers named */
	int inflight;         /* requests sent, not yet answered */
	int code;             /* worst exit status so far */
	const char *archive;
};

/* Reads the answer to the oldest request in flight and prints it. */
static int
ingest_answer(struct ingest_run *r)
{
	json_t *ans, *stats;

	r->inflight--;
	if ((ans = read_answer(r->fd, &r->rest, &r->nrest)) == NULL)
		return -1;
	int code = print_answer(ans, NULL);
	if ((stats = json_object_get(ans, "ingest")) != NULL) {
		r->st.archived += (size_t)json_integer_value(json_object_get(stats, "archived"));
		r->st.duplicates += (size_t)json_integer_value(json_object_get(stats, "duplicates"));
		r->st.rejected += (size_t)json_integer_value(json_object_get(stats, "rejected"));
		r->st.denied += (size_t)json_integer_value(json_object_get(stats, "denied"));
		json_t *ids = json_object_get(stats, "commit_ids"), *id;
		size_t i;
		if (json_is_array(ids)) {
			/* requests sent together share commits: each counted once */
			if (r->commit_ids == NULL)
				r->commit_ids = json_object();
			json_array_foreach(ids, i, id) {
				char key[32];
				snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(id));
				json_object_set_new(r->commit_ids, key, json_true());
			}
			r->st.commits = json_object_size(r->commit_ids);
		} else {
			r->st.commits += (size_t)json_integer_value(json_object_get(stats, "commits"));
		}
	}
	json_decref(ans);
	if (code > r->code)
		r->code = code;
	return code == EXIT_USAGE ? -1 : 0;
}

/* Waits for every answer still due. */
static int
ingest_drain(struct ingest_run *r)
{
	while (r->inflight > 0)
		if (ingest_answer(r) < 0)
			return -1;
	return 0;
}

/* Sends the request being filled without waiting for its answer (the
 * daemon answers in order, and puts requests that arrive together into one
 * commit), as long as at most REMOTE_PIPELINE are in flight. */
static int
ingest_flush(struct ingest_run *r)
{
	if (r->req == NULL)
		return 0;
	if (cu_proto_write(r->fd, r->req) < 0) {
		fprintf(stderr, "custos: sending to the daemon: %s\n", cu_error_last());
		return -1;
	}
	json_decref(r->req);
	r->req = NULL;
	r->bytes = 0;
	r->inflight++;
	while (r->inflight >= REMOTE_PIPELINE)
		if (ingest_answer(r) < 0)
			return -1;
	return 0;
}

/* Adds one file (its bytes) to the request, sending the request first when
 * it is full. */
static int
ingest_add(struct ingest_run *r, const char *source, const char *buf, size_t len, int bag_tar)
{
	json_t *f;

	if (r->req != NULL && r->bytes + len > r->chunk && ingest_flush(r) < 0)
		return -1;
	if (r->req == NULL) {
		r->req = json_pack("{s:[s], s:[]}", "argv", "ingest", "files");
		if (r->req && r->json)
			json_array_append_new(json_object_get(r->req, "argv"), json_string("--json"));
		if (r->req && r->archive)
			json_object_set_new(r->req, "archive", json_string(r->archive));
	}
	if (r->req == NULL || (f = json_pack("{s:s}", "name", source)) == NULL ||
	    (bag_tar && json_object_set_new(f, "bag", json_string("tar")) < 0) ||
	    cu_proto_put_bytes(f, "data", buf, len) < 0 ||
	    json_array_append_new(json_object_get(r->req, "files"), f) < 0) {
		fprintf(stderr, "custos: out of memory\n");
		return -1;
	}
	r->bytes += len;
	return 0;
}

/* A rejection the daemon never sees (the file could not be read here):
 * printed as ingest prints it. */
static int
ingest_reject_local(struct ingest_run *r, const char *source, const char *reason)
{
	cu_ingest_result res = { .status = CU_INGEST_REJECTED, .source = source, .reason = reason };
	char *why = strdup(reason);

	/* the outcomes of the files before it come first, in input order */
	if (why == NULL || ingest_flush(r) < 0 || ingest_drain(r) < 0) {
		free(why);
		return -1;
	}
	res.reason = why;
	cli_ingest_print(stdout, &res, r->json);
	free(why);
	r->st.rejected++;
	if (r->code < EXIT_PROBLEMS)
		r->code = EXIT_PROBLEMS;
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A path as custos ingest takes it: a file, "-", or a folder (its files
 * and folders in name order, recursively, hidden names skipped). */
static int
ingest_walk(struct ingest_run *r, const char *path, int depth, int top)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;

	if (strcmp(path, "-") == 0 && top) {
		size_t cap = 0;
		for (;;) {
			if (len == cap && cu_grow(&buf, &cap, len + 65536, 1) < 0) {
				free(buf);
				return -1;
			}
			ssize_t got = read(STDIN_FILENO, buf + len, cap - len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				free(buf);
				return ingest_reject_local(r, "-", strerror(errno));
			}
			if (got == 0)
				break;
			len += (size_t)got;
			if (len > REMOTE_MAX_FILE) {
				free(buf);
				return ingest_reject_local(r, "-", "standard input is larger than the 64 MiB limit");
			}
		}
		int e = ingest_add(r, "-", buf, len, 0);
		free(buf);
		return e;
	}
	if ((top ? stat(path, &st) : lstat(path, &st)) < 0) {
		return ingest_reject_local(r, path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		char bagit[PATH_MAX];
		if (cu_pathf(bagit, sizeof(bagit), "%s/bagit.txt", path) == 0 && access(bagit, F_OK) == 0) {
			/* a bag folder travels as a tar of itself */
			if (tar_folder(path, &buf, &len) < 0)
				return ingest_reject_local(r, path, cu_error_last());
			int e = ingest_add(r, path, buf, len, 1);
			free(buf);
			return e;
		}
		if (depth > 32) {
			return ingest_reject_local(r, path, "folders nested more than 32 deep");
		}
		DIR *d = opendir(path);
		struct dirent *e;
		char **names = NULL;
		size_t n = 0, cap = 0;
		int error = 0;
		if (d == NULL) {
			return ingest_reject_local(r, path, strerror(errno));
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (cu_grow(&names, &cap, n + 1, sizeof(*names)) < 0 ||
			    (names[n] = cu_asprintf("%s/%s", path, e->d_name)) == NULL) {
				error = -1;
				break;
			}
			n++;
		}
		closedir(d);
		if (n > 1)
			qsort(names, n, sizeof(*names), cmp_str);
		for (size_t i = 0; i < n && error == 0; i++)
			error = ingest_walk(r, names[i], depth + 1, 0);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return error;
	}
	if (S_ISLNK(st.st_mode)) {
		return ingest_reject_local(r, path, "is a symbolic link (not followed)");
	}
	if (!S_ISREG(st.st_mode)) {
		return ingest_reject_local(r, path, "not a regular file");
	}
	if (cu_read_file(&buf, &len, path, REMOTE_MAX_FILE) < 0) {
		const char *msg = cu_error_last();
		size_t pl = strlen(path);
		if (strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ')
			msg += pl + 2;
		return ingest_reject_local(r, path, msg);
	}
	int e = ingest_add(r, path, buf, len, 0);
	free(buf);
	return e;
}

static int
remote_ingest(const struct cli *c, int fd, int argc, char **argv)
{
	struct ingest_run r = { .fd = fd };
	int first = 0;
	char real[PATH_MAX];
	const char *archive = c->archive;

	if (archive == NULL && (archive = getenv("CUSTOS_ARCHIVE")) != NULL && !archive[0])
		archive = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			r.json = 1;
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			i++;
		} else if (strncmp(argv[i], "--wait=", 7) == 0) {
			continue;
		} else if ((strcmp(argv[i], "-A") == 0 || strcmp(argv[i], "--archive") == 0) && i + 1 < argc) {
			archive = argv[++i];
		} else if (strncmp(argv[i], "--archive=", 10) == 0) {
			archive = argv[i] + 10;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return cli_usage("ingest", "bad option %s", argv[i]);
		} else if (first == 0) {
			first = i;
		}
	}
	if (first == 0)
		return cli_usage("ingest", "no PATH given");
	/* the daemon's request limit */
	r.chunk = REMOTE_CHUNK;
	json_t *hello = json_pack("{s:i}", "hello", CU_PROTO_VERSION), *ans;
	if (hello == NULL || cu_proto_write(fd, hello) < 0 ||
	    (ans = read_answer(fd, &r.rest, &r.nrest)) == NULL) {
		json_decref(hello);
		return EXIT_USAGE;
	}
	json_decref(hello);
	json_int_t lim = json_integer_value(json_object_get(ans, "request_bytes"));
	if (lim > 0 && (uint64_t)lim / 8 * 5 < r.chunk)
		r.chunk = (size_t)((uint64_t)lim / 8 * 5);
	json_decref(ans);
	if (archive)
		r.archive = realpath(archive, real) ? real : archive;
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (strcmp(argv[i], "--wait") == 0 || strcmp(argv[i], "-A") == 0 ||
		    strcmp(argv[i], "--archive") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] == '-')
			continue;
		if (ingest_walk(&r, argv[i], 0, 1) < 0) {
			r.code = EXIT_USAGE;
			break;
		}
	}
	if (r.code != EXIT_USAGE && (ingest_flush(&r) < 0 || ingest_drain(&r) < 0))
		r.code = EXIT_USAGE;
	json_decref(r.req);
	json_decref(r.commit_ids);
	free(r.rest);
	fflush(stdout);
	if (r.code == EXIT_USAGE) {
		fprintf(stderr, "custos: ingest stopped; records printed above are archived, "
			"the rest of the input was not\n");
		return EXIT_USAGE;
	}
	cli_ingest_summary(stderr, &r.st);
	return r.st.rejected || r.st.denied ? EXIT_PROBLEMS : EXIT_DONE;
}

int
cli_remote(const struct cli *c, const char *sock, int argc, char **argv)
{
	char **av = NULL, *rest = NULL;
	size_t nrest = 0;
	int fd, code, n = 0;
	json_t *req, *ans;

	if ((fd = connect_daemon(sock)) == -1)
		return -1;
	if (fd < 0)
		return EXIT_USAGE;
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[0], "ingest") == 0) {
		code = remote_ingest(c, fd, argc, argv);
		close(fd);
		return code;
	}
	if ((req = build_request(c, argc, argv, &av, &n)) == NULL) {
		close(fd);
		return EXIT_USAGE;
	}
	if (cu_proto_write(fd, req) < 0) {
		fprintf(stderr, "custos: sending to the daemon: %s\n", cu_error_last());
		code = EXIT_USAGE;
	} else if ((ans = read_answer(fd, &rest, &nrest)) == NULL) {
		code = EXIT_USAGE;
	} else {
		code = print_answer(ans, av);
		json_decref(ans);
	}
	json_decref(req);
	for (int i = 0; i < n; i++)
		free(av[i]);
	free(av);
	free(rest);
	close(fd);
	return code;
}
