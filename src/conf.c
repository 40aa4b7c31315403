/* conf.c — archive settings and the classification table (see custos/conf.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "custos/conf.h"
#include "custos/error.h"
#include "custos/util.h"

/* conf/archive.conf as shipped, built into the binary so that `custos init`
 * works from any folder.  The Makefile rebuilds this object when it changes. */
__asm__(".section .rodata\n"
	".global cu_conf_default_bytes\n"
	"cu_conf_default_bytes:\n"
	".incbin \"conf/archive.conf\"\n"
	".byte 0\n"
	".previous\n");
extern const char cu_conf_default_bytes[];

struct row {
	char kind[32], service[32], subject[16];   /* "" = any */
	cu_class cls;
};

struct cu_conf {
	size_t batch_size;
	size_t pack_threshold;
	int tz_offset;
	struct row *rows;
	size_t nrows;
	cu_conf_bag_limits bag;
};

static const char *const retentions[] = { "Y", "D100", "D50", "D30", "D10" };

const char *
cu_conf_default_text(void)
{
	return cu_conf_default_bytes;
}

int
cu_conf_check_code(const char *code, const char *what)
{
	size_t n = strlen(code);

	if (n == 0 || n > 16)
		return cu_error_set(CU_EINVALID, "%s: must be 1 to 16 characters", what);
	for (size_t i = 0; i < n; i++)
		if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9')))
			return cu_error_set(CU_EINVALID,
				"%s: only capital letters A-Z and digits are allowed", what);
	return 0;
}

/* Parses "+08:00" / "-05:30" / "Z" into minutes east of UTC. */
static int
parse_offset(int *out, const char *s)
{
	if (strcmp(s, "Z") == 0 || strcmp(s, "+00:00") == 0) {
		*out = 0;
		return 0;
	}
	if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
	    s[1] < '0' || s[1] > '2' || s[2] < '0' || s[2] > '9' ||
	    s[4] < '0' || s[4] > '5' || s[5] < '0' || s[5] > '9')
		return CU_EINVALID;
	int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (s[4] - '0') * 10 + (s[5] - '0');
	if (h > 23)
		return CU_EINVALID;
	*out = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return 0;
}

/* Copies an optional string member of a row; "" when absent. */
static int
row_string(char *out, size_t outsz, config_setting_t *row, const char *member,
	int required, const char *name)
{
	config_setting_t *m = config_setting_get_member(row, member);
	const char *v;

	out[0] = '\0';
	if (m == NULL) {
		if (required)
			return cu_error_set(CU_EINVALID, "%s:%d: classes: %s missing", name,
				config_setting_source_line(row), member);
		return 0;
	}
	if ((v = config_setting_get_string(m)) == NULL)
		return cu_error_set(CU_EINVALID, "%s:%d: %s: must be a string", name,
			config_setting_source_line(m), member);
	if (strlen(v) >= outsz)
		return cu_error_set(CU_EINVALID, "%s:%d: %s: too long", name,
			config_setting_source_line(m), member);
	snprintf(out, outsz, "%s", v);
	return 0;
}

