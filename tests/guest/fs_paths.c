/*
 * fs_paths: path resolution and path_* calls against a fresh writable /sandbox,
 * plus escape attempts (also from a read-only /ro that holds hello.txt = "hello\n").
 * The reference is the preview1 spec (wasi/api.h) and wasmtime's behaviour.
 */
#include "check.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define NOFOLLOW 0

static int S;  /* /sandbox */
static int RO; /* /ro */

static __wasi_errno_t stat_at(int dirfd, const char *path, __wasi_lookupflags_t lf,
                              __wasi_filestat_t *st) {
  return __wasi_path_filestat_get((__wasi_fd_t)dirfd, lf, path, st);
}

static __wasi_errno_t open_close(int dirfd, const char *path, __wasi_lookupflags_t lf,
                                 __wasi_oflags_t of) {
  int fd;
  __wasi_errno_t e = open_at(dirfd, path, lf, of, 0, &fd);
  if (!e) (void)__wasi_fd_close((__wasi_fd_t)fd);
  return e;
}

static int filetype_at(int dirfd, const char *path, __wasi_lookupflags_t lf) {
  __wasi_filestat_t st;
  __wasi_errno_t e = stat_at(dirfd, path, lf, &st);
  return e ? -(int)e : st.filetype;
}

static void test_basic(void) {
  __wasi_filestat_t st;
  check_errno("setup: write file", write_file(S, "file", "data"), 0);
  check_errno("setup: mkdir dir", __wasi_path_create_directory((__wasi_fd_t)S, "dir"), 0);

  int fd;
  check_errno("path_open file", open_at(S, "file", NOFOLLOW, 0, 0, &fd), 0);
  if (fd >= 0) {
    __wasi_errno_t e = __wasi_fd_filestat_get((__wasi_fd_t)fd, &st);
    check_errno("fd_filestat_get file", e, 0);
    check_int("fd_filestat_get file: filetype", st.filetype, __WASI_FILETYPE_REGULAR_FILE);
    check_int("fd_filestat_get file: size", (long long)st.size, 4);
    __wasi_fdstat_t fs;
    check_errno("fd_fdstat_get file", __wasi_fd_fdstat_get((__wasi_fd_t)fd, &fs), 0);
    check_int("fd_fdstat_get file: filetype", fs.fs_filetype, __WASI_FILETYPE_REGULAR_FILE);
    (void)__wasi_fd_close((__wasi_fd_t)fd);
  }
  check_errno("path_filestat_get file", stat_at(S, "file", NOFOLLOW, &st), 0);
  check_int("path_filestat_get file: filetype", st.filetype, __WASI_FILETYPE_REGULAR_FILE);
  check_int("path_filestat_get file: size", (long long)st.size, 4);
  check_int("path_filestat_get file: nlink", (long long)st.nlink, 1);
  check_int("path_filestat_get dir: filetype", filetype_at(S, "dir", NOFOLLOW),
            __WASI_FILETYPE_DIRECTORY);
  check_int("path_filestat_get '.': filetype", filetype_at(S, ".", NOFOLLOW),
            __WASI_FILETYPE_DIRECTORY);
  check_errno("path_open dir with O_DIRECTORY", open_close(S, "dir", NOFOLLOW, __WASI_OFLAGS_DIRECTORY),
              0);
  check_errno("path_open file with O_DIRECTORY -> ENOTDIR",
              open_close(S, "file", NOFOLLOW, __WASI_OFLAGS_DIRECTORY), __WASI_ERRNO_NOTDIR);
  check_errno("path_open missing -> ENOENT", open_close(S, "missing", NOFOLLOW, 0),
              __WASI_ERRNO_NOENT);
  check_errno("path_open missing/x -> ENOENT", open_close(S, "missing/x", NOFOLLOW, 0),
              __WASI_ERRNO_NOENT);
  check_errno("path_open file/x -> ENOTDIR", open_close(S, "file/x", NOFOLLOW, 0),
              __WASI_ERRNO_NOTDIR);
  check_errno("path_open dir/./../file", open_close(S, "dir/./../file", NOFOLLOW, 0), 0);
  check_errno("path_open empty path -> ENOENT", open_close(S, "", NOFOLLOW, 0), __WASI_ERRNO_NOENT);
}

