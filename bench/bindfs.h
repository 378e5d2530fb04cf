/*
 * bench/bindfs.h - a bindfs mount for the benches that measure behind FUSE
 * (bench_scan, soak): src shown at mnt by a bindfs daemon that is this
 * process's child and dies with it.
 */
#ifndef UIN_BENCH_BINDFS_H
#define UIN_BENCH_BINDFS_H

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_FUSE_SUPER_MAGIC 0x65735546

/* The child's stdout and stderr to /dev/null. */
static inline void bench_quiet_child(void)
{
	int null = open("/dev/null", O_WRONLY);
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
	}
}

/*
 * Mounts src at mnt and waits (5 s at most) until the mount is FUSE's.
 * The daemon's pid in *pid (0 when there is none); false with *why set
 * when it is not mounted.
 */
static inline bool bench_bindfs_mount(const char *src, const char *mnt,
				      pid_t *pid, const char **why)
{
	*pid = 0;
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		*why = "no usable /dev/fuse";
		return false;
	}
	pid_t parent = getpid();
	fflush(NULL);
	pid_t p = fork();
	if (p < 0) {
		*why = "fork failed";
		return false;
	}
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		bench_quiet_child();
		execlp("bindfs", "bindfs", "-f", src, mnt, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct statfs s;
		if (statfs(mnt, &s) == 0 && s.f_type == BENCH_FUSE_SUPER_MAGIC) {
			*pid = p;
			return true;
		}
		int status;
		if (waitpid(p, &status, WNOHANG) == p) {
			*why = WIFEXITED(status) && WEXITSTATUS(status) == 127
				       ? "bindfs is not installed"
				       : "bindfs could not mount";
			return false;
		}
		usleep(10000);
	}
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	*why = "bindfs did not mount within 5 s";
	return false;
}

/* Unmounts mnt (umount2, else fusermount -u, else a lazy detach) and
 * reaps the daemon (killed if it has not gone within 3 s). */
static inline void bench_bindfs_umount(const char *mnt, pid_t *pid)
{
	if (umount2(mnt, 0) != 0) {
		pid_t p = fork();
		if (p == 0) {
			bench_quiet_child();
			execlp("fusermount", "fusermount", "-u", mnt,
			       (char *)NULL);
			_exit(127);
		}
		int status = 1;
		if (p > 0)
			waitpid(p, &status, 0);
		if (status != 0)
			umount2(mnt, MNT_DETACH);
	}
	if (*pid > 0) {
		for (int i = 0; i < 300; i++) {
			if (waitpid(*pid, NULL, WNOHANG) == *pid) {
				*pid = 0;
				return;
			}
			usleep(10000);
		}
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

#endif
