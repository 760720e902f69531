/* json: the small, bounded JSON reader and writer of hermit's C clients (see json.h). */
#include "json.h"

#include <stdio.h>
#include <string.h>

void hjson_init(struct hjson *r, unsigned char *body, size_t len)
{
    r->p = body;
    r->end = body + len;
    r->why = NULL;
}

void hjson_fail(struct hjson *r, const char *why)
{
    if (r->why == NULL)
        r->why = why;
    r->p = r->end;
}

int hjson_is(const char *s, const char *lit)
{
    return s != NULL && strcmp(s, lit) == 0;
}

static void skip_blanks(struct hjson *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

int hjson_peek(struct hjson *r)
{
    if (r->why != NULL)
        return -1;
    skip_blanks(r);
    return r->p < r->end ? *r->p : -1;
}

static int expect(struct hjson *r, unsigned char c)
{
    if (hjson_peek(r) != c) {
        hjson_fail(r, "unexpected character");
        return 0;
    }
    r->p++;
    return 1;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

static unsigned char *put_utf8(unsigned char *out, unsigned cp)
{
    if (cp < 0x80) {
        *out++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *out++ = (unsigned char)(0xc0 | (cp >> 6));
        *out++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *out++ = (unsigned char)(0xe0 | (cp >> 12));
        *out++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *out++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *out++ = (unsigned char)(0xf0 | (cp >> 18));
        *out++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *out++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *out++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    return out;
}

/* Decodes a \u escape whose 'u' was just consumed; the output pointer after it, or NULL. */
static unsigned char *unicode_escape(struct hjson *r, unsigned char *out)
{
    unsigned cp, lo;
    if (r->end - r->p < 4 || !hex4(r->p, &cp)) {
        hjson_fail(r, "a bad \\u escape");
        return NULL;
    }
    r->p += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || !hex4(r->p + 2, &lo) ||
            lo < 0xdc00 || lo > 0xdfff) {
            hjson_fail(r, "a lone surrogate");
            return NULL;
        }
        r->p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        hjson_fail(r, "a lone surrogate");
        return NULL;
    } else if (cp == 0) {
        hjson_fail(r, "a NUL in a string");
        return NULL;
    }
    return put_utf8(out, cp);
}

char *hjson_string(struct hjson *r, size_t *len)
{
    if (!expect(r, '"'))
        return NULL;
    unsigned char *out = r->p, *start = r->p;
    while (r->p < r->end) {
        unsigned char c = *r->p++;
        if (c == '"') {
            /* out never passes the closing quote, which is already consumed. */
            *out = '\0';
            *len = (size_t)(out - start);
            return (char *)start;
        }
        if (c < 0x20) {
            hjson_fail(r, "a control character in a string");
            return NULL;
        }
        if (c != '\\') {
            *out++ = c;
            continue;
        }
        if (r->p >= r->end)
            break;
        c = *r->p++;
        switch (c) {
        case '"': case '\\': case '/': *out++ = c; break;
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u':
            out = unicode_escape(r, out);
            if (out == NULL)
                return NULL;
            break;
        default:
            hjson_fail(r, "a bad escape");
            return NULL;
        }
    }
    hjson_fail(r, "an unterminated string");
    return NULL;
}

const char *hjson_text(struct hjson *r, int newlines, const char *refused)
{
    size_t len;
    const char *s = hjson_string(r, &len);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(newlines && c == '\n')) || c == 0x7f || strchr(refused, c) != NULL) {
            hjson_fail(r, "a text with a control or refused character");
            return NULL;
        }
    }
    return s;
}

uint64_t hjson_uint(struct hjson *r, uint64_t max)
{
    int c = hjson_peek(r);
    if (c < '0' || c > '9') {
        hjson_fail(r, "not an unsigned integer");
        return 0;
    }
    uint64_t v = 0;
    int digits = 0;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        unsigned d = (unsigned)(*r->p - '0');
        if (digits == 1 && v == 0) {
            hjson_fail(r, "a number with a leading zero");
            return 0;
        }
        /* d > max first: max - d would wrap around for a max below 9. */
        if (d > max || v > (max - d) / 10) {
            hjson_fail(r, "a number out of range");
            return 0;
        }
        v = v * 10 + d;
        digits++;
        r->p++;
    }
    if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E')) {
        hjson_fail(r, "not an integer");
        return 0;
    }
    return v;
}

