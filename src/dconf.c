/* dconf.c — the daemon's configuration file (see custos/dconf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "custos/calendar.h"
#include "custos/dconf.h"
#include "custos/error.h"
#include "custos/util.h"

static const char *const role_names[CU_ROLE_COUNT] = {
	"ingest", "get", "search", "trace", "export", "ls", "holds", "disposition-propose",
	"policy", "review", "reconcile", "audit-report", "verify",
	"backup", "restore", "keys", "config", "disposition-approve", "status", "run",
};

static const char *const job_names[CU_JOB_COUNT] = {
	"backup_full", "backup_incremental", "verify", "verify_full",
};

/* The defaults of issue 7: four groups, one per kind of user. */
static const cu_dconf_grant default_grants[] = {
	{ "custos-operator", CU_ROLE_INGEST },
	{ "custos-archivist", CU_ROLE_GET | CU_ROLE_SEARCH | CU_ROLE_TRACE | CU_ROLE_EXPORT |
		CU_ROLE_LS | CU_ROLE_HOLDS | CU_ROLE_DISPOSITION_PROPOSE },
	{ "custos-auditor", CU_ROLE_SEARCH | CU_ROLE_TRACE | CU_ROLE_POLICY | CU_ROLE_REVIEW |
		CU_ROLE_RECONCILE | CU_ROLE_AUDIT_REPORT | CU_ROLE_VERIFY },
	{ "custos-admin", CU_ROLE_BACKUP | CU_ROLE_RESTORE | CU_ROLE_KEYS | CU_ROLE_CONFIG |
		CU_ROLE_DISPOSITION_APPROVE | CU_ROLE_STATUS | CU_ROLE_RUN },
};

static const char *const default_schedule[CU_JOB_COUNT] = {
	"Sun 02:00", "*-*-* 02:30", "*-*-* 04:00", "*-*-01 05:00",
};

const char *
cu_role_name(uint32_t role)
{
	for (int i = 0; i < CU_ROLE_COUNT; i++)
		if (role == 1u << i)
			return role_names[i];
	return NULL;
}

