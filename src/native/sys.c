/* System calls wrapped to report a struct error, and running a program to completion. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helper.h"

/* Reads at most size - 1 bytes and NUL-terminates them; returns the length. */
ssize_t read_file(const char *path, char *buf, size_t size, struct error *err)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 1;

	if (fd < 0)
		return error_set(err, errno, "open", path, "cannot open %s", path);
	while (len < size - 1 && n != 0) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno != EINTR)
			return error_set(err, errno, "read", path, "cannot read %s", path);
		len += n > 0 ? (size_t)n : 0;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

/* One write(): files in /proc such as uid_map take their content only that way. */
int write_file(const char *path, int flags, const char *text, struct error *err)
{
	cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);
	ssize_t n;

	if (fd < 0)
		return error_set(err, errno, "open", path, "cannot open %s", path);
	n = write(fd, text, strlen(text));
	if (n < 0 || (size_t)n != strlen(text))
		return error_set(err, n < 0 ? errno : EIO, "write", path, "cannot write %s", path);
	return 0;
}

int make_dir(const char *path, struct error *err)
{
	if (mkdir(path, 0755) < 0)
		return error_set(err, errno, "mkdir", path, "cannot create directory %s", path);
	return 0;
}

/* Returns the exit status of pid, or 128 + the number of the signal that killed it. */
int wait_for(pid_t pid, const char *what, struct error *err)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return error_set(err, errno, "waitpid", "", "cannot wait for %s", what);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void __attribute__((noreturn)) exec_tool(char *const argv[], int errfd)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(errfd, 2) < 0) {
		dprintf(errfd, "cannot redirect the standard streams of %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	execv(argv[0], argv);
	dprintf(2, "cannot execute %s: %s", argv[0], strerror(errno));
	_exit(127);
}

static bool has_exited(pid_t pid)
{
	siginfo_t info = { .si_pid = 0 };

	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

/* Keeps the first TOOL_STDERR_MAX bytes. Reads until end of file, or until the program
 * has exited and the pipe is drained: a daemon it started may hold the pipe open. */
static void collect_stderr(int fd, pid_t pid, char *buf)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char discard[512];
	size_t len = 0;
	ssize_t n;

	for (;;) {
		if (poll(&p, 1, 100) > 0) {
			bool full = len == TOOL_STDERR_MAX;

			n = full ? read(fd, discard, sizeof discard) : read(fd, buf + len, TOOL_STDERR_MAX - len);
			if (n == 0 || (n < 0 && errno != EINTR))
				break;
			len += full || n < 0 ? 0 : (size_t)n;
		} else if (has_exited(pid)) {
			break;
		}
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
}

/* Standard input and output are /dev/null; standard error is collected. */
int run_tool(char *const argv[], struct tool_result *res, struct error *err)
{
	cleanup_fd int rd = -1;
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, errno, "pipe2", "", "cannot create a pipe for %s", argv[0]);
	rd = fds[0];
	pid = fork();
	if (pid == 0)
		exec_tool(argv, fds[1]);
	close(fds[1]);
	if (pid < 0)
		return error_set(err, errno, "fork", argv[0], "cannot start %s", argv[0]);
	collect_stderr(rd, pid, res->stderr_);
	res->status = wait_for(pid, argv[0], err);
	return res->status < 0 ? -1 : 0;
}
