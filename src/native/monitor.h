/* Shared declarations of the monitor (monitor.c), its attach clients (attach.c) and its
 * log (logfile.c). */
#ifndef TSC_MONITOR_H
#define TSC_MONITOR_H

#include <poll.h>
#include <stdint.h>

#include "run.h"

#define CLIENTS_MAX 16

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

/* What the clients ask of the monitor (monitor.c). */
void monitor_stdin(const char *data, size_t len);
void monitor_stdin_close(void);
void monitor_resize(unsigned short rows, unsigned short cols);
void monitor_signal(int sig, int flags);
/* true while the container's stdin can take more */
bool monitor_stdin_ready(void);

int attach_listen(const char *path, struct error *err);
/* Serves fd (made non-blocking and close-on-exec); closes it when there are too many. */
void attach_add(int fd);
/* Appends the listener and the clients to p; returns how many. */
size_t attach_pollfds(struct pollfd *p);
/* Handles what poll found on the entries attach_pollfds() filled. */
void attach_handle(const struct pollfd *p, size_t n);
void attach_frame(int type, const void *data, size_t len);
/* Tries for up to timeout_ms to send what is queued, then disconnects every client. */
void attach_close_all(int timeout_ms);
void attach_unlink(void);

#endif