uint32_t
cu_role_parse(const char *name)
{
	for (int i = 0; i < CU_ROLE_COUNT; i++)
		if (strcmp(name, role_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *
cu_dconf_job_name(enum cu_dconf_job job)
{
	return (unsigned)job < CU_JOB_COUNT ? job_names[job] : NULL;
}

/* The problems found so far: every one is a line "NAME:LINE: SETTING: REASON". */
struct ctx {
	const char *name;
	char *text;
	size_t len;
	int count;
	int oom;
	char first[512];
};

static void __attribute__((format(printf, 4, 5)))
problem(struct ctx *x, int line, const char *setting, const char *fmt, ...)
{
	char reason[384], buf[640];
	va_list ap;
	char *t;
	int n;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	n = snprintf(buf, sizeof(buf), "%s:%d: %s: %s\n", x->name, line > 0 ? line : 1,
		setting, reason);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	if (x->count++ == 0)
		snprintf(x->first, sizeof(x->first), "%.*s", n - 1, buf);
	if ((t = realloc(x->text, x->len + (size_t)n + 1)) == NULL) {
		x->oom = 1;
		return;
	}
	memcpy(t + x->len, buf, (size_t)n + 1);
	x->text = t;
	x->len += (size_t)n;
}

/* Orders problem lines by their line number, in the order found within a
 * line. */
struct pline {
	int line;
	size_t seq;
	const char *text;
	size_t len;
};

static int
pline_cmp(const void *a, const void *b)
{
	const struct pline *p = a, *q = b;

	if (p->line != q->line)
		return p->line < q->line ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* Sorts x->text by line number (the number after "NAME:"), and makes
 * x->first the first line. */
static void
sort_problems(struct ctx *x)
{
	struct pline *v;
	char *out, *p;
	size_t n = 0, nl = strlen(x->name) + 1, o = 0;

	if ((v = calloc((size_t)x->count, sizeof(*v))) == NULL ||
	    (out = malloc(x->len + 1)) == NULL) {
		free(v);
		return;
	}
	for (p = x->text; *p && n < (size_t)x->count; n++) {
		char *end = strchr(p, '\n');
		v[n] = (struct pline){ atoi(p + nl), n, p, (size_t)(end - p) + 1 };
		p = end + 1;
	}
	qsort(v, n, sizeof(*v), pline_cmp);
	for (size_t i = 0; i < n; i++) {
		memcpy(out + o, v[i].text, v[i].len);
		o += v[i].len;
	}
	out[o] = '\0';
	if (n > 0)
		snprintf(x->first, sizeof(x->first), "%.*s", (int)v[0].len - 1, v[0].text);
	free(v);
	free(x->text);
	x->text = out;
}

static int
line_of(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

/* Reports every member of group s not in known[] ("prefix.member: unknown
 * setting").  Returns the number reported. */
static int
unknown_members(struct ctx *x, config_setting_t *s, const char *prefix,
	const char *const *known, size_t nknown)
{
	int bad = 0;

	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *n = config_setting_name(m);
		size_t k;
		for (k = 0; k < nknown; k++)
			if (strcmp(n, known[k]) == 0)
				break;
		if (k == nknown) {
			char full[160];
			snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "." : "", n);
			problem(x, line_of(m), full, "unknown setting");
			bad++;
		}
	}
	return bad;
}

/* A string setting: *out a copy, or left alone when absent.  With path set
 * it must be absolute, without "//", "/./" or "/../" parts. */
static void
get_string(struct ctx *x, char **out, config_setting_t *parent, const char *member,
	const char *full, int path, int allow_empty)
{
	config_setting_t *s = config_setting_get_member(parent, member);
	const char *v;

	if (s == NULL)
		return;
	if ((v = config_setting_get_string(s)) == NULL) {
		problem(x, line_of(s), full, "must be a string in double quotes");
		return;
	}
	if (v[0] == '\0' && !allow_empty) {
		problem(x, line_of(s), full, "must not be empty");
		return;
	}
	if (strlen(v) > 4095) {
		problem(x, line_of(s), full, "too long (4095 bytes at most)");
		return;
	}
	if (path && v[0] != '/') {
		problem(x, line_of(s), full, "must be an absolute path (starting with /)");
		return;
	}
	if (path && (strstr(v, "/../") || strstr(v, "/./") || strstr(v, "//") ||
	    (strlen(v) >= 3 && strcmp(v + strlen(v) - 3, "/..") == 0) ||
	    (strlen(v) >= 2 && strcmp(v + strlen(v) - 2, "/.") == 0))) {
		problem(x, line_of(s), full, "must be a plain absolute path (no //, . or .. parts)");
		return;
	}
	free(*out);
	if ((*out = strdup(v)) == NULL)
		x->oom = 1;
}

/* An integer setting within [min, max]; *out left alone when absent. */
static void
get_int(struct ctx *x, uint64_t *out, config_setting_t *parent, const char *member,
	const char *full, long long min, long long max)
{
	config_setting_t *s = config_setting_get_member(parent, member);
	long long v;

	if (s == NULL)
		return;
	v = config_setting_get_int64(s);
	if ((config_setting_type(s) != CONFIG_TYPE_INT &&
	     config_setting_type(s) != CONFIG_TYPE_INT64) || v < min || v > max) {
		problem(x, line_of(s), full, "must be an integer %lld-%lld", min, max);
		return;
	}
	*out = (uint64_t)v;
}

static void
get_u32(struct ctx *x, uint32_t *out, config_setting_t *parent, const char *member,
	const char *full, long long min, long long max)
{
	uint64_t v = *out;

	get_int(x, &v, parent, member, full, min, max);
	*out = (uint32_t)v;
}

/* A group setting: NULL when absent, or when it is there but not a group
 * (reported). */
static config_setting_t *
get_group(struct ctx *x, config_setting_t *root, const char *member)
{
	config_setting_t *s = config_setting_get_member(root, member);

	if (s != NULL && !config_setting_is_group(s)) {
		problem(x, line_of(s), member, "must be a group { … }");
		return NULL;
	}
	return s;
}

/* A UNIX group name as useradd/groupadd accept it: [a-z_][a-z0-9_-]*,
 * 32 characters at most. */
static int
group_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > 32 || !((n[0] >= 'a' && n[0] <= 'z') || n[0] == '_'))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') ||
		      n[i] == '_' || n[i] == '-'))
			return 0;
	return 1;
}

