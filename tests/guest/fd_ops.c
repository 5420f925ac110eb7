/*
 * fd_ops: the fd_* calls on files and directories in a fresh writable /sandbox.
 * The last part renumbers a file over fd 1, so from there on results go to stderr.
 */
#include "check.h"

static int S;

static __wasi_size_t wr(int fd, const char *s) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  __wasi_size_t n = 0;
  if (__wasi_fd_write((__wasi_fd_t)fd, &iov, 1, &n) != 0) return (__wasi_size_t)-1;
  return n;
}

static __wasi_filesize_t size_of(int fd) {
  __wasi_filestat_t st;
  if (__wasi_fd_filestat_get((__wasi_fd_t)fd, &st) != 0) return (__wasi_filesize_t)-1;
  return st.size;
}

static __wasi_filesize_t tell(int fd) {
  __wasi_filesize_t pos = 0;
  if (__wasi_fd_tell((__wasi_fd_t)fd, &pos) != 0) return (__wasi_filesize_t)-1;
  return pos;
}

static int open_rw(const char *path, __wasi_oflags_t of, __wasi_fdflags_t ff) {
  int fd = -1;
  __wasi_errno_t e = open_at_rights(S, path, 0, of, ALL_RIGHTS, ff, &fd);
  if (e) {
    char what[96];
    snprintf(what, sizeof what, "open %s", path);
    check_errno(what, e, 0);
  }
  return fd;
}

