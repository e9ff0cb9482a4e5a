/*
 * seed-console-relay: the guest end of `ssh -t <node> console` (docs/guest-contract.md).
 *
 *   seed-console-relay PORT [COMMAND ARGS...]      (default command: /bin/sh -l)
 *
 * PORT is the virtio-serial port named seed.console. It is a byte pipe, not a terminal, so
 * the host sends frames (type, 2-byte big-endian length, payload; seedd's
 * src/vmm/console/console_frame.hpp) and this relay gives each session a pty:
 *   'O' open   u32 session, u16 rows, u16 cols, TERM: end any shell, start COMMAND on a new pty
 *              of that size (setsid, controlling tty, TERM set), answer 'o' with the session
 *   'D' data   both ways: keystrokes into the pty, pty output out
 *   'W' window u16 rows, u16 cols: TIOCSWINSZ (the kernel sends SIGWINCH)
 *   'H' hangup from the host: SIGHUP to the shell's session, SIGKILL after 1 s; answered by
 *              'H' with the exit status, which is also sent when the shell ends by itself
 * When the host side closes the port (seedd's session ended, seedd restarted), the shell is
 * ended the same way: a console never outlives its SSH session. Busybox cannot do this (its
 * `script` has no way to pass on window sizes), hence this small static C program; the test
 * guest builds it with gcc -static (tests/guest/build-guest.sh), the NixOS guest module with
 * its C compiler (runtime.nix).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD 4096

static const char *port_path;
static char **command;
static int port = -1;
static int master = -1;
static pid_t shell = -1;
static unsigned char inbuf[3 + MAX_PAYLOAD + 4096];
static size_t inlen;

static void say(const char *fmt, const char *arg) {
	fprintf(stderr, "seed-console-relay: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Writes a whole frame; gives up (dropping it) when the host goes away or stays full for 5 s. */
