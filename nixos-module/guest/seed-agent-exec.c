/* The guest side of the agent's exec frames (tests/guest/README.md, "Exec frames"): started by
 * the agent after an `exec` request line with the agent port as fd 0 and fd 1, it reads the argv
 * frame, runs the command (no shell) in its own process group, relays stdin/stdout/stderr as
 * frames and ends with the exit frame. Busybox sh cannot do binary framing, hence C; static so
 * the test guest's initrd needs no libc. If the host goes away (EOF on the port) the command's
 * process group is killed: a disconnected `ssh <node> exec` leaves nothing running.
 * Limitation: stdin frames are written to the command with blocking writes, so a command that
 * neither reads stdin nor exits while the host keeps sending holds the relay. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PAYLOAD 65536

static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const void *buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, (const char *)buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    done += (size_t)w;
  }
  return 0;
}

static int send_frame(char type, const void *payload, uint32_t len) {
  unsigned char header[5] = {(unsigned char)type, len >> 24, len >> 16, len >> 8, len};
  if (write_full(1, header, 5) != 0) return -1;
  return len ? write_full(1, payload, len) : 0;
}

/* Reads one frame into buf (MAX_PAYLOAD + 1 bytes); -1 on EOF or a malformed frame. */
static int read_frame(char *type, char *buf, uint32_t *len) {
  unsigned char header[5];
  if (read_full(0, header, 5) != 0) return -1;
  *type = (char)header[0];
  *len = ((uint32_t)header[1] << 24) | ((uint32_t)header[2] << 16) | ((uint32_t)header[3] << 8) | header[4];
  if (*len > MAX_PAYLOAD) return -1;
  return *len ? read_full(0, buf, *len) : 0;
}

static void send_exit(int status) {
  int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  unsigned char p[4] = {(unsigned)code >> 24, (unsigned)code >> 16, (unsigned)code >> 8, (unsigned)code};
  send_frame('x', p, 4);
}

int main(void) {
  static char buf[MAX_PAYLOAD + 1];
  char type;
  uint32_t len;
  signal(SIGPIPE, SIG_IGN);
  if (read_frame(&type, buf, &len) != 0 || type != 'a' || len == 0 || buf[len - 1] != '\0') {
    const char *msg = "seed-agent-exec: the first frame must be argv\n";
    send_frame('e', msg, (uint32_t)strlen(msg));
    send_exit(2 << 8);
    return 2;
  }
  char *argv[4096];
  int argc = 0;
  for (uint32_t at = 0; at < len && argc < 4095; at += (uint32_t)strlen(buf + at) + 1) argv[argc++] = buf + at;
  argv[argc] = NULL;

  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return 1;
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvp(argv[0], argv);
    dprintf(2, "seed-agent-exec: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  int child_in = in[1];

  struct pollfd fds[3] = {{0, POLLIN, 0}, {out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_outputs = 2;
  while (open_outputs > 0) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      if (read_frame(&type, buf, &len) != 0) {  /* the host went away: leave nothing running */
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
      }
      if (type == 'i' && child_in >= 0) {
        if (write_full(child_in, buf, len) != 0) { close(child_in); child_in = -1; }
      } else if (type == 'E' && child_in >= 0) {
        close(child_in);
        child_in = -1;
      } else if (type == 'k' && len == 1) {
        kill(-pid, (unsigned char)buf[0]);
      }
    }
    for (int i = 1; i < 3; ++i) {
      if (!fds[i].revents) continue;
      ssize_t r = read(fds[i].fd, buf, MAX_PAYLOAD);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;  /* poll ignores negative fds */
        --open_outputs;
      } else if (send_frame(i == 1 ? 'o' : 'e', buf, (uint32_t)r) != 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  send_exit(status);
  return 0;
}
