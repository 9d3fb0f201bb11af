/* A mapped file that shrinks under its mapping turns the next read past its new end into SIGBUS,
   which would end the process without a word. These register each read-only mapping with the path
   it maps, and a SIGBUS handler that names the file of the faulting address in one line on
   stderr and exits with status 2. In C because a signal handler may only call async-signal-safe
   functions (write, _exit), which Swift code cannot promise. */
#ifndef MAPPED_FILES_H
#define MAPPED_FILES_H
#include <stddef.h>

/* Registers [start, start + length) as a mapping of `path` (copied, truncated to 1023 bytes) and
   installs the handler on first use. Returns 0, or -1 when all slots (64) are taken. */
int rk_mapped_register(const void *start, size_t length, const char *path);

/* Forgets the mapping at `start` (before munmap). */
void rk_mapped_unregister(const void *start);

#endif
