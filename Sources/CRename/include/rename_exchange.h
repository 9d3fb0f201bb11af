/* renameat2(2) with RENAME_EXCHANGE, which swaps two paths in one step (either may be a non-empty
   directory, which rename(2) cannot replace). Glibc declares renameat2 only under _GNU_SOURCE,
   which Swift's Glibc module does not define; hence this one C function. */
#ifndef RENAME_EXCHANGE_H
#define RENAME_EXCHANGE_H

/* Swaps `a` and `b`, both of which must exist. Returns 0, or -1 with errno set (EINVAL or ENOSYS
   where the file system or kernel lacks the exchange). */
int rk_rename_exchange(const char *a, const char *b);

#endif
