/* `exec` with `tty`: the pty from the container's own devpts (process A opens it) and
 * the helper's relay between its stdin/stdout and the pty's master. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "run.h"

#define PTMX_MAJOR 5
#define PTMX_MINOR 2
#define RELAY_BUF 16384
#define DRAIN_QUIET_MS 200 /* once the program has ended, this long without output ends the relay */
#define DRAIN_MAX_MS 2000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the container's mount namespace: a pty of the container's own devpts (its
 * /dev/ptmx, usually a symlink to pts/ptmx), unlocked, with the initial window size. */
int exec_open_pty(const struct winsize *size, int *master, int *slave, struct error *err)
{
	const char *path = "/dev/ptmx";
	struct stat st;
	unsigned int n;
	int unlock = 0;

	*master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK); /* no open may hang A */
	if (*master < 0 && errno == ENOENT)
		*master = open(path = "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (*master < 0)
		return error_set(err, errno, "open", path, "cannot open the container's %s", path);
	/* the container owns its /dev: make sure this is a pty multiplexer, not a file or fifo */
	if (fstat(*master, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != PTMX_MAJOR ||
	    minor(st.st_rdev) != PTMX_MINOR || ioctl(*master, TIOCGPTN, &n) < 0)
		return error_set(err, ENOTTY, "open", path, "%s in the container is not a pty multiplexer", path);
	if (ioctl(*master, TIOCSPTLCK, &unlock) < 0)
		return error_set(err, errno, "ioctl", path, "cannot unlock pty %u", n);
	*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return error_set(err, errno, "ioctl", path, "cannot open the terminal of pty %u", n);
	if (size && ioctl(*master, TIOCSWINSZ, size) < 0)
		return error_set(err, errno, "ioctl", path, "cannot set the window size of pty %u", n);
	return 0;
}

static void write_all(int fd, const char *buf, size_t len, bool *broken)
{
	ssize_t n;

	while (!*broken && len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*broken = true; /* the reader is gone: keep draining the pty, drop the output */
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Copies what the master has to stdout; -1 once the pty is done (EIO: no process holds
 * the terminal any more). */
static int copy_out(int master, bool *broken)
{
	char buf[RELAY_BUF];
	ssize_t n = read(master, buf, sizeof buf);

	if (n > 0) {
		write_all(STDOUT_FILENO, buf, (size_t)n, broken);
		return 0;
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* The window size of the helper's stdin, if it is a terminal, onto the pty. */
static void copy_size(int master)
{
	struct winsize size;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row && size.ws_col)
		ioctl(master, TIOCSWINSZ, &size);
}

/* With `tty`: emits `started`, relays stdin to the pty's master and the master to
 * stdout, copies window-size changes of stdin, forwards SIGTERM, SIGINT and SIGHUP,
 * and emits `exited` once the program has ended and its output is drained. */
int exec_relay(pid_t pid, int master, const sigset_t *held, struct error *err)
{
	cleanup_fd int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cleanup_fd int sigfd = -1;
	char in[RELAY_BUF];
	size_t in_len = 0, in_off = 0;
	bool stdin_open = true, master_open = true, broken = false, exited = false;
	sigset_t mask = *held;
	siginfo_t info = { 0 };
	int flags;

	emit("event", "name:s pid:i", "started", (int)pid);
	if (pidfd < 0)
		return error_set(err, errno, "pidfd_open", "", "cannot watch the program");
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || (sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return error_set(err, errno, "signalfd", "", "cannot receive signals");
	signal(SIGPIPE, SIG_IGN);
	flags = fcntl(master, F_GETFL);
	if (flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) < 0)
		return error_set(err, errno, "fcntl", "", "cannot make the pty non-blocking");
	copy_size(master); /* the caller's terminal may have changed since A sized the pty */
	while (!exited) {
		struct pollfd p[4] = {
			{ .fd = stdin_open && in_len == 0 ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = master_open ? master : -1, .events = POLLIN | (in_len ? POLLOUT : 0) },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return error_set(err, errno, "poll", "", "cannot relay the terminal");
		}
		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, in, sizeof in);

			if (n > 0)
				in_len = (size_t)n, in_off = 0;
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				stdin_open = false; /* as docker: end of input is not sent to a terminal */
		}
		if (p[1].revents & POLLOUT) {
			ssize_t n = write(master, in + in_off, in_len - in_off);

			if (n > 0 && (in_off += (size_t)n) == in_len)
				in_len = 0;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				in_len = 0;
		}
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && copy_out(master, &broken) < 0)
			master_open = false;
		while (read(sigfd, &si, sizeof si) == sizeof si) {
			if (si.ssi_signo == SIGWINCH)
				copy_size(master);
			else
				syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL, 0);
		}
		exited = p[3].revents != 0;
	}
	/* the program has ended: what it wrote last is still in the pty (a background
	 * process that keeps the terminal and writes on does not keep the helper) */
	for (long long deadline = now_ms() + DRAIN_MAX_MS; master_open && now_ms() < deadline;) {
		struct pollfd p = { .fd = master, .events = POLLIN };

		if (poll(&p, 1, DRAIN_QUIET_MS) <= 0 || copy_out(master, &broken) < 0)
			break;
	}
	while (waitid(P_PID, (id_t)pid, &info, WEXITED) < 0)
		if (errno != EINTR)
			return error_set(err, errno, "waitid", "", "cannot wait for the program");
	if (info.si_code == CLD_EXITED)
		emit("event", "name:s status:i", "exited", info.si_status);
	else
		emit("event", "name:s signal:i", "exited", info.si_status);
	return 0;
}
