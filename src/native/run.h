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
	const char *uid_s, *gid_s, *groups_s;
	int no_new_privs;
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

/* exec_tty.c: the pty of `exec`. In the container's mount namespace: opens its /dev/ptmx
 * (or /dev/pts/ptmx), checks it is one, unlocks it and opens the terminal; size may be NULL. */
struct winsize;
int exec_open_pty(const struct winsize *size, int *master, int *slave, struct error *err);
/* Emits `started`, relays the helper's stdin/stdout to and from master, copies window sizes
 * on SIGWINCH, forwards the held signals, reaps pid and emits `exited`. */
int exec_relay(pid_t pid, int master, const sigset_t *held, struct error *err);

#endif
