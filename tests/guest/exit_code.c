/* exit_code N: exits with status N (0..255) through proc_exit. */
#include <stdio.h>
#include <stdlib.h>
#include <wasi/api.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: exit_code N\n");
    return 2;
  }
  int code = atoi(argv[1]);
  printf("exiting with %d\n", code);
  fflush(stdout);
  __wasi_proc_exit((__wasi_exitcode_t)code);
}
