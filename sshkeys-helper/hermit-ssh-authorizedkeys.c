/*
 * hermit-ssh-authorizedkeys NAME: sshd's AuthorizedKeysCommand for hermit.
 *
 * Prints the SSH public keys hermit-unixd knows for NAME, one per line, and nothing else.
 * It decides nothing: unixd answers (and keeps local names to themselves: a local user gets
 * "notfound"). This program only marshals one request, reads one answer and prints it.
 * Why C, and the startup figures: docs/sshkeys-helper.md.
 *
 * Exit status (sshd treats anything but 0 as "no keys from this command"):
 *   0  keys printed, or none: unixd answered notfound, or NAME cannot be an account
 *   1  one line on stderr: unixd unreachable, too slow, unable to answer (unavail),
 *      refused the request, or answered something this program does not accept
 *   2  usage
 *
 * Rules (docs/protocol.md, STYLE.md "C thin-client rules"):
 * - NAME is checked before any I/O, with the rule of unixd/proto/messages.py: 1 to 256
 *   printable ASCII characters without ':', '/', ',', not "." or "..".
 * - socket_path comes from the fixed config file (HERMIT_CONFIG_PATH, set at build time),
 *   never from the environment; a missing file means the default path.
 * - One CLOCK_MONOTONIC deadline for the whole call; every wait is a poll() with the time
 *   left. EINTR is retried. The socket is SOCK_CLOEXEC and never fd 0-2; send uses
 *   MSG_NOSIGNAL.
 * - The answer's length is checked on its header against MAX_RESPONSE_BYTES before anything
 *   is allocated, and exactly that many bytes are allocated.
 * - Nothing is printed until the whole answer has been parsed and checked, so a broken
 *   answer never yields half a key list. A key containing a newline, CR or NUL is refused
 *   (it could smuggle a second authorized_keys line with options).
 *
 * Wire format (docs/protocol.md, "Framing"): a 4-byte big-endian length, then that many bytes
 * of UTF-8 JSON. Sent:     {"v":1,"op":"ssh_keys","name":NAME}
 * Accepted answers:        {"status":"ok","keys":[STRING,...]} | {"status":"notfound"}
 *                          | {"status":"unavail"} | {"status":"error","error":CODE,...}
 * Other members are skipped; "status" and "keys" may each appear once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef HERMIT_CONFIG_PATH
#define HERMIT_CONFIG_PATH "/etc/hermit/unixd.toml"
#endif
#ifndef HERMIT_DEADLINE_MS
#define HERMIT_DEADLINE_MS 2000 /* sshd waits for us on every offered key */
#endif

#define PROG "hermit-ssh-authorizedkeys"
#define DEFAULT_SOCKET_PATH "/run/hermit-unixd/sock"
#define MAX_NAME_BYTES 256                /* unixd/proto/limits.py MAX_LOOKUP_NAME_BYTES */
#define MAX_RESPONSE_BYTES (4u << 20)     /* unixd/proto/limits.py MAX_RESPONSE_FRAME_BYTES */
#define MAX_KEYS 64                       /* unixd/proto/limits.py MAX_SSH_KEYS */
#define MAX_CONFIG_LINE 4096              /* longer lines cannot hold a valid socket_path */
#define MAX_JSON_DEPTH 32                 /* nesting skipped in members we do not read */

static int64_t deadline_ns;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds left before the deadline, rounded up; 0 once it has passed. */
static int ms_left(void)
{
    int64_t left = deadline_ns - now_ns();
    if (left <= 0)
        return 0;
    return (int)((left + 999999) / 1000000);
}

/* ---- NAME ---------------------------------------------------------------------------- */

static int name_is_valid(const char *name)
{
    size_t len = strnlen(name, MAX_NAME_BYTES + 1);
    if (len == 0 || len > MAX_NAME_BYTES)
        return 0;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e || c == ':' || c == '/' || c == ',')
            return 0;
    }
    return 1;
}