static void test_symlinks(void) {
  __wasi_filestat_t st;
  check_errno("path_symlink link -> file", __wasi_path_symlink("file", (__wasi_fd_t)S, "link"), 0);
  check_errno("path_symlink dirlink -> dir", __wasi_path_symlink("dir", (__wasi_fd_t)S, "dirlink"),
              0);
  check_int("filestat link nofollow: SYMBOLIC_LINK", filetype_at(S, "link", NOFOLLOW),
            __WASI_FILETYPE_SYMBOLIC_LINK);
  check_int("filestat link follow: REGULAR_FILE", filetype_at(S, "link", FOLLOW),
            __WASI_FILETYPE_REGULAR_FILE);
  check_int("filestat dirlink follow: DIRECTORY", filetype_at(S, "dirlink", FOLLOW),
            __WASI_FILETYPE_DIRECTORY);
  check_errno("path_open link follow", open_close(S, "link", FOLLOW, 0), 0);
  check_errno("path_open link nofollow -> ELOOP", open_close(S, "link", NOFOLLOW, 0),
              __WASI_ERRNO_LOOP);
  check_errno2("path_open dirlink O_DIRECTORY nofollow -> ELOOP|ENOTDIR",
               open_close(S, "dirlink", NOFOLLOW, __WASI_OFLAGS_DIRECTORY), __WASI_ERRNO_LOOP,
               __WASI_ERRNO_NOTDIR);
  check_errno("path_open dirlink O_DIRECTORY follow",
              open_close(S, "dirlink", FOLLOW, __WASI_OFLAGS_DIRECTORY), 0);
  /* A symlink in the middle of a path is always followed. */
  check_errno("write dir/inner", write_file(S, "dir/inner", "in"), 0);
  check_errno("path_open dirlink/inner nofollow (intermediate link followed)",
              open_close(S, "dirlink/inner", NOFOLLOW, 0), 0);

  /* Dangling. */
  check_errno("path_symlink dangling -> nowhere",
              __wasi_path_symlink("nowhere", (__wasi_fd_t)S, "dangling"), 0);
  check_int("filestat dangling nofollow: SYMBOLIC_LINK", filetype_at(S, "dangling", NOFOLLOW),
            __WASI_FILETYPE_SYMBOLIC_LINK);
  check_errno("filestat dangling follow -> ENOENT", stat_at(S, "dangling", FOLLOW, &st),
              __WASI_ERRNO_NOENT);
  check_errno("path_open dangling follow -> ENOENT", open_close(S, "dangling", FOLLOW, 0),
              __WASI_ERRNO_NOENT);
  check_errno("path_open dangling O_CREAT|O_EXCL -> EEXIST",
              open_close(S, "dangling", FOLLOW, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL),
              __WASI_ERRNO_EXIST);
  check_errno("path_symlink over existing -> EEXIST",
              __wasi_path_symlink("x", (__wasi_fd_t)S, "file"), __WASI_ERRNO_EXIST);

  /* Loops. */
  check_errno("path_symlink loop1 -> loop2", __wasi_path_symlink("loop2", (__wasi_fd_t)S, "loop1"),
              0);
  check_errno("path_symlink loop2 -> loop1", __wasi_path_symlink("loop1", (__wasi_fd_t)S, "loop2"),
              0);
  check_errno("path_symlink self -> self", __wasi_path_symlink("self", (__wasi_fd_t)S, "self"), 0);
  check_errno("path_open loop1 follow -> ELOOP", open_close(S, "loop1", FOLLOW, 0),
              __WASI_ERRNO_LOOP);
  check_errno("filestat loop1 follow -> ELOOP", stat_at(S, "loop1", FOLLOW, &st),
              __WASI_ERRNO_LOOP);
  check_errno("path_open self follow -> ELOOP", open_close(S, "self", FOLLOW, 0),
              __WASI_ERRNO_LOOP);
  check_errno("path_open loop1/x -> ELOOP", open_close(S, "loop1/x", NOFOLLOW, 0),
              __WASI_ERRNO_LOOP);
  check_int("filestat loop1 nofollow: SYMBOLIC_LINK", filetype_at(S, "loop1", NOFOLLOW),
            __WASI_FILETYPE_SYMBOLIC_LINK);

  /* readlink. */
  char buf[64];
  __wasi_size_t n = 0;
  memset(buf, 'X', sizeof buf);
  check_errno("path_readlink link", __wasi_path_readlink((__wasi_fd_t)S, "link", (uint8_t *)buf,
                                                          sizeof buf, &n),
              0);
  check_bytes("path_readlink link: content", buf, n, "file", 4);
  check_int("path_readlink link: no NUL written after the content", buf[4], 'X');
  memset(buf, 'X', sizeof buf);
  n = 0;
  check_errno("path_readlink into a 2-byte buffer",
              __wasi_path_readlink((__wasi_fd_t)S, "link", (uint8_t *)buf, 2, &n), 0);
  check_int("path_readlink short buffer: returns the truncated count", n, 2);
  check_bytes("path_readlink short buffer: content", buf, 2, "fi", 2);
  check_int("path_readlink short buffer: no byte past the buffer", buf[2], 'X');
  check_errno("path_readlink on a regular file -> EINVAL",
              __wasi_path_readlink((__wasi_fd_t)S, "file", (uint8_t *)buf, sizeof buf, &n),
              __WASI_ERRNO_INVAL);
  check_errno("path_readlink on a missing path -> ENOENT",
              __wasi_path_readlink((__wasi_fd_t)S, "missing", (uint8_t *)buf, sizeof buf, &n),
              __WASI_ERRNO_NOENT);
}