static int
parse_row(struct row *r, config_setting_t *s, const char *name)
{
	static const char *const known[] = { "kind", "service", "case_type", "subject",
		"category", "class", "retention", "title" };
	char title[256];
	int error, line = config_setting_source_line(s), ok = 0;

	if (!config_setting_is_group(s))
		return cu_error_set(CU_EINVALID, "%s:%d: classes: each row must be a group { … }",
			name, line);
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		int found = 0;
		for (size_t k = 0; k < sizeof(known) / sizeof(*known); k++)
			found |= strcmp(config_setting_name(m), known[k]) == 0;
		if (!found)
			return cu_error_set(CU_EINVALID, "%s:%d: classes: unknown setting %s", name,
				config_setting_source_line(m), config_setting_name(m));
	}
	if ((error = row_string(r->kind, sizeof(r->kind), s, "kind", 1, name)) < 0 ||
	    (error = row_string(r->service, sizeof(r->service), s, "service", 0, name)) < 0 ||
	    (!r->service[0] &&
	     (error = row_string(r->service, sizeof(r->service), s, "case_type", 0, name)) < 0) ||
	    (error = row_string(r->subject, sizeof(r->subject), s, "subject", 0, name)) < 0 ||
	    (error = row_string(r->cls.category, sizeof(r->cls.category), s, "category", 1, name)) < 0 ||
	    (error = row_string(r->cls.class_, sizeof(r->cls.class_), s, "class", 1, name)) < 0 ||
	    (error = row_string(r->cls.retention, sizeof(r->cls.retention), s, "retention", 1, name)) < 0 ||
	    (error = row_string(title, sizeof(title), s, "title", 0, name)) < 0)
		return error;
	if ((error = cu_conf_check_code(r->cls.category, "category")) < 0 ||
	    (error = cu_conf_check_code(r->cls.class_, "class")) < 0)
		return cu_error_prefix(error, "%s:%d", name, line);
	for (size_t k = 0; k < sizeof(retentions) / sizeof(*retentions); k++)
		ok |= strcmp(r->cls.retention, retentions[k]) == 0;
	if (!ok)
		return cu_error_set(CU_EINVALID,
			"%s:%d: retention: must be one of Y, D100, D50, D30, D10", name, line);
	if (config_setting_get_member(s, "case_type") != NULL && strcmp(r->kind, "case") != 0)
		return cu_error_set(CU_EINVALID, "%s:%d: case_type: only for kind = \"case\" rows",
			name, line);
	if (config_setting_get_member(s, "case_type") != NULL &&
	    config_setting_get_member(s, "service") != NULL)
		return cu_error_set(CU_EINVALID, "%s:%d: a row has service or case_type, not both",
			name, line);
	if (r->subject[0] && strcmp(r->subject, "person") != 0 && strcmp(r->subject, "org") != 0)
		return cu_error_set(CU_EINVALID, "%s:%d: subject: must be person or org", name, line);
	/* destruction lists are kept permanently (docs/disposition.md) */
	if (strcmp(r->kind, "disposal_list") == 0 && strcmp(r->cls.retention, "Y") != 0)
		return cu_error_set(CU_EINVALID, "%s:%d: retention: a disposal_list row must be Y "
			"(destruction lists are kept permanently)", name, line);
	if (strcmp(r->kind, "disposal_list") == 0 && (r->service[0] || r->subject[0]))
		return cu_error_set(CU_EINVALID, "%s:%d: a disposal_list row has no service, "
			"case_type or subject", name, line);
	return 0;
}

/* bag_limits = { entries = …; file_bytes = …; bag_bytes = …; ratio = …; } */
static int
parse_bag_limits(cu_conf_bag_limits *out, config_setting_t *s, const char *name)
{
	static const struct {
		const char *key;
		long long min, max;
	} keys[] = {
		{ "entries", 1, 10000000 },
		{ "file_bytes", 1, 1LL << 44 },
		{ "bag_bytes", 1, 1LL << 46 },
		{ "ratio", 2, 100000 },
	};

	if (!config_setting_is_group(s))
		return cu_error_set(CU_EINVALID, "%s:%d: bag_limits: must be a group { … }", name,
			config_setting_source_line(s));
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		size_t k;
		long long v;
		for (k = 0; k < sizeof(keys) / sizeof(*keys); k++)
			if (strcmp(config_setting_name(m), keys[k].key) == 0)
				break;
		if (k == sizeof(keys) / sizeof(*keys))
			return cu_error_set(CU_EINVALID, "%s:%d: bag_limits: unknown setting %s", name,
				config_setting_source_line(m), config_setting_name(m));
		v = config_setting_get_int64(m);
		if ((config_setting_type(m) != CONFIG_TYPE_INT && config_setting_type(m) != CONFIG_TYPE_INT64) ||
		    v < keys[k].min || v > keys[k].max)
			return cu_error_set(CU_EINVALID, "%s:%d: bag_limits.%s: must be an integer %lld-%lld",
				name, config_setting_source_line(m), keys[k].key, keys[k].min, keys[k].max);
		switch (k) {
		case 0: out->max_entries = (uint64_t)v; break;
		case 1: out->max_file_bytes = (uint64_t)v; break;
		case 2: out->max_bag_bytes = (uint64_t)v; break;
		default: out->max_ratio = (uint32_t)v; break;
		}
	}
	return 0;
}

