/* Shared declarations of the monitor (monitor.c), its attach clients (attach.c) and its
 * log (logfile.c). */
#ifndef TSC_MONITOR_H
#define TSC_MONITOR_H

#include <poll.h>
#include <stdint.h>

#include "run.h"

#define CLIENTS_MAX 16
#define OUTPUT_CHUNK 16384 /* the most the monitor reads of the container's output at once */

/* Frame types of the attach protocol (docs/helper-protocol.md). */
enum {
	FRAME_STDIN = 0,
	FRAME_STDOUT = 1,
	FRAME_STDERR = 2,
	FRAME_EXIT = 3,
	FRAME_STDIN_CLOSE = 4,
	FRAME_RESIZE = 5,
	FRAME_SIGNAL = 6,
};

/* RFC 3339 UTC with nanoseconds; size at least 40. */
void timestamp(char *out, size_t size);

int logfile_open(const char *path, unsigned long long max, struct error *err);
/* stream 1 stdout, 2 stderr */
void logfile_write(int stream, const char *data, size_t len);
void logfile_flush(int stream);

/* What the clients ask of the monitor: stdin (monitor_stdin.c), resize and signal (monitor.c). */
void monitor_stdin(const char *data, size_t len);
void monitor_stdin_close(void);
void monitor_resize(unsigned short rows, unsigned short cols);
void monitor_signal(int sig, int flags);
/* true while the container's stdin can take another read of a client */
bool monitor_stdin_ready(void);

/* monitor_stdin.c: fd (owned from now on; -1: none) is the container's stdin; can_close
 * says whether a stdin-close frame closes it (a pipe, not the pty). */
void stdin_set(int fd, bool can_close);
/* The descriptor to poll for POLLOUT while bytes are queued, else -1. */
int stdin_poll_fd(void);
void stdin_flush(bool hangup);

/* monitor_state.c */
struct state_record {
	const char *status, *boot_id, *started_at, *finished_at, *error;
	pid_t pid, monitor;
	unsigned long long pid_start, monitor_start;
	int exit_code, signal;
	unsigned restarts;
	bool stop;
};
unsigned long long proc_start(pid_t pid);
int state_write(const char *path, int dir_fd, const struct state_record *r, struct error *err);

int attach_listen(const char *path, struct error *err);
/* Serves fd (made non-blocking and close-on-exec); closes it when there are too many.
 * lossless: the attach-fd client, whose output is never dropped. */
void attach_add(int fd, bool lossless);
/* false while a lossless client has no room for another read of output */
bool attach_output_ready(void);
/* Appends the listener and the clients to p; returns how many. */
size_t attach_pollfds(struct pollfd *p);
/* Handles what poll found on the entries attach_pollfds() filled. */
void attach_handle(const struct pollfd *p, size_t n);
void attach_frame(int type, const void *data, size_t len);
/* Tries for up to timeout_ms to send what is queued, then disconnects every client. */
void attach_close_all(int timeout_ms);
void attach_unlink(void);

#endif