static void test_read_write_seek(void) {
  int fd = open_rw("rw.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0);
  if (fd < 0) return;
  __wasi_fd_t f = (__wasi_fd_t)fd;
  check_int("fd_write 10 bytes", wr(fd, "0123456789"), 10);
  check_int("fd_tell after write", (long long)tell(fd), 10);

  /* Vectored write. */
  __wasi_ciovec_t iovs[3] = {{(const uint8_t *)"ab", 2}, {(const uint8_t *)"", 0},
                             {(const uint8_t *)"cde", 3}};
  __wasi_size_t n = 0;
  check_errno("fd_write 3 iovecs", __wasi_fd_write(f, iovs, 3, &n), 0);
  check_int("fd_write 3 iovecs: count", n, 5);

  __wasi_filesize_t pos = 99;
  check_errno("fd_seek SET 0", __wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos), 0);
  check_int("fd_seek SET 0: offset", (long long)pos, 0);
  char buf[32];
  __wasi_iovec_t riov[2] = {{(uint8_t *)buf, 4}, {(uint8_t *)buf + 4, 3}};
  check_errno("fd_read 2 iovecs", __wasi_fd_read(f, riov, 2, &n), 0);
  check_bytes("fd_read 2 iovecs: data", buf, n, "0123456", 7);
  check_errno("fd_seek CUR +2", __wasi_fd_seek(f, 2, __WASI_WHENCE_CUR, &pos), 0);
  check_int("fd_seek CUR +2: offset", (long long)pos, 9);
  check_errno("fd_seek CUR -3", __wasi_fd_seek(f, -3, __WASI_WHENCE_CUR, &pos), 0);
  check_int("fd_seek CUR -3: offset", (long long)pos, 6);
  check_errno("fd_seek END -2", __wasi_fd_seek(f, -2, __WASI_WHENCE_END, &pos), 0);
  check_int("fd_seek END -2: offset", (long long)pos, 13);
  __wasi_iovec_t one = {(uint8_t *)buf, sizeof buf};
  check_errno("fd_read at END-2", __wasi_fd_read(f, &one, 1, &n), 0);
  check_bytes("fd_read at END-2: data", buf, n, "de", 2);
  check_errno("fd_read at EOF", __wasi_fd_read(f, &one, 1, &n), 0);
  check_int("fd_read at EOF: 0 bytes", n, 0);
  check_errno("fd_seek to a negative offset -> EINVAL",
              __wasi_fd_seek(f, -100, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_INVAL);
  check_errno("fd_seek CUR before start -> EINVAL", __wasi_fd_seek(f, -100, __WASI_WHENCE_CUR, &pos),
              __WASI_ERRNO_INVAL);
  check_int("fd_tell unchanged after failed seeks", (long long)tell(fd), 15);
  check_errno("fd_seek invalid whence -> EINVAL", __wasi_fd_seek(f, 0, 7, &pos),
              __WASI_ERRNO_INVAL);
  check_errno("fd_seek past the end", __wasi_fd_seek(f, 20, __WASI_WHENCE_SET, &pos), 0);
  check_int("write past the end", wr(fd, "Z"), 1);
  check_int("size after a write past the end (hole)", (long long)size_of(fd), 21);

  /* pread/pwrite do not move the cursor. */
  check_errno("fd_seek SET 3", __wasi_fd_seek(f, 3, __WASI_WHENCE_SET, &pos), 0);
  __wasi_iovec_t piov = {(uint8_t *)buf, 4};
  check_errno("fd_pread at 5", __wasi_fd_pread(f, &piov, 1, 5, &n), 0);
  check_bytes("fd_pread at 5: data", buf, n, "5678", 4);
  check_int("fd_pread keeps the cursor", (long long)tell(fd), 3);
  __wasi_ciovec_t pw = {(const uint8_t *)"XY", 2};
  check_errno("fd_pwrite at 1", __wasi_fd_pwrite(f, &pw, 1, 1, &n), 0);
  check_int("fd_pwrite count", n, 2);
  check_int("fd_pwrite keeps the cursor", (long long)tell(fd), 3);
  check_errno("fd_pread at 0", __wasi_fd_pread(f, &piov, 1, 0, &n), 0);
  check_bytes("fd_pread sees the pwrite", buf, n, "0XY3", 4);
  check_errno("fd_pread past EOF", __wasi_fd_pread(f, &piov, 1, 1000, &n), 0);
  check_int("fd_pread past EOF: 0 bytes", n, 0);

  /* fdstat */
  __wasi_fdstat_t fs;
  check_errno("fd_fdstat_get", __wasi_fd_fdstat_get(f, &fs), 0);
  check_int("fd_fdstat_get: REGULAR_FILE", fs.fs_filetype, __WASI_FILETYPE_REGULAR_FILE);
  check_int("fd_fdstat_get: no flags", fs.fs_flags, 0);

  /* advise, allocate, set_size, sync */
  check_errno("fd_advise SEQUENTIAL", __wasi_fd_advise(f, 0, 10, __WASI_ADVICE_SEQUENTIAL), 0);
  check_errno("fd_advise DONTNEED", __wasi_fd_advise(f, 0, 0, __WASI_ADVICE_DONTNEED), 0);
  check_errno("fd_advise invalid advice 9 -> EINVAL", __wasi_fd_advise(f, 0, 10, 9),
              __WASI_ERRNO_INVAL);
  __wasi_errno_t e = __wasi_fd_allocate(f, 0, 100);
  if (e == __WASI_ERRNO_NOTSUP) {
    note("fd_allocate -> ENOTSUP (recent wasmtime answers this too)");
    check_int("fd_allocate ENOTSUP leaves the size", (long long)size_of(fd), 21);
  } else {
    check_errno("fd_allocate 0..100", e, 0);
    check_int("fd_allocate grows the size", (long long)size_of(fd), 100);
    check_errno("fd_allocate inside the file", __wasi_fd_allocate(f, 0, 5), 0);
    check_int("fd_allocate inside the file keeps the size", (long long)size_of(fd), 100);
  }
  check_errno("fd_filestat_set_size 7", __wasi_fd_filestat_set_size(f, 7), 0);
  check_int("size after set_size 7", (long long)size_of(fd), 7);
  check_errno("fd_filestat_set_size 4096", __wasi_fd_filestat_set_size(f, 4096), 0);
  check_int("size after set_size 4096", (long long)size_of(fd), 4096);
  check_errno("fd_pread zero-filled extension", __wasi_fd_pread(f, &piov, 1, 4000, &n), 0);
  check_bytes("extension reads as zeros", buf, n, "\0\0\0\0", 4);
  check_errno("fd_sync", __wasi_fd_sync(f), 0);
  check_errno("fd_datasync", __wasi_fd_datasync(f), 0);
  check_errno("fd_close", __wasi_fd_close(f), 0);
  check_errno("fd_close twice -> EBADF", __wasi_fd_close(f), __WASI_ERRNO_BADF);
  check_int("fd_write on a closed fd fails", wr(fd, "x") == (__wasi_size_t)-1, 1);
}

static void test_append(void) {
  int fd = open_rw("append.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, __WASI_FDFLAGS_APPEND);
  if (fd < 0) return;
  __wasi_fd_t f = (__wasi_fd_t)fd;
  __wasi_fdstat_t fs;
  check_errno("fd_fdstat_get append fd", __wasi_fd_fdstat_get(f, &fs), 0);
  check_int("fdstat flags has APPEND", fs.fs_flags & __WASI_FDFLAGS_APPEND, __WASI_FDFLAGS_APPEND);
  wr(fd, "abc");
  __wasi_filesize_t pos;
  check_errno("seek to 0 in append mode", __wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos), 0);
  wr(fd, "def");
  char buf[32];
  size_t len = 0;
  check_errno("read append.txt", read_file(S, "append.txt", buf, sizeof buf, &len), 0);
  check_bytes("append mode writes at the end after a seek", buf, len, "abcdef", 6);
  check_errno("fd_fdstat_set_flags clear APPEND", __wasi_fd_fdstat_set_flags(f, 0), 0);
  check_errno("fd_fdstat_get after clearing", __wasi_fd_fdstat_get(f, &fs), 0);
  check_int("fdstat flags without APPEND", fs.fs_flags & __WASI_FDFLAGS_APPEND, 0);
  check_errno("seek to 1", __wasi_fd_seek(f, 1, __WASI_WHENCE_SET, &pos), 0);
  wr(fd, "X");
  check_errno("read append.txt again", read_file(S, "append.txt", buf, sizeof buf, &len), 0);
  check_bytes("without APPEND the write lands at the cursor", buf, len, "aXcdef", 6);
  check_errno("fd_fdstat_set_flags set APPEND", __wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_APPEND),
              0);
  check_errno("seek to 0", __wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos), 0);
  wr(fd, "!");
  check_errno("read append.txt once more", read_file(S, "append.txt", buf, sizeof buf, &len), 0);
  check_bytes("APPEND set again: write at the end", buf, len, "aXcdef!", 7);
  (void)__wasi_fd_close(f);
}

