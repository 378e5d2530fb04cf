/*
 * tools/tw.h - code shared by uinotifywait and uinotifywatch.
 *
 * tw_util.c: event names, option values, path lists, CSV, time formats and
 * the exclude/include filters, all byte-compatible with inotify-tools 3.22.
 * tw_tree.c: the watches of one instance and the directory tree they cover:
 * race-free recursive setup (watch first, then list), synthetic CREATE
 * events for what the listing of a new directory finds, suppression of the
 * events the tool's own listings cause, paths that follow renames, pruning
 * excludes, the watch-limit fallback and the overflow rescan (--recover).
 *
 * Only the uinotify_* calls of <uinotify/inotify.h> reach the event source.
 */
#ifndef UIN_TOOLS_TW_H
#define UIN_TOOLS_TW_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <time.h>

#include <uinotify/inotify.h>
/* The event source: only uinotify's inotify-compatible calls. */
#define tw_init1 uinotify_init1
#define tw_add_watch uinotify_add_watch
#define tw_rm_watch uinotify_rm_watch
#define tw_read uinotify_read
#define tw_close uinotify_close
#define tw_set_source uinotify_set_source
#define tw_default_source uinotify_default_source

#define TW_EXIT_TIMEOUT 2
/* inotifytools caps one formatted event at this many bytes (minus one). */
#define TW_MAX_STRLEN 4096
/* Not an inotify bit: marks events the tool made up (see tw_event). */
#define TW_SYNTHETIC_NAME "SYNTHETIC"

/* Output of errors: stderr, or syslog with -s (as inotifywait's). ----- */
void tw_set_syslog(bool on, const char *ident);
void tw_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *tw_prog; /* "uinotifywait" / "uinotifywatch" */

/* Events ------------------------------------------------------------------ */

/* inotifytools_str_to_event: comma list, case-insensitive; 0 for "" and
 * for lists with an empty item, -1 for an unknown name. */
int tw_str_to_events(const char *s, char sep);
/* One name ("access", "total" is not an event); -1 if unknown. */
int tw_onestr_to_event(const char *s);
/* inotifytools_event_to_str_sep, plus the SYNTHETIC pseudo-event. */
size_t tw_events_to_str(uint32_t mask, char sep, bool synthetic, char *out,
			size_t cap);
void tw_print_event_descriptions(FILE *f);

/* Option values ------------------------------------------------------------ */

/* is_timeout_option_valid: any long (the library's parser, strict:
 * digits with an optional sign), with inotify-tools' messages on
 * failure.  0 and negative values never expire (as inotifywait), nor do
 * values above TW_TIMEOUT_MAX (68 years: no deadline overflows). */
bool tw_parse_timeout(const char *s, long *out);
#define TW_TIMEOUT_MAX 2147483647L
static inline bool tw_timeout_expires(long t)
{
	return t > 0 && t <= TW_TIMEOUT_MAX;
}

/*
 * Our own options (not inotify-tools'), by the library's rules
 * (src/instance/config.h): true with *out set, or false after
 * "uinotifywait: --interval '5' is out of range (10..60000 ms)" and the
 * --help hint on stderr (the caller exits 1).
 */
bool tw_opt_source(const char *arg, int *out);      /* kernel, scan, auto */
bool tw_opt_interval(const char *arg, long *out);   /* 10..60000 ms */
bool tw_opt_number(const char *opt, const char *arg, long min, long max,
		   long *out);

/* Command-line and --fromfile paths: watches, and @excludes. */
struct tw_paths {
	char **watch;     /* NULL-terminated */
	size_t nwatch;
	char **exclude;   /* NULL-terminated @paths */
	size_t nexclude;
};
/* construct_path_list (prints "Couldn't open X: ..." itself); 0 or -ENOMEM */
int tw_paths_build(struct tw_paths *p, int argc, char **argv,
		   const char *fromfile);
void tw_paths_free(struct tw_paths *p);

/* CSV field as inotifywait quotes it; "" for NULL/empty/too long. */
const char *tw_csv_escape(const char *s, char *buf, size_t cap);

/* Time formats: strftime plus %N (nanoseconds) and %1N..%9N. ------------- */
size_t tw_strftime_ns(char *out, size_t cap, const char *fmt,
		      const struct timespec *ts);

/* Filters -------------------------------------------------------------------- */

struct tw_filter {
	regex_t *exclude;   /* any match excludes */
	size_t nexclude;
	regex_t *include;   /* none matching excludes (when ninclude > 0) */
	size_t ninclude;
	char **globs;       /* --exclude-glob */
	size_t nglobs;
	char **at;          /* @path excludes (no watch below) */
	size_t nat;
};
/* 0, or -EINVAL for a bad regex (which one: *bad_include). */
int tw_filter_add_regex(struct tw_filter *f, const char *re, bool icase,
			bool include);
int tw_filter_add_glob(struct tw_filter *f, const char *glob);

/*
 * --exclude, --excludei, --include, --includei as parsed: compiled only
 * after every other option was checked, as inotify-tools does (its
 * messages come in that order).
 */