static void test_link(void) {
  __wasi_filestat_t a, b;
  check_errno("path_link file -> hardlink",
              __wasi_path_link((__wasi_fd_t)S, 0, "file", (__wasi_fd_t)S, "hardlink"), 0);
  check_errno("filestat file", stat_at(S, "file", NOFOLLOW, &a), 0);
  check_errno("filestat hardlink", stat_at(S, "hardlink", NOFOLLOW, &b), 0);
  check_int("path_link: nlink is 2", (long long)a.nlink, 2);
  check_true("path_link: same inode", a.ino == b.ino && a.dev == b.dev, "different inodes");
  char buf[16];
  size_t len = 0;
  check_errno("read hardlink", read_file(S, "hardlink", buf, sizeof buf, &len), 0);
  check_bytes("hardlink content", buf, len, "data", 4);
  check_errno("path_link onto an existing name -> EEXIST",
              __wasi_path_link((__wasi_fd_t)S, 0, "file", (__wasi_fd_t)S, "hardlink"),
              __WASI_ERRNO_EXIST);
  check_errno("path_link missing source -> ENOENT",
              __wasi_path_link((__wasi_fd_t)S, 0, "missing", (__wasi_fd_t)S, "x"),
              __WASI_ERRNO_NOENT);
  check_errno("path_unlink_file hardlink", __wasi_path_unlink_file((__wasi_fd_t)S, "hardlink"), 0);
}

static void test_rename(void) {
  char buf[16];
  size_t len = 0;
  __wasi_filestat_t st;
  __wasi_fd_t s = (__wasi_fd_t)S;

  check_errno("write r1", write_file(S, "r1", "one"), 0);
  check_errno("write r2", write_file(S, "r2", "two"), 0);
  check_errno("rename file over file", __wasi_path_rename(s, "r1", s, "r2"), 0);
  check_errno("rename file over file: target readable", read_file(S, "r2", buf, sizeof buf, &len),
              0);
  check_bytes("rename file over file: target has the source's content", buf, len, "one", 3);
  check_errno("rename file over file: source gone", stat_at(S, "r1", NOFOLLOW, &st),
              __WASI_ERRNO_NOENT);

  check_errno("mkdir d1", __wasi_path_create_directory(s, "d1"), 0);
  check_errno("write d1/inner", write_file(S, "d1/inner", "i"), 0);
  check_errno("mkdir d2", __wasi_path_create_directory(s, "d2"), 0);
  check_errno("rename dir over empty dir", __wasi_path_rename(s, "d1", s, "d2"), 0);
  check_int("rename dir over empty dir: content moved", filetype_at(S, "d2/inner", NOFOLLOW),
            __WASI_FILETYPE_REGULAR_FILE);
  check_errno("rename dir over empty dir: source gone", stat_at(S, "d1", NOFOLLOW, &st),
              __WASI_ERRNO_NOENT);

  check_errno("mkdir d3", __wasi_path_create_directory(s, "d3"), 0);
  check_errno("rename dir over nonempty dir -> ENOTEMPTY", __wasi_path_rename(s, "d3", s, "d2"),
              __WASI_ERRNO_NOTEMPTY);
  check_errno("write f2", write_file(S, "f2", "f"), 0);
  check_errno("rename file over dir -> EISDIR", __wasi_path_rename(s, "f2", s, "d3"),
              __WASI_ERRNO_ISDIR);
  check_errno("rename dir over file -> ENOTDIR", __wasi_path_rename(s, "d3", s, "f2"),
              __WASI_ERRNO_NOTDIR);
  check_errno("rename dir into its own subtree -> EINVAL",
              __wasi_path_rename(s, "d2", s, "d2/sub"), __WASI_ERRNO_INVAL);
  check_errno("rename missing -> ENOENT", __wasi_path_rename(s, "missing", s, "x"),
              __WASI_ERRNO_NOENT);
  check_errno("rename to itself", __wasi_path_rename(s, "f2", s, "f2"), 0);
  check_errno("rename a symlink (moves the link, not its target)",
              __wasi_path_rename(s, "link", s, "link2"), 0);
  check_int("renamed symlink is still a symlink", filetype_at(S, "link2", NOFOLLOW),
            __WASI_FILETYPE_SYMBOLIC_LINK);
  check_int("symlink target untouched", filetype_at(S, "file", NOFOLLOW),
            __WASI_FILETYPE_REGULAR_FILE);
}

