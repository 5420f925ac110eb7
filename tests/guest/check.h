/*
 * check.h - a tiny self-checking harness for Capsule's WASI guest programs.
 *
 * Every check prints one line:
 *     ok - <what>
 *     not ok - <what>: got X want Y
 * and check_finish() returns the exit status: 0 when every check passed, 1 otherwise.
 * Errno values are printed as number and name, e.g. "got 44 (NOENT) want 63 (PERM)".
 *
 * Also here: raw preview1 imports with the exact wasm signatures (for explicit
 * path lengths, embedded NULs and wild pointers), and small helpers.
 */
#ifndef CAPSULE_CHECK_H
#define CAPSULE_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* ---------- reporting ---------- */

static int check_failures = 0;
static int check_total = 0;
/* Where results go. fd_ops switches this to stderr before it renumbers a file over fd 1. */
static FILE *check_out = NULL;

static FILE *check_stream(void) { return check_out ? check_out : stdout; }

static const char *const check_errno_names[] = {
    "SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT", "AGAIN", "ALREADY",
    "BADF", "BADMSG", "BUSY", "CANCELED", "CHILD", "CONNABORTED", "CONNREFUSED", "CONNRESET",
    "DEADLK", "DESTADDRREQ", "DOM", "DQUOT", "EXIST", "FAULT", "FBIG", "HOSTUNREACH",
    "IDRM", "ILSEQ", "INPROGRESS", "INTR", "INVAL", "IO", "ISCONN", "ISDIR",
    "LOOP", "MFILE", "MLINK", "MSGSIZE", "MULTIHOP", "NAMETOOLONG", "NETDOWN", "NETRESET",
    "NETUNREACH", "NFILE", "NOBUFS", "NODEV", "NOENT", "NOEXEC", "NOLCK", "NOLINK",
    "NOMEM", "NOMSG", "NOPROTOOPT", "NOSPC", "NOSYS", "NOTCONN", "NOTDIR", "NOTEMPTY",
    "NOTRECOVERABLE", "NOTSOCK", "NOTSUP", "NOTTY", "NXIO", "OVERFLOW", "OWNERDEAD", "PERM",
    "PIPE", "PROTO", "PROTONOSUPPORT", "PROTOTYPE", "RANGE", "ROFS", "SPIPE", "SRCH",
    "STALE", "TIMEDOUT", "TXTBSY", "XDEV", "NOTCAPABLE",
};

static const char *errno_name(long long e) {
  if (e >= 0 && e < (long long)(sizeof check_errno_names / sizeof check_errno_names[0]))
    return check_errno_names[e];
  return "?";
}

static void check_report(int ok, const char *what, const char *detail) {
  FILE *f = check_stream();
  check_total++;
  if (ok) {
    fprintf(f, "ok - %s\n", what);
  } else {
    check_failures++;
    fprintf(f, "not ok - %s: %s\n", what, detail);
  }
  fflush(f);
}

/* A free-form comment line (not a check). */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void note(const char *fmt, ...) {
  FILE *f = check_stream();
  va_list ap;
  va_start(ap, fmt);
  fputs("# ", f);
  vfprintf(f, fmt, ap);
  fputc('\n', f);
  va_end(ap);
  fflush(f);
}

/* Integers. */
static int check_int(const char *what, long long got, long long want) {
  char detail[96];
  snprintf(detail, sizeof detail, "got %lld want %lld", got, want);
  check_report(got == want, what, detail);
  return got == want;
}

/* Boolean with a free-form explanation of what was seen. */
static int check_true(const char *what, int cond, const char *seen) {
  char detail[160];
  snprintf(detail, sizeof detail, "got %s want true", seen ? seen : "false");
  check_report(cond, what, detail);
  return cond;
}

/* Errno values: `want` exactly. */
static int check_errno(const char *what, long long got, long long want) {
  char detail[96];
  snprintf(detail, sizeof detail, "got %lld (%s) want %lld (%s)", got, errno_name(got), want,
           errno_name(want));
  check_report(got == want, what, detail);
  return got == want;
}

/* Errno values: any of two. */
static int check_errno2(const char *what, long long got, long long want1, long long want2) {
  char detail[128];
  int ok = got == want1 || got == want2;
  snprintf(detail, sizeof detail, "got %lld (%s) want %lld (%s) or %lld (%s)", got, errno_name(got),
           want1, errno_name(want1), want2, errno_name(want2));
  check_report(ok, what, detail);
  return ok;
}

/* Errno values: any of three. */
static int check_errno3(const char *what, long long got, long long w1, long long w2, long long w3) {
  char detail[160];
  int ok = got == w1 || got == w2 || got == w3;
  snprintf(detail, sizeof detail, "got %lld (%s) want %s, %s or %s", got, errno_name(got),
           errno_name(w1), errno_name(w2), errno_name(w3));
  check_report(ok, what, detail);
  return ok;
}

