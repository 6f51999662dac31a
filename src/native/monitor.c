/* `run` with `detach 1`: the helper forks the container's monitor and returns once the
 * container runs. The monitor, in its own session with its standard streams on
 * /dev/null, stays the parent of the container's pid 1: it reads the container's output
 * (pipes, or the pty with tty) into the log and to the attach clients, feeds its stdin
 * from them, records every transition in the state file, applies the restart policy and
 * runs the exit commands after the final exit. One poll loop over the signalfd, the
 * output, the stdin, the background hooks' output and the clients; static buffers only.
 * (docs/helper-protocol.md, "Monitor", "State file", "Attach protocol".) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "monitor.h"

#define DRAIN_MS 2000	   /* output still coming after pid 1 ended */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 60000
#define BACKOFF_RESET_MS 10000 /* a run this long starts the backoff again */

enum status { ST_STARTING, ST_RUNNING, ST_RESTARTING, ST_EXITED, ST_FAILED };
static const char *const status_names[] = { "starting", "running", "restarting", "exited", "failed" };

/* What the monitor tells the helper that forked it, once. */
struct report {
	bool ok;
	pid_t pid, monitor;
	struct error err;
};

static struct {
	const struct run_config *c;
	sigset_t mask; /* the program's */
	int sigfd, cgroup_fd, devnull, state_dir;
	struct run_instance inst;
	int out, err; /* the container's output being read */
	bool exited;	  /* pid 1 has ended; its output is being drained */
	bool done;
	enum status status;
	int exit_code, signal;
	unsigned restarts;
	bool stop;
	long long backoff, restart_at, started_ms, drain_until;
	char started_at[40], finished_at[40], error[1100]; /* OP: MESSAGE */
	char boot_id[40];
	pid_t self;
	unsigned long long pid_start, self_start;
} m = { .sigfd = -1, .cgroup_fd = -1, .devnull = -1, .state_dir = -1, .out = -1, .err = -1 };

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_state(struct error *err)
{
	bool live = m.status == ST_RUNNING;
	struct state_record r = {
		.status = status_names[m.status], .pid = live ? m.inst.pid : 0, .pid_start = live ? m.pid_start : 0,
		.monitor = m.self, .monitor_start = m.self_start, .boot_id = m.boot_id, .started_at = m.started_at,
		.finished_at = m.finished_at, .exit_code = m.exit_code, .signal = m.signal, .restarts = m.restarts,
		.stop = m.stop, .error = m.error,
	};

	return state_write(m.c->state, m.state_dir, &r, err);
}

static void set_status(enum status status)
{
	m.status = status;
	write_state(&(struct error){ 0 }); /* best effort once running: nobody to tell */
}

/* ---- one run of the container ---- */

static void close_io(void)
{
	stdin_set(-1, false);
	close_fdp(&m.out);
	close_fdp(&m.err);
	m.out = m.err = -1;
}

static int nonblock(int fd)
{
	return fd < 0 ? 0 : fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int start_instance(struct error *err)
{
	const struct run_config *c = m.c;
	cleanup_fd int out_w = -1, err_w = -1, in_r = -1;
	struct run_io io = { -1, -1, -1 };
	int fds[2], in = -1;

	if (c->tty != 1) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			return error_set(err, errno, "pipe2", "", "cannot create the container's stdout");
		m.out = fds[0], out_w = fds[1];
		if (pipe2(fds, O_CLOEXEC) < 0)
			return error_set(err, errno, "pipe2", "", "cannot create the container's stderr");
		m.err = fds[0], err_w = fds[1];
		if (c->stdin_open == 1) {
			if (pipe2(fds, O_CLOEXEC) < 0)
				return error_set(err, errno, "pipe2", "", "cannot create the container's stdin");
			in_r = fds[0], in = fds[1];
		}
		io = (struct run_io){ in_r >= 0 ? in_r : m.devnull, out_w, err_w };
	}
	if (run_start(c, &io, &m.mask, m.cgroup_fd, &m.inst, err) < 0) {
		close_fdp(&in);
		close_io();
		return -1;
	}
	if (c->tty == 1) {
		m.out = m.inst.master;
		m.inst.master = -1;
		if (c->stdin_open == 1 && (in = fcntl(m.out, F_DUPFD_CLOEXEC, 3)) < 0)
			return error_set(err, errno, "fcntl", "", "cannot duplicate the pty's master");
	}
	stdin_set(in, c->tty != 1);
	if (nonblock(m.out) < 0 || nonblock(m.err) < 0 || nonblock(in) < 0)
		return error_set(err, errno, "fcntl", "", "cannot make the container's streams non-blocking");
	m.exited = false;
	m.started_ms = now_ms();
	timestamp(m.started_at, sizeof m.started_at);
	m.finished_at[0] = '\0';
	m.exit_code = m.signal = 0;
	m.pid_start = proc_start(m.inst.pid);
	set_status(ST_RUNNING);
	return 0;
}

