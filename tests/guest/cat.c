/* cat [-v]: copies stdin to stdout line by line. When stdin is a terminal it
   prints a "> " prompt before each line. With -v it reports isatty(0) and
   isatty(1) on stderr first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
  int tty_in = isatty(0);
  if (verbose) {
    fprintf(stderr, "isatty(0)=%d isatty(1)=%d\n", tty_in, isatty(1));
    fflush(stderr);
  }
  char *line = NULL;
  size_t cap = 0;
  for (;;) {
    if (tty_in) {
      fputs("> ", stdout);
      fflush(stdout);
    }
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) break;
    fwrite(line, 1, (size_t)n, stdout);
    fflush(stdout);
  }
  free(line);
  if (ferror(stdin)) {
    perror("cat: stdin");
    return 1;
  }
  return 0;
}
