/* Load generator of the links bench: as little user-space work per connection or byte as
 * possible, so the tracer's share of the cost shows. Built by the bench with gcc.
 *
 *   links-load server IP PORT churn|bulk   accepts until killed; prints "ready"
 *   links-load churn IP PORT N             N connections one after another: 1 byte each way;
 *                                           prints "conns N seconds S cpu C"
 *   links-load bulk IP PORT BYTES          one connection sending BYTES in 64 KiB writes;
 *                                           prints "bytes N seconds S cpu C"
 * C is the CPU time this process used meanwhile (user + system, softirq work done in its context
 * included): a figure the other work on a shared machine disturbs far less than S. W is the time
 * it waited for a CPU while runnable (other work on its CPU): "... wait W" ends both lines.
 * IPv4 only. Every socket has 10 s send/receive timeouts, so nothing hangs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds this process has waited on a run queue (second field of /proc/self/schedstat, ns). */
static double waited(void)
{
	unsigned long long run = 0, wait = 0;
	FILE *f = fopen("/proc/self/schedstat", "r");

	if (f) {
		if (fscanf(f, "%llu %llu", &run, &wait) != 2)
			wait = 0;
		fclose(f);
	}
	return wait / 1e9;
}

static void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 10 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "bad IPv4 address %s\n", ip);
		exit(2);
	}
	return a;
}

static void serve(struct sockaddr_in a, int bulk)
{
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4096))
		die("listen");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			die("accept");
		timeouts(c);
		if (bulk) {
			while (read(c, buf, sizeof(buf)) > 0)
				;
		} else if (read(c, buf, 1) == 1) {
			/* The server closes first: TIME_WAIT stays here, the client's ports stay free. */
			if (write(c, buf, 1) != 1)
				perror("write");
		}
		close(c);
	}
}

static int dial(struct sockaddr_in a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	timeouts(fd);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s server|churn|bulk IP PORT MODE|N|BYTES\n", argv[0]);
		return 2;
	}
	struct sockaddr_in a = addr_of(argv[2], argv[3]);
	long n = atol(argv[4]);
	double t0, c0, w0;

	if (!strcmp(argv[1], "server"))
		serve(a, !strcmp(argv[4], "bulk"));
	t0 = now();
	c0 = cpu();
	w0 = waited();
	if (!strcmp(argv[1], "churn")) {
		for (long i = 0; i < n; i++) {
			int fd = dial(a);

			if (write(fd, "x", 1) != 1 || read(fd, buf, 1) != 1 || read(fd, buf, 1) != 0)
				die("churn exchange");
			close(fd);
		}
		printf("conns %ld seconds %.6f cpu %.6f wait %.6f\n", n, now() - t0, cpu() - c0, waited() - w0);
		return 0;
	}
	if (!strcmp(argv[1], "bulk")) {
		int fd = dial(a);
		long left = n;

		while (left > 0) {
			ssize_t k = write(fd, buf, left < (long)sizeof(buf) ? left : (long)sizeof(buf));

			if (k <= 0)
				die("bulk write");
			left -= k;
		}
		shutdown(fd, SHUT_WR);
		/* Wait for the server's close: all bytes were read on the other side. */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		printf("bytes %ld seconds %.6f cpu %.6f wait %.6f\n", n, now() - t0, cpu() - c0, waited() - w0);
		return 0;
	}
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
