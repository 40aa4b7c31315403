/*
 * chan.c — frames between custosd and its workers (daemon.h): a 4-byte
 * length, then that much JSON, over a stream socketpair; up to two file
 * descriptors (the client's connection, a memory file with the request)
 * ride with the frame's first byte (SCM_RIGHTS).  Frames are small: a
 * request's bytes travel in the memory file, so the daemon never blocks
 * sending one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "custos/error.h"
#include "daemon.h"

#define FRAME_MAX (1u << 20)

int
chan_send(int ch, const json_t *msg, const int *fds, int nfds)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	uint32_t len;
	struct iovec iov[2];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t w;
	size_t total, done = 0;

	if (text == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	len = (uint32_t)strlen(text);
	iov[0] = (struct iovec){ &len, sizeof(len) };
	iov[1] = (struct iovec){ text, len };
	total = sizeof(len) + len;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	while ((w = sendmsg(ch, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (w < 0) {
		free(text);
		return cu_error_sys("sending to a worker");
	}
	done = (size_t)w;
	/* the rest, if the socket took only part (the descriptors went first) */
	while (done < total) {
		const char *p = done < sizeof(len) ? (const char *)&len + done : text + (done - sizeof(len));
		size_t n = done < sizeof(len) ? sizeof(len) - done : total - done;
		w = send(ch, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			free(text);
			return cu_error_sys("sending to a worker");
		}
		done += (size_t)w;
	}
	free(text);
	return 0;
}

/* Reads exactly n bytes; 1 at end of file before any, 0 done, <0 error. */
static int
read_exact(int ch, void *buf, size_t n, int *fds, int *nfds)
{
	size_t got = 0;

	while (got < n) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(4 * sizeof(int))];
		} cm;
		struct iovec iov = { (char *)buf + got, n - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
		ssize_t r = recvmsg(ch, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET && got == 0)
			return 1;   /* the other end is gone: as an end of file */
		if (r < 0)
			return cu_error_sys("reading from the daemon");
		if (r == 0)
			return got == 0 ? 1 : cu_error_set(CU_ERROR, "a frame cut short");
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int tmp[4];
			memcpy(tmp, CMSG_DATA(c), (size_t)k * sizeof(int));
			for (int i = 0; i < k; i++) {
				if (fds && *nfds < 2)
					fds[(*nfds)++] = tmp[i];
				else
					close(tmp[i]);
			}
		}
		got += (size_t)r;
	}
	return 0;
}

int
chan_recv(int ch, json_t **msg, int fds[2], int *nfds)
{
	uint32_t len;
	char *text;
	json_error_t je;
	int r;

	*msg = NULL;
	*nfds = 0;
	if ((r = read_exact(ch, &len, sizeof(len), fds, nfds)) != 0)
		return r;
	if (len > FRAME_MAX)
		return cu_error_set(CU_ERROR, "a frame of %u bytes", len);
	if ((text = malloc(len + 1)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((r = read_exact(ch, text, len, NULL, NULL)) != 0) {
		free(text);
		return r < 0 ? r : cu_error_set(CU_ERROR, "a frame cut short");
	}
	text[len] = '\0';
	*msg = json_loads(text, 0, &je);
	free(text);
	if (!json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		return cu_error_set(CU_ERROR, "a frame that is not a JSON object: %s", je.text);
	}
	return 0;
}