/* roles = { GROUP = [ "role", … ]; … }: replaces the default table as a
 * whole, so that a group left out has no role. */
static void
parse_roles(struct ctx *x, cu_dconf *c, config_setting_t *s)
{
	int n = config_setting_length(s);

	free(c->grants);
	c->ngrants = 0;
	if ((c->grants = calloc((size_t)n + 1, sizeof(*c->grants))) == NULL) {
		x->oom = 1;
		return;
	}
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		cu_dconf_grant *gr = &c->grants[c->ngrants];
		char full[160], name[64];
		int bad = 0;

		snprintf(name, sizeof(name), "%s", config_setting_name(g));
		snprintf(full, sizeof(full), "roles.%s", name);
		if (!group_name_ok(name)) {
			problem(x, line_of(g), full, "not a valid group name");
			continue;
		}
		if (!config_setting_is_array(g) && !config_setting_is_list(g)) {
			problem(x, line_of(g), full, "must be a list of roles [ \"search\", … ]");
			continue;
		}
		for (size_t k = 0; k < c->ngrants; k++)
			if (strcmp(c->grants[k].group, name) == 0) {
				problem(x, line_of(g), full, "group %s given twice", name);
				bad = 1;
			}
		for (int j = 0; j < config_setting_length(g); j++) {
			config_setting_t *r = config_setting_get_elem(g, (unsigned)j);
			const char *v = config_setting_get_string(r);
			uint32_t bit;
			if (v == NULL) {
				problem(x, line_of(g), full, "each role must be a string");
				bad = 1;
				continue;
			}
			if ((bit = cu_role_parse(v)) == 0) {
				problem(x, line_of(g), full, "unknown role %.64s", v);
				bad = 1;
				continue;
			}
			if (gr->roles & bit) {
				problem(x, line_of(g), full, "role %s listed twice", v);
				bad = 1;
			}
			gr->roles |= bit;
		}
		if (bad)
			continue;
		memcpy(gr->group, name, strlen(name) + 1);   /* 32 bytes at most: group_name_ok */
		c->ngrants++;
	}
}

static void
parse_schedules(struct ctx *x, cu_dconf *c, config_setting_t *s)
{
	static const char *const known[] = { "backup_full", "backup_incremental", "verify",
		"verify_full", "random_delay" };
	char full[64];

	unknown_members(x, s, "schedules", known, sizeof(known) / sizeof(*known));
	for (int j = 0; j < CU_JOB_COUNT; j++) {
		config_setting_t *m = config_setting_get_member(s, job_names[j]);
		snprintf(full, sizeof(full), "schedules.%s", job_names[j]);
		if (m == NULL)
			continue;
		get_string(x, &c->schedule[j], s, job_names[j], full, 0, 1);
		if (c->schedule[j] != NULL && c->schedule[j][0] == '\0') {
			free(c->schedule[j]);
			c->schedule[j] = NULL;
		} else if (c->schedule[j] != NULL) {
			cu_calendar cal;
			if (cu_calendar_parse(&cal, c->schedule[j]) < 0)
				problem(x, line_of(m), full, "%s", cu_error_last());
		}
	}
	get_u32(x, &c->random_delay, s, "random_delay", "schedules.random_delay", 0, 86400);
}

