/*
 * probe.c - does one filesystem operation named on the command line and
 * prints what happened, so tests can aim a guest at paths planted on the host:
 *     probe read PATH      prints the file's bytes, or "errno N"
 *     probe write PATH     creates/truncates PATH with "pwned", prints "ok" or "errno N"
 *     probe list PATH      prints one entry name per line, or "errno N"
 *     probe stat PATH      prints "file SIZE" / "dir" / "other", or "errno N"
 * Exits 0 when the operation worked, 1 when it failed, 2 on bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(void) {
  printf("errno %d\n", errno);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: probe read|write|list|stat PATH\n");
    return 2;
  }
  const char *op = argv[1], *path = argv[2];
  if (strcmp(op, "read") == 0) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail();
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    if (n < 0) return fail();
    close(fd);
    return 0;
  }
  if (strcmp(op, "write") == 0) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail();
    if (write(fd, "pwned", 5) != 5) return fail();
    close(fd);
    printf("ok\n");
    return 0;
  }
  if (strcmp(op, "list") == 0) {
    DIR *d = opendir(path);
    if (!d) return fail();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) printf("%s\n", e->d_name);
    closedir(d);
    return 0;
  }
  if (strcmp(op, "stat") == 0) {
    struct stat st;
    if (stat(path, &st) != 0) return fail();
    if (S_ISREG(st.st_mode)) printf("file %lld\n", (long long)st.st_size);
    else if (S_ISDIR(st.st_mode)) printf("dir\n");
    else printf("other\n");
    return 0;
  }
  fprintf(stderr, "probe: unknown operation %s\n", op);
  return 2;
}
