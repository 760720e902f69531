/*
 * hermit_client: the part of hermit-unixd's client socket protocol every C client shares.
 *
 * Compiled into each C program (hermit-ssh-authorizedkeys, libnss_hermit.so.2,
 * pam_hermit.so); it is not a shared library of its own. What it owns: reading socket_path
 * from unixd.toml, the name rule, the start every request shares ({"v":1,"op":...,"name":...}),
 * one connection under one CLOCK_MONOTONIC deadline, framed send/receive with the response
 * limit, and the one trust rule for what sits at socket_path (below). What it does not do: write an op's other members or read any answer (callers use
 * json.h), decide anything, print anything, or keep state between calls.
 *
 * Rules (STYLE.md "C thin-client rules", docs/protocol.md):
 * - No function exits, prints, reads the environment or touches a global: every piece of
 *   state is in the caller's struct hermit_conn, so the NSS module may call it from any
 *   thread at once.
 * - The socket is SOCK_CLOEXEC, never fd 0-2; send uses MSG_NOSIGNAL; EINTR is retried.
 * - One deadline per call, set at hermit_connect (and by hermit_arm before each further round
 *   trip); every wait is a poll() with the time left. Past it, HERMIT_E_TIMEOUT.
 * - A response's length is checked on its 4-byte header (0 and more than
 *   HERMIT_MAX_RESPONSE_BYTES are refused) before exactly that many bytes are allocated.
 * - Any failure closes the socket (hermit_close is still safe to call).
 * - Trust (every client, before it believes what sits at socket_path): the directory holding
 *   socket_path is a directory group and others cannot write to; the socket is owned by the
 *   uid of the process serving it (SO_PEERCRED), and the directory by root or that uid
 *   (hermit_check_peer); a file beside it (the NSS memory cache) is a regular file of the
 *   directory's owner that group and others cannot write to (hermit_file_is_trusted).
 *   Anyone else able to write there could have planted the socket or the file.
 *
 * Wire format (docs/protocol.md "Framing"): each frame is a 4-byte big-endian length of the
 * body, then the body, one UTF-8 JSON object. One request, one response, in order.
 */
#ifndef HERMIT_CLIENT_H
#define HERMIT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "json.h"

/* The config file every C client reads socket_path from; tests build with their own
 * (cclient.mk passes -DHERMIT_CONFIG_PATH, never the environment). */
#ifndef HERMIT_CONFIG_PATH
#define HERMIT_CONFIG_PATH "/etc/hermit/unixd.toml"
#endif
#define HERMIT_DEFAULT_SOCKET_PATH "/run/hermit-unixd/sock"
#define HERMIT_MAX_NAME_BYTES 256               /* unixd/proto/limits.py MAX_LOOKUP_NAME_BYTES */
#define HERMIT_MAX_REQUEST_BYTES (64u << 10)    /* unixd/proto/limits.py MAX_REQUEST_FRAME_BYTES */
#define HERMIT_MAX_RESPONSE_BYTES (4u << 20)    /* unixd/proto/limits.py MAX_RESPONSE_FRAME_BYTES */
#define HERMIT_SOCKET_PATH_SIZE 108             /* sizeof(sockaddr_un.sun_path) on Linux */
/* A path beside socket_path: its directory plus a file name of hermit's (memory-cache files). */
#define HERMIT_BESIDE_PATH_SIZE (HERMIT_SOCKET_PATH_SIZE + 32)

/* What went wrong; the errno behind it, if any, is in hermit_conn.sys_errno. */
enum hermit_status {
    HERMIT_OK = 0,
    HERMIT_E_CONFIG_READ,  /* the config file exists but cannot be read */
    HERMIT_E_CONFIG_KEY,   /* a socket_path line is malformed */
    HERMIT_E_PATH,         /* socket_path does not fit a sockaddr_un */
    HERMIT_E_SOCKET,       /* socket() or moving it off fds 0-2 failed */
    HERMIT_E_CONNECT,      /* connect() failed: unixd is not there */
    HERMIT_E_TIMEOUT,      /* the deadline passed */
    HERMIT_E_IO,           /* send, recv or poll failed */
    HERMIT_E_CLOSED,       /* unixd closed the connection before a whole frame */
    HERMIT_E_LENGTH,       /* a response length of 0 or over the limit */
    HERMIT_E_NOMEM,
    HERMIT_E_TRUST,        /* the socket or its peer failed hermit_check_peer */
};

