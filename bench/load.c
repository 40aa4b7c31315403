/*
 * load_client — custosd under load, for make bench (bench/daemon.sh): C
 * clients on the daemon's socket for T seconds, I of them ingesting
 * generated receipts in batches of B per request, the others searching back
 * to back; every answer is checked and counted.
 *
 *   load_client -s SOCKET [-c CLIENTS] [-i INGESTERS] [-t SECONDS] [-b BATCH]
 *               [-P PERSONS] [-n MIN] [-w DIR] [-m PID] [-p PREFIX]
 *
 * Each client is a thread with its own connection, kept for the whole run,
 * one request at a time (send, read the answer line, time it with
 * CLOCK_MONOTONIC).  Ingest clients send {"argv":["ingest"],"files":[one
 * .jsonl of B receipts]}: receipt numbers PREFIX-cKK-NNNNNNN are unique per
 * client, resident ID numbers carry their GB 11643 check character, USCCs
 * their GB 32100 one.  An answer is right when its exit is 0 and its
 * "ingest" member says B archived, nothing duplicate, rejected or denied,
 * with B lines of output.  Search clients alternate a text search of one of
 * the generator's words (--limit 10; at least MIN lines, -n) and, with -P, a
 * search by one of the ID numbers of that file (at least one line, each
 * showing the number masked as 110105********002X, never in clear).
 *
 * An error is an answer with another exit, one that is not such JSON, one
 * whose content is wrong, or a connection lost; the client stops there.
 * -w DIR writes each ingest client's receipts to DIR/client-KK.jsonl (the
 * same receipts, for a direct ingest to compare with); -m PID samples the
 * memory of the daemon PID and its children every 100 ms.
 *
 * Prints the figures, then one line "result key=value …" for scripts.
 * Exit 0 when there was no error, 1 when there was, 2 on bad usage or when
 * the daemon cannot be reached.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define MAX_CLIENTS 256
#define SEARCH_LIMIT "10"

static const char *const words[] = { "养老", "失业", "工伤", "缴费", "社保卡", "退休", "生育",
	"pension", "arrears", "参保登记" };
#define NWORDS (sizeof(words) / sizeof(*words))

static struct {
	const char *sock, *persons_file, *wdir, *prefix;
	int clients, ingesters, batch, min_lines;
	double seconds;
	long daemon_pid;
	char **persons;
	size_t npersons;
	struct timespec start;
	pthread_barrier_t go;
	volatile int stop_sampling;
} o = { .clients = 16, .ingesters = -1, .batch = 200, .seconds = 30, .prefix = "LOAD" };

struct lat {
	double *v;
	size_t n, cap;
};

struct client {
	int id, ingest;
	int fd;
	char *rbuf;             /* bytes read past the last answer line */
	size_t rlen, rcap;
	uint64_t rng;
	long next_no;           /* the next receipt number */
	FILE *out;              /* -w: the receipts sent */
	/* results */
	struct lat lat;         /* every request's */
	struct lat tlat, plat;  /* searches by text, by person */
	double last_ms;
	long requests, errors, archived, lines, by_text, by_person;
	double last_answer;     /* seconds since start of its last answer */
	char first_error[400];
};

struct mem {
	long main_hwm, child_hwm, child_anon, total_pss, total_anon, total_rss;
	int children_max;
	long samples;
};

static double
since_start(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - o.start.tv_sec) + (double)(t.tv_nsec - o.start.tv_nsec) / 1e9;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
fail(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	c->errors++;
	if (c->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->first_error, sizeof(c->first_error), fmt, ap);
	va_end(ap);
}

/* ---- receipts (as bench/gen_receipts.c makes them) ----------------------- */

static uint32_t
rnd(uint64_t *s, uint32_t n)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 33) % n;
}

static void
idno(uint64_t *s, char out[19])
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char chk[] = "10X98765432";
	static const char *const areas[] = { "110105", "440524", "310101", "510104", "350102" };
	int sum = 0;

	snprintf(out, 19, "%s%04u%02u%02u%03u", areas[rnd(s, 5)], 1940 + rnd(s, 66),
		1 + rnd(s, 12), 1 + rnd(s, 28), rnd(s, 1000));
	for (int i = 0; i < 17; i++)
		sum += (out[i] - '0') * w[i];
	out[17] = chk[sum % 11];
	out[18] = '\0';
}

