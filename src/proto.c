/* proto.c — what both ends of the daemon's protocol share (custos/proto.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "custos/error.h"
#include "custos/proto.h"
#include "custos/util.h"

char *
cu_base64_encode(const void *buf, size_t len)
{
	size_t n = 4 * ((len + 2) / 3);
	char *out;

	if (len > ((size_t)1 << 40) || (out = malloc(n + 1)) == NULL)
		return NULL;
	/* EVP_EncodeBlock takes an int length: feed it in pieces of whole groups */
	size_t done = 0, w = 0;
	while (done < len) {
		size_t piece = len - done > (3u << 20) ? (3u << 20) : len - done;
		w += (size_t)EVP_EncodeBlock((unsigned char *)out + w,
			(const unsigned char *)buf + done, (int)piece);
		done += piece;
	}
	out[w] = '\0';
	return out;
}

int
cu_base64_decode(char **out, size_t *outlen, const char *s, size_t len)
{
	unsigned char *buf;
	size_t w = 0;

	*out = NULL;
	*outlen = 0;
	if (len % 4 != 0)
		return cu_error_set(CU_EINVALID, "not base64 (length %zu is not a multiple of 4)", len);
	if ((buf = malloc(len / 4 * 3 + 1)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = cu_base64_value((unsigned char)s[i + k])) < 0) {
				free(buf);
				return cu_error_set(CU_EINVALID, "not base64 (character %zu)", i + k + 1);
			}
		}
		unsigned long g = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
			(unsigned long)v[2] << 6 | (unsigned long)v[3];
		buf[w++] = (unsigned char)(g >> 16);
		if (pad < 2)
			buf[w++] = (unsigned char)(g >> 8);
		if (pad < 1)
			buf[w++] = (unsigned char)g;
	}
	buf[w] = '\0';
	*out = (char *)buf;
	*outlen = w;
	return 0;
}

/* 1 if buf is valid UTF-8 without NUL (a JSON string can carry it). */
static int
is_text(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		long c = cu_utf8_next((const unsigned char *)buf, len, &i);
		if (c <= 0)
			return 0;
	}
	return 1;
}

int
cu_proto_put_bytes(json_t *obj, const char *key, const void *buf, size_t len)
{
	char name[64];

	if (is_text(buf, len)) {
		json_t *v = json_stringn(buf, len);
		if (v == NULL || json_object_set_new(obj, key, v) < 0)
			return cu_error_set(CU_ERROR, "out of memory");
		return 0;
	}
	char *b = cu_base64_encode(buf, len);
	snprintf(name, sizeof(name), "%s_base64", key);
	if (b == NULL || json_object_set_new(obj, name, json_string(b)) < 0) {
		free(b);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	free(b);
	return 0;
}

int
cu_proto_get_bytes(const json_t *obj, const char *key, char **out, size_t *len)
{
	char name[64];
	const json_t *v;

	*out = NULL;
	*len = 0;
	if ((v = json_object_get(obj, key)) != NULL) {
		if (!json_is_string(v))
			return cu_error_set(CU_EINVALID, "%s: must be a string", key);
		if ((*out = malloc(json_string_length(v) + 1)) == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		memcpy(*out, json_string_value(v), json_string_length(v) + 1);
		*len = json_string_length(v);
		return 0;
	}
	snprintf(name, sizeof(name), "%s_base64", key);
	if ((v = json_object_get(obj, name)) == NULL)
		return 0;
	if (!json_is_string(v))
		return cu_error_set(CU_EINVALID, "%s: must be a string", name);
	if (cu_base64_decode(out, len, json_string_value(v), json_string_length(v)) < 0)
		return cu_error_prefix(CU_EINVALID, "%s", name);
	return 0;
}

int
cu_proto_read_line(int fd, size_t limit, char **out, char **rest, size_t *nrest)
{
	char *buf = *rest;
	size_t n = *nrest, cap = n;

	*out = NULL;
	*rest = NULL;
	*nrest = 0;
	for (;;) {
		char *nl = n ? memchr(buf, '\n', n) : NULL;
		if (nl != NULL) {
			size_t linelen = (size_t)(nl - buf);
			if (linelen > limit)
				break;
			if (n - linelen - 1 > 0) {
				if ((*rest = malloc(n - linelen - 1)) == NULL) {
					free(buf);
					return cu_error_set(CU_ERROR, "out of memory");
				}
				memcpy(*rest, nl + 1, n - linelen - 1);
				*nrest = n - linelen - 1;
			}
			*nl = '\0';
			*out = buf;
			return 1;
		}
		if (n > limit)
			break;
		if (n + 65536 > cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			while (ncap < n + 65536)
				ncap *= 2;
			char *p = realloc(buf, ncap + 1);
			if (p == NULL) {
				free(buf);
				return cu_error_set(CU_ERROR, "out of memory");
			}
			buf = p;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return cu_error_sys("reading the socket");
		}
		if (r == 0) {
			free(buf);
			if (n == 0)
				return 0;
			return cu_error_set(CU_EINVALID, "the connection ended inside a line");
		}
		n += (size_t)r;
	}
	free(buf);
	return cu_error_set(CU_EINVALID, "request is larger than %zu bytes", limit);
}

int cu_proto_write_timeout_ms = 30000;

int
cu_proto_write(int fd, const json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	size_t len, done = 0;
	int error = 0;

	if (s == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	len = strlen(s);
	s[len] = '\n';   /* json_dumps leaves room: replace the NUL, write len + 1 */
	len++;
	while (done < len) {
		ssize_t w = send(fd, s + done, len - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* the descriptor is non-blocking (the daemon's): wait for room */
			struct pollfd p = { fd, POLLOUT, 0 };
			int r = poll(&p, 1, cu_proto_write_timeout_ms);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				error = cu_error_set(CU_ERROR, "the peer reads nothing (%d ms)",
					cu_proto_write_timeout_ms);
				break;
			}
			continue;
		}
		if (w < 0 && errno == ENOTSOCK) {
			/* a pipe or a file (tests) */
			if ((error = cu_write_all(fd, s + done, len - done)) == 0)
				done = len;
			break;
		}
		if (w < 0) {
			error = cu_error_sys("write");
			break;
		}
		done += (size_t)w;
	}
	free(s);
	return error;
}