static void test_trailing_slashes(void) {
  __wasi_fd_t s = (__wasi_fd_t)S;
  check_errno("open \"file/\" -> ENOTDIR", open_close(S, "file/", NOFOLLOW, 0), __WASI_ERRNO_NOTDIR);
  check_errno("open \"dir/\"", open_close(S, "dir/", NOFOLLOW, 0), 0);
  check_errno("unlink \"file/\" -> ENOTDIR", __wasi_path_unlink_file(s, "file/"),
              __WASI_ERRNO_NOTDIR);
  check_errno("unlink \"dir/\" -> EISDIR", __wasi_path_unlink_file(s, "dir/"), __WASI_ERRNO_ISDIR);
  check_errno("mkdir \"newdir/\"", __wasi_path_create_directory(s, "newdir/"), 0);
  check_int("mkdir \"newdir/\" made a directory", filetype_at(S, "newdir", NOFOLLOW),
            __WASI_FILETYPE_DIRECTORY);
  check_errno("rename \"file/\" -> \"x\" -> ENOTDIR", __wasi_path_rename(s, "file/", s, "x"),
              __WASI_ERRNO_NOTDIR);
  check_errno("rename \"file\" -> \"x/\" -> ENOTDIR", __wasi_path_rename(s, "file", s, "x/"),
              __WASI_ERRNO_NOTDIR);
  check_errno("rename \"newdir/\" -> \"newdir2/\"", __wasi_path_rename(s, "newdir/", s, "newdir2/"),
              0);
  check_errno("rmdir \"newdir2/\"", __wasi_path_remove_directory(s, "newdir2/"), 0);
  check_errno("O_CREAT \"newfile/\" -> EISDIR",
              open_close(S, "newfile/", NOFOLLOW, __WASI_OFLAGS_CREAT), __WASI_ERRNO_ISDIR);
}

static void test_bad_names(void) {
  int32_t fd = -1;
  static const char nul_path[] = "fi\0le";
  static const char bad_utf8[] = "bad\xff\xfe";
  check_errno("path_open with a NUL inside -> EINVAL",
              raw_path_open(S, 0, PTR(nul_path), 5, 0, (int64_t)rights_below(S), (int64_t)rights_below(S), 0,
                            PTR(&fd)),
              __WASI_ERRNO_INVAL);
  check_errno("path_create_directory with a NUL inside -> EINVAL",
              raw_path_create_directory(S, PTR(nul_path), 5), __WASI_ERRNO_INVAL);
  check_errno("path_open \"file\" with explicit length 4 (no NUL needed)",
              raw_path_open(S, 0, PTR("file!!"), 4, 0, (int64_t)rights_below(S), (int64_t)rights_below(S), 0,
                            PTR(&fd)),
              0);
  if (fd >= 0) (void)__wasi_fd_close((__wasi_fd_t)fd);
  check_errno("path_open invalid UTF-8 -> EILSEQ",
              raw_path_open(S, 0, PTR(bad_utf8), 5, __WASI_OFLAGS_CREAT, (int64_t)rights_below(S),
                            (int64_t)rights_below(S), 0, PTR(&fd)),
              __WASI_ERRNO_ILSEQ);
  check_errno("path_create_directory invalid UTF-8 -> EILSEQ",
              raw_path_create_directory(S, PTR(bad_utf8), 5), __WASI_ERRNO_ILSEQ);
}