static void
uscc(uint64_t *s, char out[19])
{
	static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	static const int w[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 };
	int sum = 0;

	snprintf(out, 19, "913501%02u", rnd(s, 100));
	for (int i = 8; i < 17; i++)
		out[i] = alpha[rnd(s, 31)];
	for (int i = 0; i < 17; i++)
		sum += (int)(strchr(alpha, out[i]) - alpha) * w[i];
	out[17] = alpha[(31 - sum % 31) % 31];
	out[18] = '\0';
}

/* One receipt as a JSON line, appended to f. */
static void
receipt(FILE *f, struct client *c)
{
	static const char *const surnames[] = { "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴" };
	static const char *const given[] = { "芳", "伟", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军" };
	static const char *const channels[] = { "window", "phone", "web", "sms", "self_service" };
	static const char *const services[] = { "registration", "contribution", "benefit",
		"consultation", "archive_use", "complaint" };
	static const char *const insurances[] = { "pension", "medical", "work_injury",
		"unemployment", "maternity" };
	static const char *const topics[] = { "养老保险参保登记", "医疗保险缴费基数核定",
		"失业保险金申领", "工伤认定材料补正", "生育津贴支付", "退休待遇核准", "个人权益记录查询",
		"社保卡挂失补办", "pension transfer request", "contribution arrears notice" };
	uint64_t *s = &c->rng;
	char id[19], amount[40] = "";
	long no = c->next_no++;
	unsigned svc = rnd(s, 6), org = rnd(s, 10) == 0;
	unsigned month = 1 + rnd(s, 12), day = 1 + rnd(s, 28);

	if (svc == 1 || svc == 2)   /* yuan and fen as the receipt writes them, in text */
		snprintf(amount, sizeof(amount), ",\"amount\":\"%u.%02u\"", rnd(s, 20000), rnd(s, 100));
	if (org)
		uscc(s, id);
	else
		idno(s, id);
	fprintf(f, "{\"type\":\"receipt\",\"receipt_no\":\"%s-c%02d-%07ld\",\"issued_at\":"
		"\"2026-%02u-%02uT%02u:%02u:%02u+08:00\",\"agency\":\"%s\",\"channel\":\"%s\","
		"\"service\":\"%s\",\"insurance\":\"%s\",\"subject\":{\"kind\":\"%s\",\"%s\":\"%s\","
		"\"name\":\"%s%s\"},\"operator\":\"op-%03u\",\"summary\":\"%s，办结编号%ld\"%s}\n",
		o.prefix, c->id, no, month, day, 8 + rnd(s, 9), rnd(s, 60), rnd(s, 60),
		rnd(s, 2) ? "110105" : "440524", channels[rnd(s, 5)], services[svc],
		insurances[rnd(s, 5)], org ? "org" : "person", org ? "uscc" : "id_no", id,
		surnames[rnd(s, 10)], org ? "氏实业有限公司" : given[rnd(s, 10)], rnd(s, 40),
		topics[rnd(s, 10)], no, amount);
}

/* ---- the connection ------------------------------------------------------ */

static int
connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The next answer line (a new string), NULL when the connection ended
 * before one (errno 0) or failed. */
static char *
read_line(struct client *c)
{
	for (;;) {
		char *nl = c->rlen ? memchr(c->rbuf, '\n', c->rlen) : NULL;
		if (nl != NULL) {
			size_t ll = (size_t)(nl - c->rbuf);
			char *line = malloc(ll + 1);
			if (line == NULL)
				return NULL;
			memcpy(line, c->rbuf, ll);
			line[ll] = '\0';
			memmove(c->rbuf, nl + 1, c->rlen - ll - 1);
			c->rlen -= ll + 1;
			return line;
		}
		if (c->rcap - c->rlen < 65536) {
			size_t ncap = c->rcap ? c->rcap * 2 : 262144;
			char *p = realloc(c->rbuf, ncap);
			if (p == NULL)
				return NULL;
			c->rbuf = p;
			c->rcap = ncap;
		}
		ssize_t r = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return NULL;
		}
		c->rlen += (size_t)r;
	}
}

static int
lat_add(struct lat *l, double ms)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		double *p = realloc(l->v, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = ms;
	return 0;
}

