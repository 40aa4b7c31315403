/*
 * proto.h — the daemon's JSON-lines protocol (docs/protocol.md), the parts
 * both ends share: byte strings carried in JSON (text when it is valid
 * UTF-8, else base64), reading one line under a size limit, and writing a
 * whole line.
 *
 * A request is one JSON object on one line:
 *   {"argv": ["search", "--person", "…"], "archive": "/var/lib/custos",
 *    "stdin": "…", "files": [{"arg": 2, "name": "", "data": "…"}],
 *    "outputs": [3]}
 * and its answer one line:
 *   {"exit": 0, "stdout": "…", "stderr": "…", "outputs": [{"arg": 3, "base64": "…"}]}
 */
#ifndef CUSTOS_PROTO_H
#define CUSTOS_PROTO_H

#include <stddef.h>

#include <jansson.h>

/* Version of the protocol, sent by the daemon in status answers. */
#define CU_PROTO_VERSION 1

/* Sets obj[key] to the bytes: a JSON string when they are valid UTF-8
 * without NUL, else obj[key "_base64"] to their base64.  0 or CU_ERROR. */
int cu_proto_put_bytes(json_t *obj, const char *key, const void *buf, size_t len);

/* Reads obj[key] (a string) or obj[key "_base64"] into a new buffer
 * (*out, free; NUL-terminated, *len not counting the NUL).  Absent: *out
 * NULL, *len 0, returns 0.  CU_EINVALID naming the member when it is not
 * a string or not base64. */
int cu_proto_get_bytes(const json_t *obj, const char *key, char **out, size_t *len);

/* base64 (RFC 4648 §4, padded) of len bytes: a new string, NULL when out
 * of memory. */
char *cu_base64_encode(const void *buf, size_t len);

/* Decodes padded base64 into a new buffer (NUL-terminated); CU_EINVALID
 * when s is not base64. */
int cu_base64_decode(char **out, size_t *outlen, const char *s, size_t len);

/* Reads one line from fd into a new buffer (*out, free; the "\n" removed,
 * NUL-terminated).  Returns 1 with a line, 0 at end of file before any
 * byte, CU_EINVALID ("request is larger than LIMIT bytes") when no newline
 * came within limit bytes, CU_ERROR on a read error.  *rest / *nrest hold
 * bytes read past the line (kept for the next call; pass the same pair). */
int cu_proto_read_line(int fd, size_t limit, char **out, char **rest, size_t *nrest);

/* Writes the compact JSON of obj and "\n" to fd in full.  0 or CU_ERROR.
 * On a non-blocking socket it waits for room, at most
 * cu_proto_write_timeout_ms at a time (30 s; the daemon's loop sets less). */
int cu_proto_write(int fd, const json_t *obj);
extern int cu_proto_write_timeout_ms;

#endif
