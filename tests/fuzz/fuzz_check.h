/*
 * fuzz_check: what the C harnesses of tests/fuzz share.
 *
 * A harness calls the code under test and then checks the promises its header makes; a
 * broken promise is a crash (abort(), so libFuzzer keeps the input as an artifact), just as a
 * sanitizer report is. Nothing here is compiled into hermit.
 */
#ifndef HERMIT_FUZZ_CHECK_H
#define HERMIT_FUZZ_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* 1 if S is a C string that starts and ends (its NUL included) inside [LO, HI). */
static inline int c_string_inside(const void *s, const void *lo, const void *hi)
{
    const char *p = s, *l = lo, *h = hi;
    return p != NULL && p >= l && p < h && memchr(p, '\0', (size_t)(h - p)) != NULL;
}

/* A copy of DATA in a buffer of exactly SIZE bytes, so ASan sees any read one byte past it
 * (the code under test gets its bodies in exact-size buffers too: hermit_recv_frame). */
static inline unsigned char *exact_copy(const unsigned char *data, size_t size)
{
    unsigned char *copy = malloc(size); /* malloc(0) is a valid, empty block under ASan */
    CHECK(copy != NULL);
    if (size)
        memcpy(copy, data, size);
    return copy;
}

#endif
