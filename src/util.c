/* util.c — hex, SHA-256, durable files, paths (see custos/util.h). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "custos/error.h"
#include "custos/util.h"

void
cu_hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
cu_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cu_unhex(unsigned char *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n)
		return cu_error_set(CU_EINVALID, "expected %zu hex digits", 2 * n);
	for (size_t i = 0; i < n; i++) {
		int hi = cu_hex_digit((unsigned char)hex[2 * i]);
		int lo = cu_hex_digit((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return cu_error_set(CU_EINVALID, "not a hex digit at position %zu",
				2 * i + (hi < 0 ? 1 : 2));
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
cu_base64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
cu_utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	size_t k = *i, need;
	unsigned char c = s[k];
	long cp, min;

	if (c < 0x80) {
		*i = k + 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3; cp = c & 0x07; min = 0x10000;
	} else {
		return -1;
	}
	if (len - k - 1 < need)
		return -1;
	for (size_t j = 1; j <= need; j++) {
		if ((s[k + j] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[k + j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i = k + 1 + need;
	return cp;
}

int
cu_pread_all(int fd, void *buf, size_t len, uint64_t offset)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(offset + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cu_error_sys("read");
		if (r == 0)
			return cu_error_set(CU_EINVALID, "truncated at offset %llu",
				(unsigned long long)(offset + got));
		got += (size_t)r;
	}
	return 0;
}

int
cu_sha256(unsigned char out[CU_SHA256_LEN], const void *data, size_t len)
{
	if (!EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL))
		return cu_error_set(CU_ERROR, "SHA-256 failed");
	return 0;
}

int
cu_read_fd(char **out, size_t *len, int fd, const char *path, size_t max)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0, cap;
	int error = 0;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return cu_error_sys("%s", path);
	if (!S_ISREG(st.st_mode))
		return cu_error_set(CU_EINVALID, "%s: not a regular file", path);
	if ((size_t)st.st_size > max)
		return cu_error_set(CU_ELIMIT, "%s: %lld bytes, more than the limit of %zu",
			path, (long long)st.st_size, max);
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL)
		return cu_error_set(CU_ERROR, "%s: out of memory", path);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			error = cu_error_sys("%s", path);
			goto done;
		}
		if (r == 0)
			break;  /* file shrank while reading: take what is there */
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
done:
	if (buf != NULL) {
		explicit_bzero(buf, cap);   /* it may have held a secret */
		free(buf);
	}
	return error;
}

int
cu_read_file(char **out, size_t *len, const char *path, size_t max)
{
	int fd, error;

	*out = NULL;
	/* O_NONBLOCK: a FIFO given by mistake must not hang the call */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		if (errno == ELOOP)
			return cu_error_set(CU_EINVALID, "%s: is a symbolic link", path);
		return cu_error_sys("%s", path);
	}
	error = cu_read_fd(out, len, fd, path, max);
	close(fd);
	return error;
}

int
cu_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return cu_error_sys("write");
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
cu_fsync_dir(const char *dir)
{
	int fd, error = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cu_error_sys("%s", dir);
	if (fsync(fd) < 0)
		error = cu_error_sys("fsync %s", dir);
	close(fd);
	return error;
}

static void
dir_of(char *out, size_t outsz, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, outsz, ".");
	else if (slash == path)
		snprintf(out, outsz, "/");
	else
		snprintf(out, outsz, "%.*s", (int)(slash - path), path);
}

int
cu_write_file_durable(const char *path, const void *data, size_t len, mode_t mode,
	int exclusive)
{
	char tmp[8200], dir[4096];
	int fd, error;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	dir_of(dir, sizeof(dir), path);
	/* a hidden name: what a killed writer leaves behind is plainly debris */
	if (cu_pathf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld", dir, base, (long)getpid()) < 0)
		return CU_EINVALID;
	if (exclusive && access(path, F_OK) == 0)
		return cu_error_set(CU_EEXISTS, "%s: already exists", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)) < 0)
		return cu_error_sys("%s", tmp);
	if ((error = cu_write_all(fd, data, len)) < 0) {
		cu_error_prefix(error, "%s", tmp);
		goto fail;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		error = cu_error_sys("%s", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		error = cu_error_sys("%s", tmp);
		goto fail;
	}
	fd = -1;
	if (exclusive) {
		/* link() fails if path appeared meanwhile: never overwrite */
		if (link(tmp, path) < 0) {
			error = errno == EEXIST
				? cu_error_set(CU_EEXISTS, "%s: already exists", path)
				: cu_error_sys("%s", path);
			goto fail;
		}
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		error = cu_error_sys("%s", path);
		goto fail;
	}
	return cu_fsync_dir(dir);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return error;
}

int
cu_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return cu_error_set(CU_EINVALID, "bad folder name");
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return cu_error_sys("mkdir %s", buf);
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int
cu_pathf(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= outsz)
		return cu_error_set(CU_EINVALID, "path too long: %.60s…", out);
	return 0;
}

int
cu_grow(void *arr, size_t *cap, size_t need, size_t size)
{
	void **a = arr, *p;
	size_t n = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			return cu_error_set(CU_ERROR, "out of memory");
		n *= 2;
	}
	if ((p = realloc(*a, n * size)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	*a = p;
	*cap = n;
	return 0;
}

char *
cu_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		cu_error_set(CU_ERROR, "out of memory");
		return NULL;
	}
	return s;
}

void
cu_user_name(char *out, size_t outsz)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(out, outsz, "%s", pw->pw_name);
	else
		snprintf(out, outsz, "%lu", (unsigned long)getuid());
}

void
cu_now_rfc3339(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