static void test_times(void) {
  const __wasi_timestamp_t T = 1234567890123456789ull;
  const __wasi_timestamp_t T2 = 1111111111222222333ull;
  int fd = open_rw("times.txt", __WASI_OFLAGS_CREAT, 0);
  if (fd < 0) return;
  __wasi_fd_t f = (__wasi_fd_t)fd;
  __wasi_filestat_t st;
  check_errno("fd_filestat_set_times atim+mtim",
              __wasi_fd_filestat_set_times(f, T, T2, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM), 0);
  check_errno("fd_filestat_get", __wasi_fd_filestat_get(f, &st), 0);
  check_int("atim exact to the nanosecond", (long long)st.atim, (long long)T);
  check_int("mtim exact to the nanosecond", (long long)st.mtim, (long long)T2);
  check_errno("fd_filestat_set_times ATIM with ATIM_NOW -> EINVAL",
              __wasi_fd_filestat_set_times(f, T, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW),
              __WASI_ERRNO_INVAL);
  check_errno("fd_filestat_set_times MTIM with MTIM_NOW -> EINVAL",
              __wasi_fd_filestat_set_times(f, 0, T, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW),
              __WASI_ERRNO_INVAL);
  check_errno("fd_filestat_set_times only MTIM", __wasi_fd_filestat_set_times(f, 0, T, __WASI_FSTFLAGS_MTIM), 0);
  check_errno("fd_filestat_get", __wasi_fd_filestat_get(f, &st), 0);
  check_int("only MTIM: atim untouched", (long long)st.atim, (long long)T);
  check_int("only MTIM: mtim set", (long long)st.mtim, (long long)T);
  __wasi_timestamp_t now = 0;
  (void)__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &now);
  check_errno("fd_filestat_set_times MTIM_NOW", __wasi_fd_filestat_set_times(f, 0, 0, __WASI_FSTFLAGS_MTIM_NOW), 0);
  check_errno("fd_filestat_get", __wasi_fd_filestat_get(f, &st), 0);
  long long diff = (long long)st.mtim - (long long)now;
  char seen[64];
  snprintf(seen, sizeof seen, "mtim - now = %lld ns", diff);
  check_true("MTIM_NOW is within 5 s of the realtime clock", diff > -5000000000LL && diff < 5000000000LL,
             seen);
  (void)__wasi_fd_close(f);

  check_errno("path_filestat_set_times", __wasi_path_filestat_set_times((__wasi_fd_t)S, 0, "times.txt", T2, T,
                                                                        __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM),
              0);
  check_errno("path_filestat_get", __wasi_path_filestat_get((__wasi_fd_t)S, 0, "times.txt", &st), 0);
  check_int("path: atim exact", (long long)st.atim, (long long)T2);
  check_int("path: mtim exact", (long long)st.mtim, (long long)T);
  check_errno("path_filestat_set_times ATIM with ATIM_NOW -> EINVAL",
              __wasi_path_filestat_set_times((__wasi_fd_t)S, 0, "times.txt", T, 0,
                                             __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW),
              __WASI_ERRNO_INVAL);
  check_errno("path_filestat_set_times on a missing file -> ENOENT",
              __wasi_path_filestat_set_times((__wasi_fd_t)S, 0, "missing", T, T, __WASI_FSTFLAGS_ATIM),
              __WASI_ERRNO_NOENT);
}

