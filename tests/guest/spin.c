/* spin: prints one line, then loops for ever (for --timeout). */
#include <stdio.h>

int main(void) {
  volatile unsigned long counter = 0;
  puts("spinning");
  fflush(stdout);
  for (;;) counter++;
}
