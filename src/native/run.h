/* Shared declarations of the `run` mode: the parsed configuration (run.c), the mounts
 * (run_mounts.c) and the privileges (run_security.c) of the container's process. */
#ifndef TSC_RUN_H
#define TSC_RUN_H

#include <linux/filter.h>
#include <sys/resource.h>

#include "helper.h"

#define LIST_MAX (CONFIG_MAX / 5)
#define MOUNTS_MAX 256
#define PATHS_MAX 256
#define RLIMITS_MAX 16
#define GROUPS_MAX 64
#define SECCOMP_MAX 4096 /* BPF_MAXINSNS */
#define HOOKS_MAX 8
#define WORDS_MAX 512 /* arguments of all hook and exit-cmd lines, each argv NULL-terminated */

enum restart_policy { RESTART_NO, RESTART_ALWAYS, RESTART_UNLESS_STOPPED, RESTART_ON_FAILURE };

struct run_mount {
	char *dest, *type, *source, *options;
};

struct run_rlimit {
	int resource;
	struct rlimit value;
};

struct run_config {
	struct idmap_config ids;
	const char *rootfs, *lowerdir, *upperdir, *workdir, *hostname, *cwd, *seccomp;
	const char *fuse_overlayfs; /* the overlay is mounted by this program (fuse.c), not the kernel */
	const char *uid_s, *gid_s, *groups_s;
	int no_new_privs;
	int share_net; /* 1: keep the helper's network namespace (--network host) */
	uid_t uid;
	gid_t gid;
	gid_t groups[GROUPS_MAX];
	size_t ngroups;
	struct run_mount mounts[MOUNTS_MAX];
	size_t nmounts;
	char *devices[PATHS_MAX], *masked[PATHS_MAX], *readonly[PATHS_MAX];
	size_t ndevices, nmasked, nreadonly;
	unsigned long long caps;
	struct run_rlimit rlimits[RLIMITS_MAX];
	size_t nrlimits;
	struct sock_filter filter[SECCOMP_MAX];
	size_t nfilter;
	char *argv[LIST_MAX + 1], *envp[LIST_MAX + 1];
	size_t argc, envc;
	/* the monitor's keys (monitor.c); flags are -1 until given */
	int detach, tty, stdin_open, init;
	const char *state, *log, *attach, *cgroup;
	const char *restart_s, *log_max_s, *tty_size_s, *attach_fd_s, *ready_fd_s;
	unsigned long long log_max;
	unsigned short rows, cols; /* 0: not given */
	int attach_fd, ready_fd;   /* -1: not given */
	enum restart_policy restart;
	unsigned restart_max; /* on-failure:N; 0: no limit */
	char **hooks[HOOKS_MAX], **exit_cmds[HOOKS_MAX];
	size_t nhooks, nexit_cmds;
	char *words[WORDS_MAX];
	size_t nwords;
};

/* What process B puts on its descriptors 0, 1 and 2; -1 keeps what it inherited (and
 * with tty all three become the pty's slave). */
struct run_io {
	int in, out, err;
};

/* A hook left running in the background (hook-ready-fd), or the fuse-overlayfs daemon,
 * until the container ends. */
struct hook_proc {
	pid_t pid;
	int out;   /* its captured output, drained and discarded */
	bool kill; /* SIGKILL if SIGTERM has not ended it within a second (the daemon) */
};

/* One start of the container. */
struct run_instance {
	pid_t pid;  /* process B: pid 1 of the container */
	int pidfd;  /* of B, for race-free signals */
	int master; /* the pty's master with tty, else -1 */
	struct hook_proc bg[HOOKS_MAX];
	size_t nbg;
};

/* Configuration lines; each returns a negative value on a bad one. */
int run_add_cap(struct run_config *c, const char *value, struct error *err);
int run_add_rlimit(struct run_config *c, char *value, struct error *err);
/* Once every line is read: uid, gid and groups; the filter file named by seccomp. */
int run_check_ids(struct run_config *c, struct error *err);
int run_load_seccomp(struct run_config *c, struct error *err);

/* In process B, in the container's namespaces: mounts the root and everything in it,
 * then pivots into it. */
int run_setup_root(const struct run_config *c, struct error *err);
int run_set_rlimits(const struct run_config *c, struct error *err);
int run_set_credentials(const struct run_config *c, struct error *err);
int run_install_seccomp(const struct run_config *c, struct error *err);

/* run.c: the monitor's configuration lines, and one start of the container: returns 0
 * once the program runs (execve succeeded), the instance filled. mask is the signal mask
 * the program gets; cgroup_fd (or -1) the cgroup directory it is created in. */
int run_set_monitor(struct run_config *c, const char *key, char *value, struct error *err);
int run_check_monitor(struct run_config *c, struct error *err);
int run_start(const struct run_config *c, const struct run_io *io, const sigset_t *mask, int cgroup_fd,
	      struct run_instance *inst, struct error *err);
/* Kills (SIGKILL) and reaps B if it is still there; stops the background hooks. */
void run_instance_end(struct run_instance *inst);

/* run_init.c, in process B: the pty (its master goes to the helper over sync), and the
 * program's execve, behind the minimal init with `init 1`. */
int run_open_tty(const struct run_config *c, int sync, struct error *err);
int run_exec(const struct run_config *c, const sigset_t *mask, int status_fd, struct error *err);
/* In the helper: receives the pty master B sent. */
int run_recv_master(int sync, int *master, struct error *err);

/* hooks.c */
int hooks_run(const struct run_config *c, pid_t pid, const sigset_t *mask, struct run_instance *inst,
	      struct error *err);
void hooks_stop(struct run_instance *inst);
void exit_cmds_run(const struct run_config *c, const sigset_t *mask);

/* fuse.c, in the helper once B exists: starts the fuse-overlayfs daemon (one of inst's
 * background processes) in B's user and mount namespaces, and returns once rootfs is
 * mounted there. */
int fuse_mount_rootfs(const struct run_config *c, const sigset_t *mask, struct run_instance *inst, struct error *err);

/* monitor.c: `run` with `detach 1` */
int monitor_detach(const struct run_config *c, struct error *err);

/* exec_tty.c: the pty of `exec`. In the container's mount namespace: opens its /dev/ptmx
 * (or /dev/pts/ptmx), checks it is one, unlocks it and opens the terminal; size may be NULL. */
struct winsize;
int exec_open_pty(const struct winsize *size, int *master, int *slave, struct error *err);
/* Emits `started`, relays the helper's stdin/stdout to and from master, copies window sizes
 * on SIGWINCH, forwards the held signals, reaps pid and emits `exited`. */
int exec_relay(pid_t pid, int master, const sigset_t *held, struct error *err);

#endif