static void send_frame(char type, const void *payload, size_t len) {
	unsigned char buf[3 + MAX_PAYLOAD];
	size_t done = 0, total = 3 + len;
	int waited = 0;
	buf[0] = (unsigned char)type;
	buf[1] = (unsigned char)(len >> 8);
	buf[2] = (unsigned char)(len & 0xff);
	memcpy(buf + 3, payload, len);
	while (done < total && port >= 0) {
		ssize_t n = write(port, buf + done, total - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return;
		struct pollfd p = {port, POLLOUT, 0};
		if (poll(&p, 1, 100) > 0 && (p.revents & POLLHUP))
			return;
		if (++waited > 50)
			return;
	}
}

static int exit_status(int status) {
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* The shell has gone (or is made to go): reap it, close its pty, tell the host. */
static void end_shell(int kill_it, int tell) {
	int status = 0;
	if (shell < 0)
		return;
	if (kill_it) {
		kill(-shell, SIGHUP);
		kill(-shell, SIGCONT);
		for (int i = 0; i < 10 && waitpid(shell, &status, WNOHANG) == 0; i++)
			sleep_ms(100);
		if (kill(shell, 0) == 0 || errno != ESRCH) {
			kill(-shell, SIGKILL);
			waitpid(shell, &status, 0);
		}
	} else {
		waitpid(shell, &status, 0);
	}
	if (master >= 0)
		close(master);
	master = -1;
	shell = -1;
	if (tell) {
		unsigned char code = (unsigned char)exit_status(status);
		send_frame('H', &code, 1);
	}
}

static void set_size(int fd, unsigned rows, unsigned cols) {
	struct winsize ws = {0};
	ws.ws_row = (unsigned short)rows;
	ws.ws_col = (unsigned short)cols;
	ioctl(fd, TIOCSWINSZ, &ws);
}

static int start_shell(unsigned rows, unsigned cols, const char *term) {
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
		say("cannot allocate a pty: %s", strerror(errno));
		if (m >= 0)
			close(m);
		return -1;
	}
	set_size(m, rows, cols);
	const char *slave_name = ptsname(m);
	pid_t pid = fork();
	if (pid < 0) {
		close(m);
		return -1;
	}
	if (pid == 0) {
		setsid();
		int s = open(slave_name, O_RDWR);
		if (s < 0)
			_exit(127);
		ioctl(s, TIOCSCTTY, 0);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		if (s > 2)
			close(s);
		signal(SIGPIPE, SIG_DFL);
		setenv("TERM", term[0] ? term : "dumb", 1);
		if (!getenv("HOME"))
			setenv("HOME", "/root", 1);
		if (chdir(getenv("HOME")) != 0 && chdir("/") != 0)
			_exit(127);
		execvp(command[0], command);
		fprintf(stderr, "seed-console-relay: cannot run %s: %s\r\n", command[0], strerror(errno));
		_exit(127);
	}
	fcntl(m, F_SETFL, O_NONBLOCK);
	master = m;
	shell = pid;
	return 0;
}

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Handles the frames in inbuf; returns -1 on a framing error (the session is then reset). */
static int handle_frames(void) {
	size_t at = 0;
	while (inlen - at >= 3) {
		unsigned char type = inbuf[at];
		size_t len = get16(inbuf + at + 1);
		if (len > MAX_PAYLOAD)
			return -1;
		if (inlen - at < 3 + len)
			break;
		const unsigned char *p = inbuf + at + 3;
		at += 3 + len;
		switch (type) {
		case 'O': {
			char term[65] = "";
			if (len < 8 || len - 8 > 64)
				return -1;
			memcpy(term, p + 8, len - 8);
			term[len - 8] = 0;
			end_shell(1, 0);
			if (start_shell(get16(p + 4), get16(p + 6), term) == 0) {
				send_frame('o', p, 4);
			} else {
				unsigned char code = 127;
				send_frame('H', &code, 1);
			}
			break;
		}
		case 'D':
			/* A shell that reads nothing for 5 s loses the keystrokes rather than stalling
			 * the relay (and with it the host's hangup). */
			for (size_t done = 0, waits = 0; master >= 0 && done < len && waits < 50;) {
				ssize_t n = write(master, p + done, len - done);
				if (n > 0) {
					done += (size_t)n;
				} else if (n < 0 && errno == EAGAIN) {
					struct pollfd w = {master, POLLOUT, 0};
					poll(&w, 1, 100);
					waits++;
				} else if (!(n < 0 && errno == EINTR)) {
					break;
				}
			}
			break;
		case 'W':
			if (len != 4)
				return -1;
			if (master >= 0)
				set_size(master, get16(p), get16(p + 2));
			break;
		case 'H':
			if (shell >= 0)
				end_shell(1, 1);
			else
				send_frame('H', "\0", 1);
			break;
		default:
			return -1;
		}
	}
	memmove(inbuf, inbuf + at, inlen - at);
	inlen -= at;
	return 0;
}

/* One connection of the host: until it hangs up. */
static void serve(void) {
	inlen = 0;
	for (;;) {
		struct pollfd p[2] = {{port, POLLIN, 0}, {master, POLLIN, 0}};
		int r = poll(p, master >= 0 ? 2 : 1, 500);
		if (r < 0 && errno != EINTR)
			return;
		if (shell >= 0) {
			int status;
			if (waitpid(shell, &status, WNOHANG) == shell) {
				/* Pass on what the shell printed last, then say how it ended. */
				unsigned char buf[MAX_PAYLOAD];
				ssize_t n;
				while (master >= 0 && (n = read(master, buf, sizeof buf)) > 0)
					send_frame('D', buf, (size_t)n);
				shell = -1;
				if (master >= 0)
					close(master);
				master = -1;
				unsigned char code = (unsigned char)exit_status(status);
				send_frame('H', &code, 1);
			}
		}
		if (r <= 0)
			continue;
		if (master >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			unsigned char buf[MAX_PAYLOAD];
			ssize_t n = read(master, buf, sizeof buf);
			if (n > 0)
				send_frame('D', buf, (size_t)n);
			else if (n < 0 && errno == EIO)
				end_shell(0, 1); /* every holder of the pty closed it: the shell is gone */
		}
		if (p[0].revents & POLLIN) {
			ssize_t n = read(port, inbuf + inlen, sizeof inbuf - inlen);
			if (n > 0) {
				inlen += (size_t)n;
				if (handle_frames() != 0) {
					say("%s: a frame this relay does not understand; dropping the session", port_path);
					end_shell(1, 0);
					return;
				}
			} else if (n == 0) {
				return; /* the host closed its side */
			}
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			return;
		}
	}
}

int main(int argc, char **argv) {
	static char *default_command[] = {"/bin/sh", "-l", NULL};
	if (argc < 2) {
		fprintf(stderr, "usage: seed-console-relay PORT [COMMAND ARGS...]\n");
		return 2;
	}
	port_path = argv[1];
	command = argc > 2 ? argv + 2 : default_command;
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		if (port < 0) {
			port = open(port_path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			if (port < 0) {
				sleep_ms(1000);
				continue;
			}
		}
		serve();
		end_shell(1, 0);
		/* Until the host connects again, the port reads as hung up: wait without spinning. */
		sleep_ms(200);
	}
}
