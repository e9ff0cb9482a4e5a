/* seed-clone-init: what a shoot clone needs right after its restore from a template snapshot
 * (docs/shoots.md). Every clone of one template wakes with the same kernel RNG state and the
 * clock of the moment the snapshot was taken, so seedd sends each clone, through the agent:
 *
 *   seed-clone-init rng HEX     mix HEX (a fresh host nonce, 16..512 bytes) into the kernel's
 *                               pool and force a reseed of its CRNG (writing to /dev/urandom
 *                               alone does not reseed it for up to a minute)
 *   seed-clone-init clock NS    set CLOCK_REALTIME to NS nanoseconds since the epoch
 *
 * busybox has no way to issue the RNDADDENTROPY / RNDRESEEDCRNG ioctls, hence this program.
 * Prints nothing on success; one line on stderr and exit 1 on failure. */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_NONCE 512

static int hexval(char c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int reseed(const char *hex) {
	size_t len = strlen(hex);
	if (len % 2 != 0 || len < 32 || len > 2 * MAX_NONCE) {
		fprintf(stderr, "seed-clone-init: the nonce must be 16..%d bytes of hex\n", MAX_NONCE);
		return 1;
	}
	struct {
		struct rand_pool_info info;
		unsigned char bytes[MAX_NONCE];
	} req;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			fprintf(stderr, "seed-clone-init: the nonce is not hex\n");
			return 1;
		}
		req.bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	req.info.entropy_count = (int)(len / 2 * 8);
	req.info.buf_size = (int)(len / 2);
	int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "seed-clone-init: open /dev/urandom: %s\n", strerror(errno));
		return 1;
	}
	if (ioctl(fd, RNDADDENTROPY, &req.info) != 0 || ioctl(fd, RNDRESEEDCRNG) != 0) {
		fprintf(stderr, "seed-clone-init: reseeding the kernel RNG failed: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static int set_clock(const char *ns_text) {
	char *end = NULL;
	errno = 0;
	unsigned long long ns = strtoull(ns_text, &end, 10);
	if (errno != 0 || end == ns_text || *end != '\0') {
		fprintf(stderr, "seed-clone-init: '%s' is not nanoseconds since the epoch\n", ns_text);
		return 1;
	}
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL), .tv_nsec = (long)(ns % 1000000000ULL)};
	if (clock_settime(CLOCK_REALTIME, &ts) != 0) {
		fprintf(stderr, "seed-clone-init: setting the clock failed: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "rng") == 0) return reseed(argv[2]);
	if (argc == 3 && strcmp(argv[1], "clock") == 0) return set_clock(argv[2]);
	fprintf(stderr, "usage: seed-clone-init rng HEX | clock NS\n");
	return 2;
}
