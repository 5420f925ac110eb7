/*
 * A program with several paths, for function-level streaming
 * (tests/split.test.ts). Each command in argv runs a different set of
 * functions: a profile of one path leaves the others in the secondary
 * module, and every path must still give the same output once split.
 *
 *   hello        prints a greeting (the profiled path)
 *   sum N        sum of squares 1..N through a helper
 *   sort         qsort with a comparator called through the table
 *   float X      printf of a double (pulls in libc's float formatting)
 *   ptr N        calls one of four functions through a pointer table
 *   file PATH    reads a file and prints its length and a checksum
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void hello(void) { puts("hello from split_paths"); }

__attribute__((noinline)) static uint64_t square(uint64_t x) { return x * x; }

__attribute__((noinline)) static uint64_t sum_squares(uint64_t n) {
  uint64_t s = 0;
  for (uint64_t i = 1; i <= n; i++) s += square(i);
  return s;
}

static int by_value(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

__attribute__((noinline)) static void sort_some(void) {
  int v[] = {42, 7, 19, -3, 88, 0, 7, 1000, -250, 61};
  size_t n = sizeof v / sizeof v[0];
  qsort(v, n, sizeof v[0], by_value);
  for (size_t i = 0; i < n; i++) printf("%d%c", v[i], i + 1 < n ? ' ' : '\n');
}

static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }
static int negate(int x) { return -x; }
static int collatz(int x) {
  int steps = 0;
  while (x > 1 && steps < 1000) {
    x = x % 2 ? 3 * x + 1 : x / 2;
    steps++;
  }
  return steps;
}
static int (*const table[4])(int) = {twice, thrice, negate, collatz};

__attribute__((noinline)) static void read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  uint32_t sum = 2166136261u;
  size_t len = 0;
  int c;
  while ((c = fgetc(f)) != EOF) {
    sum = (sum ^ (uint32_t)c) * 16777619u;
    len++;
  }
  fclose(f);
  printf("%zu bytes, fnv1a %08x\n", len, (unsigned)sum);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *cmd = argv[i];
    if (!strcmp(cmd, "hello")) hello();
    else if (!strcmp(cmd, "sum") && i + 1 < argc)
      printf("sum %llu\n", (unsigned long long)sum_squares(strtoull(argv[++i], NULL, 10)));
    else if (!strcmp(cmd, "sort")) sort_some();
    else if (!strcmp(cmd, "float") && i + 1 < argc)
      printf("float %.6f %e\n", strtod(argv[i + 1], NULL) / 7.0, strtod(argv[i + 1], NULL)), i++;
    else if (!strcmp(cmd, "ptr") && i + 1 < argc) {
      int n = atoi(argv[++i]);
      printf("ptr %d -> %d\n", n, table[(unsigned)n % 4](n));
    } else if (!strcmp(cmd, "file") && i + 1 < argc) read_file(argv[++i]);
    else {
      fprintf(stderr, "split_paths: unknown command %s\n", cmd);
      return 2;
    }
  }
  return 0;
}