static void
parse_limits(struct ctx *x, cu_dconf *c, config_setting_t *s)
{
	static const char *const known[] = { "request_bytes", "clients", "spool_file_bytes",
		"request_seconds" };

	unknown_members(x, s, "limits", known, sizeof(known) / sizeof(*known));
	get_int(x, &c->limits.request_bytes, s, "request_bytes", "limits.request_bytes",
		1024, 64LL << 20);
	get_u32(x, &c->limits.clients, s, "clients", "limits.clients", 1, 4096);
	get_int(x, &c->limits.spool_file_bytes, s, "spool_file_bytes", "limits.spool_file_bytes",
		1024, 1LL << 40);
	get_u32(x, &c->limits.request_seconds, s, "request_seconds", "limits.request_seconds",
		1, 3600);
}

static void
parse_backup(struct ctx *x, cu_dconf *c, config_setting_t *s)
{
	static const char *const known[] = { "to", "key", "keep_daily", "keep_weekly",
		"keep_monthly" };

	unknown_members(x, s, "backup", known, sizeof(known) / sizeof(*known));
	get_string(x, &c->backup.to, s, "to", "backup.to", 1, 0);
	get_string(x, &c->backup.key, s, "key", "backup.key", 1, 0);
	get_u32(x, &c->backup.keep_daily, s, "keep_daily", "backup.keep_daily", 0, 3660);
	get_u32(x, &c->backup.keep_weekly, s, "keep_weekly", "backup.keep_weekly", 0, 520);
	get_u32(x, &c->backup.keep_monthly, s, "keep_monthly", "backup.keep_monthly", 0, 1200);
	if (c->backup.key != NULL && c->backup.to == NULL)
		problem(x, line_of(config_setting_get_member(s, "key")), "backup.key",
			"needs backup.to (the folder the backups go to)");
	if (c->backup.to != NULL && c->backup.keep_daily + c->backup.keep_weekly +
	    c->backup.keep_monthly == 0)
		problem(x, line_of(s), "backup", "keep_daily, keep_weekly and keep_monthly "
			"are all 0: every backup would be pruned");
}

static void
parse_spool_options(struct ctx *x, cu_dconf *c, config_setting_t *s)
{
	static const char *const known[] = { "keep_archived" };
	config_setting_t *m;

	unknown_members(x, s, "spool_options", known, 1);
	if ((m = config_setting_get_member(s, "keep_archived")) != NULL) {
		if (config_setting_type(m) != CONFIG_TYPE_BOOL)
			problem(x, line_of(m), "spool_options.keep_archived", "must be true or false");
		else
			c->keep_archived = config_setting_get_bool(m);
	}
}

static cu_dconf *
defaults(void)
{
	cu_dconf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->socket = strdup(CU_DCONF_DEFAULT_SOCKET);
	c->grants = malloc(sizeof(default_grants));
	for (int j = 0; j < CU_JOB_COUNT; j++)
		c->schedule[j] = strdup(default_schedule[j]);
	if (c->socket == NULL || c->grants == NULL || c->schedule[CU_JOB_COUNT - 1] == NULL ||
	    c->schedule[0] == NULL || c->schedule[1] == NULL || c->schedule[2] == NULL) {
		cu_dconf_free(c);
		return NULL;
	}
	memcpy(c->grants, default_grants, sizeof(default_grants));
	c->ngrants = sizeof(default_grants) / sizeof(*default_grants);
	c->limits.request_bytes = 1u << 20;
	c->limits.clients = 64;
	c->limits.spool_file_bytes = 1ULL << 30;
	c->limits.request_seconds = 30;
	c->backup.keep_daily = 7;
	c->backup.keep_weekly = 5;
	c->backup.keep_monthly = 12;
	c->keep_archived = 1;
	return c;
}

