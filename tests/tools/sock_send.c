/*
 * sock_send.c — raw access to custosd's socket for the tests, where the
 * `custos` command would never send what is being tested.
 *
 *   sock_send SOCKET [--hold S]     send standard input as is (no newline
 *                                   added), then print every answer line
 *                                   until the daemon closes or S seconds pass
 *   sock_send --notify PATH S       bind a datagram socket at PATH and print
 *                                   each message received for S seconds
 *                                   (what custosd tells systemd)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int
addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	char buf[65536];
	int fd;

	if (argc == 4 && strcmp(argv[1], "--notify") == 0) {
		double end = now() + atof(argv[3]);
		if (addr(&sa, argv[2]) < 0 || (fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror(argv[2]);
			return 2;
		}
		chmod(argv[2], 0666);   /* the daemon runs as another user */
		while (now() < end) {
			struct pollfd p = { fd, POLLIN, 0 };
			if (poll(&p, 1, (int)((end - now()) * 1000) + 1) <= 0)
				continue;
			ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
			if (r > 0) {
				buf[r] = '\0';
				for (char *q = buf; *q; q++)
					if (*q == '\n')
						*q = ' ';
				printf("%s\n", buf);
				fflush(stdout);
			}
		}
		return 0;
	}
	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--hold") == 0)) {
		fprintf(stderr, "usage: sock_send SOCKET [--hold S] | --notify PATH S\n");
		return 2;
	}
	double end = now() + (argc == 4 ? atof(argv[3]) : 30);
	if (addr(&sa, argv[1]) < 0 || (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(argv[1]);
		return 2;
	}
	for (;;) {
		ssize_t r = read(0, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (ssize_t o = 0; o < r;) {
			ssize_t w = write(fd, buf + o, (size_t)(r - o));
			if (w < 0) {
				if (errno == EPIPE || errno == ECONNRESET)
					goto answers;
				perror("write");
				return 2;
			}
			o += w;
		}
	}
answers:
	while (now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, (int)((end - now()) * 1000) + 1) <= 0)
			continue;
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		fwrite(buf, 1, (size_t)r, stdout);
		fflush(stdout);
	}
	return 0;
}