static void test_bad_fds(void) {
  const __wasi_fd_t bad = 1234;
  __wasi_fdstat_t fs;
  __wasi_filestat_t st;
  __wasi_filesize_t pos;
  char buf[8];
  __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
  __wasi_ciovec_t ciov = {(const uint8_t *)buf, 1};
  __wasi_size_t n;
  check_errno("fd_read bad fd -> EBADF", __wasi_fd_read(bad, &iov, 1, &n), __WASI_ERRNO_BADF);
  check_errno("fd_write bad fd -> EBADF", __wasi_fd_write(bad, &ciov, 1, &n), __WASI_ERRNO_BADF);
  check_errno("fd_seek bad fd -> EBADF", __wasi_fd_seek(bad, 0, 0, &pos), __WASI_ERRNO_BADF);
  check_errno("fd_tell bad fd -> EBADF", __wasi_fd_tell(bad, &pos), __WASI_ERRNO_BADF);
  check_errno("fd_fdstat_get bad fd -> EBADF", __wasi_fd_fdstat_get(bad, &fs), __WASI_ERRNO_BADF);
  check_errno("fd_filestat_get bad fd -> EBADF", __wasi_fd_filestat_get(bad, &st), __WASI_ERRNO_BADF);
  check_errno("fd_close bad fd -> EBADF", __wasi_fd_close(bad), __WASI_ERRNO_BADF);
  check_errno("fd_sync bad fd -> EBADF", __wasi_fd_sync(bad), __WASI_ERRNO_BADF);
  check_errno("fd_advise bad fd -> EBADF", __wasi_fd_advise(bad, 0, 0, 0), __WASI_ERRNO_BADF);
  check_errno("path_open in bad fd -> EBADF", open_at(bad, "x", 0, 0, 0, NULL), __WASI_ERRNO_BADF);
  check_errno("fd_renumber from bad fd -> EBADF", __wasi_fd_renumber(bad, 1), __WASI_ERRNO_BADF);
  __wasi_prestat_t ps;
  check_errno("fd_prestat_get on stdin -> EBADF", __wasi_fd_prestat_get(0, &ps), __WASI_ERRNO_BADF);
  int fd = open_rw("plain.txt", __WASI_OFLAGS_CREAT, 0);
  check_errno("fd_prestat_get on a plain file -> EBADF", __wasi_fd_prestat_get((__wasi_fd_t)fd, &ps),
              __WASI_ERRNO_BADF);
  /* Linux says EISDIR/ENOTDIR; wasmtime's fd table answers EBADF for the wrong kind of fd. */
  check_errno2("fd_read on a directory -> EISDIR|EBADF",
               __wasi_fd_read((__wasi_fd_t)S, &iov, 1, &n), __WASI_ERRNO_ISDIR, __WASI_ERRNO_BADF);
  check_errno2("fd_readdir on a file -> ENOTDIR|EBADF",
               __wasi_fd_readdir((__wasi_fd_t)fd, (uint8_t *)buf, sizeof buf, 0, &n),
               __WASI_ERRNO_NOTDIR, __WASI_ERRNO_BADF);
  (void)__wasi_fd_close((__wasi_fd_t)fd);
}

