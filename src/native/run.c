/* `run`: runs a container's process in new user, mount, pid, uts, ipc, cgroup and network
 * namespaces on a prepared root file system (docs/helper-protocol.md).
 *
 * The helper forks process A, which unshares every namespace and waits while the helper
 * maps its ids (idmap.c). A then clones B with CLONE_PARENT, so B is pid 1 of the new pid
 * namespace and the helper's own child; A sends B's pid over the socket pair and exits.
 * B sets up the mounts, pivots into the root, drops privileges and executes the program.
 * A failure in A or B up to execve is a struct error written to a close-on-exec pipe; end
 * of file on it means the program runs. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

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

static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "CPU", RLIMIT_CPU }, { "FSIZE", RLIMIT_FSIZE }, { "DATA", RLIMIT_DATA },
	{ "STACK", RLIMIT_STACK }, { "CORE", RLIMIT_CORE }, { "RSS", RLIMIT_RSS },
	{ "NPROC", RLIMIT_NPROC }, { "NOFILE", RLIMIT_NOFILE }, { "MEMLOCK", RLIMIT_MEMLOCK },
	{ "AS", RLIMIT_AS }, { "LOCKS", RLIMIT_LOCKS }, { "SIGPENDING", RLIMIT_SIGPENDING },
	{ "MSGQUEUE", RLIMIT_MSGQUEUE }, { "NICE", RLIMIT_NICE }, { "RTPRIO", RLIMIT_RTPRIO },
	{ "RTTIME", RLIMIT_RTTIME },
};

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP };
static volatile pid_t program;

/* ---- configuration ---- */

static int parse_id(const char *key, const char *value, unsigned long long max, unsigned long long *out,
		    struct error *err)
{
	char *end;

	errno = 0;
	*out = strtoull(value, &end, 10);
	if (!*value || *end || errno || *out > max || value[0] == '-')
		return error_set(err, 0, "config", "", "%s: bad number %s", key, value);
	return 0;
}

