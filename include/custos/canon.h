/*
 * canon.h — canonical JSON (RFC 8785, JCS) for custos documents.
 *
 * custos documents hold only strings, integers, booleans, null, arrays and
 * objects: money is integer fen and there is never a float.  For that subset
 * RFC 8785 reduces to: no insignificant whitespace; object members sorted by
 * their names compared as UTF-16 code units; strings escaped as ECMAScript
 * JSON.stringify does (\" \\ \b \f \n \r \t, other controls as \u00xx in
 * lower-case hex, everything else — including non-ASCII — as raw UTF-8);
 * integers in plain decimal.
 */
#ifndef CUSTOS_CANON_H
#define CUSTOS_CANON_H

#include <stddef.h>
#include <jansson.h>

/* Largest magnitude of an integer a document may hold (2^53 - 1, I-JSON). */
#define CU_CANON_INT_MAX 9007199254740991LL

/* Serialises v canonically into a new NUL-terminated buffer (*out, length
 * *len, caller frees).  CU_EINVALID (naming the member path, e.g.
 * "ext.rate: real numbers are not allowed") if v holds a real number or an
 * integer beyond ±CU_CANON_INT_MAX. */
int cu_canon(char **out, size_t *len, const json_t *v);

/* out = hex SHA-256 of the canonical form of v. */
int cu_canon_digest(char out[65], const json_t *v);

/* Seals an object: id_hex = hex SHA-256 of the canonical form of doc, and
 * *out = the canonical form of doc with the member key (a plain name, not
 * already in doc) set to that hex string, exactly as cu_canon would write
 * the object with that member added — one serialisation instead of two. */
int cu_canon_sealed(char **out, size_t *len, char id_hex[65], const char *key,
	const json_t *doc);

#endif