int hjson_open(struct hjson *r, unsigned char bracket)
{
    return expect(r, bracket);
}

const char *hjson_member(struct hjson *r, int *first)
{
    int c = hjson_peek(r);
    if (c == '}') {
        r->p++;
        return NULL;
    }
    if (!*first) {
        if (c != ',') {
            hjson_fail(r, "a missing comma");
            return NULL;
        }
        r->p++;
    }
    *first = 0;
    size_t len;
    const char *key = hjson_string(r, &len);
    if (key == NULL || !expect(r, ':'))
        return NULL;
    return key;
}

int hjson_element(struct hjson *r, int *first)
{
    int c = hjson_peek(r);
    if (c == ']') {
        r->p++;
        return 0;
    }
    if (c == -1) {
        hjson_fail(r, "a truncated array");
        return 0;
    }
    if (!*first) {
        if (c != ',') {
            hjson_fail(r, "a missing comma");
            return 0;
        }
        r->p++;
    }
    *first = 0;
    return 1;
}

/* Iteratively, the stack holding the closing bracket of each open container. Numbers and
 * literals are skipped loosely (their value is never used). */
void hjson_skip(struct hjson *r)
{
    char stack[HJSON_MAX_DEPTH];
    int depth = 0;
    size_t len;
    while (r->why == NULL) {
        int c = hjson_peek(r);
        if (c == '"') {
            hjson_string(r, &len);
        } else if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            r->p++;
            if (hjson_peek(r) == close) {
                r->p++;
            } else {
                if (depth == HJSON_MAX_DEPTH) {
                    hjson_fail(r, "nested too deep");
                    return;
                }
                stack[depth++] = close;
                if (close == '}' && (hjson_string(r, &len) == NULL || !expect(r, ':')))
                    return;
                continue; /* the first member's value or element is next */
            }
        } else if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
            while (r->p < r->end && strchr("+-.0123456789eEtruefalsn", *r->p) != NULL)
                r->p++;
        } else {
            hjson_fail(r, "an unexpected value");
            return;
        }
        /* After a value: close finished containers, or step to the next member or element. */
        for (;;) {
            if (depth == 0 || r->why != NULL)
                return;
            c = hjson_peek(r);
            if (c == ',') {
                r->p++;
                if (stack[depth - 1] == '}' && (hjson_string(r, &len) == NULL || !expect(r, ':')))
                    return;
                break;
            }
            if (c != stack[depth - 1]) {
                hjson_fail(r, "unbalanced brackets");
                return;
            }
            r->p++;
            depth--;
        }
    }
}

int hjson_finish(struct hjson *r)
{
    if (hjson_peek(r) != -1)
        hjson_fail(r, "data after the object");
    return r->why == NULL;
}

/* ---- the writer ------------------------------------------------------------------------- */

void hjson_out_init(struct hjson_out *o, char *buf, size_t size, size_t start)
{
    o->buf = buf;
    o->size = size;
    o->len = start;
    o->overflow = start > size;
}

static void put_bytes(struct hjson_out *o, const char *s, size_t n)
{
    if (o->overflow || o->size - o->len < n) {
        o->overflow = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

void hjson_put_raw(struct hjson_out *o, const char *s)
{
    put_bytes(o, s, strlen(s));
}

void hjson_put_string(struct hjson_out *o, const char *s, size_t n)
{
    put_bytes(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put_bytes(o, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put_bytes(o, esc, 6);
        } else {
            put_bytes(o, (const char *)&c, 1);
        }
    }
    put_bytes(o, "\"", 1);
}

void hjson_put_uint(struct hjson_out *o, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    put_bytes(o, digits, (size_t)n);
}
