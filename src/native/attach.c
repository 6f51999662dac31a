/* The attach protocol's clients: the `attach` socket's connections and the `attach-fd`
 * descriptor. Frames are 1 byte type, 4 bytes length (big-endian), payload. The monitor
 * never blocks on a client: output that does not fit a socket client's queue (64 KiB) is
 * dropped for that client, a whole frame at a time; an exit frame has room of its own.
 * The attach-fd client (the caller's own, a foreground `tsc run`) loses nothing instead:
 * while its queue is nearly full the monitor stops reading the container's output
 * (attach_output_ready()), so the container waits for it as for a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "monitor.h"

#define QUEUE_MAX 65536
#define CONTROL_ROOM 256 /* beyond QUEUE_MAX, for exit frames */
#define READ_MAX 4096

struct client {
	int fd; /* -1: a free slot */
	bool eof;     /* the client has shut down its side: output only */
	bool lossless; /* attach-fd: output waits for it rather than being dropped */
	unsigned char hdr[5];
	size_t hlen;  /* header bytes of the current frame read so far */
	uint32_t left; /* payload bytes of the current frame still to come */
	unsigned char ctl[4];
	size_t clen;
	size_t head, len; /* queued output: out[head .. head + len) */
	char out[QUEUE_MAX + CONTROL_ROOM];
};

static struct client clients[CLIENTS_MAX];
static bool initialized;
static int listener = -1;
static const char *listen_path;
static int slot_of[1 + CLIENTS_MAX]; /* pollfd entry -> client, -1 for the listener */

static void init_slots(void)
{
	if (initialized)
		return;
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		clients[i].fd = -1;
	initialized = true;
}

int attach_listen(const char *path, struct error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old;
	int r;

	init_slots();
	if (strlen(path) >= sizeof addr.sun_path)
		return error_set(err, ENAMETOOLONG, "bind", path, "the attach socket's path is too long");
	memcpy(addr.sun_path, path, strlen(path) + 1);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listener < 0)
		return error_set(err, errno, "socket", path, "cannot create the attach socket");
	if (unlink(path) < 0 && errno != ENOENT)
		return error_set(err, errno, "unlink", path, "cannot remove the old attach socket");
	old = umask(0177);
	r = bind(listener, (struct sockaddr *)&addr, sizeof addr);
	umask(old);
	if (r < 0)
		return error_set(err, errno, "bind", path, "cannot bind the attach socket");
	listen_path = path;
	if (listen(listener, CLIENTS_MAX) < 0)
		return error_set(err, errno, "listen", path, "cannot listen on the attach socket");
	return 0;
}

void attach_unlink(void)
{
	if (listen_path)
		unlink(listen_path);
	listen_path = NULL;
}

void attach_add(int fd, bool lossless)
{
	init_slots();
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		if (clients[i].fd < 0) {
			clients[i] = (struct client){ .fd = fd, .lossless = lossless };
			return;
		}
	close(fd);
}

static void drop(struct client *cl)
{
	close(cl->fd);
	cl->fd = -1;
}

size_t attach_pollfds(struct pollfd *p)
{
	bool input = monitor_stdin_ready();
	size_t n = 0;

	init_slots();
	if (listener >= 0) {
		slot_of[n] = -1;
		p[n++] = (struct pollfd){ .fd = listener, .events = POLLIN };
	}
	for (size_t i = 0; i < CLIENTS_MAX; i++) {
		struct client *cl = &clients[i];

		if (cl->fd < 0)
			continue;
		slot_of[n] = (int)i;
		p[n++] = (struct pollfd){ .fd = cl->fd,
					  .events = (short)((input && !cl->eof ? POLLIN : 0) | (cl->len ? POLLOUT : 0)) };
	}
	return n;
}

bool attach_output_ready(void)
{
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		if (clients[i].fd >= 0 && clients[i].lossless && clients[i].len + 2 * (OUTPUT_CHUNK + 5) > QUEUE_MAX)
			return false;
	return true;
}

static void flush(struct client *cl)
{
	ssize_t n;

	while (cl->len > 0) {
		n = write(cl->fd, cl->out + cl->head, cl->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			drop(cl);
			return;
		}
		cl->head += (size_t)n;
		cl->len -= (size_t)n;
	}
	cl->head = 0;
}