/* Decodes padded base64 in place; its length, or -1. */
static long
unbase64(char *s)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o_ = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *p;
		if (s[i] == '=') {
			if (i < n - 2)
				return -1;
			break;
		}
		if ((p = strchr(al, s[i])) == NULL || s[i] == '\0')
			return -1;
		acc = acc << 6 | (uint32_t)(p - al);
		if ((bits += 6) >= 8) {
			bits -= 8;
			s[o_++] = (char)(acc >> bits);
		}
	}
	s[o_] = '\0';
	return (long)o_;
}

/* Sends one request, reads and parses its answer; times it.  NULL after
 * counting the error (the connection is then of no more use: *dead). */
static json_t *
exchange(struct client *c, json_t *req, const char *what, char **stdout_, int *dead)
{
	char *text = json_dumps(req, JSON_COMPACT), *line;
	json_error_t je;
	json_t *ans, *v;
	double t0, t1;
	size_t len;

	*stdout_ = NULL;
	if (text == NULL) {
		fail(c, "%s: out of memory", what);
		*dead = 1;
		return NULL;
	}
	len = strlen(text);
	text[len] = '\n';   /* in place of the NUL: the line is sent with its length */
	t0 = now_s();
	if (write_all(c->fd, text, len + 1) < 0) {
		fail(c, "%s: sending: %s", what, strerror(errno));
		free(text);
		*dead = 1;
		return NULL;
	}
	free(text);
	line = read_line(c);
	t1 = now_s();
	if (line == NULL) {
		fail(c, "%s: %s", what, errno ? strerror(errno) : "the daemon closed the connection "
			"without an answer");
		*dead = 1;
		return NULL;
	}
	c->requests++;
	c->last_answer = since_start();
	c->last_ms = (t1 - t0) * 1000;
	lat_add(&c->lat, c->last_ms);
	ans = json_loads(line, 0, &je);
	free(line);
	if (!json_is_object(ans) || !json_is_integer(json_object_get(ans, "exit"))) {
		fail(c, "%s: the answer is not a JSON object with an integer exit%s%s", what,
			ans ? "" : ": ", ans ? "" : je.text);
		json_decref(ans);
		*dead = 1;
		return NULL;
	}
	if (json_integer_value(json_object_get(ans, "exit")) != 0) {
		const char *err = json_string_value(json_object_get(ans, "stderr"));
		fail(c, "%s: exit %lld: %.300s", what,
			(long long)json_integer_value(json_object_get(ans, "exit")), err ? err : "");
		json_decref(ans);
		return NULL;
	}
	if ((v = json_object_get(ans, "stdout")) != NULL && json_is_string(v)) {
		*stdout_ = strdup(json_string_value(v));
	} else if ((v = json_object_get(ans, "stdout_base64")) != NULL && json_is_string(v)) {
		*stdout_ = strdup(json_string_value(v));
		if (*stdout_ && unbase64(*stdout_) < 0) {
			fail(c, "%s: stdout_base64 is not base64", what);
			free(*stdout_);
			*stdout_ = NULL;
			json_decref(ans);
			return NULL;
		}
	} else {
		fail(c, "%s: the answer has no stdout", what);
		json_decref(ans);
		return NULL;
	}
	if (*stdout_ == NULL) {
		fail(c, "%s: out of memory", what);
		json_decref(ans);
		*dead = 1;
		return NULL;
	}
	return ans;
}

