/* fs_bench [--create] DIR N: N rounds of stat + open + read + close over the files
   DIR/f0000 .. DIR/f1999 (2000 files), then prints a checksum of all bytes read.
   Without --create it creates nothing (the benchmark prepares DIR); with --create
   it first writes the 2000 files (64 bytes each, deterministic content). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFILES 2000

int main(int argc, char **argv) {
  int create = 0;
  int ai = 1;
  if (argc > 1 && strcmp(argv[1], "--create") == 0) {
    create = 1;
    ai++;
  }
  if (argc - ai != 2) {
    fprintf(stderr, "usage: fs_bench [--create] DIR N\n");
    return 2;
  }
  const char *dir = argv[ai];
  long rounds = strtol(argv[ai + 1], NULL, 10);
  char path[1024];

  if (create) {
    for (int i = 0; i < NFILES; i++) {
      snprintf(path, sizeof path, "%s/f%04d", dir, i);
      int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) {
        perror(path);
        return 1;
      }
      char buf[64];
      for (int j = 0; j < 64; j++) buf[j] = (char)('a' + (i + j) % 26);
      if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
        perror(path);
        return 1;
      }
      close(fd);
    }
  }

  uint32_t sum = 2166136261u; /* FNV-1a over every byte read, in order */
  unsigned long long bytes = 0;
  char buf[4096];
  for (long r = 0; r < rounds; r++) {
    for (int i = 0; i < NFILES; i++) {
      snprintf(path, sizeof path, "%s/f%04d", dir, i);
      struct stat st;
      if (stat(path, &st) != 0) {
        perror(path);
        return 1;
      }
      int fd = open(path, O_RDONLY);
      if (fd < 0) {
        perror(path);
        return 1;
      }
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t k = 0; k < n; k++) {
          sum ^= (uint8_t)buf[k];
          sum *= 16777619u;
        }
        bytes += (unsigned long long)n;
      }
      close(fd);
      if (n < 0) {
        perror(path);
        return 1;
      }
    }
  }
  printf("fs_bench: %ld rounds x %d files, %llu bytes, checksum %08x\n", rounds, NFILES, bytes,
         (unsigned)sum);
  return 0;
}