int
cu_conf_parse(cu_conf **out, const char *text, const char *name)
{
	static const char *const known[] = { "batch_size", "pack_threshold", "timezone",
		"classes", "bag_limits" };
	config_t cfg;
	config_setting_t *root, *s;
	cu_conf *c = NULL;
	long long ll;
	const char *str;
	int error = 0;

	*out = NULL;
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		error = cu_error_set(CU_EINVALID, "%s:%d: %s", name, config_error_line(&cfg),
			config_error_text(&cfg));
		goto done;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	c->batch_size = 10000;
	c->pack_threshold = 65536;
	c->tz_offset = 8 * 60;
	root = config_root_setting(&cfg);
	for (int i = 0; i < config_setting_length(root); i++) {
		s = config_setting_get_elem(root, (unsigned)i);
		int found = 0;
		for (size_t k = 0; k < sizeof(known) / sizeof(*known); k++)
			found |= strcmp(config_setting_name(s), known[k]) == 0;
		if (!found) {
			error = cu_error_set(CU_EINVALID, "%s:%d: unknown setting %s", name,
				config_setting_source_line(s), config_setting_name(s));
			goto done;
		}
	}
	if ((s = config_lookup(&cfg, "batch_size")) != NULL) {
		ll = config_setting_get_int64(s);
		if (config_setting_type(s) != CONFIG_TYPE_INT || ll < 1 || ll > 1000000) {
			error = cu_error_set(CU_EINVALID, "%s:%d: batch_size: must be an integer 1-1000000",
				name, config_setting_source_line(s));
			goto done;
		}
		c->batch_size = (size_t)ll;
	}
	if ((s = config_lookup(&cfg, "pack_threshold")) != NULL) {
		ll = config_setting_get_int64(s);
		if (config_setting_type(s) != CONFIG_TYPE_INT || ll < 0 || ll > 64LL * 1024 * 1024) {
			error = cu_error_set(CU_EINVALID,
				"%s:%d: pack_threshold: must be an integer 0-67108864",
				name, config_setting_source_line(s));
			goto done;
		}
		c->pack_threshold = (size_t)ll;
	}
	if ((s = config_lookup(&cfg, "timezone")) != NULL) {
		if ((str = config_setting_get_string(s)) == NULL || parse_offset(&c->tz_offset, str) < 0) {
			error = cu_error_set(CU_EINVALID,
				"%s:%d: timezone: must be an offset like \"+08:00\"",
				name, config_setting_source_line(s));
			goto done;
		}
	}
	c->bag = (cu_conf_bag_limits){ 100000, 4ULL << 30, 16ULL << 30, 200 };
	if ((s = config_lookup(&cfg, "bag_limits")) != NULL &&
	    (error = parse_bag_limits(&c->bag, s, name)) < 0)
		goto done;
	if ((s = config_lookup(&cfg, "classes")) == NULL || !config_setting_is_list(s) ||
	    config_setting_length(s) == 0) {
		error = cu_error_set(CU_EINVALID, "%s:%d: classes: must be a non-empty list ( … )",
			name, s ? config_setting_source_line(s) : 0);
		goto done;
	}
	c->nrows = (size_t)config_setting_length(s);
	if ((c->rows = calloc(c->nrows, sizeof(*c->rows))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < c->nrows; i++)
		if ((error = parse_row(&c->rows[i], config_setting_get_elem(s, (unsigned)i), name)) < 0)
			goto done;
	*out = c;
	c = NULL;
done:
	cu_conf_free(c);
	config_destroy(&cfg);
	return error;
}

int
cu_conf_load(cu_conf **out, const char *path)
{
	char *text = NULL;
	size_t len;
	int error;

	if ((error = cu_read_file(&text, &len, path, 1024 * 1024)) < 0)
		return error;
	error = cu_conf_parse(out, text, path);
	free(text);
	return error;
}

void
cu_conf_free(cu_conf *c)
{
	if (c == NULL)
		return;
	free(c->rows);
	free(c);
}

size_t cu_conf_batch_size(const cu_conf *c) { return c->batch_size; }
size_t cu_conf_pack_threshold(const cu_conf *c) { return c->pack_threshold; }
int cu_conf_tz_offset(const cu_conf *c) { return c->tz_offset; }
cu_conf_bag_limits cu_conf_bag(const cu_conf *c) { return c->bag; }

int
cu_conf_classify(cu_class *out, const cu_conf *c, const char *kind, const char *service,
	const char *subject_kind)
{
	for (size_t i = 0; i < c->nrows; i++) {
		const struct row *r = &c->rows[i];
		if (strcmp(r->kind, kind) != 0)
			continue;
		if (r->service[0] && (service == NULL || strcmp(r->service, service) != 0))
			continue;
		if (r->subject[0] && (subject_kind == NULL || strcmp(r->subject, subject_kind) != 0))
			continue;
		*out = r->cls;
		return 0;
	}
	return cu_error_set(CU_ENOTFOUND, "no class in archive.conf for %s service %s", kind,
		service ? service : "(none)");
}
