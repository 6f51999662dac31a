/* What `userns-exec` and `run` share: the channels to their child, holding SIGTERM,
 * SIGINT and SIGHUP until the program runs, and supervising it once it does (forward
 * those signals to it, wait, report how it ended). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP };
static volatile pid_t program; /* set before the handler is installed */

int open_channels(struct channels *ch, struct error *err)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return error_set(err, errno, "socketpair", "", "cannot create a socket pair");
	ch->sync = fds[0];
	ch->sync_child = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, errno, "pipe2", "", "cannot create a pipe");
	ch->status_rd = fds[0];
	ch->status_wr = fds[1];
	return 0;
}

void close_channels(struct channels *ch)
{
	close_fdp(&ch->sync);
	close_fdp(&ch->sync_child);
	close_fdp(&ch->status_rd);
	close_fdp(&ch->status_wr);
	ch->sync = ch->sync_child = ch->status_rd = ch->status_wr = -1;
}

/* Held until the program runs, then forwarded to it (a pending one at once). */
int hold_signals(sigset_t *held, sigset_t *previous, struct error *err)
{
	sigemptyset(held);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(held, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, held, previous) < 0)
		return error_set(err, errno, "sigprocmask", "", "cannot block signals");
	return 0;
}

static void forward(int sig)
{
	int saved = errno;

	kill(program, sig);
	errno = saved;
}

static int set_forwarding(void)
{
	struct sigaction sa = { .sa_handler = forward };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		if (sigaction(forwarded[i], &sa, NULL) < 0)
			return -1;
	return 0;
}

int supervise(pid_t pid, const sigset_t *held, const sigset_t *previous, struct error *err)
{
	siginfo_t info;
	int r;

	emit("event", "name:s pid:i", "started", (int)pid);
	program = pid;
	if (set_forwarding() < 0)
		return error_set(err, errno, "sigaction", "", "cannot forward signals to the program");
	sigprocmask(SIG_SETMASK, previous, NULL);
	/* wait without reaping, and block forwarding before reaping, so a forwarded
	 * signal can never reach a recycled pid */
	while ((r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT)) < 0 && errno == EINTR)
		;
	sigprocmask(SIG_BLOCK, held, NULL);
	if (r < 0)
		return error_set(err, errno, "waitid", "", "cannot wait for the program");
	waitpid(pid, NULL, 0);
	if (info.si_code == CLD_EXITED)
		emit("event", "name:s status:i", "exited", info.si_status);
	else
		emit("event", "name:s signal:i", "exited", info.si_status);
	return 0;
}
