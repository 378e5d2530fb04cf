/*
 * examples/follow-paths.c - follow a set of paths across create, delete
 * and rename, the way the audit subsystem used the 2006 inotify kernel API
 * for its path-based rules (kernel/auditfilter.c, "audit: path-based
 * rules").
 *
 *     follow-paths /etc/passwd /srv/app/config.yml ...
 *
 * For each path we watch its PARENT directory, never the file: the file may
 * not exist yet, and will be replaced by editors and package managers.  One
 * watch per parent (found with uinotify_watch_find, as audit_add_watch
 * did), each carrying the rules of the names it cares about.  The handler
 * keeps each rule's identity (device, inode) current:
 *
 *   CREATE, MOVED_TO of a rule's name  -> it (re)appeared: take its identity
 *                                         from the event's name_inode (the
 *                                         2/5 patch) or stat it
 *   DELETE, MOVED_FROM                 -> it is gone (identity -1)
 *   DELETE_SELF, UNMOUNT of the parent -> the rules die; the engine removes
 *                                         the watch and IN_IGNORED follows
 *   MOVE_SELF of the parent            -> the path no longer leads here: drop
 *                                         the rules and remove the watch from
 *                                         inside the handler (the 4/5 patch)
 *   IN_IGNORED                         -> the final put
 *
 * Lock rule (the seed's contract): the handler takes parent->lock, so the
 * main thread never holds it while calling the engine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>
#include <uinotify/sources.h>

#define MAX_RULES 64

struct rule {
	char name[256];
	long long dev, ino; /* -1: not there */
};

struct parent {
	struct uinotify_watch watch; /* embedded */
	pthread_mutex_t lock;        /* [rules, nrules, dead] */
	char path[4096];
	struct rule rules[MAX_RULES];
	int nrules;
	int dead;
};

#define PARENT_MASK                                                          \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |               \
	 IN_DELETE_SELF | IN_MOVE_SELF)

static pthread_t main_thread;
static int live_parents;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static void identify(struct parent *p, struct rule *r,
		     struct uinotify_inode *name_inode)
{
	if (name_inode) {
		const struct uinotify_key *k = uinotify_inode_key(name_inode);
		r->dev = (long long)k->dev;
		r->ino = (long long)k->ino;
		return;
	}
	char full[4400];
	struct stat st;
	snprintf(full, sizeof full, "%s/%s", p->path, r->name);
	if (lstat(full, &st) == 0) {
		r->dev = (long long)st.st_dev;
		r->ino = (long long)st.st_ino;
	} else {
		r->dev = r->ino = -1;
	}
}

static void handle_event(struct uinotify_watch *w, int32_t wd, uint32_t mask,
			 uint32_t cookie, const char *name,
			 struct uinotify_inode *name_inode)
{
	struct parent *p = (struct parent *)w;
	if (mask & IN_IGNORED) {
		printf("%s: no longer watched\n", p->path);
		fflush(stdout);
		uinotify_watch_put(w); /* the final put is ours */
		pthread_mutex_lock(&live_lock);
		if (--live_parents == 0)
			pthread_kill(main_thread, SIGTERM);
		pthread_mutex_unlock(&live_lock);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (mask & (IN_DELETE_SELF | IN_UNMOUNT | IN_MOVE_SELF)) {
		for (int i = 0; i < p->nrules; i++)
			printf("%s/%s: rule dropped (%s)\n", p->path,
			       p->rules[i].name,
			       mask & IN_DELETE_SELF ? "directory deleted"
			       : mask & IN_UNMOUNT   ? "unmounted"
						     : "directory moved");
		p->dead = 1;
		pthread_mutex_unlock(&p->lock);
		fflush(stdout);
		/* DELETE_SELF and UNMOUNT: the engine removes the watch
		 * itself.  MOVE_SELF: we must, from inside the handler. */
		if (mask & IN_MOVE_SELF)
			uinotify_watch_remove_locked(uinotify_watch_handle(w),
						     w);
		return;
	}
	for (int i = 0; name && i < p->nrules; i++) {
		struct rule *r = &p->rules[i];
		if (strcmp(r->name, name) != 0)
			continue;
		if (mask & (IN_CREATE | IN_MOVED_TO)) {
			identify(p, r, name_inode);
			printf("%s/%s: appeared (dev %lld ino %lld)%s\n",
			       p->path, r->name, r->dev, r->ino,
			       mask & IN_MOVED_TO ? " by rename" : "");
		} else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
			r->dev = r->ino = -1;
			printf("%s/%s: gone%s\n", p->path, r->name,
			       mask & IN_MOVED_FROM ? " by rename" : "");
		}
	}
	pthread_mutex_unlock(&p->lock);
	fflush(stdout);
	(void)wd;
	(void)cookie;
}

