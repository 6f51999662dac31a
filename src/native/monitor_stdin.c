/* The container's standard input under the monitor: bytes of the clients' stdin frames,
 * queued and written without blocking, to a pipe (which a stdin-close frame closes once
 * the queue is written) or to the pty's master. */
#include <errno.h>
#include <string.h>

#include "monitor.h"

#define QUEUE_MAX 65536
#define READ_ROOM 4096 /* a client's read (attach.c) always fits while ready */

static int in = -1;
static bool closable, closing;
static char queue[QUEUE_MAX];
static size_t queued;

void stdin_set(int fd, bool can_close)
{
	close_fdp(&in);
	in = fd;
	closable = can_close;
	closing = false;
	queued = 0;
}

int stdin_poll_fd(void)
{
	return queued > 0 ? in : -1;
}

void stdin_flush(bool hangup)
{
	ssize_t n;

	if (hangup)
		queued = 0; /* nobody reads it any more */
	while (in >= 0 && queued > 0) {
		n = write(in, queue, queued);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			queued = 0;
			break;
		}
		memmove(queue, queue + n, queued - (size_t)n);
		queued -= (size_t)n;
	}
	if (closing && queued == 0)
		stdin_set(-1, false);
}

void monitor_stdin(const char *data, size_t len)
{
	if (in < 0 || closing)
		return;
	if (len > sizeof queue - queued)
		len = sizeof queue - queued;
	memcpy(queue + queued, data, len);
	queued += len;
	stdin_flush(false);
}

bool monitor_stdin_ready(void)
{
	return queued + READ_ROOM <= sizeof queue;
}

void monitor_stdin_close(void)
{
	if (!closable || in < 0)
		return; /* a pty has no end of file to give; ^D is the program's business */
	closing = true;
	stdin_flush(false);
}
