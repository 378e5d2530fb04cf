/*
 * tests/test_engine_locks.c - the lock rules are checked, not only written
 * (src/engine/lock.h): in a build with UIN_LOCK_CHECKS (Debug, which the
 * sanitizer runs are), a *_locked function called without its lock, a lock
 * taken against the documented order, a lock taken twice or unlocked by a
 * thread that does not hold it abort the process with a line that names
 * the function and the locks.  Each broken rule runs in a child of its
 * own.  Release builds compile the checks out: these tests skip there.
 * The functions that break a rule on purpose are UIN_NO_TSA: clang's
 * -Wthread-safety rejects each of them at compile time otherwise.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uinotify/hooks.h>

#include "engine/internal.h"
#include "engine/lock.h"
#include "runner.h"

static void need_checks(void)
{
	if (!uin_lock_checks_enabled())
		uin_test_skip("lock checks are compiled out of this build "
			      "(Debug or -DUINOTIFY_LOCK_CHECKS=ON has them)");
}

/* Run fn in a child; its status and what it wrote on stderr. */
static int in_child(void (*fn)(void), char *err, size_t errsz)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		fn();
		_exit(0);
	}
	close(p[1]);
	size_t len = 0;
	ssize_t n;
	while (len + 1 < errsz && (n = read(p[0], err + len, errsz - 1 - len)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	close(p[0]);
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	return status;
}

#define EXPECT_ABORT(fn, what)                                               \
	do {                                                                 \
		char err_[2048];                                             \
		int st_ = in_child(fn, err_, sizeof err_);                   \
		if (!WIFSIGNALED(st_) || WTERMSIG(st_) != SIGABRT)           \
			uin_test_fail(__FILE__, __LINE__,                    \
				      "%s: no abort (status %#x): %s", #fn,  \
				      st_, err_);                            \
		if (!strstr(err_, what))                                     \
			uin_test_fail(__FILE__, __LINE__,                    \
				      "%s: stderr has no \"%s\": %s", #fn,   \
				      what, err_);                           \
	} while (0)

#define EXPECT_CLEAN(fn)                                                     \
	do {                                                                 \
		char err_[2048];                                             \
		int st_ = in_child(fn, err_, sizeof err_);                   \
		if (!WIFEXITED(st_) || WEXITSTATUS(st_) != 0)                \
			uin_test_fail(__FILE__, __LINE__,                    \
				      "%s: status %#x: %s", #fn, st_, err_); \
	} while (0)

/* A real *_locked function of the engine, called without the inode lock. */
static void recalc_without_inode_lock(void) UIN_NO_TSA
{
	struct uinotify_sb *sb;
	if (uinotify_sb_create(NULL, NULL, &sb) < 0)
		_exit(2);
	struct uinotify_key k = {.dev = 1, .ino = 2};
	struct uinotify_inode *in;
	if (uinotify_inode_get(sb, &k, &in) < 0)
		_exit(2);
	uin_inode_recalc_mask_locked(in);
}

static void recalc_with_inode_lock(void)
{
	struct uinotify_sb *sb;
	if (uinotify_sb_create(NULL, NULL, &sb) < 0)
		_exit(2);
	struct uinotify_key k = {.dev = 1, .ino = 2};
	struct uinotify_inode *in;
	if (uinotify_inode_get(sb, &k, &in) < 0)
		_exit(2);
	uin_mutex_lock(&in->lock);
	uin_inode_recalc_mask_locked(in);
	uin_mutex_unlock(&in->lock);
	uinotify_inode_put(in);
	uinotify_sb_destroy(sb);
}

TEST(locked_function_without_its_lock_aborts)
{
	need_checks();
	EXPECT_ABORT(recalc_without_inode_lock,
		     "uin_inode_recalc_mask_locked: the inode lock is not held "
		     "by this thread");
	EXPECT_CLEAN(recalc_with_inode_lock);
}

/* The engine's order: inode->lock, then handle->lock, then sb->lock. */
static uin_mutex_t inode_like = UIN_MUTEX_INITIALIZER(UIN_RANK_INODE);
static uin_mutex_t handle_like = UIN_MUTEX_INITIALIZER(UIN_RANK_HANDLE);
static uin_mutex_t sb_like = UIN_MUTEX_INITIALIZER(UIN_RANK_SB);
static uin_mutex_t inode_too = UIN_MUTEX_INITIALIZER(UIN_RANK_INODE);

/* The order message for these ranks: their numbers move as ranks are added. */
static const char *order_line(const char *taken, int taken_rank,
			      const char *held, int held_rank)
{
	static char line[256];
	snprintf(line, sizeof line,
		 "takes the %s lock (rank %d) while holding the %s lock "
		 "(rank %d)",
		 taken, taken_rank, held, held_rank);
	return line;
}

static void handle_then_inode(void) UIN_NO_TSA
{
	uin_mutex_lock(&handle_like);
	uin_mutex_lock(&inode_like);
}

static void sb_then_handle(void) UIN_NO_TSA
{
	uin_mutex_lock(&inode_like);
	uin_mutex_lock(&sb_like);
	uin_mutex_lock(&handle_like);
}

static void in_order(void)
{
	uin_mutex_lock(&inode_like);
	uin_mutex_lock(&handle_like);
	uin_mutex_lock(&sb_like);
	uin_mutex_unlock(&handle_like); /* out of order unlocking is fine */
	uin_mutex_unlock(&sb_like);
	uin_mutex_lock(&handle_like);
	uin_mutex_unlock(&handle_like);
	uin_mutex_unlock(&inode_like);
	/* Released: the other way round is a new start, not an inversion. */
	uin_mutex_lock(&handle_like);
	uin_mutex_unlock(&handle_like);
	uin_mutex_lock(&inode_like);
	uin_mutex_unlock(&inode_like);
}

TEST(wrong_order_aborts_naming_both_locks)
{
	need_checks();
	EXPECT_ABORT(handle_then_inode,
		     order_line("inode", UIN_RANK_INODE, "handle",
				UIN_RANK_HANDLE));
	EXPECT_ABORT(sb_then_handle, order_line("handle", UIN_RANK_HANDLE,
						"superblock", UIN_RANK_SB));
	EXPECT_CLEAN(in_order);
}

static void two_of_a_rank(void) UIN_NO_TSA
{
	uin_mutex_lock(&inode_like);
	uin_mutex_lock(&inode_too);
}

static void two_of_a_rank_nested(void)
{
	uin_mutex_lock(&inode_like);
	uin_mutex_lock_nested(&inode_too);
	uin_mutex_unlock(&inode_too);
	uin_mutex_unlock(&inode_like);
}

static void twice(void) UIN_NO_TSA
{
	uin_mutex_lock(&handle_like);
	uin_mutex_lock(&handle_like);
}

static void unlock_not_held(void) UIN_NO_TSA
{
	uin_mutex_unlock(&handle_like);
}

static void *take_handle_like(void *arg) UIN_NO_TSA
{
	(void)arg;
	uin_mutex_lock(&handle_like);
	return NULL;
}

/* Held, but by another thread. */
static void assert_other_thread(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, take_handle_like, NULL) != 0 ||
	    pthread_join(t, NULL) != 0)
		_exit(2);
	uin_assert_held(&handle_like);
}