/* Byte strings of known length. */
static int check_bytes(const char *what, const void *got, size_t got_len, const void *want,
                       size_t want_len) {
  char detail[200];
  int ok = got_len == want_len && memcmp(got, want, want_len) == 0;
  snprintf(detail, sizeof detail, "got \"%.*s\" (%zu bytes) want \"%.*s\" (%zu bytes)",
           (int)(got_len > 60 ? 60 : got_len), (const char *)got, got_len,
           (int)(want_len > 60 ? 60 : want_len), (const char *)want, want_len);
  check_report(ok, what, detail);
  return ok;
}

static int check_str(const char *what, const char *got, const char *want) {
  if (got == NULL) return check_true(what, 0, "NULL");
  return check_bytes(what, got, strlen(got), want, strlen(want));
}

/* Prints the totals and returns the exit status for main(). */
static int check_finish(void) {
  FILE *f = check_stream();
  fprintf(f, "# %d checks, %d failed\n", check_total, check_failures);
  fflush(f);
  return check_failures ? 1 : 0;
}

/* ---------- raw preview1 imports (exact wasm signatures) ---------- */

#define RAW_IMPORT(name) \
  __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

RAW_IMPORT(path_open)
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len,
                      int32_t oflags, int64_t rights_base, int64_t rights_inheriting,
                      int32_t fdflags, int32_t fd_out);
RAW_IMPORT(path_filestat_get)
int32_t raw_path_filestat_get(int32_t fd, int32_t flags, int32_t path, int32_t path_len,
                              int32_t buf);
RAW_IMPORT(path_create_directory)
int32_t raw_path_create_directory(int32_t fd, int32_t path, int32_t path_len);
RAW_IMPORT(path_unlink_file)
int32_t raw_path_unlink_file(int32_t fd, int32_t path, int32_t path_len);
RAW_IMPORT(path_readlink)
int32_t raw_path_readlink(int32_t fd, int32_t path, int32_t path_len, int32_t buf,
                          int32_t buf_len, int32_t used_out);
RAW_IMPORT(path_symlink)
int32_t raw_path_symlink(int32_t old_path, int32_t old_len, int32_t fd, int32_t new_path,
                         int32_t new_len);
RAW_IMPORT(fd_write)
int32_t raw_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten_out);
RAW_IMPORT(fd_read)
int32_t raw_fd_read(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nread_out);
RAW_IMPORT(fd_pread)
int32_t raw_fd_pread(int32_t fd, int32_t iovs, int32_t iovs_len, int64_t offset,
                     int32_t nread_out);
RAW_IMPORT(fd_readdir)
int32_t raw_fd_readdir(int32_t fd, int32_t buf, int32_t buf_len, int64_t cookie,
                       int32_t used_out);
RAW_IMPORT(fd_filestat_get)
int32_t raw_fd_filestat_get(int32_t fd, int32_t buf);
RAW_IMPORT(fd_fdstat_get)
int32_t raw_fd_fdstat_get(int32_t fd, int32_t buf);
RAW_IMPORT(fd_prestat_get)
int32_t raw_fd_prestat_get(int32_t fd, int32_t buf);
RAW_IMPORT(fd_prestat_dir_name)
int32_t raw_fd_prestat_dir_name(int32_t fd, int32_t buf, int32_t buf_len);
RAW_IMPORT(fd_seek)
int32_t raw_fd_seek(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset_out);
RAW_IMPORT(args_get)
int32_t raw_args_get(int32_t argv, int32_t argv_buf);
RAW_IMPORT(args_sizes_get)
int32_t raw_args_sizes_get(int32_t argc_out, int32_t buf_size_out);
RAW_IMPORT(environ_get)
int32_t raw_environ_get(int32_t environ, int32_t environ_buf);
RAW_IMPORT(environ_sizes_get)
int32_t raw_environ_sizes_get(int32_t count_out, int32_t buf_size_out);
RAW_IMPORT(clock_time_get)
int32_t raw_clock_time_get(int32_t id, int64_t precision, int32_t time_out);
RAW_IMPORT(clock_res_get)
int32_t raw_clock_res_get(int32_t id, int32_t res_out);
RAW_IMPORT(poll_oneoff)
int32_t raw_poll_oneoff(int32_t in, int32_t out, int32_t nsubscriptions, int32_t nevents_out);
RAW_IMPORT(random_get)
int32_t raw_random_get(int32_t buf, int32_t buf_len);
RAW_IMPORT(proc_raise)
int32_t raw_proc_raise(int32_t sig);

/* ---------- helpers ---------- */

#define PTR(p) ((int32_t)(uintptr_t)(p))

/* Size of linear memory 0 in bytes; the first address that is out of bounds. */
static uint32_t mem_end(void) { return (uint32_t)__builtin_wasm_memory_size(0) * 65536u; }

/* Every right there is: the host may hand out fewer (rights are being phased out). */
#define ALL_RIGHTS ((__wasi_rights_t)0x1fffffff)

