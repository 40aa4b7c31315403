/* media.c — media types from content (see custos/media.h). */
#include <string.h>
#include <strings.h>

#include "custos/media.h"

/* The extension of the last path segment ("" if none), without the dot. */
static const char *
extension(const char *name)
{
	const char *slash, *dot;

	if (name == NULL)
		return "";
	slash = strrchr(name, '/');
	dot = strrchr(slash ? slash + 1 : name, '.');
	return dot ? dot + 1 : "";
}

static int
ext_is(const char *ext, const char *want)
{
	return strcasecmp(ext, want) == 0;
}

static int
starts(const unsigned char *h, size_t n, const void *magic, size_t mlen)
{
	return n >= mlen && memcmp(h, magic, mlen) == 0;
}

static int
at(const unsigned char *h, size_t n, size_t off, const void *magic, size_t mlen)
{
	return n >= off + mlen && memcmp(h + off, magic, mlen) == 0;
}

/* 1 if head is UTF-8 text: no NUL, no control characters other than tab,
 * line feed, form feed and carriage return (and ESC), every sequence well
 * formed; a sequence cut off by the end of the sniffed bytes is allowed. */
static int
is_utf8_text(const unsigned char *h, size_t n, int truncated)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = h[i];
		size_t need;
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b)
				return 0;
			if (c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3;
		else
			return 0;
		if (i + need >= n) {
			/* runs past the sniffed bytes */
			if (!truncated)
				return 0;
			for (size_t k = i + 1; k < n; k++)
				if ((h[k] & 0xC0) != 0x80)
					return 0;
			return 1;
		}
		for (size_t k = 1; k <= need; k++)
			if ((h[i + k] & 0xC0) != 0x80)
				return 0;
		if ((c == 0xE0 && h[i + 1] < 0xA0) || (c == 0xED && h[i + 1] > 0x9F) ||
		    (c == 0xF0 && h[i + 1] < 0x90) || (c == 0xF4 && h[i + 1] > 0x8F))
			return 0;
		i += need + 1;
	}
	return 1;
}

const char *
cu_media_type(const unsigned char *h, size_t n, const char *name)
{
	const char *ext = extension(name);
	int truncated = n >= CU_MEDIA_SNIFF;
	size_t skip = 0;

	if (starts(h, n, "%PDF-", 5))
		return "application/pdf";
	if (starts(h, n, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (starts(h, n, "\xff\xd8\xff", 3))
		return "image/jpeg";
	if (starts(h, n, "GIF87a", 6) || starts(h, n, "GIF89a", 6))
		return "image/gif";
	if (starts(h, n, "II*\0", 4) || starts(h, n, "MM\0*", 4))
		return "image/tiff";
	if (starts(h, n, "RIFF", 4) && at(h, n, 8, "WEBP", 4))
		return "image/webp";
	if (starts(h, n, "RIFF", 4) && at(h, n, 8, "WAVE", 4))
		return "audio/wav";
	if (at(h, n, 4, "ftyp", 4))
		return "video/mp4";
	if (starts(h, n, "BM", 2) && ext_is(ext, "bmp"))
		return "image/bmp";
	if (starts(h, n, "PK\x03\x04", 4) || starts(h, n, "PK\x05\x06", 4)) {
		/* zip containers: the name tells which document format */
		if (ext_is(ext, "ofd"))
			return "application/ofd";
		if (ext_is(ext, "docx"))
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
		if (ext_is(ext, "xlsx"))
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
		if (ext_is(ext, "pptx"))
			return "application/vnd.openxmlformats-officedocument.presentationml.presentation";
		if (at(h, n, 30, "mimetypeapplication/vnd.oasis.opendocument.text", 47))
			return "application/vnd.oasis.opendocument.text";
		if (at(h, n, 30, "mimetypeapplication/vnd.oasis.opendocument.spreadsheet", 54))
			return "application/vnd.oasis.opendocument.spreadsheet";
		return "application/zip";
	}
	if (starts(h, n, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8)) {
		if (ext_is(ext, "doc"))
			return "application/msword";
		if (ext_is(ext, "xls"))
			return "application/vnd.ms-excel";
		if (ext_is(ext, "ppt"))
			return "application/vnd.ms-powerpoint";
		return "application/x-ole-storage";
	}
	if (starts(h, n, "\x1f\x8b", 2))
		return "application/gzip";
	if (starts(h, n, "\xfd" "7zXZ\0", 6))
		return "application/x-xz";
	if (starts(h, n, "\x28\xb5\x2f\xfd", 4))
		return "application/zstd";
	if (starts(h, n, "BZh", 3) && n > 3 && h[3] >= '1' && h[3] <= '9')
		return "application/x-bzip2";
	if (starts(h, n, "7z\xbc\xaf\x27\x1c", 6))
		return "application/x-7z-compressed";
	if (starts(h, n, "Rar!\x1a\x07", 6))
		return "application/vnd.rar";
	if (at(h, n, 257, "ustar", 5))
		return "application/x-tar";
	if (starts(h, n, "\xff\xfe", 2) || starts(h, n, "\xfe\xff", 2))
		return "text/plain; charset=utf-16";
	if (n == 0)
		return "application/octet-stream";
	if (starts(h, n, "\xef\xbb\xbf", 3))
		skip = 3;
	if (!is_utf8_text(h + skip, n - skip, truncated))
		return "application/octet-stream";
	{
		const unsigned char *p = h + skip;
		size_t m = n - skip;
		while (m > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			p++;
			m--;
		}
		if (starts(p, m, "<?xml", 5))
			return "application/xml";
		if ((starts(p, m, "<!DOCTYPE html", 14) || starts(p, m, "<!doctype html", 14) ||
		     starts(p, m, "<html", 5)))
			return "text/html; charset=utf-8";
		if ((m > 0 && (*p == '{' || *p == '[')) && ext_is(ext, "json"))
			return "application/json";
	}
	if (ext_is(ext, "csv"))
		return "text/csv; charset=utf-8";
	if (ext_is(ext, "xml"))
		return "application/xml";
	if (ext_is(ext, "json"))
		return "application/json";
	return "text/plain; charset=utf-8";
}