static void test_prestat(void) {
  __wasi_prestat_t ps;
  check_errno("fd_prestat_get /sandbox", __wasi_fd_prestat_get((__wasi_fd_t)S, &ps), 0);
  check_int("prestat tag DIR", ps.tag, __WASI_PREOPENTYPE_DIR);
  check_int("prestat name length", (long long)ps.u.dir.pr_name_len, 8);
  char name[32];
  memset(name, 'X', sizeof name);
  check_errno("fd_prestat_dir_name", __wasi_fd_prestat_dir_name((__wasi_fd_t)S, (uint8_t *)name, 8), 0);
  check_bytes("fd_prestat_dir_name content", name, 8, "/sandbox", 8);
  check_int("fd_prestat_dir_name writes no NUL", name[8], 'X');
  memset(name, 'X', sizeof name);
  check_errno("fd_prestat_dir_name into a short buffer -> ENAMETOOLONG",
              __wasi_fd_prestat_dir_name((__wasi_fd_t)S, (uint8_t *)name, 3), __WASI_ERRNO_NAMETOOLONG);
  check_int("short buffer: nothing written past it", name[3], 'X');
  check_errno("fd_prestat_dir_name bad fd -> EBADF",
              __wasi_fd_prestat_dir_name(1234, (uint8_t *)name, sizeof name), __WASI_ERRNO_BADF);
}

/* fd_readdir: a full listing, then one reassembled from many small calls. */
#define NENTRIES 10
static int parse_names(const uint8_t *buf, size_t used, char names[][16], int *count, int max,
                       __wasi_dircookie_t *cookie, int *complete) {
  size_t off = 0;
  int got = 0;
  while (off + sizeof(__wasi_dirent_t) <= used) {
    __wasi_dirent_t d;
    memcpy(&d, buf + off, sizeof d);
    if (off + sizeof d + d.d_namlen > used) break; /* truncated entry: fetch it again */
    if (*count < max && d.d_namlen < 16) {
      memcpy(names[*count], buf + off + sizeof d, d.d_namlen);
      names[*count][d.d_namlen] = '\0';
    }
    (*count)++;
    got++;
    *cookie = d.d_next;
    off += sizeof d + d.d_namlen;
  }
  *complete = off == used;
  return got;
}

