/*
 * examples/watch-dir.c - watch one directory through the engine API and
 * print every event, one line each, as inotifywait -m prints them:
 *
 *     DIR/ CREATE newfile
 *     DIR/ MODIFY newfile
 *     DIR/ MOVED_FROM,ISDIR old   (cookie 12)
 *
 * usage: watch-dir [--source auto|kernel|scan] [DIR]
 * Without DIR it makes an empty temporary directory and says which.
 * Ctrl-C stops it; so does the deletion or unmount of DIR.
 *
 * This is the smallest complete consumer: a handle with two callbacks, one
 * embedded watch, an inode from a source, and the IN_IGNORED rule (the
 * consumer makes the final put when the engine says the watch is gone).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uinotify/engine.h>
#include <uinotify/hooks.h>
#include <uinotify/sources.h>

struct dir_watch {
	struct uinotify_watch watch; /* embedded: the engine's part */
	char *path;
};

static pthread_t main_thread;

static const struct {
	uint32_t bit;
	const char *name;
} event_names[] = {
	{IN_ACCESS, "ACCESS"},         {IN_MODIFY, "MODIFY"},
	{IN_ATTRIB, "ATTRIB"},         {IN_CLOSE_WRITE, "CLOSE_WRITE"},
	{IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
	{IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
	{IN_CREATE, "CREATE"},         {IN_DELETE, "DELETE"},
	{IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
	{IN_UNMOUNT, "UNMOUNT"},       {IN_Q_OVERFLOW, "Q_OVERFLOW"},
	{IN_IGNORED, "IGNORED"},       {IN_ISDIR, "ISDIR"},
};

static void handle_event(struct uinotify_watch *w, int32_t wd, uint32_t mask,
			 uint32_t cookie, const char *name,
			 struct uinotify_inode *name_inode)
{
	struct dir_watch *dw = (struct dir_watch *)w;
	char line[4400];
	int n = snprintf(line, sizeof line, "%s/ ", dw->path);
	const char *sep = "";
	for (size_t i = 0; i < sizeof event_names / sizeof event_names[0]; i++)
		if (mask & event_names[i].bit) {
			n += snprintf(line + n, sizeof line - n, "%s%s", sep,
				      event_names[i].name);
			sep = ",";
		}
	n += snprintf(line + n, sizeof line - n, " %s", name ? name : "");
	if (cookie)
		snprintf(line + n, sizeof line - n, "\t(cookie %u)", cookie);
	puts(line);
	fflush(stdout);
	if (mask & IN_IGNORED) {
		/* The engine removed the watch: the final put is ours, and
		 * with nothing left to watch the program ends. */
		uinotify_watch_put(w);
		pthread_kill(main_thread, SIGTERM);
	}
}

static void destroy_watch(struct uinotify_watch *w)
{
	struct dir_watch *dw = (struct dir_watch *)w;
	free(dw->path);
	free(dw);
}

static const struct uinotify_ops ops = {
	.handle_event = handle_event,
	.destroy_watch = destroy_watch,
};

int main(int argc, char **argv)
{
	enum uinotify_source source = UINOTIFY_SOURCE_AUTO;
	int i = 1;
	if (i + 1 < argc && !strcmp(argv[i], "--source")) {
		const char *s = argv[i + 1];
		source = !strcmp(s, "kernel") ? UINOTIFY_SOURCE_KERNEL
			 : !strcmp(s, "scan") ? UINOTIFY_SOURCE_SCAN
					      : UINOTIFY_SOURCE_AUTO;
		i += 2;
	}
	char tmp[] = "/tmp/watch-dir-XXXXXX";
	const char *dir = i < argc ? argv[i] : mkdtemp(tmp);
	if (!dir) {
		perror("mkdtemp");
		return 1;
	}

	/* Signals go to the main thread only; handlers run on the engine's
	 * event-loop thread. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	main_thread = pthread_self();

	struct uinotify_handle *h;
	int err = uinotify_handle_create(&ops, NULL, &h);
	if (err < 0) {
		fprintf(stderr, "watch-dir: %s\n", strerror(-err));
		return 1;
	}
	struct uinotify_inode *inode;
	err = uinotify_path_inode(dir, IN_ONLYDIR, source, &inode);
	if (err < 0) {
		fprintf(stderr, "watch-dir: %s: %s\n", dir, strerror(-err));
		uinotify_handle_destroy(h);
		return 1;
	}
	struct dir_watch *dw = calloc(1, sizeof *dw);
	if (!dw || !(dw->path = strdup(dir))) {
		fprintf(stderr, "watch-dir: out of memory\n");
		return 1;
	}
	size_t len = strlen(dw->path);
	while (len > 1 && dw->path[len - 1] == '/')
		dw->path[--len] = '\0';
	uinotify_watch_init(&dw->watch);
	int32_t wd = uinotify_watch_add(h, &dw->watch, inode, IN_ALL_EVENTS);
	uinotify_inode_put(inode); /* the watch holds its own reference */
	if (wd < 0) {
		fprintf(stderr, "watch-dir: %s: %s\n", dir, strerror(-wd));
		free(dw->path);
		free(dw);
		uinotify_handle_destroy(h);
		return 1;
	}
	fprintf(stderr, "Watching %s (wd %d). Ctrl-C to stop.\n", dir, wd);

	int sig;
	sigwait(&set, &sig);
	uinotify_handle_destroy(h); /* removes the watch if it is still there */
	return 0;
}
