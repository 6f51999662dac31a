/* Running from a sealed in-memory copy, and shedding inherited descriptors.
 *
 * A process in a container can open /proc/PID/exe of a helper that joined it; if that
 * were the binary on disk it could overwrite it (CVE-2019-5736). A memfd sealed against
 * writes gives it nothing to write to. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>

#include "helper.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3; needed where vm.memfd_noexec makes memfds noexec */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static int create_memfd(struct error *err)
{
	int fd = memfd_create("tsc-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	if (fd < 0 && errno == EINVAL) /* kernels before 6.3 do not know MFD_EXEC */
		fd = memfd_create("tsc-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return error_set(err, errno, "memfd_create", "", "cannot create an in-memory copy of the helper");
	return fd;
}

static int copy_file(int from, int to, struct error *err)
{
	ssize_t n;

	while ((n = sendfile(to, from, NULL, 1 << 20)) > 0)
		;
	if (n < 0)
		return error_set(err, errno, "sendfile", "/proc/self/exe", "cannot copy the helper into memory");
	return 0;
}

/* Returns 0 when already running sealed; otherwise does not return unless it fails. */
int seal_self(char **argv, struct error *err)
{
	cleanup_fd int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	cleanup_fd int copy = -1;
	int seals;

	if (exe < 0)
		return error_set(err, errno, "open", "/proc/self/exe", "cannot open the helper's own binary");
	seals = fcntl(exe, F_GET_SEALS);
	if (seals >= 0 && (seals & F_SEAL_WRITE))
		return 0;
	copy = create_memfd(err);
	if (copy < 0 || copy_file(exe, copy, err) < 0)
		return -1;
	if (fcntl(copy, F_ADD_SEALS, SEALS) < 0)
		return error_set(err, errno, "fcntl", "", "cannot seal the in-memory copy of the helper");
	fexecve(copy, argv, environ);
	return error_set(err, errno, "fexecve", "", "cannot run the in-memory copy of the helper");
}

/* Fallback for kernels before 5.9, which have no close_range(). */
static int close_listed_fds(int keep, struct error *err)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;

	if (!dir)
		return error_set(err, errno, "opendir", "/proc/self/fd", "cannot list open descriptors");
	while ((entry = readdir(dir))) {
		int fd = atoi(entry->d_name);

		if (fd > MSG_FD && fd != keep && fd != dirfd(dir))
			close(fd);
	}
	closedir(dir);
	return 0;
}

int close_inherited_fds(int keep, struct error *err)
{
	int r;

	if (keep > MSG_FD) {
		r = keep > MSG_FD + 1 ? close_range(MSG_FD + 1, (unsigned)keep - 1, 0) : 0;
		if (r == 0)
			r = close_range((unsigned)keep + 1, ~0U, 0);
	} else {
		r = close_range(MSG_FD + 1, ~0U, 0);
	}
	if (r == 0)
		return 0;
	if (errno != ENOSYS)
		return error_set(err, errno, "close_range", "", "cannot close inherited descriptors");
	return close_listed_fds(keep, err);
}
