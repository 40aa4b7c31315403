/*
 * conf.h — the archive's settings (ARCHIVE/archive.conf, libconfig): batch
 * size, pack threshold, time zone for bare dates, and the classification
 * table from record kind, service and subject to category, class and
 * retention of the 档号.  The shipped default is conf/archive.conf, built
 * into the binary.
 */
#ifndef CUSTOS_CONF_H
#define CUSTOS_CONF_H

#include <stddef.h>
#include <stdint.h>

typedef struct cu_conf cu_conf;

typedef struct cu_class {
	char category[16];   /* e.g. "SB" */
	char class_[16];     /* e.g. "JF" */
	char retention[8];   /* Y D100 D50 D30 D10 */
} cu_class;

/* The built-in default text (conf/archive.conf as shipped). */
const char *cu_conf_default_text(void);

/* Parses and checks settings text; `name` is used in messages
 * ("archive.conf:12: retention: must be one of Y, D100, D50, D30, D10").
 * Unknown settings are errors. */
int cu_conf_parse(cu_conf **out, const char *text, const char *name);

/* Reads and parses a file. */
int cu_conf_load(cu_conf **out, const char *path);
void cu_conf_free(cu_conf *c);

size_t cu_conf_batch_size(const cu_conf *c);
size_t cu_conf_pack_threshold(const cu_conf *c);
/* Offset of the configured time zone in minutes east of UTC. */
int cu_conf_tz_offset(const cu_conf *c);

/* Limits on case files (bags) taken in: bag_limits = { entries; file_bytes;
 * bag_bytes; ratio; } (defaults 100000, 4 GiB, 16 GiB, 200). */
typedef struct cu_conf_bag_limits {
	uint64_t max_entries, max_file_bytes, max_bag_bytes;
	uint32_t max_ratio;
} cu_conf_bag_limits;
cu_conf_bag_limits cu_conf_bag(const cu_conf *c);

/* The class of a record: first matching row (for kind "case", `service` is
 * the case type, written case_type in the file).  CU_ENOTFOUND ("no class for
 * receipt service X") when no row matches. */
int cu_conf_classify(cu_class *out, const cu_conf *c, const char *kind,
	const char *service, const char *subject_kind);

/* Checks a code used in a 档号 (fonds, category, class): 1-16 characters
 * of A-Z and 0-9.  CU_EINVALID naming `what` otherwise. */
int cu_conf_check_code(const char *code, const char *what);

#endif