static void queue(struct client *cl, const unsigned char *hdr, const void *data, size_t len, size_t cap)
{
	if (cl->len + 5 + len > cap)
		return; /* dropped for this client; the log has it */
	if (cl->head + cl->len + 5 + len > sizeof cl->out) {
		memmove(cl->out, cl->out + cl->head, cl->len);
		cl->head = 0;
	}
	memcpy(cl->out + cl->head + cl->len, hdr, 5);
	memcpy(cl->out + cl->head + cl->len + 5, data, len);
	cl->len += 5 + len;
	flush(cl);
}

void attach_frame(int type, const void *data, size_t len)
{
	unsigned char hdr[5] = { (unsigned char)type, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
				 (unsigned char)(len >> 8), (unsigned char)len };

	for (size_t i = 0; i < CLIENTS_MAX; i++)
		if (clients[i].fd >= 0)
			queue(&clients[i], hdr, data, len, type == FRAME_EXIT ? sizeof clients[i].out : QUEUE_MAX);
}

/* Ends a frame whose payload is complete; false for a malformed one. */
static bool end_frame(struct client *cl)
{
	switch (cl->hdr[0]) {
	case FRAME_STDIN_CLOSE:
		monitor_stdin_close();
		return true;
	case FRAME_RESIZE:
		monitor_resize((unsigned short)(cl->ctl[0] << 8 | cl->ctl[1]), (unsigned short)(cl->ctl[2] << 8 | cl->ctl[3]));
		return true;
	case FRAME_SIGNAL:
		monitor_signal(cl->ctl[0], cl->ctl[1]);
		return true;
	}
	return true;
}

static bool valid_length(unsigned type, uint32_t len)
{
	return type == FRAME_STDIN || (type == FRAME_STDIN_CLOSE && len == 0) || (type == FRAME_RESIZE && len == 4) ||
	       (type == FRAME_SIGNAL && len == 2);
}

/* false: the client sent a malformed frame */
static bool parse(struct client *cl, const unsigned char *buf, size_t n)
{
	while (n > 0) {
		if (cl->hlen < 5) {
			cl->hdr[cl->hlen++] = *buf++;
			n--;
			if (cl->hlen < 5)
				continue;
			cl->left = (uint32_t)cl->hdr[1] << 24 | (uint32_t)cl->hdr[2] << 16 | (uint32_t)cl->hdr[3] << 8 | cl->hdr[4];
			cl->clen = 0;
			if (!valid_length(cl->hdr[0], cl->left))
				return false;
		} else {
			size_t take = n < cl->left ? n : cl->left;

			if (cl->hdr[0] == FRAME_STDIN)
				monitor_stdin((const char *)buf, take);
			else
				memcpy(cl->ctl + cl->clen, buf, take), cl->clen += take;
			buf += take;
			n -= take;
			cl->left -= (uint32_t)take;
		}
		if (cl->hlen == 5 && cl->left == 0) {
			if (!end_frame(cl))
				return false;
			cl->hlen = 0;
		}
	}
	return true;
}

static void serve(struct client *cl, short revents)
{
	unsigned char buf[READ_MAX];
	ssize_t n;

	if (revents & POLLOUT)
		flush(cl);
	if (cl->fd < 0 || !(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (cl->eof) { /* hung up for good */
		drop(cl);
		return;
	}
	n = read(cl->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		drop(cl);
		return;
	}
	if (n == 0) {
		cl->eof = true; /* it may still read */
		return;
	}
	if (!parse(cl, buf, (size_t)n))
		drop(cl);
}

void attach_handle(const struct pollfd *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (slot_of[i] < 0) {
			int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd >= 0)
				attach_add(fd, false);
			continue;
		}
		if (clients[slot_of[i]].fd == p[i].fd)
			serve(&clients[slot_of[i]], p[i].revents);
	}
}

void attach_close_all(int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		bool pending = false;

		for (size_t i = 0; i < CLIENTS_MAX; i++)
			if (clients[i].fd >= 0 && clients[i].len > 0) {
				flush(&clients[i]);
				pending |= clients[i].fd >= 0 && clients[i].len > 0;
			}
		if (!pending)
			break;
		poll(NULL, 0, 10);
	}
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		if (clients[i].fd >= 0)
			drop(&clients[i]);
	close_fdp(&listener);
	listener = -1;
}