static void restart(void)
{
	struct error err = { 0 };

	m.restarts++;
	if (start_instance(&err) < 0) {
		snprintf(m.error, sizeof m.error, "%s: %s", err.op, err.message);
		timestamp(m.finished_at, sizeof m.finished_at);
		set_status(ST_FAILED);
		m.done = true;
	}
}

static bool restart_wanted(void)
{
	const struct run_config *c = m.c;

	if (m.stop || c->restart == RESTART_NO)
		return false;
	if (c->restart == RESTART_ON_FAILURE)
		return m.exit_code != 0 && (c->restart_max == 0 || m.restarts < c->restart_max);
	return true;
}

/* pid 1 has ended and its output is drained (or stopped coming). */
static void end_run(void)
{
	char frame[96];
	bool again;
	int n;

	logfile_flush(1);
	logfile_flush(2);
	close_io();
	again = restart_wanted();
	n = snprintf(frame, sizeof frame, "{\"exitCode\":%d,\"signal\":%d,\"restarting\":%s}", m.exit_code, m.signal,
		     again ? "true" : "false");
	m.exited = false;
	if (!again) {
		/* the end is recorded and told before the hooks (pasta) are stopped and waited
		 * for: that takes a while and changes nothing the container's users see */
		set_status(ST_EXITED);
		attach_frame(FRAME_EXIT, frame, (size_t)n);
		run_instance_end(&m.inst);
		m.done = true;
		return;
	}
	/* a restart needs the old hooks gone first (pasta holds the published ports) */
	run_instance_end(&m.inst);
	attach_frame(FRAME_EXIT, frame, (size_t)n);
	if (now_ms() - m.started_ms >= BACKOFF_RESET_MS || m.backoff == 0)
		m.backoff = BACKOFF_FIRST_MS;
	else
		m.backoff = m.backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : m.backoff * 2;
	m.restart_at = now_ms() + m.backoff;
	set_status(ST_RESTARTING);
}

static void reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t j = 0; j < m.inst.nbg; j++)
			if (m.inst.bg[j].pid == pid)
				m.inst.bg[j].pid = -1;
		if (pid != m.inst.pid)
			continue; /* a hook or an exit command */
		m.inst.pid = -1;
		m.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + m.signal;
		timestamp(m.finished_at, sizeof m.finished_at);
		m.exited = true;
		m.drain_until = now_ms() + DRAIN_MS;
	}
}

/* ---- what the clients ask ---- */

void monitor_resize(unsigned short rows, unsigned short cols)
{
	if (m.c->tty == 1 && m.out >= 0)
		ioctl(m.out, TIOCSWINSZ, &(struct winsize){ .ws_row = rows, .ws_col = cols });
}

