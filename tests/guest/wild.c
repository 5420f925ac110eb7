/*
 * wild: wild pointers and lengths. Every call must fail with EFAULT (or
 * EINVAL/EOVERFLOW where a length overflows), never trap or crash the host,
 * and the program keeps running. Needs /sandbox.
 */
#include "check.h"

static int32_t END;  /* first out-of-bounds address */
static int32_t EDGE; /* 2 bytes before the end: anything of 4+ bytes straddles it */
static const int32_t FAR = (int32_t)0xfffffff0u;

static void fault(const char *what, int32_t e) { check_errno(what, e, __WASI_ERRNO_FAULT); }
static void fault_or_overflow(const char *what, int32_t e) {
  check_errno3(what, e, __WASI_ERRNO_FAULT, __WASI_ERRNO_OVERFLOW, __WASI_ERRNO_INVAL);
}

int main(void) {
  int S = need_preopen("/sandbox");
  END = (int32_t)mem_end();
  EDGE = END - 2;
  note("memory ends at %u", (unsigned)END);

  int fd = -1;
  check_errno("create wild.txt", open_at_rights(S, "wild.txt", 0, __WASI_OFLAGS_CREAT, ALL_RIGHTS, 0, &fd), 0);
  static __wasi_size_t n;
  static __wasi_ciovec_t ciov[2];
  static char data[] = "0123456789";

  /* fd_write */
  fault("fd_write: iovec array out of bounds", raw_fd_write(fd, FAR, 1, PTR(&n)));
  fault("fd_write: iovec array straddles the end", raw_fd_write(fd, EDGE, 1, PTR(&n)));
  ciov[0].buf = (const uint8_t *)(uintptr_t)(uint32_t)FAR;
  ciov[0].buf_len = 4;
  fault("fd_write: buffer out of bounds", raw_fd_write(fd, PTR(ciov), 1, PTR(&n)));
  ciov[0].buf = (const uint8_t *)(uintptr_t)(uint32_t)EDGE;
  ciov[0].buf_len = 16;
  fault("fd_write: buffer straddles the end", raw_fd_write(fd, PTR(ciov), 1, PTR(&n)));
  ciov[0].buf = (const uint8_t *)data;
  ciov[0].buf_len = 4;
  fault("fd_write: result pointer out of bounds", raw_fd_write(fd, PTR(ciov), 1, FAR));
  fault_or_overflow("fd_write: iovec count overflows", raw_fd_write(fd, PTR(ciov), 0x20000001, PTR(&n)));
  ciov[0].buf = (const uint8_t *)data;
  ciov[0].buf_len = 0xfffffff0u;
  ciov[1].buf = (const uint8_t *)data;
  ciov[1].buf_len = 0x20;
  fault_or_overflow("fd_write: total length overflows u32", raw_fd_write(fd, PTR(ciov), 2, PTR(&n)));
  ciov[0].buf_len = 0x80000000u;
  ciov[1].buf_len = 0x80000000u;
  fault_or_overflow("fd_write: total length exactly 2^32", raw_fd_write(fd, PTR(ciov), 2, PTR(&n)));

  /* fd_read */
  static __wasi_iovec_t iov;
  static __wasi_filesize_t pos;
  (void)__wasi_fd_seek((__wasi_fd_t)fd, 0, __WASI_WHENCE_SET, &pos);
  iov.buf = (uint8_t *)(uintptr_t)(uint32_t)EDGE;
  iov.buf_len = 16;
  static __wasi_ciovec_t good;
  good.buf = (const uint8_t *)data;
  good.buf_len = 10;
  check_errno("setup: write 10 good bytes", raw_fd_write(fd, PTR(&good), 1, PTR(&n)), 0);
  (void)__wasi_fd_seek((__wasi_fd_t)fd, 0, __WASI_WHENCE_SET, &pos);
  fault("fd_read: buffer straddles the end", raw_fd_read(fd, PTR(&iov), 1, PTR(&n)));
  iov.buf = (uint8_t *)(uintptr_t)(uint32_t)FAR;
  fault("fd_read: buffer out of bounds", raw_fd_read(fd, PTR(&iov), 1, PTR(&n)));
  fault("fd_read: iovec array out of bounds", raw_fd_read(fd, FAR, 1, PTR(&n)));
  iov.buf = (uint8_t *)data;
  iov.buf_len = 2;
  fault("fd_read: result pointer out of bounds", raw_fd_read(fd, PTR(&iov), 1, FAR));
  iov.buf = (uint8_t *)(uintptr_t)(uint32_t)FAR;
  iov.buf_len = 16;
  fault("fd_pread: buffer out of bounds", raw_fd_pread(fd, PTR(&iov), 1, 0, PTR(&n)));

  /* path_open */
  static int32_t ofd;
  int64_t r = (int64_t)rights_below(S);
  fault("path_open: path pointer out of bounds", raw_path_open(S, 0, FAR, 4, 0, r, r, 0, PTR(&ofd)));
  fault("path_open: path straddles the end", raw_path_open(S, 0, EDGE, 8, 0, r, r, 0, PTR(&ofd)));
  fault_or_overflow("path_open: path length 0xffffffff",
                    raw_path_open(S, 0, PTR("wild.txt"), -1, 0, r, r, 0, PTR(&ofd)));
  fault("path_open: result pointer out of bounds",
        raw_path_open(S, 0, PTR("wild.txt"), 8, 0, r, r, 0, FAR));
  static __wasi_filestat_t st;
  fault("path_filestat_get: path out of bounds", raw_path_filestat_get(S, 0, FAR, 4, PTR(&st)));
  fault("path_filestat_get: result out of bounds", raw_path_filestat_get(S, 0, PTR("wild.txt"), 8, EDGE));
  fault("path_create_directory: path out of bounds", raw_path_create_directory(S, FAR, 3));
  fault("path_unlink_file: path out of bounds", raw_path_unlink_file(S, EDGE, 16));
  fault("path_symlink: target out of bounds", raw_path_symlink(FAR, 4, S, PTR("sl"), 2));
  check_errno("path_symlink sl -> wild.txt", raw_path_symlink(PTR("wild.txt"), 8, S, PTR("sl"), 2), 0);
  fault("path_readlink: buffer out of bounds", raw_path_readlink(S, PTR("sl"), 2, FAR, 16, PTR(&n)));
  fault("path_readlink: buffer straddles the end", raw_path_readlink(S, PTR("sl"), 2, EDGE, 16, PTR(&n)));
  fault("fd_filestat_get: result straddles the end", raw_fd_filestat_get(fd, EDGE));
  fault("fd_fdstat_get: result out of bounds", raw_fd_fdstat_get(fd, FAR));
  fault("fd_seek: result out of bounds", raw_fd_seek(fd, 0, 0, FAR));
  fault("fd_prestat_get: result out of bounds", raw_fd_prestat_get(S, FAR));
  fault("fd_prestat_dir_name: buffer out of bounds", raw_fd_prestat_dir_name(S, FAR, 8));

  /* args / environ */
  fault("args_sizes_get: results out of bounds", raw_args_sizes_get(FAR, FAR));
  fault("args_sizes_get: second result straddles", raw_args_sizes_get(PTR(&n), EDGE));
  static char buf[4096];
  static int32_t ptrs[64];
  fault("args_get: argv array out of bounds", raw_args_get(FAR, PTR(buf)));
  fault("args_get: string buffer out of bounds", raw_args_get(PTR(ptrs), FAR));
  fault("args_get: string buffer straddles the end", raw_args_get(PTR(ptrs), EDGE));
  fault("environ_sizes_get: results out of bounds", raw_environ_sizes_get(FAR, FAR));
  fault("environ_get: array out of bounds", raw_environ_get(FAR, PTR(buf)));
  fault("environ_get: buffer out of bounds", raw_environ_get(PTR(ptrs), FAR));

  /* fd_readdir */
  fault("fd_readdir: buffer out of bounds", raw_fd_readdir(S, FAR, 256, 0, PTR(&n)));
  fault("fd_readdir: buffer straddles the end", raw_fd_readdir(S, EDGE, 256, 0, PTR(&n)));
  fault("fd_readdir: result out of bounds", raw_fd_readdir(S, PTR(buf), 256, 0, FAR));

  /* clocks, random, poll */
  fault("clock_time_get: result out of bounds", raw_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, FAR));
  fault("clock_time_get: result straddles the end", raw_clock_time_get(__WASI_CLOCKID_REALTIME, 1, EDGE));
  fault("clock_res_get: result out of bounds", raw_clock_res_get(__WASI_CLOCKID_MONOTONIC, FAR));
  fault("random_get: buffer out of bounds", raw_random_get(FAR, 8));
  fault("random_get: buffer straddles the end", raw_random_get(EDGE, 64));
  fault_or_overflow("random_get: length 0xffffffff", raw_random_get(PTR(buf), -1));
  static __wasi_subscription_t sub;
  static __wasi_event_t ev;
  sub.u.tag = __WASI_EVENTTYPE_CLOCK;
  sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub.u.u.clock.timeout = 1000;
  fault("poll_oneoff: subscriptions out of bounds", raw_poll_oneoff(FAR, PTR(&ev), 1, PTR(&n)));
  fault("poll_oneoff: events out of bounds", raw_poll_oneoff(PTR(&sub), FAR, 1, PTR(&n)));
  fault("poll_oneoff: result out of bounds", raw_poll_oneoff(PTR(&sub), PTR(&ev), 1, FAR));
  fault_or_overflow("poll_oneoff: subscription count overflows",
                    raw_poll_oneoff(PTR(&sub), PTR(&ev), 0x10000000, PTR(&n)));

  /* Still alive and working. */
  __wasi_timestamp_t t = 0;
  check_errno("clock_time_get still works", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t), 0);
  char back[16];
  size_t len = 0;
  check_errno("read wild.txt", read_file(S, "wild.txt", back, sizeof back, &len), 0);
  check_true("wild.txt holds the good write", len >= 10 && memcmp(back, data, 10) == 0, "other content");
  (void)__wasi_fd_close((__wasi_fd_t)fd);
  return check_finish();
}
