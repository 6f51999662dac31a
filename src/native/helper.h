/* Shared declarations of tsc-helper; docs/helper-protocol.md is the contract. */
#ifndef TSC_HELPER_H
#define TSC_HELPER_H

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef TSC_HELPER_VERSION
#define TSC_HELPER_VERSION "0.1.0"
#endif
#define TSC_PROTOCOL_VERSION 1
#define MSG_FD 3
#define TOOL_STDERR_MAX 1024
#define CONFIG_MAX 65536 /* the configuration's buffer: at most 65535 bytes and a NUL */
#define MAX_EXTENTS 340 /* the kernel's limit of lines in uid_map */

/* Every function that can fail returns a negative value and fills one of these. */
struct error {
	int errno_; /* 0 when no system call failed (a bad configuration, a tool's status) */
	char op[32];
	char path[1024];
	char message[1024];
	bool reported; /* a child process has sent the record already */
};

/* Fills err, appending strerror(errno_) to the message if errno_ is set; returns -1. */
int error_set(struct error *err, int errno_, const char *op, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
const char *errname(int errno_);
void report_error(const struct error *err);

/* Sends {"type":TYPE,...} on MSG_FD as one line in one write. fields lists `KEY:T` separated
 * by spaces, T being s (a string), i (an int) or b (a bool), each taking one argument, or
 * x (bytes as a hex string) or a (NUL-terminated strings back to back, as an array), each
 * taking a const char * and a size_t length. Strings are cut short as needed to keep the
 * line below 4 KiB. */
void emit(const char *type, const char *fields, ...);
/* As emit(), for a line of up to cap - 1 bytes built in buf (a reply of fsops); returns -1
 * without sending anything if it does not fit. */
int emit_long(char *buf, size_t cap, const char *type, const char *fields, ...);

static inline void close_fdp(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define cleanup_fd __attribute__((cleanup(close_fdp)))

/* Called once per configuration line; key and value point into buf. */
typedef int (*config_fn)(void *cfg, const char *key, char *value, struct error *err);
int config_read(int fd, char *buf, size_t size, config_fn set, void *cfg, struct error *err);
int config_once(const char **slot, const char *key, const char *value, struct error *err);
/* `arg` and `env` lines, for the modes that execute a program: 0 when taken, negative for
 * a bad one, 1 for any other key. */
int config_program(const char *key, char *value, char **argv, size_t *argc, char **envp, size_t *envc,
		   struct error *err);
/* A `0` or `1` given at most once; *slot is -1 until then. */
int config_flag(int *slot, const char *key, const char *value, struct error *err);

int seal_self(char **argv, struct error *err);
/* Closes every descriptor above MSG_FD but keep (-1: none). */
int close_inherited_fds(int keep, struct error *err);

ssize_t read_file(const char *path, char *buf, size_t size, struct error *err);
int write_file(const char *path, int flags, const char *text, struct error *err);
int make_dir(const char *path, struct error *err);
int wait_for(pid_t pid, const char *what, struct error *err);

/* supervise.c: shared by userns-exec and run */
struct channels {
	int sync, sync_child;    /* socket pair: id-map handshake */
	int status_rd, status_wr; /* close-on-exec pipe: a struct error, or end of file once the program runs */
};
int open_channels(struct channels *ch, struct error *err);
void close_channels(struct channels *ch);
int hold_signals(sigset_t *held, sigset_t *previous, struct error *err);
/* Emits `started`, forwards the held signals to pid until it ends, reaps it, emits `exited`. */
int supervise(pid_t pid, const sigset_t *held, const sigset_t *previous, struct error *err);

/* status: the exit status, 128 + the signal number if killed, or 127 (with a message in
 * stderr_) if the program could not be executed. */
struct tool_result {
	int status;
	char stderr_[TOOL_STDERR_MAX + 1];
};
int run_tool(char *const argv[], struct tool_result *res, struct error *err);

/* Id mapping (idmap.c) for the modes that create a user namespace. The child unshares
 * and calls idmap_enter(); the parent, on reading the child's byte from the socket pair,
 * calls idmap_write() and sends the child the `mapped` byte it got. */
struct idmap {
	char *fields[MAX_EXTENTS * 3]; /* CONTAINER-ID HOST-ID COUNT..., as newuidmap takes them */
	size_t n;
};

struct idmap_config {
	struct idmap uid, gid;
	const char *newuidmap, *newgidmap;
};

/* Takes uidmap, gidmap, newuidmap and newgidmap; returns 1 for any other key. */
int idmap_set(struct idmap_config *c, const char *key, char *value, struct error *err);
int idmap_check(const struct idmap_config *c, struct error *err);
int idmap_write(const struct idmap_config *c, bool userns, pid_t pid, char *mapped, struct error *err);
int idmap_enter(int sync, struct error *err);

int probe_main(struct error *err);
int userns_exec_main(struct error *err);
int fsops_main(struct error *err);
int run_main(struct error *err);
int probe_kernel_overlay(bool userns, struct error *err);
int probe_fuse_overlayfs(const char *tool, struct error *err);

/* exec.c */
int exec_main(struct error *err);

#endif
