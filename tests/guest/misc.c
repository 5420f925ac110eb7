/*
 * misc: args, environ, clocks, random, sched_yield, poll_oneoff, sockets, proc_raise.
 * Run with: --env A=1 --env B=two misc.wasm -- alpha "two words" "" ünï
 * (exactly those two variables, exactly those four arguments). Needs /sandbox.
 */
#include "check.h"

static const char *const want_args[] = {"alpha", "two words", "", "\xc3\xbcn\xc3\xaf"};
#define NWANT 4

static __wasi_timestamp_t now(__wasi_clockid_t id) {
  __wasi_timestamp_t t = 0;
  if (__wasi_clock_time_get(id, 1, &t) != 0) return 0;
  return t;
}

static void test_args(void) {
  __wasi_size_t argc = 0, bufsize = 0;
  check_errno("args_sizes_get", __wasi_args_sizes_get(&argc, &bufsize), 0);
  check_int("argc (program name + 4)", argc, NWANT + 1);
  char **argv = calloc(argc + 1, sizeof *argv);
  char *buf = malloc(bufsize + 1);
  memset(buf, 'X', bufsize + 1);
  check_errno("args_get", __wasi_args_get((uint8_t **)argv, (uint8_t *)buf), 0);
  size_t total = 0;
  for (size_t i = 0; i < argc; i++) total += strlen(argv[i]) + 1;
  check_int("args buffer size = sum of lengths + NULs", (long long)total, bufsize);
  check_int("args_get writes nothing past the buffer", buf[bufsize], 'X');
  for (int i = 0; i < NWANT && (size_t)i + 1 < argc; i++) {
    char what[48];
    snprintf(what, sizeof what, "argv[%d]", i + 1);
    check_str(what, argv[i + 1], want_args[i]);
  }
  free(argv);
  free(buf);
}

static void test_environ(void) {
  __wasi_size_t count = 0, bufsize = 0;
  check_errno("environ_sizes_get", __wasi_environ_sizes_get(&count, &bufsize), 0);
  check_int("environ has exactly 2 entries", count, 2);
  check_int("environ buffer size (\"A=1\\0B=two\\0\")", bufsize, 10);
  char **env = calloc(count + 1, sizeof *env);
  char *buf = malloc(bufsize + 1);
  check_errno("environ_get", __wasi_environ_get((uint8_t **)env, (uint8_t *)buf), 0);
  int a = 0, b = 0, other = 0;
  for (size_t i = 0; i < count; i++) {
    if (strcmp(env[i], "A=1") == 0) a++;
    else if (strcmp(env[i], "B=two") == 0) b++;
    else other++;
  }
  check_true("environ has A=1", a == 1, "missing");
  check_true("environ has B=two", b == 1, "missing");
  check_int("environ has nothing else", other, 0);
  check_str("getenv(\"B\")", getenv("B"), "two");
  free(env);
  free(buf);
}

static void test_clocks(void) {
  static const struct {
    __wasi_clockid_t id;
    const char *name;
  } clocks[] = {
      {__WASI_CLOCKID_REALTIME, "realtime"},
      {__WASI_CLOCKID_MONOTONIC, "monotonic"},
      {__WASI_CLOCKID_PROCESS_CPUTIME_ID, "process cputime"},
      {__WASI_CLOCKID_THREAD_CPUTIME_ID, "thread cputime"},
  };
  char what[80];
  for (int i = 0; i < 4; i++) {
    __wasi_timestamp_t res = 0, t = 0;
    snprintf(what, sizeof what, "clock_res_get %s", clocks[i].name);
    check_errno(what, __wasi_clock_res_get(clocks[i].id, &res), 0);
    snprintf(what, sizeof what, "clock_res_get %s: 0 < res <= 1 s", clocks[i].name);
    check_true(what, res > 0 && res <= 1000000000ull, "out of range");
    snprintf(what, sizeof what, "clock_time_get %s", clocks[i].name);
    check_errno(what, __wasi_clock_time_get(clocks[i].id, 1, &t), 0);
  }
  /* Realtime is after 2020 and before 2100. */
  __wasi_timestamp_t rt = now(__WASI_CLOCKID_REALTIME);
  check_true("realtime is a plausible date", rt > 1577836800000000000ull && rt < 4102444800000000000ull,
             "implausible");
  __wasi_timestamp_t m1 = now(__WASI_CLOCKID_MONOTONIC);
  __wasi_timestamp_t c1 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
  volatile uint64_t x = 0;
  for (int i = 0; i < 5000000; i++) x += (uint64_t)i;
  if (x == 1) note("unlikely");
  __wasi_timestamp_t m2 = now(__WASI_CLOCKID_MONOTONIC);
  __wasi_timestamp_t c2 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
  check_true("monotonic increases", m2 > m1, "not increasing");
  check_true("process cputime does not go back", c2 >= c1, "went back");
  __wasi_timestamp_t t;
  check_errno("clock_time_get invalid id 4 -> EINVAL", __wasi_clock_time_get(4, 1, &t),
              __WASI_ERRNO_INVAL);
  check_errno("clock_time_get invalid id 1000 -> EINVAL", __wasi_clock_time_get(1000, 1, &t),
              __WASI_ERRNO_INVAL);
  check_errno("clock_res_get invalid id -> EINVAL", __wasi_clock_res_get(99, &t),
              __WASI_ERRNO_INVAL);
}

