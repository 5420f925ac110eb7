/* hog: allocates 1 MiB blocks until malloc fails (for --memory).
   Prints the total every 64 MiB, then "malloc failed at N MiB" and exits 3. */
#include <stdio.h>
#include <stdlib.h>

/* Blocks are chained through their first word and the head is volatile, so the
   compiler cannot drop the allocations. */
static void *volatile head;

int main(void) {
  unsigned long mib = 0;
  for (;;) {
    char *p = malloc(1024 * 1024);
    if (p == NULL) {
      printf("malloc failed at %lu MiB\n", mib);
      fflush(stdout);
      return 3;
    }
    /* Touch one byte per 64 KiB page so the memory is really used. */
    for (size_t off = sizeof(void *); off < 1024 * 1024; off += 65536) p[off] = (char)off;
    *(void **)p = head;
    head = p;
    mib++;
    if (mib % 64 == 0) {
      printf("allocated %lu MiB\n", mib);
      fflush(stdout);
    }
  }
}
