/* `run`, process B: the root file system (a bind or an overlay), the configured mounts,
 * devices, masked and read-only paths, and pivot_root. Every path inside the container is
 * resolved under the root (resolve()), so an image cannot point a mount outside itself. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>

#include "run.h"

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

int run_setup_root(const struct run_config *c, struct error *err)
{
	struct stat st;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return error_set(err, errno, "mount", "/", "cannot make the mounts private");
	if (c->fuse_overlayfs) {
		struct statfs fs;

		/* mounted already, by the daemon (fuse.c): never run on the empty directory */
		if (statfs(c->rootfs, &fs) < 0 || fs.f_type != FUSE_SUPER_MAGIC)
			return error_set(err, errno, "mount", c->rootfs, "%s is not the fuse-overlayfs mount", c->rootfs);
	} else if (c->lowerdir) {
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
