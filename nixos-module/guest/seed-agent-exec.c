/* The guest side of the agent's exec frames (tests/guest/README.md, "Exec frames"): started by
 * the agent after an `exec` request line with the agent port as fd 0 and fd 1, it reads the argv
 * frame, runs the command (no shell) in its own process group, relays stdin/stdout/stderr as
 * frames and ends with the exit frame. Busybox sh cannot do binary framing, hence C; static so
 * the test guest's initrd needs no libc. If the host goes away (EOF on the port) the command's
 * process group is killed: a disconnected `ssh <node> exec` leaves nothing running.
 * `seed-agent-exec window=N` (the request `exec window=N`, used on a console port) also keeps
 * what it has sent and the host has not acknowledged under N bytes (see main). */
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

/* Bytes for the command's stdin that it has not taken yet: data[at, len). */
struct queue {
  char *data;
  size_t at, len, cap;
};

static size_t queued(const struct queue *q) { return q->len - q->at; }

static void queue_consumed(struct queue *q, size_t n) {
  q->at += n;
  if (q->at == q->len) q->at = q->len = 0;
}

/* -1 when out of memory. */
static int queue_append(struct queue *q, const char *bytes, size_t n) {
  if (q->len + n > q->cap && q->at > 0) {  /* reuse the consumed front first */
    memmove(q->data, q->data + q->at, q->len - q->at);
    q->len -= q->at;
    q->at = 0;
  }
  if (q->len + n > q->cap) {
    size_t cap = (q->len + n) * 2;
    char *grown = realloc(q->data, cap);
    if (!grown) return -1;
    q->data = grown;
    q->cap = cap;
  }
  memcpy(q->data + q->len, bytes, n);
  q->len += n;
  return 0;
}

static uint32_t be32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}

/* After the exit frame, in window mode: frames the host sent before it saw the exit (acks,
 * stdin the command never read) are read and dropped up to the host's 'z', so none of them
 * reaches the agent as a request line. EOF (the host hung up) ends it too. */
static void wait_for_host_done(char *buf) {
  char type;
  uint32_t len;
  while (read_frame(&type, buf, &len) == 0 && type != 'z') {}
}

int main(int argc, char **args) {
  static char buf[MAX_PAYLOAD + 1];
  static char out_buf[MAX_PAYLOAD];
  char type;
  uint32_t len;
  /* window=N: at most N bytes of frames sent and not yet acknowledged by the host's 'A'
   * frames. Needed where the channel drops what its host end cannot take at once (a console
   * port: QEMU's virtconsole and Cloud Hypervisor's console, the agent channel of a Cloud
   * Hypervisor VM); a plain virtio-serial port throttles instead and runs without one. */
  unsigned long window = 0;
  if (argc > 1 && strncmp(args[1], "window=", 7) == 0) window = strtoul(args[1] + 7, NULL, 10);
  if (window != 0 && window < 64) window = 64;
  signal(SIGPIPE, SIG_IGN);
  if (read_frame(&type, buf, &len) != 0 || type != 'a' || len == 0 || buf[len - 1] != '\0') {
    const char *msg = "seed-agent-exec: the first frame must be argv\n";
    send_frame('e', msg, (uint32_t)strlen(msg));
    send_exit(2 << 8);
    if (window) wait_for_host_done(buf);
    return 2;
  }
  char *argv[4096];
  int argc_cmd = 0;
  for (uint32_t at = 0; at < len && argc_cmd < 4095; at += (uint32_t)strlen(buf + at) + 1) argv[argc_cmd++] = buf + at;
  argv[argc_cmd] = NULL;

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
  /* Non-blocking, with the host's stdin queued here: a command that writes before it reads
   * all its input never deadlocks against this relay (which must keep reading the host's
   * frames, its acks among them, while the command's stdin pipe is full). */
  fcntl(child_in, F_SETFL, fcntl(child_in, F_GETFL) | O_NONBLOCK);
  struct queue stdin_queue = {NULL, 0, 0, 0};
  int stdin_eof = 0;
  int outputs[2] = {out[0], err[0]};
  unsigned long unacked = 0;

  while (outputs[0] >= 0 || outputs[1] >= 0) {
    size_t room = MAX_PAYLOAD;
    if (window) room = unacked + 5 < window ? window - unacked - 5 : 0;
    if (room > MAX_PAYLOAD) room = MAX_PAYLOAD;
    int stdin_waiting = child_in >= 0 && queued(&stdin_queue) > 0;
    struct pollfd fds[4] = {
        /* The queue is bounded by the host (a shoot's stdin is capped); past 16 MiB the relay
         * stops reading the host until the command takes some. */
        {queued(&stdin_queue) > (16u << 20) ? -1 : 0, POLLIN, 0},
        {room ? outputs[0] : -1, POLLIN, 0},
        {room ? outputs[1] : -1, POLLIN, 0},
        {stdin_waiting ? child_in : -1, POLLOUT, 0},
    };
    if (poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      if (read_frame(&type, buf, &len) != 0) {  /* the host went away: leave nothing running */
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
      }
      if (type == 'i' && child_in >= 0 && len > 0) {
        if (queue_append(&stdin_queue, buf, len) != 0) {
          kill(-pid, SIGKILL);
          waitpid(pid, NULL, 0);
          return 1;
        }
      } else if (type == 'E') {
        stdin_eof = 1;
      } else if (type == 'k' && len == 1) {
        kill(-pid, (unsigned char)buf[0]);
      } else if (type == 'A' && len == 4) {
        uint32_t n = be32(buf);
        unacked = n < unacked ? unacked - n : 0;
      }
    }
    if (fds[3].revents) {
      ssize_t w = write(child_in, stdin_queue.data + stdin_queue.at, queued(&stdin_queue));
      if (w > 0) {
        queue_consumed(&stdin_queue, (size_t)w);
      } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
        close(child_in);  /* the command closed its stdin: the rest is dropped */
        child_in = -1;
      }
    }
    if (child_in >= 0 && stdin_eof && queued(&stdin_queue) == 0) {  /* all of stdin is in */
      close(child_in);
      child_in = -1;
    }
    for (int i = 1; i < 3; ++i) {
      if (!fds[i].revents) continue;
      ssize_t r = read(fds[i].fd, out_buf, room);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        close(outputs[i - 1]);
        outputs[i - 1] = -1;  /* poll ignores negative fds */
        continue;
      }
      if (send_frame(i == 1 ? 'o' : 'e', out_buf, (uint32_t)r) != 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
      }
      if (window) unacked += 5 + (unsigned long)r;
      /* The stream read above may have used up the window: the other waits for an ack. */
      break;
    }
  }
  free(stdin_queue.data);
  if (child_in >= 0) close(child_in);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  send_exit(status);
  if (window) wait_for_host_done(buf);
  return 0;
}
