/* trap: prints a line, then hits `unreachable` inside crash_here(). Built with -g
   so the name section (and DWARF) let the runtime name the function in its report. */
#include <stdio.h>

__attribute__((noinline)) void crash_here(int depth) {
  if (depth > 0) {
    puts("about to trap in crash_here");
    fflush(stdout);
  }
  __builtin_trap();
}

int main(void) {
  crash_here(1);
  return 0;
}
