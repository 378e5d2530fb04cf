/*
 * src/instance/config.h - configuration values: every UINOTIFY_* variable
 * of the environment and every option of the tools and uinotify-run that
 * takes a number or a name, parsed and checked by one set of rules.
 *
 * A value is one of three kinds:
 *
 *   INT   a decimal integer, [+-]?[0-9]+ and nothing else (no spaces, no
 *         suffix), in min..max (overflow is out of range);
 *   BOOL  1, 0, yes, no, true, false, on, off (any case);
 *   ENUM  one of a list of names (any case).
 *
 * An empty value is the same as no value.  The variables are described in
 * one table (uin_env_def below, config.c), documented in uinotify(7).
 *
 * The library reads a variable the first time it needs it, once per
 * process: a bad value gets one line on stderr, saying what is used instead
 * (the variable's default), and never stops the program:
 *
 *   uinotify: UINOTIFY_SOURCE='bogus' is not one of auto, kernel, scan,
 *   none; using auto
 *
 * The tools parse their options with uin_cfg_option and exit 1 (uinotify-
 * run: 125) on a bad one.
 */
#ifndef UIN_INSTANCE_CONFIG_H
#define UIN_INSTANCE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum uin_cfg_kind { UIN_CFG_INT, UIN_CFG_BOOL, UIN_CFG_ENUM };

/* A name of an ENUM and its value.  An alias (a second name of a value
 * already listed) is accepted but not shown in messages. */
struct uin_cfg_name {
	const char *name;
	int value;
	bool alias;
};

struct uin_cfg_def {
	const char *name;  /* "UINOTIFY_SCAN_INTERVAL_MS", "--interval" */
	enum uin_cfg_kind kind;
	long min, max;     /* INT */
	const char *unit;  /* INT: "ms", "us" or NULL */
	const struct uin_cfg_name *names; /* ENUM: ends with {NULL} */
	long def;          /* the value when unset or bad */
	long (*dynamic_def)(void); /* if set, the default instead of def */
};

enum uin_cfg_status {
	UIN_CFG_OK = 0,
	UIN_CFG_UNSET,      /* NULL or "" */
	UIN_CFG_NOT_NUMBER, /* INT: not a decimal integer */
	UIN_CFG_RANGE,      /* INT: outside min..max (or beyond a long) */
	UIN_CFG_NOT_NAME,   /* BOOL, ENUM: none of the names */
};

/* Parse s by d: UIN_CFG_OK with *out set, or why not (*out untouched). */
enum uin_cfg_status uin_cfg_parse(const struct uin_cfg_def *d, const char *s,
				  long *out);

/*
 * Why s is bad, as "UINOTIFY_X='s' is out of range 10..60000 (ms)" (a
 * variable) or "--interval '1' is out of range 10..60000 (ms)" (a name
 * starting with '-': an option), without a newline; label replaces
 * d->name if not NULL.  The value is quoted with non-printable bytes
 * replaced and long ones cut.
 */
void uin_cfg_explain(const struct uin_cfg_def *d, const char *label,
		     const char *s, enum uin_cfg_status status, char *buf,
		     size_t len);

/* A value as text: its name (BOOL: 1 or 0; ENUM: the first name of the
 * value), else its decimal.  Returns buf. */
const char *uin_cfg_value_text(const struct uin_cfg_def *d, long v, char *buf,
			       size_t len);

/*
 * An option's argument: true with *out set, else false after printing
 * "prog: <explanation>\n" on stderr (an unset value, "", is bad here).
 * label: the option as the user wrote it ("--interval"), or NULL for
 * d->name.
 */
bool uin_cfg_option(const struct uin_cfg_def *d, const char *label,
		    const char *prog, const char *arg, long *out);

/* The environment ----------------------------------------------------------- */

enum uin_env {
	UIN_ENV_SOURCE,               /* enum uinotify_source */
	UIN_ENV_MAX_USER_INSTANCES,   /* the order of enum uinotify_limit */
	UIN_ENV_MAX_USER_WATCHES,
	UIN_ENV_MAX_QUEUED_EVENTS,
	UIN_ENV_RECOVER,              /* bool */
	UIN_ENV_FORK_REARM,           /* enum uin_env_rearm */
	UIN_ENV_DEBUG,                /* bool */
	UIN_ENV_SCAN_INTERVAL_MS,
	UIN_ENV_SCAN_CLOSE_WRITE_MS,
	UIN_ENV_SCAN_COLD_MS,
	UIN_ENV_SCAN_FORCE_SYNC,
	UIN_ENV_SCAN_STAT_THREADS,
	UIN_ENV_SCAN_STAT_WAIT_US,
	UIN_ENV_COUNT
};

enum uin_env_rearm {
	UIN_REARM_AUTO, UIN_REARM_SYNC, UIN_REARM_ASYNC, UIN_REARM_OFF
};

const struct uin_cfg_def *uin_env_def(enum uin_env v);

/*
 * The value of variable v in this process: read and checked the first
 * time (a bad one reported on stderr, once), the same ever after.  Any
 * thread; no lock (a fork child keeps what its parent had read).
 */
long uin_env(enum uin_env v);

/*
 * Variable v read again now, for a variable that applies at each use
 * (UINOTIFY_FORK_REARM, at each fork: a program may change it between
 * forks).  A bad value is reported once per process all the same.
 */
long uin_env_fresh(enum uin_env v);

/*
 * v's value comes from elsewhere: an option that stands for it (--source,
 * --interval).  The variable is then never read, so a bad value in it,
 * unused, is not reported.  At start-up, before the library uses v.
 */
void uin_env_given(enum uin_env v, long value);

/* Read every variable now, so that every bad one is reported at once. */
void uin_env_check_all(void);

/* This process reports nothing: another one already did (the supervisor
 * of uinotify-run, whose parent checked the same environment). */
void uin_env_quiet(void);

#endif