static long
count_lines(const char *s)
{
	long n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static long
stat_of(json_t *ans, const char *key)
{
	json_t *v = json_object_get(json_object_get(ans, "ingest"), key);

	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static int
ingest_once(struct client *c, char *what, size_t whatsz)
{
	char *data = NULL, *out = NULL, name[64];
	size_t dlen = 0;
	FILE *f = open_memstream(&data, &dlen);
	json_t *req, *ans;
	int dead = 0;
	long first = c->next_no;

	if (f == NULL) {
		fail(c, "out of memory");
		return -1;
	}
	for (int i = 0; i < o.batch; i++)
		receipt(f, c);
	fclose(f);
	snprintf(name, sizeof(name), "c%02d-%07ld.jsonl", c->id, first);
	snprintf(what, whatsz, "client %d: ingest %s", c->id, name);
	req = json_pack("{s:[s], s:[{s:s, s:s#}]}", "argv", "ingest", "files", "name", name,
		"data", data, dlen);
	if (req == NULL) {
		free(data);
		fail(c, "%s: out of memory", what);
		return -1;
	}
	if (c->out != NULL && fwrite(data, 1, dlen, c->out) != dlen) {
		fail(c, "%s: writing the copy: %s", what, strerror(errno));
		dead = 1;
	}
	free(data);
	ans = dead ? NULL : exchange(c, req, what, &out, &dead);
	json_decref(req);
	if (ans != NULL) {
		long a = stat_of(ans, "archived"), du = stat_of(ans, "duplicates"),
		     re = stat_of(ans, "rejected"), de = stat_of(ans, "denied"), l = count_lines(out);
		if (a != o.batch || du != 0 || re != 0 || de != 0 || l != o.batch)
			fail(c, "%s: %ld archived, %ld duplicates, %ld rejected, %ld denied, %ld lines; "
				"expected %d archived and nothing else", what, a, du, re, de, l, o.batch);
		if (a > 0)
			c->archived += a;
	}
	free(out);
	json_decref(ans);
	return dead ? -1 : 0;
}

/* 1 when every line shows the ID number masked (its first 6 and last 4
 * characters around 8 stars) and none shows it in clear. */
static int
masked_everywhere(const char *out, const char *id, long lines)
{
	char masked[32];
	long seen = 0;

	if (strstr(out, id) != NULL)
		return 0;
	snprintf(masked, sizeof(masked), "%.6s********%s", id, id + 14);
	for (const char *p = out; (p = strstr(p, masked)) != NULL; p += strlen(masked))
		seen++;
	return seen >= lines;
}

static int
search_once(struct client *c, long k, char *what, size_t whatsz)
{
	json_t *req, *ans;
	char *out = NULL;
	int dead = 0, person = o.npersons > 0 && k % 2 == 1;
	const char *arg;

	if (person) {
		arg = o.persons[rnd(&c->rng, (uint32_t)o.npersons)];
		/* the number itself stays out of messages: its masked form */
		snprintf(what, whatsz, "client %d: search --person %.6s********%s", c->id, arg, arg + 14);
		req = json_pack("{s:[s,s,s]}", "argv", "search", "--person", arg);
		c->by_person++;
	} else {
		arg = words[rnd(&c->rng, NWORDS)];
		snprintf(what, whatsz, "client %d: search --text %s --limit %s", c->id, arg, SEARCH_LIMIT);
		req = json_pack("{s:[s,s,s,s,s]}", "argv", "search", "--text", arg, "--limit",
			SEARCH_LIMIT);
		c->by_text++;
	}
	if (req == NULL) {
		fail(c, "%s: out of memory", what);
		return -1;
	}
	ans = exchange(c, req, what, &out, &dead);
	json_decref(req);
	if (ans != NULL || !dead)
		lat_add(person ? &c->plat : &c->tlat, c->last_ms);
	if (ans != NULL) {
		long l = count_lines(out);
		c->lines += l;
		if (person && (l < 1 || !masked_everywhere(out, arg, l)))
			fail(c, "%s: %ld lines, not each with the number masked (or it shows in clear)",
				what, l);
		else if (!person && (l < o.min_lines || l > atol(SEARCH_LIMIT)))
			fail(c, "%s: %ld lines, expected %d to %s", what, l, o.min_lines, SEARCH_LIMIT);
	}
	free(out);
	json_decref(ans);
	return dead ? -1 : 0;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	char what[200];

	pthread_barrier_wait(&o.go);
	for (long k = 0; since_start() < o.seconds; k++) {
		int r = c->ingest ? ingest_once(c, what, sizeof(what)) : search_once(c, k, what, sizeof(what));
		if (r < 0)
			break;
	}
	return NULL;
}

/* ---- memory of the daemon ------------------------------------------------ */

/* A "Key:   N kB" value of /proc/PID/FILE, in KiB; -1 when absent. */
static long
proc_kib(long pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = atol(line + kl + 1);
			break;
		}
	fclose(f);
	return v;
}

static void
sample(struct mem *m)
{
	char path[64], buf[8192];
	long kids[512], pss, total = 0, anon_total = 0, rss_total = 0;
	int nk = 0;
	FILE *f;

	/* the daemon is one thread: its children are those of its one task */
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", o.daemon_pid, o.daemon_pid);
	if ((f = fopen(path, "r")) != NULL) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		for (char *p = buf, *e; nk < 512; p = e) {
			long k = strtol(p, &e, 10);
			if (e == p)
				break;
			kids[nk++] = k;
		}
	}
	long v = proc_kib(o.daemon_pid, "status", "VmHWM");
	if (v > m->main_hwm)
		m->main_hwm = v;
	if ((v = proc_kib(o.daemon_pid, "status", "VmRSS")) > 0)
		rss_total += v;
	if ((pss = proc_kib(o.daemon_pid, "smaps_rollup", "Pss")) > 0)
		total += pss;
	if ((pss = proc_kib(o.daemon_pid, "smaps_rollup", "Pss_Anon")) > 0)
		anon_total += pss;
	for (int i = 0; i < nk; i++) {
		long hwm = proc_kib(kids[i], "status", "VmHWM"), anon = proc_kib(kids[i], "status", "RssAnon");
		long rss = proc_kib(kids[i], "status", "VmRSS");
		if (hwm > m->child_hwm)
			m->child_hwm = hwm;
		if (anon > m->child_anon)
			m->child_anon = anon;
		if (rss > 0)
			rss_total += rss;
		if ((pss = proc_kib(kids[i], "smaps_rollup", "Pss")) > 0)
			total += pss;
		if ((pss = proc_kib(kids[i], "smaps_rollup", "Pss_Anon")) > 0)
			anon_total += pss;
	}
	if (total > m->total_pss)
		m->total_pss = total;
	if (anon_total > m->total_anon)
		m->total_anon = anon_total;
	if (rss_total > m->total_rss)
		m->total_rss = rss_total;
	if (nk > m->children_max)
		m->children_max = nk;
	m->samples++;
}

