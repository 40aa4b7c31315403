/*
 * media.h — the media type of a file, judged from its first bytes (magic
 * numbers), with the name used only to tell apart formats that share a
 * container (a .docx and an .ofd are both zip files) or flavours of text.
 * Deterministic and table-driven, so the same bytes get the same type on
 * every machine (docs/formats.md lists the table).
 */
#ifndef CUSTOS_MEDIA_H
#define CUSTOS_MEDIA_H

#include <stddef.h>

/* How many leading bytes cu_media_type looks at (at most). */
#define CU_MEDIA_SNIFF 4096

/* The media type of a file whose first n bytes are head (n may be less
 * than CU_MEDIA_SNIFF for a short file) and whose name is name (a path;
 * only the extension of its last segment is used; may be NULL).  Never
 * NULL: unknown content is "application/octet-stream". */
const char *cu_media_type(const unsigned char *head, size_t n, const char *name);

#endif
