/*
 * json_fuzz: the libFuzzer harness of cclient/json.c, the bounded JSON reader and writer every
 * C client of hermit reads unixd's answers with.
 *
 * An input is any body unixd could send. It is read twice, each time from its own exact-size
 * copy (the reader decodes strings in place):
 * 1. walked as a caller walks an answer: objects member by member, arrays element by element,
 *    strings with hjson_string or hjson_text, numbers with hjson_uint, the rest (and now and
 *    then any value, so hjson_skip meets every shape) with hjson_skip; then hjson_finish;
 * 2. skipped whole with hjson_skip, then hjson_finish.
 * Which reader a value gets, hjson_uint's maximum and hjson_text's refused characters come
 * from a count of the values read so far: the fuzzer steers them through the input's shape,
 * and the seeds stay plain JSON bodies.
 *
 * Promises checked (json.h), besides ASan and UBSan on every byte read or written:
 * - the read position never leaves the body; after an error, every call fails at once;
 * - a string is a C string inside the body whose strlen is the length returned (no NUL);
 * - hjson_text holds no control character (but '\n' when asked) and none of the refused ones;
 * - hjson_uint never returns a number above its maximum without an error;
 * - hjson_finish is true exactly when no error is set;
 * - the writer: every decoded string and number written with hjson_put_string/hjson_put_uint
 *   reads back the same; a buffer one byte too small is never written past and says overflow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "json.h"

/* Deeper than HJSON_MAX_DEPTH, so values nested past the walk meet hjson_skip's own limit. */
#define WALK_DEPTH 48

static const uint64_t maxes[] = {0, 1, 7, 9, 10, 99, 255, 65535, 4294967294u, UINT64_MAX};
static const char *const refused[] = {"", ":", ":/,", "\"\\"};

struct walk {
    const unsigned char *lo, *hi; /* the body */
    unsigned tick;                /* values read so far */
};

static void check_state(const struct walk *w, struct hjson *r)
{
    CHECK((const unsigned char *)r->p >= w->lo && (const unsigned char *)r->p <= w->hi);
    CHECK((const unsigned char *)r->end == w->hi);
    if (r->why != NULL)
        CHECK(hjson_peek(r) == -1);
}

/* The writer: S (N bytes, no NUL) written and read back is S; one byte less room overflows. */
static void string_round_trip(const char *s, size_t n)
{
    size_t room = 2 + 6 * n; /* quotes, and at most "\u00XX" per byte */
    char *buf = malloc(room);
    CHECK(buf != NULL);
    struct hjson_out o;
    hjson_out_init(&o, buf, room, 0);
    hjson_put_string(&o, s, n);
    CHECK(!o.overflow && o.len >= 2 && o.len <= room);

    unsigned char *copy = exact_copy((const unsigned char *)buf, o.len);
    struct hjson r;
    size_t len = 0;
    hjson_init(&r, copy, o.len);
    const char *back = hjson_string(&r, &len);
    CHECK(back != NULL && len == n && memcmp(back, s, n) == 0);
    CHECK(hjson_finish(&r));
    free(copy);

    size_t short_room = o.len - 1;
    char *small = malloc(short_room);
    CHECK(small != NULL);
    hjson_out_init(&o, small, short_room, 0);
    hjson_put_string(&o, s, n);
    CHECK(o.overflow && o.len <= short_room);
    free(small);
    free(buf);
}

static void uint_round_trip(uint64_t v)
{
    char buf[24];
    struct hjson_out o;
    hjson_out_init(&o, buf, sizeof buf, 0);
    hjson_put_uint(&o, v);
    CHECK(!o.overflow);
    unsigned char *copy = exact_copy((const unsigned char *)buf, o.len);
    struct hjson r;
    hjson_init(&r, copy, o.len);
    CHECK(hjson_uint(&r, UINT64_MAX) == v && hjson_finish(&r));
    free(copy);
}

static void read_string(struct walk *w, struct hjson *r, unsigned t)
{
    size_t len = 0;
    if (t % 3 == 1) {
        int newlines = (t & 8) != 0;
        const char *no = refused[(t / 4) % (sizeof refused / sizeof refused[0])];
        const char *s = hjson_text(r, newlines, no);
        if (s == NULL) {
            CHECK(r->why != NULL);
            return;
        }
        CHECK(c_string_inside(s, w->lo, w->hi));
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            CHECK(*p >= 0x20 || (newlines && *p == '\n'));
            CHECK(*p != 0x7f && strchr(no, *p) == NULL);
        }
        return;
    }
    const char *s = hjson_string(r, &len);
    if (s == NULL) {
        CHECK(r->why != NULL);
        return;
    }
    CHECK(c_string_inside(s, w->lo, w->hi) && strlen(s) == len);
    string_round_trip(s, len);
}

static void walk(struct walk *w, struct hjson *r, int depth)
{
    unsigned t = w->tick++;
    int c = hjson_peek(r);
    if (depth >= WALK_DEPTH || t % 8 == 7) {
        hjson_skip(r);
    } else if (c == '{') {
        int first = 1;
        const char *key;
        if (hjson_open(r, '{'))
            while ((key = hjson_member(r, &first)) != NULL) {
                CHECK(c_string_inside(key, w->lo, w->hi));
                walk(w, r, depth + 1);
            }
    } else if (c == '[') {
        int first = 1;
        if (hjson_open(r, '['))
            while (hjson_element(r, &first))
                walk(w, r, depth + 1);
    } else if (c == '"' || c == -1) {
        read_string(w, r, t); /* at the end or after an error: must fail at once */
    } else if ((c >= '0' && c <= '9') || c == '-') {
        uint64_t max = maxes[t % (sizeof maxes / sizeof maxes[0])];
        uint64_t v = hjson_uint(r, max);
        if (r->why == NULL) {
            CHECK(v <= max);
            uint_round_trip(v);
        } else {
            CHECK(v == 0);
        }
    } else {
        hjson_skip(r);
    }
    check_state(w, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hjson r;
    unsigned char *body = exact_copy(data, size);
    struct walk w = {body, body + size, 0};
    hjson_init(&r, body, size);
    walk(&w, &r, 0);
    int finished = hjson_finish(&r);
    CHECK(finished == (r.why == NULL));
    check_state(&w, &r);
    free(body);

    body = exact_copy(data, size);
    w.lo = body;
    w.hi = body + size;
    hjson_init(&r, body, size);
    hjson_skip(&r);
    finished = hjson_finish(&r);
    CHECK(finished == (r.why == NULL));
    check_state(&w, &r);
    free(body);
    return 0;
}
