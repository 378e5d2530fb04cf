/*
 * src/instance/preload_api.h - what the LD_PRELOAD library (src/preload/)
 * needs from the instance beyond the public API.  Private to the library.
 *
 * The preload library knows every descriptor number of the process that
 * names an instance (init1's, and the dups made through dup, dup2, dup3,
 * fcntl F_DUPFD*), because it interposes every call that makes or drops
 * one.  It tells the instance about them with these calls, and at fork it
 * gives each instance of the child its own readiness pipe (docs/preload.md,
 * "fork and exec").
 *
 * Implemented in src/instance/fdtable_preload.c on top of instance.h,
 * except uin_instance_fd_forget, which lives in instance.c beside the fd
 * table.
 */
#ifndef UIN_INSTANCE_PRELOAD_API_H
#define UIN_INSTANCE_PRELOAD_API_H

#include <stdbool.h>

struct uin_instance;

/*
 * new_fd, a descriptor the caller has just made on the same open file
 * description as instance fd, names that instance from now on (so that
 * closing fd keeps the instance while new_fd is open).  0, -EBADF/-EINVAL
 * (fd names no instance), -EEXIST (new_fd names another instance).
 */
int uin_instance_fd_alias(int fd, int new_fd);

/*
 * From now on the caller names every descriptor of fd's instance through
 * uin_instance_fd_alias and uin_instance_fd_forget (fd, init1's, counts
 * already): closing one then needs no look through /proc/self/fd for
 * others on the pipe.  Call it right after init1.  0, or -EBADF/-EINVAL.
 */
int uin_instance_count_names(int fd);

/*
 * fd stops naming its instance; the descriptor itself is left open (the
 * caller closes it next, or dup2 replaces it).  As uinotify_close(fd)
 * without the close(): fd leaves the fd table if it is init1's fd, and the
 * instance's open state is dropped if no descriptor of the process other
 * than fd (and iofd) is on the pipe.  0, or -EBADF/-EINVAL (no instance).
 */
int uin_instance_fd_forget(int fd);

/*
 * fork, from the preload library, in the child once fork() has returned
 * (or at its first call on a name), never in a fork handler: pin (a user
 * reference; NULL if fd names no instance) each name's instance, then
 * uin_instance_fork_child once per instance, then unpin each pin.
 */
struct uin_instance *uin_instance_fork_pin(int fd);
void uin_instance_fork_unpin(struct uin_instance *inst);
/*
 * In the child, before anything else of the child uses inst (its q_lock is
 * re-initialised: a reader of the parent may have held it at the fork):
 * give inst a readiness pipe of its own, holding
 * one byte per event of the child's copy of the queue, dup'ed onto each of
 * names[0..n) (every number naming inst; each keeps its FD_CLOEXEC, the new
 * description gets the old one's O_NONBLOCK, not its O_ASYNC/owner); the
 * child's copy of the parent's pipe is closed.  0, or a negative errno (the
 * instance then still shares the parent's pipe: its readiness is
 * unreliable in both processes).
 */
int uin_instance_fork_child(struct uin_instance *inst, const int *names,
			    int n);

#endif