struct tw_regexes {
	struct {
		const char *re;
		bool icase, include;
	} v[64];
	size_t n;
	bool has_include, has_exclude;
};
void tw_regexes_add(struct tw_regexes *r, const char *re, bool icase,
		    bool include);
/* Into f; false after inotify-tools' message for a bad one. */
bool tw_regexes_compile(const struct tw_regexes *r, struct tw_filter *f);

/*
 * The tools' instance: non-blocking, close-on-exec, from source (-1: the
 * default).  The fd, or -1 after inotify-tools' message (and its hint at
 * max_user_instances for EMFILE) or ours for a source that cannot be used.
 */
int tw_open_instance(int source);
void tw_filter_free(struct tw_filter *f);
enum { TW_PASS, TW_EXCLUDED, TW_NOT_INCLUDED };
/* Event path ("%w%f") and the name of its subject against the filters. */
int tw_filter_check(const struct tw_filter *f, const char *path,
		    const char *name);
/* Directory path (ending in '/') that must get no watch? */
bool tw_filter_prune(const struct tw_filter *f, const char *dirpath);

/* The watch tree --------------------------------------------------------------- */

struct tw_watch {
	int wd;
	char *path;         /* as %w prints it; directories end in '/' */
	size_t path_len;
	bool is_dir;
	bool in_tree;       /* under -r: new subdirectories get watched */
	bool gone;          /* removed by us; dropped until IN_IGNORED */
	bool dead;          /* IN_IGNORED seen; kept for uinotifywatch's table */
	bool root;          /* a command-line path */
	bool reduced;       /* still watched with the setup mask */
	unsigned long seq;  /* creation order */
	unsigned long post; /* inotify-tools' order: children before parents */
	unsigned long generation; /* last --recover rescan that listed it */
	unsigned long hits[32]; /* per mask bit, for uinotifywatch */
	unsigned long hit_total;
};

struct tw_event {
	struct tw_watch *w; /* NULL for IN_Q_OVERFLOW */
	int wd;
	uint32_t mask;
	uint32_t cookie;
	const char *name;   /* "" when the record has none */
	bool synthetic;     /* made up by the tool: a listing or a rescan */
	int filtered;       /* TW_PASS, or why the filters hide it */
	const struct timespec *when;
};

struct tw_ctx;
typedef void (*tw_emit_fn)(struct tw_ctx *ctx, const struct tw_event *ev);

struct tw_ctx {
	int fd;
	uint32_t mask;        /* what watches are added with */
	bool recursive;       /* -r */
	bool maintain;        /* follow the tree: new dirs, renames, removals */
	bool recover;         /* --recover: rescan after an overflow */
	bool dont_follow;     /* -P */
	bool keep_dead;       /* keep watches after IN_IGNORED (statistics) */
	int source;           /* enum uinotify_source, -1 = library default */
	const struct tw_filter *filter;
	tw_emit_fn emit;
	void *user;

	/* Internal state. */
	struct tw_watch **by_wd;
	size_t by_wd_cap;
	struct tw_map *by_path;
	unsigned long seq, post_seq;
	size_t nwatches;
	bool in_setup;
	bool enospc_reported;
	const char *setup_root;  /* for inotifywait's ENOSPC line */
	int setup_error;         /* first fatal errno of the setup */
	/* The record stream: what was read and is not processed yet. */
	unsigned char *buf;
	size_t buf_cap, buf_len, buf_pos;
	uint64_t consumed;       /* bytes of records processed so far */
	struct timespec now;     /* when the current batch was read */
	struct timespec quiet;   /* last time the queue was seen empty */
	bool quiet_known;
	/* Rename pairing. */
	struct tw_watch *move_from;
	uint32_t move_cookie;
	/* Our own listings' events, synthetic duplicates, --recover names. */
	struct tw_map *suppress; /* (wd,name) -> expected OPEN/ACCESS/CLOSE */
	struct tw_map *dedupe;   /* (wd,name) reported by a listing */
	struct tw_map *names;    /* (wd,name) -> d_type, with --recover */
	time_t last_gc;
	unsigned long generation;
	bool stop;               /* set by emit: stop processing the batch */
};

int tw_ctx_init(struct tw_ctx *ctx);
void tw_ctx_free(struct tw_ctx *ctx);

/*
 * Watch one command-line path, as inotifywait does (recursively with -r).
 * 0, or a negative errno for a failure inotifywait would stop on (the
 * caller prints "Couldn't watch"); ENOSPC inside a tree is reported and
 * skipped, not returned.
 */
int tw_watch_path(struct tw_ctx *ctx, const char *path);
/* Finish the setup: events queued while watching are processed from now. */
int tw_setup_done(struct tw_ctx *ctx);

/*
 * Wait up to timeout_ms (-1: forever) for records and process them,
 * calling ctx->emit.  1 if records were processed, 0 on timeout, or a
 * negative errno.
 */
int tw_pump(struct tw_ctx *ctx, int timeout_ms);

/* Visit the watches in creation order (with the dead ones if kept). */
void tw_foreach_watch(struct tw_ctx *ctx,
		      void (*fn)(struct tw_watch *w, void *arg), void *arg);

#endif