/* EPERM is wasmtime's answer; the spec's ENOTCAPABLE is accepted too. */
static void check_escape(const char *what, __wasi_errno_t e) {
  check_errno2(what, e, __WASI_ERRNO_PERM, __WASI_ERRNO_NOTCAPABLE);
}

static void test_escapes(void) {
  __wasi_filestat_t st;
  __wasi_fd_t s = (__wasi_fd_t)S;
  check_escape("open \"..\"", open_close(S, "..", NOFOLLOW, 0));
  check_escape("open \"../x\"", open_close(S, "../x", NOFOLLOW, 0));
  check_escape("open \"dir/../../x\"", open_close(S, "dir/../../x", NOFOLLOW, 0));
  check_escape("open \"/etc/passwd\"", open_close(S, "/etc/passwd", NOFOLLOW, 0));
  check_escape("filestat \"..\"", stat_at(S, "..", NOFOLLOW, &st));
  check_escape("create \"../escaped\"", open_close(S, "../escaped", NOFOLLOW, __WASI_OFLAGS_CREAT));
  check_escape("mkdir \"../escaped\"", __wasi_path_create_directory(s, "../escaped"));
  check_escape("rename file -> \"../escaped\"", __wasi_path_rename(s, "file", s, "../escaped"));

  /* Symlinks made by the guest that point outside. Creating them may be refused
     (EPERM/ENOTCAPABLE); if allowed, following them must be refused. */
  struct {
    const char *name, *target;
  } links[] = {
      {"abs", "/etc/passwd"},
      {"up", "../sandbox/file"},
      {"deep", "dir/../../x"},
      {"toro", "../ro/hello.txt"},
  };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    char what[128];
    __wasi_errno_t e = __wasi_path_symlink(links[i].target, s, links[i].name);
    if (e == __WASI_ERRNO_PERM || e == __WASI_ERRNO_NOTCAPABLE) {
      snprintf(what, sizeof what, "symlink %s -> %s refused at creation", links[i].name,
               links[i].target);
      check_escape(what, e);
      continue;
    }
    snprintf(what, sizeof what, "symlink %s -> %s created", links[i].name, links[i].target);
    check_errno(what, e, 0);
    snprintf(what, sizeof what, "open %s (follow) escapes", links[i].name);
    check_escape(what, open_close(S, links[i].name, FOLLOW, 0));
    snprintf(what, sizeof what, "filestat %s (follow) escapes", links[i].name);
    check_escape(what, stat_at(S, links[i].name, FOLLOW, &st));
    char sub[64];
    snprintf(sub, sizeof sub, "%s/x", links[i].name);
    snprintf(what, sizeof what, "open %s escapes", sub);
    check_escape(what, open_close(S, sub, NOFOLLOW, 0));
    snprintf(what, sizeof what, "filestat %s (nofollow) is a symlink", links[i].name);
    check_int(what, filetype_at(S, links[i].name, NOFOLLOW), __WASI_FILETYPE_SYMBOLIC_LINK);
  }
  /* A link whose target stays inside is fine even when it goes up first. */
  check_errno("symlink inside -> dir/../file", __wasi_path_symlink("dir/../file", s, "inside"), 0);
  check_errno("open inside (follow)", open_close(S, "inside", FOLLOW, 0), 0);
  check_errno("symlink nested -> ../file in dir", __wasi_path_symlink("../file", s, "dir/up1"), 0);
  check_errno("open dir/up1 (follow, stays inside)", open_close(S, "dir/up1", FOLLOW, 0), 0);

  /* The read-only preopen. */
  if (RO < 0) {
    note("no /ro preopen: read-only checks skipped");
    return;
  }
  char buf[32];
  size_t len = 0;
  check_errno("read ro/hello.txt", read_file(RO, "hello.txt", buf, sizeof buf, &len), 0);
  check_bytes("ro/hello.txt content", buf, len, "hello\n", 6);
  check_escape("open /ro \"../sandbox/file\"", open_close(RO, "../sandbox/file", NOFOLLOW, 0));
  check_escape("open /ro \"..\"", open_close(RO, "..", NOFOLLOW, 0));
  /* Writing into a read-only mount: EROFS is what Linux says for a read-only
     mount; EPERM/ENOTCAPABLE come from capability-style hosts. */
  check_errno3("create in /ro -> EROFS|EPERM|ENOTCAPABLE",
               open_close(RO, "new.txt", NOFOLLOW, __WASI_OFLAGS_CREAT), __WASI_ERRNO_ROFS,
               __WASI_ERRNO_PERM, __WASI_ERRNO_NOTCAPABLE);
  check_errno3("mkdir in /ro -> EROFS|EPERM|ENOTCAPABLE",
               __wasi_path_create_directory((__wasi_fd_t)RO, "newdir"), __WASI_ERRNO_ROFS,
               __WASI_ERRNO_PERM, __WASI_ERRNO_NOTCAPABLE);
  check_errno3("unlink in /ro -> EROFS|EPERM|ENOTCAPABLE",
               __wasi_path_unlink_file((__wasi_fd_t)RO, "hello.txt"), __WASI_ERRNO_ROFS,
               __WASI_ERRNO_PERM, __WASI_ERRNO_NOTCAPABLE);
  int fd;
  __wasi_errno_t e = open_at(RO, "hello.txt", 0, 0, 0, &fd);
  if (!e) {
    __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
    __wasi_size_t n = 0;
    __wasi_errno_t w = __wasi_fd_write((__wasi_fd_t)fd, &iov, 1, &n);
    check_true("write to a /ro file fails", w != 0, "success");
    (void)__wasi_fd_close((__wasi_fd_t)fd);
  }
  check_errno("ro/hello.txt unchanged", read_file(RO, "hello.txt", buf, sizeof buf, &len), 0);
  check_bytes("ro/hello.txt content still", buf, len, "hello\n", 6);
}

