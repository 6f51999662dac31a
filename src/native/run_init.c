/* `run`, process B's last steps: the pty of `tty 1`, opened from the container's own
 * devpts and made the controlling terminal, and the program's execve, behind a minimal
 * init with `init 1` (pid 1 forwards signals to the program, pid 2, and reaps every
 * orphan the pid namespace gives it). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

#include "run.h"

#define PTMX "/dev/pts/ptmx"

static int send_fd(int sock, int fd, struct error *err)
{
	char data = 'm', control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
		return error_set(err, errno, "sendmsg", "", "cannot pass the pty to the helper");
	return 0;
}

int run_recv_master(int sync, int *master, struct error *err)
{
	char data, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	struct cmsghdr *cmsg;
	ssize_t n = recvmsg(sync, &msg, MSG_CMSG_CLOEXEC);

	if (n == 0)
		return 0; /* B failed before; its error follows on the status pipe */
	if (n < 0)
		return error_set(err, errno, "recvmsg", "", "cannot receive the pty from the container");
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return error_set(err, 0, "tty", "", "the container sent no pty");
	memcpy(master, CMSG_DATA(cmsg), sizeof *master);
	return 0;
}

/* After pivot_root: the container's own /dev/pts (mounted with newinstance). */
int run_open_tty(const struct run_config *c, int sync, struct error *err)
{
	cleanup_fd int master = open(PTMX, O_RDWR | O_NOCTTY | O_CLOEXEC);
	cleanup_fd int slave = -1;
	int unlock = 0;

	if (master < 0)
		return error_set(err, errno, "tty", PTMX, "cannot open %s (is /dev/pts a devpts mount with newinstance?)", PTMX);
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return error_set(err, errno, "tty", PTMX, "cannot unlock the pty");
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return error_set(err, errno, "tty", PTMX, "cannot open the pty's slave");
	if (c->rows && ioctl(slave, TIOCSWINSZ, &(struct winsize){ .ws_row = c->rows, .ws_col = c->cols }) < 0)
		return error_set(err, errno, "tty", "", "cannot set the window size");
	if (fchown(slave, c->uid, (gid_t)-1) < 0)
		return error_set(err, errno, "tty", "", "cannot give the pty to uid %u", c->uid);
	if (send_fd(sync, master, err) < 0)
		return -1;
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		return error_set(err, errno, "tty", "", "cannot make the pty the controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return error_set(err, errno, "dup2", "", "cannot put the pty on descriptor %d", i);
	return 0;
}

static void __attribute__((noreturn)) init_loop(pid_t program, const sigset_t *all)
{
	siginfo_t info;
	pid_t pid;
	int status;

	for (;;) {
		if (sigwaitinfo(all, &info) < 0)
			continue;
		if (info.si_signo != SIGCHLD) {
			kill(program, info.si_signo);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == program)
				/* pid 1 cannot kill itself with a signal: 128 + N, as tini and docker --init */
				_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

/* Returns only on failure. */
int run_exec(const struct run_config *c, const sigset_t *mask, int status_fd, struct error *err)
{
	sigset_t all;
	pid_t pid;

	/* no descriptor of the helper may reach the program, whatever its flags */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return error_set(err, errno, "close_range", "", "cannot mark descriptors close-on-exec");
	if (c->init != 1) {
		if (sigprocmask(SIG_SETMASK, mask, NULL) < 0)
			return error_set(err, errno, "sigprocmask", "", "cannot restore the signal mask");
		execve(c->argv[0], c->argv, c->envp);
		return error_set(err, errno, "execve", c->argv[0], "cannot execute %s", c->argv[0]);
	}
	/* blocked signals are never ignored, even for a pid namespace's init: sigwaitinfo
	 * takes every one the kernel would deliver */
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		return error_set(err, errno, "sigprocmask", "", "cannot block signals");
	pid = fork();
	if (pid < 0)
		return error_set(err, errno, "fork", "", "cannot start the program under init");
	if (pid == 0) {
		setpgid(0, 0);
		if (c->tty == 1)
			tcsetpgrp(0, getpid()); /* SIGTTOU is blocked */
		if (sigprocmask(SIG_SETMASK, mask, NULL) < 0)
			return error_set(err, errno, "sigprocmask", "", "cannot restore the signal mask");
		execve(c->argv[0], c->argv, c->envp);
		return error_set(err, errno, "execve", c->argv[0], "cannot execute %s", c->argv[0]);
	}
	/* the program reports its own execve; the helper's descriptors go */
	close(status_fd);
	close_range(3, ~0U, 0);
	init_loop(pid, &all);
}