TEST(same_rank_twice_and_foreign_unlock_abort)
{
	need_checks();
	EXPECT_ABORT(two_of_a_rank, order_line("inode", UIN_RANK_INODE,
					       "inode", UIN_RANK_INODE));
	EXPECT_CLEAN(two_of_a_rank_nested);
	EXPECT_ABORT(twice, "twice: takes the handle lock, which this thread "
			    "holds already");
	EXPECT_ABORT(unlock_not_held, "unlock_not_held: unlocks the handle "
				      "lock, which this thread does not hold");
	EXPECT_ABORT(assert_other_thread, "assert_other_thread: the handle "
					  "lock is not held by this thread");
}

/* A condition wait gives the lock up and takes it back: still held. */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int signalled;

static void *signal_it(void *arg)
{
	(void)arg;
	uin_mutex_lock(&handle_like);
	signalled = 1;
	pthread_cond_signal(&cv);
	uin_mutex_unlock(&handle_like);
	return NULL;
}

static void cond_wait_keeps_it(void)
{
	uin_mutex_lock(&handle_like);
	pthread_t t;
	if (pthread_create(&t, NULL, signal_it, NULL) != 0)
		_exit(2);
	while (!signalled)
		uin_cond_wait(&cv, &handle_like);
	uin_assert_held(&handle_like);
	uin_mutex_unlock(&handle_like);
	pthread_join(t, NULL);
}

/* A fork child's handler re-initialises what the parent's thread held. */
static void reinit_forgets(void) UIN_NO_TSA
{
	uin_mutex_lock(&handle_like);
	uin_mutex_reinit(&handle_like);
	uin_mutex_lock(&inode_like); /* handle_like no longer counts */
	uin_mutex_unlock(&inode_like);
}

TEST(cond_wait_and_reinit_keep_the_books_right)
{
	need_checks();
	EXPECT_CLEAN(cond_wait_keeps_it);
	EXPECT_CLEAN(reinit_forgets);
}