static int has_name(char names[][16], int count, const char *name) {
  int hits = 0;
  for (int i = 0; i < count && i < 64; i++)
    if (strcmp(names[i], name) == 0) hits++;
  return hits;
}

static void test_readdir(void) {
  check_errno("mkdir rd", __wasi_path_create_directory((__wasi_fd_t)S, "rd"), 0);
  char path[32];
  for (int i = 0; i < NENTRIES; i++) {
    snprintf(path, sizeof path, "rd/entry_%02d", i);
    write_file(S, path, "x");
  }
  int dfd = -1;
  check_errno("open rd", open_at(S, "rd", 0, __WASI_OFLAGS_DIRECTORY, 0, &dfd), 0);
  if (dfd < 0) return;

  static uint8_t big[8192];
  __wasi_size_t used = 0;
  check_errno("fd_readdir big buffer", __wasi_fd_readdir((__wasi_fd_t)dfd, big, sizeof big, 0, &used), 0);
  char names[64][16];
  int count = 0, complete = 0;
  __wasi_dircookie_t cookie = 0;
  parse_names(big, used, names, &count, 64, &cookie, &complete);
  check_int("fd_readdir big buffer: entry count (10 + . and ..)", count, NENTRIES + 2);
  check_int("fd_readdir lists \".\"", has_name(names, count, "."), 1);
  check_int("fd_readdir lists \"..\"", has_name(names, count, ".."), 1);
  check_int("fd_readdir lists entry_07", has_name(names, count, "entry_07"), 1);
  check_true("fd_readdir big buffer: used < size (end reached)", used < sizeof big, "used == size");

  /* Dirent types. */
  int typed_ok = 1;
  for (size_t off = 0; off + sizeof(__wasi_dirent_t) <= used;) {
    __wasi_dirent_t d;
    memcpy(&d, big + off, sizeof d);
    if (d.d_namlen == 8 && memcmp(big + off + sizeof d, "entry_", 6) == 0 &&
        d.d_type != __WASI_FILETYPE_REGULAR_FILE)
      typed_ok = 0;
    off += sizeof d + d.d_namlen;
  }
  check_true("fd_readdir entries have d_type REGULAR_FILE", typed_ok, "another type");

  /* Small buffers: 24-byte header + 8-byte name = 32 bytes per entry. */
  static const size_t sizes[] = {40, 70};
  for (size_t si = 0; si < 2; si++) {
    char snames[64][16];
    int scount = 0, calls = 0, stuck = 0;
    __wasi_dircookie_t c = 0;
    for (;;) {
      uint8_t small[128];
      __wasi_size_t u = 0;
      if (__wasi_fd_readdir((__wasi_fd_t)dfd, small, (__wasi_size_t)sizes[si], c, &u) != 0) {
        stuck = 1;
        break;
      }
      calls++;
      int comp = 0;
      int got = parse_names(small, u, snames, &scount, 64, &c, &comp);
      if (u < sizes[si]) break;         /* end of directory */
      if (got == 0 || calls > 100) {    /* no progress */
        stuck = 1;
        break;
      }
    }
    char what[96];
    snprintf(what, sizeof what, "fd_readdir with a %zu-byte buffer makes progress", sizes[si]);
    check_true(what, !stuck, "stuck");
    snprintf(what, sizeof what, "fd_readdir with a %zu-byte buffer: same count", sizes[si]);
    check_int(what, scount, count);
    int all = 1;
    for (int i = 0; i < count && i < 64; i++)
      if (has_name(snames, scount, names[i]) != 1) all = 0;
    snprintf(what, sizeof what, "fd_readdir with a %zu-byte buffer: same names, once each", sizes[si]);
    check_true(what, all, "a name missing or repeated");
  }

  /* Resume from the middle: skip the first 5 via their cookie. */
  int c5 = 0, comp = 0;
  __wasi_dircookie_t mid = 0;
  char tmp[64][16];
  parse_names(big, used, tmp, &c5, 5, &mid, &comp); /* count all, remember last cookie */
  {
    /* recompute the cookie after the 5th entry */
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
      __wasi_dirent_t d;
      memcpy(&d, big + off, sizeof d);
      mid = d.d_next;
      off += sizeof d + d.d_namlen;
    }
    __wasi_size_t u = 0;
    check_errno("fd_readdir from the 5th cookie", __wasi_fd_readdir((__wasi_fd_t)dfd, big, sizeof big, mid, &u), 0);
    char rest[64][16];
    int rc = 0;
    __wasi_dircookie_t cc = 0;
    parse_names(big, u, rest, &rc, 64, &cc, &comp);
    check_int("fd_readdir from the 5th cookie: the remaining entries", rc, count - 5);
  }
  check_errno("fd_readdir into a zero-length buffer",
              __wasi_fd_readdir((__wasi_fd_t)dfd, big, 0, 0, &used), 0);
  check_int("zero-length buffer: 0 bytes used", used, 0);
  (void)__wasi_fd_close((__wasi_fd_t)dfd);
}