static void destroy_watch(struct uinotify_watch *w)
{
	struct parent *p = (struct parent *)w;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct uinotify_ops ops = {
	.handle_event = handle_event,
	.destroy_watch = destroy_watch,
};

/* Add path's rule to the watch on its parent, creating the watch. */
static int follow(struct uinotify_handle *h, const char *path)
{
	char a[4096], b[4096];
	snprintf(a, sizeof a, "%s", path);
	snprintf(b, sizeof b, "%s", path);
	const char *dir = dirname(a), *base = basename(b);

	struct uinotify_inode *inode;
	int err = uinotify_path_inode(dir, IN_ONLYDIR, UINOTIFY_SOURCE_AUTO,
				      &inode);
	if (err < 0)
		return err;
	struct uinotify_watch *w;
	struct parent *p;
	if (uinotify_watch_find(h, inode, &w) >= 0) {
		p = (struct parent *)w; /* counted reference: put below */
	} else {
		p = calloc(1, sizeof *p);
		if (!p) {
			uinotify_inode_put(inode);
			return -ENOMEM;
		}
		pthread_mutex_init(&p->lock, NULL);
		snprintf(p->path, sizeof p->path, "%s", dir);
		uinotify_watch_init(&p->watch);
		uinotify_watch_get(&p->watch); /* ours, like find's */
		pthread_mutex_lock(&live_lock);
		live_parents++;
		pthread_mutex_unlock(&live_lock);
		int32_t wd = uinotify_watch_add(h, &p->watch, inode,
						PARENT_MASK);
		if (wd < 0) {
			uinotify_inode_put(inode);
			pthread_mutex_lock(&live_lock);
			live_parents--;
			pthread_mutex_unlock(&live_lock);
			pthread_mutex_destroy(&p->lock);
			uinotify_watch_put(&p->watch);
			uinotify_watch_put(&p->watch);
			free(p); /* never added: ours to free */
			return wd;
		}
	}
	uinotify_inode_put(inode);

	/* The engine is not called while p->lock is held (see top). */
	pthread_mutex_lock(&p->lock);
	if (p->nrules < MAX_RULES && !p->dead) {
		struct rule *r = &p->rules[p->nrules++];
		snprintf(r->name, sizeof r->name, "%s", base);
		identify(p, r, NULL);
		printf("%s: following (dev %lld ino %lld)\n", path, r->dev,
		       r->ino);
	}
	pthread_mutex_unlock(&p->lock);
	fflush(stdout);
	uinotify_watch_put(&p->watch); /* matches find or our get */
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: follow-paths PATH...\n");
		return 2;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	main_thread = pthread_self();

	struct uinotify_handle *h;
	int err = uinotify_handle_create(&ops, NULL, &h);
	if (err < 0) {
		fprintf(stderr, "follow-paths: %s\n", strerror(-err));
		return 1;
	}
	int ok = 0;
	for (int i = 1; i < argc; i++) {
		err = follow(h, argv[i]);
		if (err < 0)
			fprintf(stderr, "follow-paths: %s: %s\n", argv[i],
				strerror(-err));
		else
			ok++;
	}
	if (ok) {
		int sig;
		sigwait(&set, &sig);
	}
	uinotify_handle_destroy(h);
	return ok ? 0 : 1;
}
