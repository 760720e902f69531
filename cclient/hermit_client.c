/* hermit_client: config, connection, deadline and framing of hermit's C clients (see the
 * header for the rules and the wire format). */
#define _GNU_SOURCE
#include "hermit_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONFIG_LINE 4096 /* longer lines cannot hold a valid socket_path */
#define BACKLOG_WAIT_MS 10   /* unixd's listen backlog is full: retry this often */

_Static_assert(HERMIT_SOCKET_PATH_SIZE == sizeof(((struct sockaddr_un *)0)->sun_path),
               "sun_path size");

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds left before the deadline, rounded up; 0 once it has passed. */
static int ms_left(const struct hermit_conn *c)
{
    int64_t left = c->deadline_ns - now_ns();
    if (left <= 0)
        return 0;
    return (int)((left + 999999) / 1000000);
}

static enum hermit_status failed(struct hermit_conn *c, enum hermit_status status, int err)
{
    c->status = status;
    c->sys_errno = err;
    hermit_close(c);
    return status;
}

int hermit_name_is_valid(const char *name)
{
    size_t len = strnlen(name, HERMIT_MAX_NAME_BYTES + 1);
    if (len == 0 || len > HERMIT_MAX_NAME_BYTES)
        return 0;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x21 || ch > 0x7e || ch == ':' || ch == '/' || ch == ',')
            return 0;
    }
    return 1;
}

void hermit_request(struct hjson_out *o, char *buf, size_t size, const char *op,
                    const char *name)
{
    hjson_out_init(o, buf, size, 4);
    hjson_put_raw(o, "{\"v\":1,\"op\":\"");
    hjson_put_raw(o, op);
    hjson_put_raw(o, "\"");
    if (name != NULL) {
        hjson_put_raw(o, ",\"name\":");
        hjson_put_string(o, name, strlen(name));
    }
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
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x20 || ch == 0x7f || (quote == '"' && ch == '\\'))
            return -1;
    }
    const char *rest = skip_blanks(end + 1);
    if (*rest != '\0' && *rest != '#' && *rest != '\n' && *rest != '\r')
        return -1;
    memcpy(path, p, len);
    path[len] = '\0';
    return 1;
}

enum hermit_status hermit_read_socket_path(struct hermit_conn *c, const char *config_path)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    snprintf(c->path, sizeof c->path, "%s", HERMIT_DEFAULT_SOCKET_PATH);
    FILE *f = fopen(config_path, "re");
    if (f == NULL)
        return errno == ENOENT ? HERMIT_OK : failed(c, HERMIT_E_CONFIG_READ, errno);
    char line[MAX_CONFIG_LINE];
    char path[HERMIT_SOCKET_PATH_SIZE];
    int too_long = 0;
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
        int r = parse_config_line(line, path, sizeof path);
        if (r < 0) {
            fclose(f);
            return failed(c, HERMIT_E_CONFIG_KEY, 0);
        }
        if (r > 0)
            memcpy(c->path, path, sizeof path);
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error)
        return failed(c, HERMIT_E_CONFIG_READ, EIO);
    return HERMIT_OK;
}

/* ---- I/O under the deadline ---------------------------------------------------------------- */

void hermit_arm(struct hermit_conn *c, int timeout_ms)
{
    c->deadline_ns = now_ns() + (int64_t)timeout_ms * 1000000;
}

enum hermit_status hermit_connect(struct hermit_conn *c, int timeout_ms)
{
    hermit_arm(c, timeout_ms);
    c->phase = HERMIT_PHASE_CONNECT;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strnlen(c->path, sizeof c->path);
    if (len >= sizeof addr.sun_path)
        return failed(c, HERMIT_E_PATH, ENAMETOOLONG);
    memcpy(addr.sun_path, c->path, len + 1);

    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        return failed(c, HERMIT_E_SOCKET, errno);
    if (c->fd <= 2) {
        /* Started with a standard stream closed: keep the socket off fds 0-2, or a stray
         * write to stdout would go to unixd. */
        int moved = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
        if (moved < 0)
            return failed(c, HERMIT_E_SOCKET, errno);
        close(c->fd);
        c->fd = moved;
    }
    for (;;) {
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0)
            return HERMIT_OK;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EINPROGRESS)
            return failed(c, HERMIT_E_CONNECT, errno);
        int left = ms_left(c);
        if (left == 0)
            return failed(c, HERMIT_E_TIMEOUT, ETIMEDOUT);
        poll(NULL, 0, left < BACKLOG_WAIT_MS ? left : BACKLOG_WAIT_MS);
    }
}

int hermit_dir_is_trusted(const char *path, uid_t *owner)
{
    char dir[HERMIT_BESIDE_PATH_SIZE];
    size_t len = strnlen(path, sizeof dir);
    if (len == sizeof dir)
        return 0;
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return 0;
    if (slash == dir)
        slash[1] = '\0'; /* a file in "/" */
    else
        *slash = '\0';
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return 0;
    *owner = st.st_uid;
    return 1;
}

int hermit_file_is_trusted(const char *path, const struct stat *st)
{
    uid_t dir_owner;
    return S_ISREG(st->st_mode) && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
           hermit_dir_is_trusted(path, &dir_owner) && st->st_uid == dir_owner;
}