/* ---- socket_path from unixd.toml ---------------------------------------------------------
 * A bounded line reader for one key. Accepted: optional blanks, the key bare or quoted, blanks,
 * '=', blanks, a basic string "..." without escapes or a literal string '...', then only
 * blanks or a comment. unixd/config.py refuses socket_path values with quotes, backslashes or
 * control characters, so every valid file is read the same way by both. */

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* 1: found (path copied), 0: this line does not set socket_path, -1: it does, malformed. */
static int parse_config_line(const char *line, char *path, size_t path_size)
{
    static const char *const keys[] = {"socket_path", "\"socket_path\"", "'socket_path'"};
    const char *p = skip_blanks(line);
    size_t key_len = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t n = strlen(keys[i]);
        if (strncmp(p, keys[i], n) == 0 && (p[n] == ' ' || p[n] == '\t' || p[n] == '=')) {
            key_len = n;
            break;
        }
    }
    if (key_len == 0)
        return 0;
    p = skip_blanks(p + key_len);
    if (*p++ != '=')
        return -1;
    p = skip_blanks(p);
    char quote = *p++;
    if (quote != '"' && quote != '\'')
        return -1;
    if (p[0] == quote && p[1] == quote)
        return -1; /* a multi-line string */
    const char *end = strchr(p, quote);
    if (end == NULL)
        return -1;
    size_t len = (size_t)(end - p);
    if (len == 0 || len >= path_size || p[0] != '/')
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || (quote == '"' && c == '\\'))
            return -1;
    }
    const char *rest = skip_blanks(end + 1);
    if (*rest != '\0' && *rest != '#' && *rest != '\n' && *rest != '\r')
        return -1;
    memcpy(path, p, len);
    path[len] = '\0';
    return 1;
}

static void read_socket_path(char *path, size_t path_size)
{
    FILE *f = fopen(HERMIT_CONFIG_PATH, "re");
    if (f == NULL) {
        if (errno != ENOENT)
            fail("cannot read %s: %s", HERMIT_CONFIG_PATH, strerror(errno));
        snprintf(path, path_size, "%s", DEFAULT_SOCKET_PATH);
        return;
    }
    char line[MAX_CONFIG_LINE];
    int found = 0, too_long = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        int complete = strchr(line, '\n') != NULL || feof(f);
        if (too_long) {
            /* The tail of an over-long line: never a line of its own. */
            too_long = !complete;
            continue;
        }
        if (!complete) {
            too_long = 1;
            continue;
        }
        int r = parse_config_line(line, path, path_size);
        if (r < 0) {
            fclose(f);
            fail("%s: cannot read key 'socket_path'", HERMIT_CONFIG_PATH);
        }
        if (r > 0)
            found = 1;
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error)
        fail("cannot read %s", HERMIT_CONFIG_PATH);
    if (!found)
        snprintf(path, path_size, "%s", DEFAULT_SOCKET_PATH);
}

/* ---- I/O under the deadline ---------------------------------------------------------------- */

static int connect_unixd(const char *path)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path)
        fail("socket_path %s is too long for a unix socket", path);
    memcpy(addr.sun_path, path, strlen(path) + 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        fail("cannot create a socket: %s", strerror(errno));
    if (fd <= 2) {
        /* Started with a standard stream closed: keep our socket off fds 0-2, or a stray
         * write to stdout would go to unixd. */
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (moved < 0)
            fail("cannot move the socket off fds 0-2: %s", strerror(errno));
        close(fd);
        fd = moved;
    }
    for (;;) {
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
            return fd;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EINPROGRESS) {
            /* unixd's listen backlog is full: wait a little within the deadline. */
            if (ms_left() == 0)
                fail("timed out connecting to hermit-unixd at %s", path);
            poll(NULL, 0, ms_left() < 10 ? ms_left() : 10);
            continue;
        }
        fail("cannot reach hermit-unixd at %s: %s", path, strerror(errno));
    }
}