static void test_random(void) {
  uint8_t a[64], b[64];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  check_errno("random_get 64", __wasi_random_get(a, sizeof a), 0);
  check_errno("random_get 64 again", __wasi_random_get(b, sizeof b), 0);
  int nonzero = 0;
  for (size_t i = 0; i < sizeof a; i++) nonzero += a[i] != 0;
  check_true("random bytes are not all zero", nonzero > 8, "mostly zero");
  check_true("two random draws differ", memcmp(a, b, sizeof a) != 0, "identical");
  check_errno("random_get 0 bytes", __wasi_random_get(a, 0), 0);
  static uint8_t big[100000];
  check_errno("random_get 100000 bytes", __wasi_random_get(big, sizeof big), 0);
  check_errno("sched_yield", __wasi_sched_yield(), 0);
}

static void test_poll(int S) {
  __wasi_subscription_t subs[2];
  __wasi_event_t evs[2];
  __wasi_size_t n = 99;
  memset(subs, 0, sizeof subs);
  memset(evs, 0, sizeof evs);
  check_errno("poll_oneoff with 0 subscriptions -> EINVAL", __wasi_poll_oneoff(subs, evs, 0, &n),
              __WASI_ERRNO_INVAL);

  /* Relative 10 ms. */
  subs[0].userdata = 0x1122334455667788ull;
  subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[0].u.u.clock.timeout = 10000000; /* 10 ms */
  subs[0].u.u.clock.precision = 0;
  subs[0].u.u.clock.flags = 0;
  __wasi_timestamp_t t0 = now(__WASI_CLOCKID_MONOTONIC);
  check_errno("poll_oneoff relative 10 ms", __wasi_poll_oneoff(subs, evs, 1, &n), 0);
  __wasi_timestamp_t t1 = now(__WASI_CLOCKID_MONOTONIC);
  check_int("poll_oneoff relative: 1 event", n, 1);
  check_int("poll_oneoff relative: userdata echoed", (long long)evs[0].userdata,
            (long long)0x1122334455667788ull);
  check_int("poll_oneoff relative: event type CLOCK", evs[0].type, __WASI_EVENTTYPE_CLOCK);
  check_errno("poll_oneoff relative: event error", evs[0].error, 0);
  char seen[64];
  snprintf(seen, sizeof seen, "waited %llu ns", (unsigned long long)(t1 - t0));
  check_true("poll_oneoff relative: waited >= 10 ms", t1 - t0 >= 10000000ull, seen);
  check_true("poll_oneoff relative: waited < 2 s", t1 - t0 < 2000000000ull, seen);

  /* Absolute monotonic: now + 15 ms. */
  __wasi_timestamp_t target = now(__WASI_CLOCKID_MONOTONIC) + 15000000ull;
  subs[0].userdata = 7;
  subs[0].u.u.clock.timeout = target;
  subs[0].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
  check_errno("poll_oneoff absolute monotonic", __wasi_poll_oneoff(subs, evs, 1, &n), 0);
  __wasi_timestamp_t t2 = now(__WASI_CLOCKID_MONOTONIC);
  check_int("poll_oneoff absolute: 1 event", n, 1);
  check_int("poll_oneoff absolute: userdata", (long long)evs[0].userdata, 7);
  snprintf(seen, sizeof seen, "woke %lld ns before the deadline", (long long)(target - t2));
  check_true("poll_oneoff absolute: woke at or after the deadline", t2 >= target, seen);

  /* An absolute deadline in the past returns at once. */
  subs[0].u.u.clock.timeout = 1;
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  check_errno("poll_oneoff absolute in the past", __wasi_poll_oneoff(subs, evs, 1, &n), 0);
  t1 = now(__WASI_CLOCKID_MONOTONIC);
  check_true("poll_oneoff absolute in the past: at once (< 1 s)", t1 - t0 < 1000000000ull, "slow");

  /* fd_read on a regular file is ready at once, even beside a 5 s clock. */
  check_errno("write poll.txt", write_file(S, "poll.txt", "some data"), 0);
  int fd = -1;
  check_errno("open poll.txt", open_at(S, "poll.txt", 0, 0, 0, &fd), 0);
  memset(subs, 0, sizeof subs);
  subs[0].userdata = 42;
  subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
  subs[0].u.u.fd_read.file_descriptor = (__wasi_fd_t)fd;
  subs[1].userdata = 43;
  subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[1].u.u.clock.timeout = 5000000000ull;
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  check_errno("poll_oneoff fd_read on a file + 5 s clock", __wasi_poll_oneoff(subs, evs, 2, &n), 0);
  t1 = now(__WASI_CLOCKID_MONOTONIC);
  snprintf(seen, sizeof seen, "took %llu ns", (unsigned long long)(t1 - t0));
  check_true("poll_oneoff fd_read on a file: ready at once (< 1 s)", t1 - t0 < 1000000000ull, seen);
  int found = 0;
  for (__wasi_size_t i = 0; i < n && i < 2; i++) {
    if (evs[i].userdata == 42) {
      found = 1;
      check_int("poll_oneoff fd_read: event type FD_READ", evs[i].type, __WASI_EVENTTYPE_FD_READ);
      check_errno("poll_oneoff fd_read: event error", evs[i].error, 0);
    }
  }
  check_true("poll_oneoff fd_read: the file's event is reported", found, "absent");

  /* fd_read on a bad fd: an event with error EBADF (or the call fails with EBADF). */
  subs[0].u.u.fd_read.file_descriptor = 4321;
  subs[1].u.u.clock.timeout = 1000000; /* 1 ms */
  __wasi_errno_t e = __wasi_poll_oneoff(subs, evs, 2, &n);
  int badf = e == __WASI_ERRNO_BADF;
  for (__wasi_size_t i = 0; e == 0 && i < n && i < 2; i++)
    if (evs[i].userdata == 42 && evs[i].error == __WASI_ERRNO_BADF) badf = 1;
  check_true("poll_oneoff fd_read on a bad fd reports EBADF", badf, "no EBADF");

  /* Sockets: none here. */
  __wasi_iovec_t riov = {(uint8_t *)seen, 4};
  __wasi_ciovec_t siov = {(const uint8_t *)"x", 1};
  __wasi_size_t cnt;
  __wasi_roflags_t rof;
  __wasi_fd_t nfd;
  check_errno("sock_recv on a file -> ENOTSOCK", __wasi_sock_recv((__wasi_fd_t)fd, &riov, 1, 0, &cnt, &rof),
              __WASI_ERRNO_NOTSOCK);
  check_errno("sock_send on a file -> ENOTSOCK", __wasi_sock_send((__wasi_fd_t)fd, &siov, 1, 0, &cnt),
              __WASI_ERRNO_NOTSOCK);
  check_errno("sock_shutdown on a file -> ENOTSOCK", __wasi_sock_shutdown((__wasi_fd_t)fd, __WASI_SDFLAGS_RD),
              __WASI_ERRNO_NOTSOCK);
  check_errno("sock_accept on a file -> ENOTSOCK", __wasi_sock_accept((__wasi_fd_t)fd, 0, &nfd),
              __WASI_ERRNO_NOTSOCK);
  check_errno("sock_recv on a bad fd -> EBADF", __wasi_sock_recv(4321, &riov, 1, 0, &cnt, &rof),
              __WASI_ERRNO_BADF);
  check_errno("sock_send on a bad fd -> EBADF", __wasi_sock_send(4321, &siov, 1, 0, &cnt), __WASI_ERRNO_BADF);
  check_errno("sock_shutdown on a bad fd -> EBADF", __wasi_sock_shutdown(4321, __WASI_SDFLAGS_RD),
              __WASI_ERRNO_BADF);
  check_errno("sock_accept on a bad fd -> EBADF", __wasi_sock_accept(4321, 0, &nfd), __WASI_ERRNO_BADF);
  (void)__wasi_fd_close((__wasi_fd_t)fd);
}

int main(void) {
  int S = need_preopen("/sandbox");
  test_args();
  test_environ();
  test_clocks();
  test_random();
  test_poll(S);
  int status = check_finish();
  /* proc_raise is not in wasi-libc's header any more; whatever the host
     answers is printed, not judged. Signal 0 (NONE) must not kill anyone. */
  fflush(stdout);
  int32_t r = raw_proc_raise(0);
  note("proc_raise(0) -> %d (%s)", (int)r, errno_name(r));
  return status;
}