enum hermit_status hermit_check_peer(struct hermit_conn *c)
{
    struct ucred cred;
    socklen_t cred_len = sizeof cred;
    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0 ||
        cred_len != sizeof cred)
        return failed(c, HERMIT_E_TRUST, errno);
    struct stat sock_st;
    uid_t dir_owner;
    if (lstat(c->path, &sock_st) != 0 || !S_ISSOCK(sock_st.st_mode) ||
        sock_st.st_uid != cred.uid || !hermit_dir_is_trusted(c->path, &dir_owner) ||
        (dir_owner != 0 && dir_owner != cred.uid))
        return failed(c, HERMIT_E_TRUST, EPERM);
    return HERMIT_OK;
}

/* Waits until FD is ready for EVENTS or the deadline passes. */
static enum hermit_status wait_for(struct hermit_conn *c, short events)
{
    for (;;) {
        int left = ms_left(c);
        if (left == 0)
            return failed(c, HERMIT_E_TIMEOUT, ETIMEDOUT);
        struct pollfd pfd = {.fd = c->fd, .events = events, .revents = 0};
        int r = poll(&pfd, 1, left);
        if (r > 0)
            return HERMIT_OK; /* ready, or an error the next call reports */
        if (r < 0 && errno != EINTR)
            return failed(c, HERMIT_E_IO, errno);
    }
}

enum hermit_status hermit_send_frame(struct hermit_conn *c, char *frame, size_t body_len)
{
    c->phase = HERMIT_PHASE_SEND;
    if (c->fd < 0)
        return c->status;
    frame[0] = (char)(body_len >> 24);
    frame[1] = (char)(body_len >> 16);
    frame[2] = (char)(body_len >> 8);
    frame[3] = (char)body_len;
    const char *p = frame;
    size_t left = body_len + 4;
    while (left > 0) {
        if (wait_for(c, POLLOUT) != HERMIT_OK)
            return c->status;
        ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return failed(c, HERMIT_E_IO, errno);
        }
        p += n;
        left -= (size_t)n;
    }
    return HERMIT_OK;
}

static enum hermit_status recv_all(struct hermit_conn *c, unsigned char *buf, size_t len)
{
    while (len > 0) {
        if (wait_for(c, POLLIN) != HERMIT_OK)
            return c->status;
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return failed(c, HERMIT_E_IO, errno);
        }
        if (n == 0)
            return failed(c, HERMIT_E_CLOSED, ECONNRESET);
        buf += n;
        len -= (size_t)n;
    }
    return HERMIT_OK;
}

enum hermit_status hermit_recv_frame(struct hermit_conn *c, unsigned char **body, size_t *len)
{
    c->phase = HERMIT_PHASE_RECV;
    *body = NULL;
    *len = 0;
    if (c->fd < 0)
        return c->status;
    unsigned char header[4];
    if (recv_all(c, header, sizeof header) != HERMIT_OK)
        return c->status;
    uint32_t n = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                 (uint32_t)header[2] << 8 | (uint32_t)header[3];
    if (n == 0 || n > HERMIT_MAX_RESPONSE_BYTES) {
        c->announced = n;
        return failed(c, HERMIT_E_LENGTH, EBADMSG);
    }
    unsigned char *buf = malloc(n);
    if (buf == NULL)
        return failed(c, HERMIT_E_NOMEM, ENOMEM);
    if (recv_all(c, buf, n) != HERMIT_OK) {
        free(buf);
        return c->status;
    }
    *body = buf;
    *len = n;
    return HERMIT_OK;
}

void hermit_close(struct hermit_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

const char *hermit_describe(const struct hermit_conn *c, const char *config_path, char *buf,
                            size_t size)
{
    static const char *const doing[] = {"connecting to", "sending to", "waiting for"};
    const char *err = strerror(c->sys_errno);
    switch (c->status) {
    case HERMIT_OK:
        snprintf(buf, size, "no error");
        break;
    case HERMIT_E_CONFIG_READ:
        snprintf(buf, size, "cannot read %s: %s", config_path, err);
        break;
    case HERMIT_E_CONFIG_KEY:
        snprintf(buf, size, "%s: cannot read key 'socket_path'", config_path);
        break;
    case HERMIT_E_PATH:
        snprintf(buf, size, "socket_path %s is too long for a unix socket", c->path);
        break;
    case HERMIT_E_SOCKET:
        snprintf(buf, size, "cannot create a socket: %s", err);
        break;
    case HERMIT_E_CONNECT:
        snprintf(buf, size, "cannot reach hermit-unixd at %s: %s", c->path, err);
        break;
    case HERMIT_E_TIMEOUT:
        snprintf(buf, size, "timed out %s hermit-unixd at %s", doing[c->phase], c->path);
        break;
    case HERMIT_E_IO:
        snprintf(buf, size, "cannot talk to hermit-unixd: %s", err);
        break;
    case HERMIT_E_CLOSED:
        snprintf(buf, size, "hermit-unixd closed the connection before answering in full");
        break;
    case HERMIT_E_LENGTH:
        snprintf(buf, size, "hermit-unixd announced an answer of %u bytes (the limit is %u)",
                 c->announced, HERMIT_MAX_RESPONSE_BYTES);
        break;
    case HERMIT_E_NOMEM:
        snprintf(buf, size, "out of memory");
        break;
    case HERMIT_E_TRUST:
        snprintf(buf, size, "the socket %s or its peer is not trusted", c->path);
        break;
    }
    return buf;
}
