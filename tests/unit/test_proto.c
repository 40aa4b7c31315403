/* test_proto.c — the daemon protocol's shared parts: base64, bytes in JSON,
 * reading one line under a limit, writing a line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "custos/error.h"
#include "custos/proto.h"

static void
test_base64_vectors(void **state)
{
	/* RFC 4648 §10 */
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
		"Zm9vYmFy" };
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++) {
		char *e = cu_base64_encode(in[i], strlen(in[i])), *d = NULL;
		size_t n = 99;
		assert_non_null(e);
		assert_string_equal(e, out[i]);
		assert_int_equal(cu_base64_decode(&d, &n, e, strlen(e)), 0);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(d, in[i], n);
		free(e);
		free(d);
	}
}

static void
test_base64_binary_roundtrip(void **state)
{
	unsigned char buf[4099];
	char *e, *d;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	e = cu_base64_encode(buf, sizeof(buf));
	assert_non_null(e);
	assert_int_equal(strlen(e), 4 * ((sizeof(buf) + 2) / 3));
	assert_int_equal(cu_base64_decode(&d, &n, e, strlen(e)), 0);
	assert_int_equal(n, sizeof(buf));
	assert_memory_equal(d, buf, n);
	free(e);
	free(d);
}

static void
test_base64_refuses(void **state)
{
	static const char *const bad[] = { "Zg=", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zg==", "Zm 9" };
	char *d;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(cu_base64_decode(&d, &n, bad[i], strlen(bad[i])), CU_EINVALID);
		assert_null(d);
		assert_non_null(strstr(cu_error_last(), "not base64"));
	}
}

static void
test_bytes_text_or_base64(void **state)
{
	json_t *o = json_object();
	char *out;
	size_t n;
	static const char bin[] = { 'a', 0, (char)0xff, 'b' };

	(void)state;
	assert_int_equal(cu_proto_put_bytes(o, "data", "回执\n", strlen("回执\n")), 0);
	assert_string_equal(json_string_value(json_object_get(o, "data")), "回执\n");
	/* NUL and invalid UTF-8 go as base64 */
	assert_int_equal(cu_proto_put_bytes(o, "stdout", bin, sizeof(bin)), 0);
	assert_null(json_object_get(o, "stdout"));
	assert_string_equal(json_string_value(json_object_get(o, "stdout_base64")), "YQD/Yg==");
	assert_int_equal(cu_proto_get_bytes(o, "stdout", &out, &n), 0);
	assert_int_equal(n, sizeof(bin));
	assert_memory_equal(out, bin, n);
	free(out);
	assert_int_equal(cu_proto_get_bytes(o, "data", &out, &n), 0);
	assert_string_equal(out, "回执\n");
	free(out);
	/* absent: NULL, not an error */
	assert_int_equal(cu_proto_get_bytes(o, "stdin", &out, &n), 0);
	assert_null(out);
	assert_int_equal(n, 0);
	/* wrong types and bad base64 name the member */
	json_object_set_new(o, "x", json_integer(3));
	assert_int_equal(cu_proto_get_bytes(o, "x", &out, &n), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "x: must be a string"));
	json_object_set_new(o, "y_base64", json_string("%%%%"));
	assert_int_equal(cu_proto_get_bytes(o, "y", &out, &n), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "y_base64"));
	json_decref(o);
}

/* A pipe holding text, its write end closed. */
static int
pipe_with(const char *text, size_t len)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, len), (ssize_t)len);
	close(p[1]);
	return p[0];
}

static void
test_read_line(void **state)
{
	const char text[] = "{\"a\":1}\n{\"b\":2}\npartial";
	int fd = pipe_with(text, sizeof(text) - 1);
	char *line, *rest = NULL;
	size_t nrest = 0;

	(void)state;
	assert_int_equal(cu_proto_read_line(fd, 100, &line, &rest, &nrest), 1);
	assert_string_equal(line, "{\"a\":1}");
	free(line);
	assert_int_equal(cu_proto_read_line(fd, 100, &line, &rest, &nrest), 1);
	assert_string_equal(line, "{\"b\":2}");
	free(line);
	/* the connection ends inside a line */
	assert_int_equal(cu_proto_read_line(fd, 100, &line, &rest, &nrest), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "ended inside a line"));
	assert_null(line);
	close(fd);

	fd = pipe_with("", 0);
	assert_int_equal(cu_proto_read_line(fd, 100, &line, &rest, &nrest), 0);
	close(fd);
}

static void
test_read_line_limit(void **state)
{
	char big[300];
	int fd;
	char *line, *rest = NULL;
	size_t nrest = 0;

	(void)state;
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	fd = pipe_with(big, sizeof(big));
	assert_int_equal(cu_proto_read_line(fd, 299, &line, &rest, &nrest), 1);
	assert_int_equal(strlen(line), 299);
	free(line);
	close(fd);
	fd = pipe_with(big, sizeof(big));
	assert_int_equal(cu_proto_read_line(fd, 298, &line, &rest, &nrest), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "larger than 298 bytes"));
	free(rest);
	close(fd);
}

static void
test_write_line(void **state)
{
	int p[2];
	char buf[256];
	json_t *o = json_pack("{s:i, s:s}", "exit", 0, "stdout", "a\nb");
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(cu_proto_write(p[1], o), 0);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	/* one line: the text's own line break escaped, one "\n" at the end */
	assert_string_equal(buf, "{\"exit\":0,\"stdout\":\"a\\nb\"}\n");
	close(p[0]);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_binary_roundtrip),
		cmocka_unit_test(test_base64_refuses),
		cmocka_unit_test(test_bytes_text_or_base64),
		cmocka_unit_test(test_read_line),
		cmocka_unit_test(test_read_line_limit),
		cmocka_unit_test(test_write_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