static void test_renumber(void) {
  int a = open_rw("ren_a.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0);
  int b = open_rw("ren_b.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0);
  if (a < 0 || b < 0) return;
  check_errno("fd_renumber a -> b", __wasi_fd_renumber((__wasi_fd_t)a, (__wasi_fd_t)b), 0);
  __wasi_fdstat_t fs;
  check_errno("after renumber the old fd is closed -> EBADF",
              __wasi_fd_fdstat_get((__wasi_fd_t)a, &fs), __WASI_ERRNO_BADF);
  wr(b, "via b");
  char buf[32];
  size_t len;
  check_errno("read ren_a.txt", read_file(S, "ren_a.txt", buf, sizeof buf, &len), 0);
  check_bytes("fd b now writes to ren_a.txt", buf, len, "via b", 5);
  check_errno("read ren_b.txt", read_file(S, "ren_b.txt", buf, sizeof buf, &len), 0);
  check_int("ren_b.txt stays empty", (long long)len, 0);
  /* Onto a closed fd: the fd moves there (wasmtime does this; Yosys saves stdout this way). */
  check_errno("fd_renumber onto a closed fd moves it", __wasi_fd_renumber((__wasi_fd_t)b, 4321), 0);
  check_errno("the moved fd is open at its new number", __wasi_fd_fdstat_get(4321, &fs), 0);
  check_errno("and closed at its old one -> EBADF", __wasi_fd_fdstat_get((__wasi_fd_t)b, &fs),
              __WASI_ERRNO_BADF);
  check_errno("fd_renumber onto itself", __wasi_fd_renumber(4321, 4321), 0);
  check_errno("fd still usable after renumber onto itself", __wasi_fd_fdstat_get(4321, &fs), 0);
  check_errno("fd_renumber back", __wasi_fd_renumber(4321, (__wasi_fd_t)b), 0);

  /* Over stdout: from here on, results go to stderr. */
  int out = open_rw("stdout.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0);
  if (out < 0) return;
  printf("# results continue on stderr (fd 1 is about to become a file)\n");
  fflush(stdout);
  check_out = stderr;
  check_errno("fd_renumber file -> 1", __wasi_fd_renumber((__wasi_fd_t)out, 1), 0);
  printf("hello through fd 1\n");
  fflush(stdout);
  check_errno("read stdout.txt", read_file(S, "stdout.txt", buf, sizeof buf, &len), 0);
  check_bytes("printf after renumbering lands in the file", buf, len, "hello through fd 1\n", 19);
  (void)__wasi_fd_close((__wasi_fd_t)b);
}

int main(void) {
  S = need_preopen("/sandbox");
  test_read_write_seek();
  test_append();
  test_times();
  test_bad_fds();
  test_prestat();
  test_readdir();
  test_renumber();
  return check_finish();
}