static void wait_for(int fd, short events, const char *what)
{
    for (;;) {
        int left = ms_left();
        if (left == 0)
            fail("timed out %s hermit-unixd", what);
        struct pollfd pfd = {.fd = fd, .events = events, .revents = 0};
        int r = poll(&pfd, 1, left);
        if (r > 0)
            return; /* readable, writable, or an error the next call reports */
        if (r < 0 && errno != EINTR)
            fail("poll failed: %s", strerror(errno));
    }
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        wait_for(fd, POLLOUT, "sending to");
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fail("cannot send to hermit-unixd: %s", strerror(errno));
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void recv_all(int fd, unsigned char *buf, size_t len)
{
    while (len > 0) {
        wait_for(fd, POLLIN, "waiting for");
        ssize_t n = recv(fd, buf, len, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fail("cannot read from hermit-unixd: %s", strerror(errno));
        }
        if (n == 0)
            fail("hermit-unixd closed the connection before answering in full");
        buf += n;
        len -= (size_t)n;
    }
}

/* ---- the request --------------------------------------------------------------------------- */

/* The frame {"v":1,"op":"ssh_keys","name":NAME} into buf; its length. NAME is already
 * valid (printable ASCII), so only '"' and '\\' need escaping; the escaper still handles
 * control characters so it stays correct if the name rule is ever relaxed. */
static size_t build_request(const char *name, char *buf, size_t size)
{
    static const char head[] = "{\"v\":1,\"op\":\"ssh_keys\",\"name\":\"";
    static const char tail[] = "\"}";
    size_t n = 4;
    memcpy(buf + n, head, sizeof head - 1);
    n += sizeof head - 1;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (n + 8 >= size)
            fail("name too long"); /* unreachable: NAME is at most 256 bytes */
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, size - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    memcpy(buf + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    uint32_t body = (uint32_t)(n - 4);
    buf[0] = (char)(body >> 24);
    buf[1] = (char)(body >> 16);
    buf[2] = (char)(body >> 8);
    buf[3] = (char)body;
    return n;
}

/* ---- a small, bounded JSON reader -----------------------------------------------------------
 * Reads exactly what it needs from one object. Strings are decoded in place (an escape is never
 * shorter than what it stands for), so no allocation beyond the answer itself. */

struct reader {
    unsigned char *p;
    unsigned char *end;
};

static void garbage(const char *why) __attribute__((noreturn));
static void garbage(const char *why)
{
    fail("hermit-unixd answered something this program cannot read (%s)", why);
}

static void ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int peek(struct reader *r)
{
    ws(r);
    return r->p < r->end ? *r->p : -1;
}

static void expect(struct reader *r, unsigned char c)
{
    if (peek(r) != c)
        garbage("unexpected character");
    r->p++;
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

/* A JSON string at r->p, decoded in place to UTF-8; returns its start, sets *len. */
static char *string(struct reader *r, size_t *len)
{
    expect(r, '"');
    unsigned char *out = r->p, *start = r->p;
    while (r->p < r->end) {
        unsigned char c = *r->p++;
        if (c == '"') {
            *len = (size_t)(out - start);
            return (char *)start;
        }
        if (c < 0x20)
            garbage("a control character in a string");
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
        case 'u': {
            unsigned cp, lo;
            if (r->end - r->p < 4 || !hex4(r->p, &cp))
                garbage("a bad \\u escape");
            r->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
                    !hex4(r->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                    garbage("a lone surrogate");
                r->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                garbage("a lone surrogate");
            }
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
            break;
        }
        default:
            garbage("a bad escape");
        }
    }
    garbage("an unterminated string");
}

/* Skip one value of any kind, nested at most MAX_JSON_DEPTH deep, without recursion: the
 * stack holds the closing bracket of each open container. Numbers and literals are skipped
 * loosely (their value is never used). */
static void skip_value(struct reader *r)
{
    char stack[MAX_JSON_DEPTH];
    int depth = 0;
    size_t len;
    for (;;) {
        int c = peek(r);
        if (c == '"') {
            string(r, &len);
        } else if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            r->p++;
            if (peek(r) == close) {
                r->p++;
            } else {
                if (depth == MAX_JSON_DEPTH)
                    garbage("nested too deep");
                stack[depth++] = close;
                if (close == '}') {
                    string(r, &len);
                    expect(r, ':');
                }
                continue; /* the first member's value or element is next */
            }
        } else if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
            while (r->p < r->end && strchr("+-.0123456789eEtruefalsn", *r->p) != NULL)
                r->p++;
        } else {
            garbage("an unexpected value");
        }
        /* After a value: close finished containers, or step to the next member or element. */
        for (;;) {
            if (depth == 0)
                return;
            c = peek(r);
            if (c == ',') {
                r->p++;
                if (stack[depth - 1] == '}') {
                    string(r, &len);
                    expect(r, ':');
                }
                break;
            }
            if (c != stack[depth - 1])
                garbage("unbalanced brackets");
            r->p++;
            depth--;
        }
    }
}

struct answer {
    char *status;
    size_t status_len;
    char *error;
    size_t error_len;
    char *keys[MAX_KEYS];
    size_t key_lens[MAX_KEYS];
    int nkeys;
    int has_keys;
};

