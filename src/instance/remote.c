/*
 * src/instance/remote.c - instances read by another process (remote_api.h).
 *
 * A remote instance is an ordinary instance (instance.c: lifetime, limits,
 * the engine handle; watches.c: add_watch/rm_watch) with no pipe, no fd and
 * no place in the fd table: the supervisor that owns it refers to it by
 * pointer.  queue.c hands each of its events to inst->sink instead of
 * queueing it.  Its open state (the first user reference) is the
 * supervisor's, dropped by uin_remote_close.
 */
#include "instance/instance.h"
#include "instance/remote_api.h"

#include <errno.h>

#include "engine/alloc.h"
#include "sources/loop.h"

int uin_remote_create(const struct uin_instance_sink *sink,
		      struct uin_instance **out)
{
	if (!uin_instances_charge())
		return -EMFILE;
	struct uin_instance *inst = uin_instance_alloc();
	if (!inst) {
		uin_instances_uncharge();
		return -ENOMEM;
	}
	/* From here the instance is counted; put_ref undoes everything. */
	uin_count(UIN_COUNT_INSTANCES, 1);
	inst->sink = sink;
	int ret = uinotify_handle_create(&uin_instance_ops, inst,
					 &inst->handle);
	if (ret < 0) {
		atomic_store(&inst->users, 0);
		uin_instance_put_ref(inst);
		return ret;
	}
	*out = inst;
	return 0;
}

int uin_remote_add_watch(struct uin_instance *inst, int dirfd,
			 const char *path, uint32_t mask, uint64_t resolve)
{
	return uin_instance_add_watch_at(inst, dirfd, path, mask, resolve);
}

int uin_remote_rm_watch(struct uin_instance *inst, int wd)
{
	return uin_instance_rm_wd(inst, wd);
}

int uin_remote_set_next_wd(struct uin_instance *inst, unsigned long next)
{
	return uin_instance_set_next_wd(inst, next);
}

void uin_remote_drain(void)
{
	uin_loop_drain();
}

void uin_remote_close(struct uin_instance *inst)
{
	atomic_store(&inst->open, false);
	uin_instance_put_user(inst); /* the open state's: tears down */
	/* As release_fd: let a dispatch in progress finish with it. */
	uin_loop_drain();
}