static int parse_limit(const char *key, const char *value, rlim_t *out, struct error *err)
{
	unsigned long long v;

	if (strcmp(value, "unlimited") == 0 || strcmp(value, "18446744073709551615") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (parse_id(key, value, ~0ULL, &v, err) < 0)
		return -1;
	*out = (rlim_t)v;
	return 0;
}

static int add_path(char **list, size_t *n, const char *key, char *value, struct error *err)
{
	if (value[0] != '/')
		return error_set(err, 0, "config", "", "%s must be an absolute path, not %s", key, value);
	if (*n == PATHS_MAX)
		return error_set(err, 0, "config", "", "more than %d %s lines", PATHS_MAX, key);
	list[(*n)++] = value;
	return 0;
}

static int add_mount(struct run_config *c, char *value, struct error *err)
{
	char *save, *f[4] = { 0 };

	if (c->nmounts == MOUNTS_MAX)
		return error_set(err, 0, "config", "", "more than %d mount lines", MOUNTS_MAX);
	f[0] = strtok_r(value, " ", &save);
	f[1] = f[0] ? strtok_r(NULL, " ", &save) : NULL;
	f[2] = f[1] ? strtok_r(NULL, " ", &save) : NULL;
	f[3] = f[2] ? strtok_r(NULL, "", &save) : NULL;
	if (!f[2] || f[0][0] != '/')
		return error_set(err, 0, "config", "", "mount must be DEST TYPE SOURCE [OPTIONS]");
	c->mounts[c->nmounts++] = (struct run_mount){ f[0], f[1], f[2], f[3] ? f[3] : "" };
	return 0;
}

static int add_cap(struct run_config *c, const char *value, struct error *err)
{
	const char *name = strncmp(value, "CAP_", 4) == 0 ? value + 4 : value;

	for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
		if (strcmp(cap_names[i], name) == 0) {
			c->caps |= 1ULL << i;
			return 0;
		}
	return error_set(err, 0, "config", "", "unknown capability %s", value);
}

static int add_rlimit(struct run_config *c, char *value, struct error *err)
{
	char *save, *name = strtok_r(value, " ", &save), *soft = strtok_r(NULL, " ", &save),
		    *hard = strtok_r(NULL, " ", &save);
	struct run_rlimit *r = &c->rlimits[c->nrlimits];

	if (!hard || strtok_r(NULL, " ", &save))
		return error_set(err, 0, "config", "", "rlimit must be NAME SOFT HARD");
	if (c->nrlimits == RLIMITS_MAX)
		return error_set(err, 0, "config", "", "too many rlimit lines");
	if (strncmp(name, "RLIMIT_", 7) == 0)
		name += 7;
	r->resource = -1;
	for (size_t i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
		if (strcmp(rlimit_names[i].name, name) == 0)
			r->resource = rlimit_names[i].resource;
	if (r->resource < 0)
		return error_set(err, 0, "config", "", "unknown rlimit %s", name);
	if (parse_limit("rlimit", soft, &r->value.rlim_cur, err) < 0 ||
	    parse_limit("rlimit", hard, &r->value.rlim_max, err) < 0)
		return -1;
	if (r->value.rlim_cur > r->value.rlim_max)
		return error_set(err, 0, "config", "", "rlimit %s: soft above hard", name);
	c->nrlimits++;
	return 0;
}

static int run_set(void *cfg, const char *key, char *value, struct error *err)
{
	struct run_config *c = cfg;
	int r = idmap_set(&c->ids, key, value, err);
	static const struct {
		const char *key;
		size_t offset;
	} once[] = {
		{ "rootfs", offsetof(struct run_config, rootfs) },
		{ "lowerdir", offsetof(struct run_config, lowerdir) },
		{ "upperdir", offsetof(struct run_config, upperdir) },
		{ "workdir", offsetof(struct run_config, workdir) },
		{ "hostname", offsetof(struct run_config, hostname) },
		{ "cwd", offsetof(struct run_config, cwd) },
		{ "seccomp", offsetof(struct run_config, seccomp) },
		{ "uid", offsetof(struct run_config, uid_s) },
		{ "gid", offsetof(struct run_config, gid_s) },
		{ "groups", offsetof(struct run_config, groups_s) },
	};

	if (r <= 0)
		return r;
	for (size_t i = 0; i < sizeof once / sizeof once[0]; i++)
		if (strcmp(key, once[i].key) == 0)
			return config_once((const char **)((char *)c + once[i].offset), key, value, err);
	if (strcmp(key, "no-new-privs") == 0)
		return config_flag(&c->no_new_privs, key, value, err);
	if (strcmp(key, "mount") == 0)
		return add_mount(c, value, err);
	if (strcmp(key, "device") == 0)
		return add_path(c->devices, &c->ndevices, key, value, err);
	if (strcmp(key, "masked") == 0)
		return add_path(c->masked, &c->nmasked, key, value, err);
	if (strcmp(key, "readonly") == 0)
		return add_path(c->readonly, &c->nreadonly, key, value, err);
	if (strcmp(key, "cap") == 0)
		return add_cap(c, value, err);
	if (strcmp(key, "rlimit") == 0)
		return add_rlimit(c, value, err);
	if (strcmp(key, "arg") == 0) {
		c->argv[c->argc++] = value;
		return 0;
	}
	if (strcmp(key, "env") == 0) {
		if (value[0] == '=' || !strchr(value, '='))
			return error_set(err, 0, "config", "", "env must be KEY=VALUE, not %s", value);
		c->envp[c->envc++] = value;
		return 0;
	}
	return error_set(err, 0, "config", "", "unknown key %s", key);
}

static int load_seccomp(struct run_config *c, struct error *err)
{
	static unsigned char raw[SECCOMP_MAX * 8 + 1];
	ssize_t n;
	int fd = open(c->seccomp, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, errno, "open", c->seccomp, "cannot open the seccomp filter");
	n = read(fd, raw, sizeof raw);
	close(fd);
	if (n < 0)
		return error_set(err, errno, "read", c->seccomp, "cannot read the seccomp filter");
	if (n == 0 || n % 8 || (size_t)n > SECCOMP_MAX * 8)
		return error_set(err, 0, "config", c->seccomp, "the seccomp filter must be 1 to %d instructions of 8 bytes",
				 SECCOMP_MAX);
	c->nfilter = (size_t)n / 8;
	for (size_t i = 0; i < c->nfilter; i++) {
		const unsigned char *p = raw + i * 8;
		c->filter[i] = (struct sock_filter){
			.code = (unsigned short)(p[0] | p[1] << 8),
			.jt = p[2],
			.jf = p[3],
			.k = (unsigned)p[4] | (unsigned)p[5] << 8 | (unsigned)p[6] << 16 | (unsigned)p[7] << 24,
		};
	}
	return 0;
}

static int check_config(struct run_config *c, struct error *err)
{
	unsigned long long v;

	if (!c->rootfs || c->argc == 0)
		return error_set(err, 0, "config", "", "rootfs and at least one arg are required");
	if (!c->lowerdir != !c->upperdir || !c->upperdir != !c->workdir)
		return error_set(err, 0, "config", "", "lowerdir, upperdir and workdir go together");
	if (!c->cwd)
		c->cwd = "/";
	if (c->uid_s) {
		if (parse_id("uid", c->uid_s, 0xfffffffeU, &v, err) < 0)
			return -1;
		c->uid = (uid_t)v;
	}
	if (c->gid_s) {
		if (parse_id("gid", c->gid_s, 0xfffffffeU, &v, err) < 0)
			return -1;
		c->gid = (gid_t)v;
	}
	if (c->groups_s && *c->groups_s) {
		char buf[1024], *save, *g;

		snprintf(buf, sizeof buf, "%s", c->groups_s);
		for (g = strtok_r(buf, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
			if (c->ngroups == GROUPS_MAX)
				return error_set(err, 0, "config", "", "more than %d groups", GROUPS_MAX);
			if (parse_id("groups", g, 0xfffffffeU, &v, err) < 0)
				return -1;
			c->groups[c->ngroups++] = (gid_t)v;
		}
	}
	c->no_new_privs = c->no_new_privs == 1;
	if (c->seccomp && load_seccomp(c, err) < 0)
		return -1;
	return idmap_check(&c->ids, err);
}

/* ---- process B: the container's pid 1 ---- */

static int root_fd = -1; /* the root file system, while the mounts are set up */

/* Opens path (absolute, inside the container) as an O_PATH descriptor, resolving every
 * symlink and `..` as if root_fd were `/`: an image cannot point a mount outside itself. */
static int resolve(const char *path, int flags, struct error *err)
{
	struct open_how how = { .flags = (unsigned long long)(O_PATH | O_CLOEXEC | flags),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);

	if (fd < 0)
		return error_set(err, errno, "openat2", path, "cannot resolve %s in the root file system", path);
	return fd;
}

struct fdpath {
	int fd;
	char path[32];
};

static int resolve_proc(struct fdpath *p, const char *path, struct error *err)
{
	p->fd = resolve(path, 0, err);
	if (p->fd < 0)
		return -1;
	snprintf(p->path, sizeof p->path, "/proc/self/fd/%d", p->fd);
	return 0;
}

/* Creates, inside the root, the directories leading to path, and path itself: a
 * directory, or an empty file if dir is false. Existing entries are fine. */
static int make_target(const char *path, bool dir, struct error *err)
{
	char buf[4096], *slash, *name;
	cleanup_fd int parent = -1;
	int fd;

	if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
		return error_set(err, ENAMETOOLONG, "mkdir", path, "path too long");
	/* each directory is made in its resolved parent: a symlink can never lead outside */
	for (slash = buf; (slash = strchr(slash + 1, '/'));) {
		char *last;
		cleanup_fd int at = -1;

		*slash = '\0';
		last = strrchr(buf, '/');
		*last = '\0';
		at = resolve(buf[0] ? buf : "/", O_DIRECTORY, err);
		*last = '/';
		if (at < 0)
			return -1;
		if (mkdirat(at, last + 1, 0755) < 0 && errno != EEXIST)
			return error_set(err, errno, "mkdir", buf, "cannot create %s", buf);
		*slash = '/';
	}
	slash = strrchr(buf, '/');
	*slash = '\0';
	parent = resolve(buf[0] ? buf : "/", O_DIRECTORY, err);
	*slash = '/';
	name = slash + 1;
	if (parent < 0)
		return -1;
	if (!*name)
		return 0;
	if (dir) {
		if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
			return error_set(err, errno, "mkdir", path, "cannot create %s", path);
		return 0;
	}
	fd = openat(parent, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd < 0 && errno != EISDIR && errno != ELOOP && errno != ENXIO && errno != EEXIST)
		return error_set(err, errno, "open", path, "cannot create %s", path);
	if (fd >= 0)
		close(fd);
	return 0;
}

static const struct {
	const char *name;
	unsigned long set, clear;
} mount_flags[] = {
	{ "ro", MS_RDONLY, 0 },	       { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },    { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },      { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },    { "exec", 0, MS_NOEXEC },
	{ "relatime", MS_RELATIME, 0 }, { "strictatime", MS_STRICTATIME, 0 },
	{ "noatime", MS_NOATIME, 0 },  { "nodiratime", MS_NODIRATIME, 0 },
	{ "sync", MS_SYNCHRONOUS, 0 }, { "bind", MS_BIND, 0 },
	{ "rbind", MS_BIND | MS_REC, 0 }, { "private", 0, 0 },
	{ "rprivate", 0, 0 },	       { "slave", 0, 0 },
	{ "rslave", 0, 0 },	       { "shared", 0, 0 },
	{ "rshared", 0, 0 },
};

static void parse_options(const char *options, unsigned long *flags, char *data, size_t size)
{
	char buf[4096], *save, *o;
	size_t used = 0;

	snprintf(buf, sizeof buf, "%s", options);
	*data = '\0';
	for (o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		size_t i, n = sizeof mount_flags / sizeof mount_flags[0];

		for (i = 0; i < n && strcmp(mount_flags[i].name, o) != 0; i++)
			;
		if (i < n) {
			*flags = (*flags | mount_flags[i].set) & ~mount_flags[i].clear;
			continue;
		}
		used += (size_t)snprintf(data + used, used < size ? size - used : 0, "%s%s", used ? "," : "", o);
	}
}

/* The flags a user namespace cannot clear on a bind mount of path (the kernel locks them). */
static unsigned long locked_flags(const char *path)
{
	struct statvfs s;
	unsigned long f = 0;

	if (statvfs(path, &s) < 0)
		return 0;
	if (s.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (s.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (s.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (s.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	return f;
}

/* Binds source (a host path or a /proc/self/fd link) on dest inside the root, then
 * remounts it with the flags asked for, on the new mount (resolved anew). */
static int bind_mount(const char *source, const char *dest, unsigned long flags, struct error *err)
{
	unsigned long extra = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	struct fdpath t;

	if (resolve_proc(&t, dest, err) < 0)
		return -1;
	if (mount(source, t.path, NULL, MS_BIND | (flags & MS_REC), NULL) < 0) {
		close(t.fd);
		return error_set(err, errno, "mount", dest, "cannot bind %s", source);
	}
	close(t.fd);
	if (!extra)
		return 0;
	if (resolve_proc(&t, dest, err) < 0)
		return -1;
	if (mount(NULL, t.path, NULL, MS_REMOUNT | MS_BIND | extra | locked_flags(t.path), NULL) < 0) {
		close(t.fd);
		return error_set(err, errno, "mount", dest, "cannot remount the bind of %s", source);
	}
	close(t.fd);
	return 0;
}

static int do_mount(const struct run_mount *m, struct error *err)
{
	char data[4096];
	unsigned long flags = 0;
	struct stat st;
	struct fdpath t;
	bool bind = strcmp(m->type, "bind") == 0 || strcmp(m->type, "rbind") == 0;
	int r;

	parse_options(m->options, &flags, data, sizeof data);
	if (strcmp(m->type, "rbind") == 0)
		flags |= MS_BIND | MS_REC;
	if (flags & MS_BIND)
		bind = true;
	if (bind) {
		if (stat(m->source, &st) < 0)
			return error_set(err, errno, "stat", m->source, "cannot bind %s", m->source);
		if (make_target(m->dest, S_ISDIR(st.st_mode), err) < 0)
			return -1;
		return bind_mount(m->source, m->dest, flags, err);
	}
	if (make_target(m->dest, true, err) < 0 || resolve_proc(&t, m->dest, err) < 0)
		return -1;
	r = mount(m->source, t.path, m->type, flags, data[0] ? data : NULL);
	close(t.fd);
	if (r < 0)
		return error_set(err, errno, "mount", m->dest, "cannot mount %s (%s)", m->type, m->options);
	return 0;
}

static int setup_root(const struct run_config *c, struct error *err)
{
	struct stat st;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return error_set(err, errno, "mount", "/", "cannot make the mounts private");
	if (c->lowerdir) {
		char data[3 * 1024 + 64];

		if ((size_t)snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s,userxattr", c->lowerdir,
				     c->upperdir, c->workdir) >= sizeof data)
			return error_set(err, 0, "config", "", "the overlay options are too long");
		if (mount("overlay", c->rootfs, "overlay", 0, data) < 0)
			return error_set(err, errno, "mount", c->rootfs, "cannot mount the overlay");
	} else if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return error_set(err, errno, "mount", c->rootfs, "cannot bind the root file system");
	}
	if (chdir(c->rootfs) < 0)
		return error_set(err, errno, "chdir", c->rootfs, "cannot enter the root file system");
	root_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return error_set(err, errno, "open", c->rootfs, "cannot open the root file system");
	for (size_t i = 0; i < c->nmounts; i++)
		if (do_mount(&c->mounts[i], err) < 0)
			return -1;
	for (size_t i = 0; i < c->ndevices; i++)
		if (make_target(c->devices[i], false, err) < 0 || bind_mount(c->devices[i], c->devices[i], 0, err) < 0)
			return -1;
	for (size_t i = 0; i < c->nmasked; i++) {
		struct fdpath t;
		int r;

		if (resolve_proc(&t, c->masked[i], err) < 0) {
			if (err->errno_ == ENOENT) {
				*err = (struct error){ 0 };
				continue;
			}
			return -1;
		}
		if (fstat(t.fd, &st) < 0)
			r = -1;
		else if (S_ISDIR(st.st_mode))
			r = mount("tmpfs", t.path, "tmpfs", MS_RDONLY, "size=0");
		else
			r = mount("/dev/null", t.path, NULL, MS_BIND, NULL);
		if (r < 0)
			error_set(err, errno, "mount", c->masked[i], "cannot mask %s", c->masked[i]);
		close(t.fd);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < c->nreadonly; i++) {
		struct fdpath t;
		int r;

		if (resolve_proc(&t, c->readonly[i], err) < 0) {
			if (err->errno_ == ENOENT) {
				*err = (struct error){ 0 };
				continue;
			}
			return -1;
		}
		r = bind_mount(t.path, c->readonly[i], MS_REC | MS_RDONLY, err);
		close(t.fd);
		if (r < 0)
			return -1;
	}
	close(root_fd);
	root_fd = -1;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return error_set(err, errno, "pivot_root", c->rootfs, "cannot pivot into the root file system");
	if (umount2(".", MNT_DETACH) < 0)
		return error_set(err, errno, "umount2", "/", "cannot detach the old root");
	if (chdir("/") < 0)
		return error_set(err, errno, "chdir", "/", "cannot enter the new root");
	return 0;
}

static int set_credentials(const struct run_config *c, struct error *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	char text[16];
	int last = 40;

	if (read_file("/proc/sys/kernel/cap_last_cap", text, sizeof text, &(struct error){ 0 }) >= 0)
		last = atoi(text);
	for (int i = 0; i <= last; i++)
		if (!(c->caps & (1ULL << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			return error_set(err, errno, "prctl", "", "cannot drop capability %d from the bounding set", i);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return error_set(err, errno, "prctl", "", "cannot keep capabilities");
	if (setgroups(c->ngroups, c->groups) < 0 && !(errno == EPERM && c->ngroups == 0))
		return error_set(err, errno, "setgroups", "", "cannot set the supplementary groups");
	if (setresgid(c->gid, c->gid, c->gid) < 0)
		return error_set(err, errno, "setresgid", "", "cannot become gid %u", c->gid);
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return error_set(err, errno, "setresuid", "", "cannot become uid %u", c->uid);
	data[0].effective = data[0].permitted = (unsigned)c->caps;
	data[1].effective = data[1].permitted = (unsigned)(c->caps >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return error_set(err, errno, "capset", "", "cannot set the capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return error_set(err, errno, "prctl", "", "cannot clear the ambient capabilities");
	return 0;
}

static int install_seccomp(const struct run_config *c, struct error *err)
{
	struct sock_fprog prog = { .len = (unsigned short)c->nfilter, .filter = (struct sock_filter *)c->filter };

	if (c->nfilter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return error_set(err, errno, "seccomp", c->seccomp, "cannot install the seccomp filter");
	return 0;
}

/* Returns only on failure; -1 with err->reported set when nobody is left to tell. */
static int start_container(const struct run_config *c, int sync, const sigset_t *mask, struct error *err)
{
	struct pollfd pfd = { .fd = sync, .events = POLLIN };

	if (setup_root(c, err) < 0)
		return -1;
	if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
		return error_set(err, errno, "sethostname", "", "cannot set the host name");
	for (size_t i = 0; i < c->nrlimits; i++)
		if (setrlimit(c->rlimits[i].resource, &c->rlimits[i].value) < 0)
			return error_set(err, errno, "setrlimit", "", "cannot set rlimit %d", c->rlimits[i].resource);
	/* without no_new_privs, installing a filter takes CAP_SYS_ADMIN, which the
	 * configured capabilities may lack: then it goes in before they are dropped */
	if (!c->no_new_privs && install_seccomp(c, err) < 0)
		return -1;
	if (set_credentials(c, err) < 0)
		return -1;
	if (chdir(c->cwd) < 0)
		return error_set(err, errno, "chdir", c->cwd, "cannot enter %s", c->cwd);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return error_set(err, errno, "prctl", "", "cannot set the parent-death signal");
	/* the helper writes nothing more on the socket pair: readable means it is gone */
	if (poll(&pfd, 1, 0) != 0) {
		err->reported = true;
		return -1;
	}
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_set(err, errno, "prctl", "", "cannot set no_new_privs");
	if (sigprocmask(SIG_SETMASK, mask, NULL) < 0)
		return error_set(err, errno, "sigprocmask", "", "cannot restore the signal mask");
	if (c->no_new_privs && install_seccomp(c, err) < 0)
		return -1;
	execve(c->argv[0], c->argv, c->envp);
	return error_set(err, errno, "execve", c->argv[0], "cannot execute %s", c->argv[0]);
}

static void __attribute__((noreturn)) report_and_exit(const struct error *err, int status_fd)
{
	/* one write below PIPE_BUF: the parent reads all of it or nothing */
	if (!err->reported && write(status_fd, err, sizeof *err) != sizeof *err)
		_exit(2);
	_exit(1);
}

/* ---- process A: unshares, then starts B as the helper's child ---- */

static void __attribute__((noreturn)) first_child(const struct run_config *c, int sync, int status_fd,
						  const sigset_t *mask)
{
	struct error err = { 0 };
	pid_t pid;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP |
		    CLONE_NEWNET) < 0) {
		error_set(&err, errno, "unshare", "", "cannot create the container's namespaces");
		report_and_exit(&err, status_fd);
	}
	if (idmap_enter(sync, &err) < 0)
		report_and_exit(&err, status_fd);
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0) {
		error_set(&err, errno, "clone", "", "cannot start the container's first process");
		report_and_exit(&err, status_fd);
	}
	if (pid == 0) {
		start_container(c, sync, mask, &err);
		report_and_exit(&err, status_fd);
	}
	if (send(sync, &pid, sizeof pid, MSG_NOSIGNAL) != sizeof pid)
		_exit(2);
	_exit(0);
}

/* ---- the helper ---- */

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

/* Maps the ids, learns B's pid and the outcome of execve; returns 1 once the program runs. */
static int start(const struct run_config *c, pid_t first, int sync, int status_fd, pid_t *pid, struct error *err)
{
	struct error child_err;
	char byte, mapped;
	ssize_t n;

	*pid = -1;
	if (read(sync, &byte, 1) == 1) {
		if (idmap_write(&c->ids, true, first, &mapped, err) < 0)
			return -1;
		if (send(sync, &mapped, 1, MSG_NOSIGNAL) != 1)
			return error_set(err, errno, "send", "", "cannot signal the container's process");
		if (read(sync, pid, sizeof *pid) != sizeof *pid)
			*pid = -1;
	}
	n = read(status_fd, &child_err, sizeof child_err);
	if (n == 0 && *pid > 0)
		return 1;
	if (n == sizeof child_err)
		*err = child_err;
	else
		error_set(err, n < 0 ? errno : 0, "read", "", "cannot learn whether the program started");
	return -1;
}

static int run_container(const struct run_config *c, struct error *err)
{
	cleanup_fd int sync = -1, sync_child = -1, status_rd = -1, status_wr = -1;
	sigset_t signals, mask;
	siginfo_t info;
	pid_t first, pid;
	int fds[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return error_set(err, errno, "socketpair", "", "cannot create a socket pair");
	sync = fds[0];
	sync_child = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, errno, "pipe2", "", "cannot create a pipe");
	status_rd = fds[0];
	status_wr = fds[1];
	sigemptyset(&signals);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(&signals, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &signals, &mask) < 0)
		return error_set(err, errno, "sigprocmask", "", "cannot block signals");
	first = fork();
	if (first < 0)
		return error_set(err, errno, "fork", "", "cannot start the container's process");
	if (first == 0) {
		close(sync);
		close(status_rd);
		first_child(c, sync_child, status_wr, &mask);
	}
	close_fdp(&sync_child);
	close_fdp(&status_wr);
	sync_child = status_wr = -1;
	r = start(c, first, sync, status_rd, &pid, err);
	wait_for(first, "the container's first process", &(struct error){ 0 });
	if (r < 0) {
		close_fdp(&sync);
		sync = -1;
		if (pid > 0)
			wait_for(pid, "the container's process", &(struct error){ 0 });
		return -1;
	}
	close_fdp(&sync);
	sync = -1;
	emit("event", "name:s pid:i", "started", (int)pid);
	program = pid;
	if (set_forwarding() < 0)
		return error_set(err, errno, "sigaction", "", "cannot forward signals to the program");
	sigprocmask(SIG_SETMASK, &mask, NULL);
	while ((r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT)) < 0 && errno == EINTR)
		;
	sigprocmask(SIG_BLOCK, &signals, NULL);
	if (r < 0)
		return error_set(err, errno, "waitid", "", "cannot wait for the program");
	waitpid(pid, NULL, 0);
	if (info.si_code == CLD_EXITED)
		emit("event", "name:s status:i", "exited", info.si_status);
	else
		emit("event", "name:s signal:i", "exited", info.si_status);
	return 0;
}

int run_main(struct error *err)
{
	static char text[CONFIG_MAX];
	static struct run_config c;

	c.no_new_privs = -1;
	if (config_read(MSG_FD, text, sizeof text, run_set, &c, err) < 0 || check_config(&c, err) < 0)
		return -1;
	return run_container(&c, err);
}
