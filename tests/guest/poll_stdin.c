/*
 * poll_stdin.c - waits for stdin with poll_oneoff and a clock timeout, the
 * way an event loop does:
 *     round 1: wait up to 300 ms; prints "timeout" or "ready"
 *     then reads one line and prints "got <line>"
 *     round 2: wait up to 10 s; prints "timeout" or "ready" (a test sends a line meanwhile)
 *     then reads and prints it; exits 0.
 */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static const char *wait_stdin(__wasi_timestamp_t timeout_ns) {
  __wasi_subscription_t subs[2];
  memset(subs, 0, sizeof subs);
  subs[0].userdata = 1;
  subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
  subs[0].u.u.fd_read.file_descriptor = 0;
  subs[1].userdata = 2;
  subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[1].u.u.clock.timeout = timeout_ns;
  __wasi_event_t events[2];
  __wasi_size_t n = 0;
  __wasi_errno_t err = __wasi_poll_oneoff(subs, events, 2, &n);
  if (err != 0) return "error";
  for (__wasi_size_t i = 0; i < n; i++)
    if (events[i].userdata == 1) return "ready";
  return "timeout";
}

static void read_line(void) {
  char line[256];
  if (fgets(line, sizeof line, stdin)) printf("got %s", line);
  else printf("eof\n");
  fflush(stdout);
}

int main(void) {
  printf("%s\n", wait_stdin(300000000ull));
  fflush(stdout);
  read_line();
  printf("%s\n", wait_stdin(10000000000ull));
  fflush(stdout);
  read_line();
  return 0;
}
