#!/usr/bin/env python3
"""tests/preload/inotify_ctypes.py - a Python inotify user, as scripts write
them: the libc functions through ctypes CDLL(None), the records through
os.read.  test_preload_programs runs it under LD_PRELOAD.

    inotify_ctypes.py DIR     prints "ready <wd>", then one line per event,
                              and exits after the event for the name "done".
"""
import ctypes
import os
import struct
import sys

IN_CLOSE_WRITE, IN_CREATE, IN_DELETE = 0x8, 0x100, 0x200

libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
if fd < 0:
    sys.exit("inotify_init1: " + os.strerror(ctypes.get_errno()))
wd = libc.inotify_add_watch(fd, sys.argv[1].encode(),
                            IN_CREATE | IN_DELETE | IN_CLOSE_WRITE)
if wd < 0:
    sys.exit("inotify_add_watch: " + os.strerror(ctypes.get_errno()))
print("ready", wd, flush=True)
while True:
    data = os.read(fd, 4096)
    off = 0
    while off < len(data):
        ewd, mask, cookie, length = struct.unpack_from("iIII", data, off)
        name = data[off + 16:off + 16 + length].rstrip(b"\0").decode()
        print(f"event wd={ewd} mask={mask:#x} name={name}", flush=True)
        off += 16 + length
        if name == "done":
            os.close(fd)
            sys.exit(0)
