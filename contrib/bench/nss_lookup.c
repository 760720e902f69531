/* In-process NSS lookup rate for contrib/bench/nss_bench.py: CALLS getpwnam() (or getgrnam()
 * with --group) calls on names drawn from NAMES_FILE in a fixed pseudo-random order, timed
 * with CLOCK_MONOTONIC. Prints one JSON object; exits 1 if any name was not found, so a
 * broken setup cannot pass for a fast one.
 *
 *   nss_lookup NAMES_FILE CALLS [--group]
 */
#define _GNU_SOURCE
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_NAMES = 100000, MAX_NAME = 256 };

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift32: the same order on every run and machine, and no libc state in the loop. */
static uint32_t next_random(uint32_t *state) {
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s NAMES_FILE CALLS [--group]\n", argv[0]);
        return 2;
    }
    long calls = atol(argv[2]);
    int group = argc > 3 && strcmp(argv[3], "--group") == 0;
    FILE *file = fopen(argv[1], "r");
    if (!file || calls <= 0) {
        perror(argv[1]);
        return 2;
    }
    static char names[MAX_NAMES][MAX_NAME];
    size_t count = 0;
    while (count < MAX_NAMES && fgets(names[count], MAX_NAME, file)) {
        names[count][strcspn(names[count], "\n")] = '\0';
        if (names[count][0] != '\0') count++;
    }
    fclose(file);
    if (count == 0) {
        fprintf(stderr, "no names in %s\n", argv[1]);
        return 2;
    }
    size_t *order = malloc((size_t)calls * sizeof *order);
    if (!order) return 2;
    uint32_t state = 2463534242u;
    for (long i = 0; i < calls; i++) order[i] = next_random(&state) % count;

    long misses = 0;
    double start = seconds();
    for (long i = 0; i < calls; i++) {
        const char *name = names[order[i]];
        if (group ? getgrnam(name) == NULL : getpwnam(name) == NULL) misses++;
    }
    double elapsed = seconds() - start;
    free(order);
    printf("{\"calls\": %ld, \"names\": %zu, \"misses\": %ld, \"seconds\": %.6f, "
           "\"per_sec\": %.1f, \"us_per_call\": %.3f}\n",
           calls, count, misses, elapsed, (double)calls / elapsed, elapsed / (double)calls * 1e6);
    return misses ? 1 : 0;
}
