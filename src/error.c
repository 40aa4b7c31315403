/* error.c — the thread-local last error (see custos/error.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "custos/error.h"

static _Thread_local char last_msg[1024];
static _Thread_local int last_code;

int
cu_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	last_code = code;
	return code;
}

int
cu_error_sys(const char *fmt, ...)
{
	int saved = errno;
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(last_msg, sizeof(last_msg), "%s: %s", buf, strerror(saved));
	last_code = saved == ENOENT ? -3 : -1;
	errno = saved;
	return last_code;
}

int
cu_error_prefix(int code, const char *fmt, ...)
{
	char prefix[512];
	size_t plen, mlen;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix) + 2;                 /* "prefix: " */
	mlen = strnlen(last_msg, sizeof(last_msg) - 1);
	if (plen + mlen >= sizeof(last_msg))
		mlen = sizeof(last_msg) - 1 - plen;
	memmove(last_msg + plen, last_msg, mlen);
	memcpy(last_msg, prefix, plen - 2);
	memcpy(last_msg + plen - 2, ": ", 2);
	last_msg[plen + mlen] = '\0';
	last_code = code;
	return code;
}

const char *
cu_error_last(void)
{
	return last_msg;
}

int
cu_error_code(void)
{
	return last_code;
}

void
cu_error_clear(void)
{
	last_msg[0] = '\0';
	last_code = 0;
}
