/*
 * json: the small, bounded JSON reader and writer of hermit's C clients.
 *
 * The reader reads exactly what a caller asks for from one response body and skips the rest;
 * it owns no memory. Strings are decoded in place (an escape is never shorter than what it
 * stands for) and NUL-terminated in place, so a decoded string is a C string that lives as
 * long as the body. The writer appends to a caller's fixed buffer and never allocates.
 *
 * Rules:
 * - Errors are sticky: the first problem sets r->why and every later call fails at once, so
 *   a caller may read a whole object and check r->why once at the end.
 * - Nothing recurses: skipped values nest at most HJSON_MAX_DEPTH deep with an explicit stack.
 * - A string that decodes to one holding NUL is refused (it would end a C string early).
 * - Numbers are read only as unsigned integers without fraction or exponent, as unixd sends
 *   ids; other numbers are skipped loosely, their value unused.
 */
#ifndef HERMIT_JSON_H
#define HERMIT_JSON_H

#include <stddef.h>
#include <stdint.h>

#define HJSON_MAX_DEPTH 32 /* nesting skipped in members nobody reads */

struct hjson {
    unsigned char *p;
    unsigned char *end;
    const char *why; /* NULL while all is well */
};

void hjson_init(struct hjson *r, unsigned char *body, size_t len);

/* The next non-blank byte (not consumed), or -1 at the end or after an error. */
int hjson_peek(struct hjson *r);

/* A string value: decoded, NUL-terminated in place; NULL after an error. *LEN excludes the NUL. */
char *hjson_string(struct hjson *r, size_t *len);

/* A string value meant as text: no control character (below 0x20, or 0x7f) except '\n' when
 * NEWLINES, and none of the characters in REFUSED; NULL after an error. */
const char *hjson_text(struct hjson *r, int newlines, const char *refused);

/* An unsigned integer no greater than MAX; 0 after an error. */
uint64_t hjson_uint(struct hjson *r, uint64_t max);

/* Skips one value of any kind. */
void hjson_skip(struct hjson *r);

/* Objects and arrays. Use as:
 *     int first = 1; const char *key;
 *     if (hjson_open(r, '{')) while ((key = hjson_member(r, &first)) != NULL) { read the value }
 *     int first = 1;
 *     if (hjson_open(r, '[')) while (hjson_element(r, &first)) { read the element }
 * A loop ends at the closing bracket (consumed) or at an error. */
int hjson_open(struct hjson *r, unsigned char bracket);
const char *hjson_member(struct hjson *r, int *first);
int hjson_element(struct hjson *r, int *first);

/* After the top-level value: only blanks may follow. Returns r->why == NULL. */
int hjson_finish(struct hjson *r);

/* Marks the body as unacceptable for a caller's own reason (a missing member, a bad value). */
void hjson_fail(struct hjson *r, const char *why);

/* 1 if the NUL-terminated S equals the C string LIT. */
int hjson_is(const char *s, const char *lit);

/* ---- the writer ------------------------------------------------------------------------- */

struct hjson_out {
    char *buf;
    size_t size;
    size_t len;
    int overflow; /* set once something did not fit; the buffer is then unusable */
};

void hjson_out_init(struct hjson_out *o, char *buf, size_t size, size_t start);
void hjson_put_raw(struct hjson_out *o, const char *s);
/* A JSON string of the N bytes at S, escaping '"', '\\' and control characters. */
void hjson_put_string(struct hjson_out *o, const char *s, size_t n);
void hjson_put_uint(struct hjson_out *o, uint64_t v);

#endif