static void test_dirs_and_files(void) {
  __wasi_fd_t s = (__wasi_fd_t)S;
  __wasi_filestat_t st;
  check_errno("mkdir existing -> EEXIST", __wasi_path_create_directory(s, "dir"),
              __WASI_ERRNO_EXIST);
  check_errno("mkdir over a file -> EEXIST", __wasi_path_create_directory(s, "file"),
              __WASI_ERRNO_EXIST);
  check_errno("rmdir nonempty -> ENOTEMPTY", __wasi_path_remove_directory(s, "dir"),
              __WASI_ERRNO_NOTEMPTY);
  check_errno("rmdir a file -> ENOTDIR", __wasi_path_remove_directory(s, "file"),
              __WASI_ERRNO_NOTDIR);
  check_errno("rmdir missing -> ENOENT", __wasi_path_remove_directory(s, "missing"),
              __WASI_ERRNO_NOENT);
  check_errno("unlink a dir -> EISDIR", __wasi_path_unlink_file(s, "dir"), __WASI_ERRNO_ISDIR);
  check_errno("unlink missing -> ENOENT", __wasi_path_unlink_file(s, "missing"),
              __WASI_ERRNO_NOENT);
  check_errno("unlink a symlink to a dir removes the link",
              __wasi_path_unlink_file(s, "dirlink"), 0);
  check_int("the directory is still there", filetype_at(S, "dir", NOFOLLOW),
            __WASI_FILETYPE_DIRECTORY);
  check_errno("O_CREAT|O_EXCL on an existing file -> EEXIST",
              open_close(S, "file", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL),
              __WASI_ERRNO_EXIST);
  check_errno("O_CREAT|O_EXCL new", open_close(S, "excl", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL),
              0);
  check_errno("O_TRUNC", open_close(S, "file", 0, __WASI_OFLAGS_TRUNC), 0);
  check_errno("filestat after O_TRUNC", stat_at(S, "file", 0, &st), 0);
  check_int("O_TRUNC: size is 0", (long long)st.size, 0);
  check_errno("O_CREAT|O_DIRECTORY -> EINVAL",
              open_close(S, "cd", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_DIRECTORY),
              __WASI_ERRNO_INVAL);
  check_errno("unlink dir/inner", __wasi_path_unlink_file(s, "dir/inner"), 0);
  check_errno("unlink dir/up1", __wasi_path_unlink_file(s, "dir/up1"), 0);
  check_errno("rmdir now-empty dir", __wasi_path_remove_directory(s, "dir"), 0);
}

int main(void) {
  S = need_preopen("/sandbox");
  RO = find_preopen("/ro");
  test_basic();
  test_symlinks();
  test_link();
  test_rename();
  test_trailing_slashes();
  test_bad_names();
  test_escapes();
  test_dirs_and_files();
  return check_finish();
}