/* Finds the preopened directory whose name is `name`; -1 when there is none. */
static int find_preopen(const char *name) {
  for (int fd = 3; fd < 64; fd++) {
    __wasi_prestat_t ps;
    if (__wasi_fd_prestat_get((__wasi_fd_t)fd, &ps) != 0) continue;
    if (ps.tag != __WASI_PREOPENTYPE_DIR) continue;
    size_t len = ps.u.dir.pr_name_len;
    char buf[256];
    if (len >= sizeof buf) continue;
    if (__wasi_fd_prestat_dir_name((__wasi_fd_t)fd, (uint8_t *)buf, len) != 0) continue;
    buf[len] = '\0';
    /* Some hosts report the name with a trailing NUL included. */
    while (len > 0 && buf[len - 1] == '\0') buf[--len] = '\0';
    if (strcmp(buf, name) == 0) return fd;
  }
  return -1;
}

/* The preopen or a hard failure with a clear message (exit 2: the runner is misconfigured). */
static int need_preopen(const char *name) {
  int fd = find_preopen(name);
  if (fd < 0) {
    fprintf(stderr, "this program needs a preopened directory at %s (e.g. --dir HOST::%s)\n", name,
            name);
    exit(2);
  }
  return fd;
}

/* The rights to ask for when opening below dirfd: what the directory lets its
   children have (like wasi-libc does). Hosts that still enforce rights refuse
   requests beyond that with ENOTCAPABLE. */
static __wasi_rights_t rights_below(int dirfd) {
  __wasi_fdstat_t st;
  if (__wasi_fd_fdstat_get((__wasi_fd_t)dirfd, &st) != 0) return ALL_RIGHTS;
  return st.fs_rights_inheriting;
}

/* The rights that only make sense for writing. Like wasi-libc's open(O_RDONLY),
   read-only opens leave them out (some hosts open the host file O_RDWR when
   FD_WRITE is asked for, which fails on directories). */
#define WRITE_RIGHTS                                                                    \
  (__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE |    \
   __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)

/* path_open asking for exactly `base` rights (inheriting: what the directory allows). */
static __wasi_errno_t open_at_rights(int dirfd, const char *path, __wasi_lookupflags_t lookup,
                                     __wasi_oflags_t oflags, __wasi_rights_t base,
                                     __wasi_fdflags_t fdflags, int *fd_out) {
  __wasi_fd_t fd = (__wasi_fd_t)-1;
  __wasi_rights_t inh = rights_below(dirfd);
  __wasi_errno_t e =
      __wasi_path_open((__wasi_fd_t)dirfd, lookup, path, oflags, base & inh, inh, fdflags, &fd);
  if (fd_out) *fd_out = e == 0 ? (int)fd : -1;
  return e;
}

/* path_open with sensible defaults: read-write when creating, truncating or
   appending, read-only otherwise. Returns the errno, stores the fd (or -1). */
static __wasi_errno_t open_at(int dirfd, const char *path, __wasi_lookupflags_t lookup,
                              __wasi_oflags_t oflags, __wasi_fdflags_t fdflags, int *fd_out) {
  __wasi_fd_t fd = (__wasi_fd_t)-1;
  __wasi_rights_t r = rights_below(dirfd);
  int writing = (oflags & (__WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC)) ||
                (fdflags & __WASI_FDFLAGS_APPEND);
  __wasi_rights_t base = writing ? r : (r & ~(__wasi_rights_t)WRITE_RIGHTS);
  __wasi_errno_t e =
      __wasi_path_open((__wasi_fd_t)dirfd, lookup, path, oflags, base, r, fdflags, &fd);
  if (fd_out) *fd_out = e == 0 ? (int)fd : -1;
  return e;
}

/* Writes a whole file (create or truncate); returns the errno. */
static __wasi_errno_t write_file(int dirfd, const char *path, const char *data) {
  int fd;
  __wasi_errno_t e = open_at(dirfd, path, 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0, &fd);
  if (e) return e;
  size_t len = strlen(data);
  __wasi_ciovec_t iov = {(const uint8_t *)data, len};
  __wasi_size_t n = 0;
  e = __wasi_fd_write((__wasi_fd_t)fd, &iov, 1, &n);
  if (!e && n != len) e = __WASI_ERRNO_IO;
  __wasi_errno_t c = __wasi_fd_close((__wasi_fd_t)fd);
  return e ? e : c;
}

/* Reads up to cap-1 bytes of a file into buf (NUL-terminated); returns the errno. */
static __wasi_errno_t read_file(int dirfd, const char *path, char *buf, size_t cap,
                                size_t *len_out) {
  int fd;
  __wasi_errno_t e = open_at(dirfd, path, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, 0, &fd);
  size_t total = 0;
  if (e) return e;
  while (total + 1 < cap) {
    __wasi_iovec_t iov = {(uint8_t *)buf + total, cap - 1 - total};
    __wasi_size_t n = 0;
    e = __wasi_fd_read((__wasi_fd_t)fd, &iov, 1, &n);
    if (e || n == 0) break;
    total += n;
  }
  buf[total] = '\0';
  if (len_out) *len_out = total;
  __wasi_errno_t c = __wasi_fd_close((__wasi_fd_t)fd);
  return e ? e : c;
}

#endif