void monitor_signal(int sig, int flags)
{
	if (sig < 1 || sig > 64)
		return;
	if (flags & 1) {
		m.stop = true;
		if (m.status == ST_RESTARTING) {
			set_status(ST_EXITED);
			m.done = true;
			return;
		}
		set_status(m.status);
	}
	/* through the pidfd: never a recycled pid */
	if (m.inst.pid > 0 && m.inst.pidfd >= 0)
		syscall(SYS_pidfd_send_signal, m.inst.pidfd, sig, NULL, 0);
}

/* ---- the loop ---- */

static void read_output(int *fd, int stream)
{
	static char buf[OUTPUT_CHUNK];
	ssize_t n = read(*fd, buf, sizeof buf);

	if (n > 0) {
		logfile_write(stream, buf, (size_t)n);
		attach_frame(stream, buf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) { /* EIO: the pty's last slave closed */
		close_fdp(fd);
		*fd = -1;
	}
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;

	while (read(m.sigfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			reap();
		else if (m.inst.pid > 0 && m.inst.pidfd >= 0)
			syscall(SYS_pidfd_send_signal, m.inst.pidfd, (int)si.ssi_signo, NULL, 0);
	}
}

static void drain_hooks(struct pollfd *p, size_t n)
{
	char discard[1024];

	for (size_t i = 0; i < n; i++)
		if (p[i].revents && read(p[i].fd, discard, sizeof discard) <= 0)
			for (size_t j = 0; j < m.inst.nbg; j++)
				if (m.inst.bg[j].out == p[i].fd) {
					close(p[i].fd);
					m.inst.bg[j].out = -1;
				}
}

static void loop(void)
{
	struct pollfd p[4 + HOOKS_MAX + 1 + CLIENTS_MAX];

	while (!m.done) {
		size_t n = 0, hooks, nhooks = 0, clients;
		int i_out = -1, i_err = -1, i_in = -1, timeout = -1, in = stdin_poll_fd();
		bool take = attach_output_ready(); /* else the output waits for the attach-fd client */
		long long now;

		p[n++] = (struct pollfd){ .fd = m.sigfd, .events = POLLIN };
		if (m.out >= 0 && take)
			i_out = (int)n, p[n++] = (struct pollfd){ .fd = m.out, .events = POLLIN };
		if (m.err >= 0 && take)
			i_err = (int)n, p[n++] = (struct pollfd){ .fd = m.err, .events = POLLIN };
		if (in >= 0)
			i_in = (int)n, p[n++] = (struct pollfd){ .fd = in, .events = POLLOUT };
		hooks = n;
		for (size_t j = 0; j < m.inst.nbg; j++)
			if (m.inst.bg[j].out >= 0)
				p[n++] = (struct pollfd){ .fd = m.inst.bg[j].out, .events = POLLIN }, nhooks++;
		clients = n;
		n += attach_pollfds(p + n);
		now = now_ms();
		if (m.exited && !take)
			m.drain_until = now + DRAIN_MS; /* the output is not stuck, the client is slow */
		if (m.exited)
			timeout = m.drain_until > now ? (int)(m.drain_until - now) : 0;
		else if (m.status == ST_RESTARTING)
			timeout = m.restart_at > now ? (int)(m.restart_at - now) : 0;
		if (poll(p, n, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			handle_signals();
		if (i_out >= 0 && p[i_out].revents && m.out == p[i_out].fd)
			read_output(&m.out, 1);
		if (i_err >= 0 && p[i_err].revents && m.err == p[i_err].fd)
			read_output(&m.err, 2);
		if (i_in >= 0 && p[i_in].revents)
			stdin_flush((p[i_in].revents & (POLLERR | POLLHUP)) != 0);
		drain_hooks(p + hooks, nhooks);
		attach_handle(p + clients, n - clients);
		now = now_ms();
		if (m.exited && ((m.out < 0 && m.err < 0) || now >= m.drain_until))
			end_run();
		if (!m.done && m.status == ST_RESTARTING && !m.exited && now >= m.restart_at)
			restart();
	}
}

/* ---- starting the monitor ---- */

static int block_signals(struct error *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &m.mask) < 0)
		return error_set(err, errno, "sigprocmask", "", "cannot block signals");
	m.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m.sigfd < 0)
		return error_set(err, errno, "signalfd", "", "cannot create a signalfd");
	/* writes to a closed pipe or client give EPIPE; a pending SIGPIPE is not inherited */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return 0;
}

static int open_dir_of(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int setup(struct error *err)
{
	const struct run_config *c = m.c;

	m.self = getpid();
	m.self_start = proc_start(m.self);
	if (read_file("/proc/sys/kernel/random/boot_id", m.boot_id, sizeof m.boot_id, err) < 0)
		return -1;
	m.boot_id[strcspn(m.boot_id, "\n")] = '\0';
	m.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (m.devnull < 0)
		return error_set(err, errno, "open", "/dev/null", "cannot open /dev/null");
	for (int i = 0; i < 3; i++)
		if (dup2(m.devnull, i) < 0)
			return error_set(err, errno, "dup2", "", "cannot put /dev/null on descriptor %d", i);
	if (block_signals(err) < 0)
		return -1;
	m.state_dir = open_dir_of(c->state);
	m.status = ST_STARTING;
	if (write_state(err) < 0)
		return -1;
	if (c->cgroup) {
		m.cgroup_fd = open(c->cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (m.cgroup_fd < 0)
			return error_set(err, errno, "cgroup", c->cgroup, "cannot open cgroup %s", c->cgroup);
	}
	if (c->log && logfile_open(c->log, c->log_max, err) < 0)
		return -1;
	if (c->attach && attach_listen(c->attach, err) < 0)
		return -1;
	if (c->attach_fd >= 0)
		attach_add(c->attach_fd, true);
	return start_instance(err);
}

static void __attribute__((noreturn)) monitor_main(const struct run_config *c, int report_fd)
{
	struct report r = { .ok = true };

	m.c = c;
	setsid();
	if (setup(&r.err) < 0) {
		r.ok = false;
		snprintf(m.error, sizeof m.error, "%s: %s", r.err.op, r.err.message);
		timestamp(m.finished_at, sizeof m.finished_at);
		if (m.state_dir >= 0)
			set_status(ST_FAILED);
		/* one write below PIPE_BUF */
		if (write(report_fd, &r, sizeof r) != sizeof r)
			_exit(2);
		attach_close_all(0);
		attach_unlink();
		_exit(1);
	}
	r.pid = m.inst.pid;
	r.monitor = m.self;
	/* a caller that has gone meanwhile does not take the container with it */
	if (write(report_fd, &r, sizeof r) != sizeof r)
		r.ok = false;
	close(report_fd);
	/* the caller's socket goes; fd 3 stays taken, so a stray message goes nowhere */
	dup2(m.devnull, MSG_FD);
	loop();
	exit_cmds_run(c, &m.mask);
	attach_close_all(1000);
	attach_unlink();
	_exit(0);
}

int monitor_detach(const struct run_config *c, struct error *err)
{
	cleanup_fd int rd = -1;
	struct report r;
	int fds[2];
	pid_t pid;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, errno, "pipe2", "", "cannot create a pipe for the monitor");
	rd = fds[0];
	pid = fork();
	if (pid < 0) {
		close(fds[1]);
		return error_set(err, errno, "fork", "", "cannot start the monitor");
	}
	if (pid == 0) {
		close(rd);
		rd = -1;
		monitor_main(c, fds[1]);
	}
	close(fds[1]);
	while ((n = read(rd, &r, sizeof r)) < 0 && errno == EINTR)
		;
	if (n == sizeof r && r.ok) {
		emit("event", "name:s pid:i monitor:i", "started", (int)r.pid, (int)r.monitor);
		return 0;
	}
	if (n == sizeof r) {
		*err = r.err;
		return -1;
	}
	return error_set(err, 0, "monitor", "", "the monitor ended before the container started");
}