static void read_keys(struct reader *r, struct answer *a)
{
    expect(r, '[');
    if (peek(r) == ']') {
        r->p++;
        return;
    }
    for (;;) {
        if (a->nkeys == MAX_KEYS)
            garbage("too many keys");
        size_t len;
        char *key = string(r, &len);
        if (len == 0 || memchr(key, '\n', len) || memchr(key, '\r', len) ||
            memchr(key, '\0', len))
            garbage("a key that is empty or holds a line break or NUL");
        a->keys[a->nkeys] = key;
        a->key_lens[a->nkeys] = len;
        a->nkeys++;
        int c = peek(r);
        if (c != ']' && c != ',')
            garbage("a missing comma in keys");
        r->p++;
        if (c == ']')
            return;
    }
}

static void read_answer(unsigned char *buf, size_t len, struct answer *a)
{
    struct reader r = {buf, buf + len};
    memset(a, 0, sizeof *a);
    expect(&r, '{');
    if (peek(&r) == '}') {
        r.p++;
    } else {
        for (;;) {
            size_t name_len;
            char *name = string(&r, &name_len);
            expect(&r, ':');
            if (name_len == 6 && memcmp(name, "status", 6) == 0) {
                if (a->status != NULL)
                    garbage("two statuses");
                a->status = string(&r, &a->status_len);
            } else if (name_len == 5 && memcmp(name, "error", 5) == 0 && peek(&r) == '"') {
                a->error = string(&r, &a->error_len);
            } else if (name_len == 4 && memcmp(name, "keys", 4) == 0) {
                if (a->has_keys)
                    garbage("two key lists");
                a->has_keys = 1;
                read_keys(&r, a);
            } else {
                skip_value(&r);
            }
            int c = peek(&r);
            if (c != '}' && c != ',')
                garbage("a missing comma");
            r.p++;
            if (c == '}')
                break;
        }
    }
    if (peek(&r) != -1)
        garbage("data after the object");
    if (a->status == NULL)
        garbage("no status");
}

static int status_is(const struct answer *a, const char *s)
{
    return a->status_len == strlen(s) && memcmp(a->status, s, a->status_len) == 0;
}

/* An error code fit for our one stderr line: [a-z_]{1,64}, else a placeholder. */
static const char *tame_code(const struct answer *a)
{
    static char code[65];
    if (a->error == NULL || a->error_len == 0 || a->error_len > 64)
        return "unknown";
    for (size_t i = 0; i < a->error_len; i++) {
        char c = a->error[i];
        if (!((c >= 'a' && c <= 'z') || c == '_'))
            return "unknown";
        code[i] = c;
    }
    code[a->error_len] = '\0';
    return code;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: " PROG " NAME\n", stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!name_is_valid(name))
        return 0; /* no account can have this name: it has no keys (and no I/O is done) */

    deadline_ns = now_ns() + (int64_t)HERMIT_DEADLINE_MS * 1000000;
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    read_socket_path(socket_path, sizeof socket_path);

    char request[4 + 64 + 6 * MAX_NAME_BYTES];
    size_t request_len = build_request(name, request, sizeof request);

    int fd = connect_unixd(socket_path);
    send_all(fd, request, request_len);

    unsigned char header[4];
    recv_all(fd, header, sizeof header);
    uint32_t len = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                   (uint32_t)header[2] << 8 | (uint32_t)header[3];
    if (len == 0 || len > MAX_RESPONSE_BYTES)
        fail("hermit-unixd announced an answer of %u bytes (the limit is %u)", len,
             MAX_RESPONSE_BYTES);
    unsigned char *body = malloc(len);
    if (body == NULL)
        fail("out of memory");
    recv_all(fd, body, len);
    close(fd);

    struct answer a;
    read_answer(body, len, &a);
    int rc = 0;
    if (status_is(&a, "ok")) {
        if (!a.has_keys)
            garbage("ok without keys");
        for (int i = 0; i < a.nkeys; i++) {
            fwrite(a.keys[i], 1, a.key_lens[i], stdout);
            fputc('\n', stdout);
        }
    } else if (status_is(&a, "notfound")) {
        /* Not one of hermit's accounts (or a local one): no keys. */
    } else if (status_is(&a, "unavail")) {
        fputs(PROG ": hermit-unixd cannot answer now (offline and not cached)\n", stderr);
        rc = 1;
    } else if (status_is(&a, "error")) {
        fprintf(stderr, PROG ": hermit-unixd refused the request: %s\n", tame_code(&a));
        rc = 1;
    } else {
        garbage("an unknown status");
    }
    free(body);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": cannot write the keys: %s\n", strerror(errno));
        return 1;
    }
    return rc;
}