static void *
sampler_main(void *arg)
{
	struct mem *m = arg;
	struct timespec tick = { 0, 100 * 1000000L };

	while (!o.stop_sampling) {
		sample(m);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

/* ---- figures ------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of sorted v. */
static double
pct(const double *v, size_t n, double p)
{
	size_t r;

	if (n == 0)
		return 0;
	r = (size_t)(p / 100 * (double)n + 0.999999);
	return v[(r ? r : 1) - 1];
}

/* The latencies of clients from..to-1 (their member at offset off), sorted. */
static int
merge(struct client *cs, int from, int to, size_t off, struct lat *all)
{
	for (int i = from; i < to; i++) {
		const struct lat *l = (const struct lat *)((const char *)&cs[i] + off);
		for (size_t k = 0; k < l->n; k++)
			if (lat_add(all, l->v[k]) < 0)
				return -1;
	}
	qsort(all->v, all->n, sizeof(*all->v), cmp_double);
	return 0;
}

static int
read_persons(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[128];
	size_t cap = 0;

	if (f == NULL) {
		fprintf(stderr, "load_client: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\r\n");
		line[l] = '\0';
		if (l == 0)
			continue;
		if (l != 18) {
			fprintf(stderr, "load_client: %s: line %zu: not an 18-character ID number\n", path,
				o.npersons + 1);
			fclose(f);
			return -1;
		}
		if (o.npersons == cap) {
			cap = cap ? cap * 2 : 256;
			char **p = realloc(o.persons, cap * sizeof(*p));
			if (p == NULL) {
				fclose(f);
				return -1;
			}
			o.persons = p;
		}
		if ((o.persons[o.npersons++] = strdup(line)) == NULL) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: load_client -s SOCKET [-c CLIENTS] [-i INGESTERS] [-t SECONDS] "
		"[-b BATCH]\n                   [-P PERSONS] [-n MIN] [-w DIR] [-m PID] [-p PREFIX]\n"
		"CLIENTS clients (16) on custosd's socket for SECONDS (30): INGESTERS of them\n"
		"(CLIENTS/2) ingest BATCH (200) generated receipts a request, the others search\n"
		"back to back (by text; by the ID numbers of PERSONS every other time).\n");
}

static int
number(const char *s, const char *opt, long max)
{
	char *e;
	long v = strtol(s, &e, 10);

	if (*s == '\0' || *e != '\0' || v < 0 || v > max) {
		fprintf(stderr, "load_client: %s: expected an integer 0-%ld, not \"%s\"\n", opt, max, s);
		exit(2);
	}
	return (int)v;
}

int
main(int argc, char **argv)
{
	struct client *cs;
	pthread_t *th, smp;
	struct mem m = { 0 };
	struct lat ing = { 0 }, sea = { 0 }, tsea = { 0 }, psea = { 0 };
	long errors = 0, requests = 0, archived = 0, ireq = 0, lines = 0, by_text = 0, by_person = 0;
	double ingest_end = 0, elapsed;
	int opt;

	while ((opt = getopt(argc, argv, "s:c:i:t:b:P:n:w:m:p:h")) != -1) {
		switch (opt) {
		case 's': o.sock = optarg; break;
		case 'c': o.clients = number(optarg, "-c", MAX_CLIENTS); break;
		case 'i': o.ingesters = number(optarg, "-i", MAX_CLIENTS); break;
		case 't': o.seconds = number(optarg, "-t", 86400); break;
		case 'b': o.batch = number(optarg, "-b", 100000); break;
		case 'P': o.persons_file = optarg; break;
		case 'n': o.min_lines = number(optarg, "-n", 10); break;
		case 'w': o.wdir = optarg; break;
		case 'm': o.daemon_pid = number(optarg, "-m", 1L << 30); break;
		case 'p': o.prefix = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.sock == NULL || optind != argc || o.clients < 1 || o.batch < 1) {
		usage(stderr);
		return 2;
	}
	for (const char *p = o.prefix; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
			fprintf(stderr, "load_client: -p: letters, digits, '-', '_' and '.' only\n");
			return 2;
		}
	if (o.ingesters < 0)
		o.ingesters = o.clients / 2;
	if (o.ingesters > o.clients) {
		fprintf(stderr, "load_client: -i %d: more ingesters than clients (%d)\n", o.ingesters,
			o.clients);
		return 2;
	}
	if (o.persons_file && read_persons(o.persons_file) < 0)
		return 2;
	cs = calloc((size_t)o.clients, sizeof(*cs));
	th = calloc((size_t)o.clients, sizeof(*th));
	if (cs == NULL || th == NULL || pthread_barrier_init(&o.go, NULL, (unsigned)o.clients + 1) != 0) {
		fprintf(stderr, "load_client: out of memory\n");
		return 2;
	}
	for (int i = 0; i < o.clients; i++) {
		struct client *c = &cs[i];
		c->id = i;
		c->ingest = i < o.ingesters;
		c->rng = ((uint64_t)i + 1) * 0x9E3779B97F4A7C15ULL + 7;
		c->next_no = 1;
		if ((c->fd = connect_to(o.sock)) < 0) {
			fprintf(stderr, "load_client: %s: %s\n", o.sock, strerror(errno));
			return 2;
		}
		if (c->ingest && o.wdir) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/client-%02d.jsonl", o.wdir, i);
			if ((c->out = fopen(path, "w")) == NULL) {
				fprintf(stderr, "load_client: %s: %s\n", path, strerror(errno));
				return 2;
			}
		}
	}
	for (int i = 0; i < o.clients; i++)
		if (pthread_create(&th[i], NULL, client_main, &cs[i]) != 0) {
			fprintf(stderr, "load_client: cannot start client %d\n", i);
			return 2;
		}
	clock_gettime(CLOCK_MONOTONIC, &o.start);
	if (o.daemon_pid && pthread_create(&smp, NULL, sampler_main, &m) != 0) {
		fprintf(stderr, "load_client: cannot start the memory sampler\n");
		return 2;
	}
	pthread_barrier_wait(&o.go);
	for (int i = 0; i < o.clients; i++)
		pthread_join(th[i], NULL);
	elapsed = since_start();
	if (o.daemon_pid) {
		o.stop_sampling = 1;
		pthread_join(smp, NULL);
		sample(&m);
	}
	for (int i = 0; i < o.clients; i++) {
		struct client *c = &cs[i];
		close(c->fd);
		if (c->out && fclose(c->out) != 0) {
			fail(c, "client %d: writing the copy of its receipts: %s", i, strerror(errno));
		}
		errors += c->errors;
		requests += c->requests;
		if (c->errors)
			fprintf(stderr, "load_client: %ld error%s, the first: %s\n", c->errors,
				c->errors == 1 ? "" : "s", c->first_error);
		if (c->ingest) {
			archived += c->archived;
			ireq += c->requests;
			if (c->last_answer > ingest_end)
				ingest_end = c->last_answer;
		} else {
			lines += c->lines;
			by_text += c->by_text;
			by_person += c->by_person;
		}
	}
	if (merge(cs, 0, o.ingesters, offsetof(struct client, lat), &ing) < 0 ||
	    merge(cs, o.ingesters, o.clients, offsetof(struct client, lat), &sea) < 0 ||
	    merge(cs, o.ingesters, o.clients, offsetof(struct client, tlat), &tsea) < 0 ||
	    merge(cs, o.ingesters, o.clients, offsetof(struct client, plat), &psea) < 0) {
		fprintf(stderr, "load_client: out of memory\n");
		return 2;
	}
	double irate = ingest_end > 0 ? (double)archived / ingest_end : 0;
	printf("load: %d clients for %.0f s on %s: %d ingesting (%d receipts a request), "
		"%d searching\n", o.clients, o.seconds, o.sock, o.ingesters, o.batch,
		o.clients - o.ingesters);
	if (o.ingesters)
		printf("ingest: %ld requests, %ld receipts archived in %.2f s: %.0f receipts/s; "
			"request latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", ireq, archived,
			ingest_end, irate, pct(ing.v, ing.n, 50), pct(ing.v, ing.n, 99),
			ing.n ? ing.v[ing.n - 1] : 0);
	if (o.clients > o.ingesters)
		printf("search: %ld requests (%ld by text, %ld by person), %ld lines; latency "
			"p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", sea.n ? (long)sea.n : 0, by_text,
			by_person, lines, pct(sea.v, sea.n, 50), pct(sea.v, sea.n, 99),
			sea.n ? sea.v[sea.n - 1] : 0);
	if (tsea.n && psea.n)
		printf("search: by text p50 %.2f ms, p99 %.2f ms; by person p50 %.2f ms, p99 %.2f ms\n",
			pct(tsea.v, tsea.n, 50), pct(tsea.v, tsea.n, 99), pct(psea.v, psea.n, 50),
			pct(psea.v, psea.n, 99));
	printf("requests %ld in %.2f s\n", requests, elapsed);
	if (o.daemon_pid)
		printf("memory (%ld samples, 100 ms apart): daemon VmHWM %.1f MB; largest child "
			"VmHWM %.1f MB (private %.1f MB); daemon and children at one time: PSS %.1f MB "
			"(private %.1f MB), RSS %.1f MB, up to %d children\n", m.samples,
			m.main_hwm / 1024.0, m.child_hwm / 1024.0, m.child_anon / 1024.0,
			m.total_pss / 1024.0, m.total_anon / 1024.0, m.total_rss / 1024.0, m.children_max);
	printf("errors %ld\n", errors);
	printf("result archived=%ld ingest_requests=%ld ingest_seconds=%.3f ingest_rate=%.0f "
		"search_requests=%zu search_p50_ms=%.3f search_p99_ms=%.3f search_max_ms=%.3f "
		"requests=%ld errors=%ld mem_main_kib=%ld mem_child_kib=%ld mem_child_private_kib=%ld "
		"mem_total_pss_kib=%ld mem_total_private_kib=%ld mem_total_rss_kib=%ld children_max=%d\n",
		archived, ireq, ingest_end, irate, sea.n, pct(sea.v, sea.n, 50), pct(sea.v, sea.n, 99),
		sea.n ? sea.v[sea.n - 1] : 0, requests, errors, m.main_hwm, m.child_hwm, m.child_anon,
		m.total_pss, m.total_anon, m.total_rss, m.children_max);
	for (int i = 0; i < o.clients; i++) {
		free(cs[i].lat.v);
		free(cs[i].tlat.v);
		free(cs[i].plat.v);
		free(cs[i].rbuf);
	}
	for (size_t i = 0; i < o.npersons; i++)
		free(o.persons[i]);
	free(o.persons);
	free(ing.v);
	free(sea.v);
	free(tsea.v);
	free(psea.v);
	free(cs);
	free(th);
	return errors ? 1 : 0;
}