int
cu_dconf_parse(cu_dconf **out, const char *text, const char *name, char **errors)
{
	static const char *const known[] = { "archive", "spool", "socket", "state", "roles",
		"schedules", "limits", "backup", "spool_options" };
	struct ctx x = { name, NULL, 0, 0, 0, "" };
	config_t cfg;
	config_setting_t *root, *s;
	cu_dconf *c = NULL;
	int error = 0;

	*out = NULL;
	if (errors)
		*errors = NULL;
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		problem(&x, config_error_line(&cfg), "syntax", "%s", config_error_text(&cfg));
		goto done;
	}
	if ((c = defaults()) == NULL) {
		x.oom = 1;
		goto done;
	}
	root = config_root_setting(&cfg);
	unknown_members(&x, root, "", known, sizeof(known) / sizeof(*known));
	get_string(&x, &c->archive, root, "archive", "archive", 1, 0);
	get_string(&x, &c->spool, root, "spool", "spool", 1, 0);
	get_string(&x, &c->socket, root, "socket", "socket", 1, 0);
	get_string(&x, &c->state, root, "state", "state", 1, 0);
	/* the job runs are kept beside the archive unless told otherwise */
	if (c->state == NULL && c->archive && c->archive[0] == '/') {
		const char *slash = strrchr(c->archive, '/');
		size_t n = slash == c->archive ? 1 : (size_t)(slash - c->archive);
		if ((c->state = strndup(c->archive, n)) == NULL)
			x.oom = 1;
	}
	if (config_setting_get_member(root, "archive") == NULL)
		problem(&x, 1, "archive", "missing (required: the archive folder)");
	if (config_setting_get_member(root, "spool") == NULL)
		problem(&x, 1, "spool", "missing (required: the spool folder)");
	/* sockaddr_un.sun_path holds 108 bytes with the final NUL */
	if (c->socket && strlen(c->socket) > 107)
		problem(&x, line_of(config_setting_get_member(root, "socket")), "socket",
			"too long for a UNIX socket (107 bytes at most)");
	if (c->archive && c->spool && strcmp(c->archive, c->spool) == 0)
		problem(&x, line_of(config_setting_get_member(root, "spool")), "spool",
			"must not be the archive folder");
	if ((s = get_group(&x, root, "roles")) != NULL)
		parse_roles(&x, c, s);
	if ((s = get_group(&x, root, "schedules")) != NULL)
		parse_schedules(&x, c, s);
	if ((s = get_group(&x, root, "limits")) != NULL)
		parse_limits(&x, c, s);
	if ((s = get_group(&x, root, "backup")) != NULL)
		parse_backup(&x, c, s);
	if ((s = get_group(&x, root, "spool_options")) != NULL)
		parse_spool_options(&x, c, s);
done:
	config_destroy(&cfg);
	if (x.oom) {
		error = cu_error_set(CU_ERROR, "%s: out of memory", name);
	} else if (x.count > 0) {
		sort_problems(&x);
		error = cu_error_set(CU_EINVALID, "%s", x.first);
		if (errors) {
			*errors = x.text;
			x.text = NULL;
		}
	} else {
		*out = c;
		c = NULL;
	}
	free(x.text);
	cu_dconf_free(c);
	return error;
}

int
cu_dconf_load(cu_dconf **out, const char *path, char **errors)
{
	char *text = NULL;
	size_t len;
	int error;

	*out = NULL;
	if (errors)
		*errors = NULL;
	if ((error = cu_read_file(&text, &len, path, 1024 * 1024)) < 0)
		return error;
	if (memchr(text, '\0', len) != NULL) {
		free(text);
		return cu_error_set(CU_EINVALID, "%s:1: syntax: a NUL byte in the file", path);
	}
	error = cu_dconf_parse(out, text, path, errors);
	free(text);
	return error;
}

void
cu_dconf_free(cu_dconf *c)
{
	if (c == NULL)
		return;
	free(c->archive);
	free(c->spool);
	free(c->socket);
	free(c->state);
	free(c->grants);
	for (int j = 0; j < CU_JOB_COUNT; j++)
		free(c->schedule[j]);
	free(c->backup.to);
	free(c->backup.key);
	free(c);
}

uint32_t
cu_dconf_group_roles(const cu_dconf *c, const char *group)
{
	for (size_t i = 0; i < c->ngrants; i++)
		if (strcmp(c->grants[i].group, group) == 0)
			return c->grants[i].roles;
	return 0;
}