/* The phase a timeout or I/O error happened in (for a message). */
enum hermit_phase { HERMIT_PHASE_CONNECT, HERMIT_PHASE_SEND, HERMIT_PHASE_RECV };

struct hermit_conn {
    int fd;                    /* -1 when closed */
    int64_t deadline_ns;       /* CLOCK_MONOTONIC */
    enum hermit_status status; /* of the last failure */
    enum hermit_phase phase;
    int sys_errno;
    uint32_t announced;        /* the refused length, for HERMIT_E_LENGTH */
    char path[HERMIT_SOCKET_PATH_SIZE];
};

/* 1 if NAME may be asked about (unixd/proto/messages.py validate_lookup_name): 1 to 256
 * printable ASCII characters without ':', '/', ',' and not "." or "..". */
int hermit_name_is_valid(const char *name);

/* Starts a request in BUF (SIZE bytes; the first 4 are left for the frame header):
 * {"v":1,"op":"OP" and, unless NAME is NULL, ,"name":NAME. The caller adds its other members
 * and the closing '}', then checks O->overflow. OP is a literal op name (not escaped). */
void hermit_request(struct hjson_out *o, char *buf, size_t size, const char *op,
                    const char *name);

/* Reads socket_path from CONFIG_PATH into c->path. A missing file or key means
 * HERMIT_DEFAULT_SOCKET_PATH. Returns HERMIT_OK, HERMIT_E_CONFIG_READ or HERMIT_E_CONFIG_KEY. */
enum hermit_status hermit_read_socket_path(struct hermit_conn *c, const char *config_path);

/* Sets the deadline TIMEOUT_MS from now and connects to c->path (set by
 * hermit_read_socket_path). Returns HERMIT_OK or the failure (also in c->status). */
enum hermit_status hermit_connect(struct hermit_conn *c, int timeout_ms);

/* Sets a new deadline TIMEOUT_MS from now: for a connection that carries several round trips
 * with a person's typing between them (the PAM conversation), one deadline per round trip. */
void hermit_arm(struct hermit_conn *c, int timeout_ms);

/* Every client, once connected and before it sends anything: the socket file must be a socket
 * owned by the uid of the peer (SO_PEERCRED), in a directory owned by root or that uid and
 * writable by nobody else, so the peer is the process that bound the socket there. */
enum hermit_status hermit_check_peer(struct hermit_conn *c);

/* 1 if the directory holding PATH is a directory that group and others cannot write to (a
 * sticky one included); its owner in *OWNER. The part of the trust rule every check shares. */
int hermit_dir_is_trusted(const char *path, uid_t *owner);

/* 1 if ST (fstat of the open file at PATH) is a regular file that group and others cannot
 * write to, owned by the owner of a trusted directory holding PATH: for files unixd
 * publishes beside its socket. */
int hermit_file_is_trusted(const char *path, const struct stat *st);

/* Sends one frame whose body is BODY[4 .. 4+BODY_LEN); BODY[0..4) is the space for the
 * header, which this function fills. */
enum hermit_status hermit_send_frame(struct hermit_conn *c, char *frame, size_t body_len);

/* Receives one frame; *BODY is malloc'd with exactly *LEN bytes (the caller frees it). */
enum hermit_status hermit_recv_frame(struct hermit_conn *c, unsigned char **body, size_t *len);

void hermit_close(struct hermit_conn *c);

/* One line describing c's last failure (for the sshkeys helper's stderr). */
const char *hermit_describe(const struct hermit_conn *c, const char *config_path, char *buf,
                            size_t size);

#endif
