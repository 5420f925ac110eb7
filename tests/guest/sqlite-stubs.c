/*
 * Stand-ins for the few POSIX calls that the SQLite shell uses and that
 * wasi-libc does not provide. WASI preview1 has no permission bits and no
 * realpath, so these are deliberately small:
 *
 *  - chmod(): succeeds when the path exists (there are no mode bits to set),
 *    fails with the stat() error otherwise.
 *  - realpath(): makes the path absolute against getcwd() and folds "." and
 *    ".." lexically. Symlinks are not resolved (the shell only uses the result
 *    to print or compare file names). The path must exist, as with POSIX.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int chmod(const char *path, mode_t mode) {
  struct stat st;
  (void)mode;
  if (stat(path, &st) != 0) return -1;
  return 0;
}

char *realpath(const char *restrict path, char *restrict resolved) {
  char full[PATH_MAX];
  char out[PATH_MAX];
  struct stat st;
  size_t n = 0;

  if (path == NULL) {
    errno = EINVAL;
    return NULL;
  }
  if (path[0] == '\0') {
    errno = ENOENT;
    return NULL;
  }
  if (stat(path, &st) != 0) return NULL;

  if (path[0] == '/') {
    if (strlen(path) >= sizeof full) goto too_long;
    strcpy(full, path);
  } else {
    if (getcwd(full, sizeof full) == NULL) return NULL;
    size_t cwd_len = strlen(full);
    if (cwd_len + 1 + strlen(path) >= sizeof full) goto too_long;
    full[cwd_len] = '/';
    strcpy(full + cwd_len + 1, path);
  }

  /* Fold the components of `full` into `out`. */
  const char *p = full;
  out[0] = '/';
  n = 1;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *start = p;
    while (*p && *p != '/') p++;
    size_t len = (size_t)(p - start);
    if (len == 1 && start[0] == '.') continue;
    if (len == 2 && start[0] == '.' && start[1] == '.') {
      if (n > 1) {
        n--; /* drop the trailing character of the last component */
        while (n > 1 && out[n - 1] != '/') n--;
        if (n > 1) n--; /* drop the separator too, unless it is the root */
      }
      continue;
    }
    if (n > 1) out[n++] = '/';
    if (n + len >= sizeof out) goto too_long;
    memcpy(out + n, start, len);
    n += len;
  }
  out[n] = '\0';

  if (resolved == NULL) return strdup(out);
  strcpy(resolved, out);
  return resolved;

too_long:
  errno = ENAMETOOLONG;
  return NULL;
}
