// tests/run/inotify_rules_go - the instance conformance program
// (tests/preload/inotify_rules.c) ported to Go, with nothing but package
// syscall: every inotify call, read, ioctl, fcntl, dup, poll and epoll is
// a system call the program makes itself, as Go programs (fsnotify) do,
// with the Go runtime's threads, signals and netpoller around it.
// test_run_conformance.c runs it against the kernel and under uinotify-run
// on fresh directories and compares the two outputs byte for byte.
//
//	inotify_rules_go DIR [SECTION...|-SECTION...]
//	  DIR: an empty directory on a local filesystem; sections: all, only
//	  those named, or all but those named with a leading '-'.
//
// It prints nothing that legitimately differs between the kernel and
// uinotify-run: no descriptor numbers (uinotify-run installs instances in
// a range of its own), no cookie values (only whether a record shares the
// previous one's), nothing timed.  Go's signal handlers all have
// SA_RESTART: no EINTR section.  A Go program cannot fork without exec:
// the exec section uses syscall.ForkExec.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const (
	inMaskCreate      = 0x10000000 // IN_MASK_CREATE (Linux 4.18), not in syscall
	fionread          = 0x541b
	fioclex           = 0x5451
	fionbio           = 0x5421
	tcgets            = 0x5401
	fGetpipeSz        = 1032
	fDupfdCloexec     = 1030
	closeRangeCloexec = 4
	sysCloseRange     = 436
	pollIn            = 0x1
	pollPri           = 0x2
	pollOut           = 0x4
)

var (
	dir        string
	buf        = make([]byte, 65536)
	lastCookie uint32
)

func errname(err error) string {
	e, ok := err.(syscall.Errno)
	if !ok {
		return err.Error()
	}
	switch e {
	case 0:
		return "0"
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.EBADF:
		return "EBADF"
	case syscall.EAGAIN:
		return "EAGAIN"
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.ENOTDIR:
		return "ENOTDIR"
	case syscall.EEXIST:
		return "EEXIST"
	case syscall.ENOTTY:
		return "ENOTTY"
	case syscall.ESPIPE:
		return "ESPIPE"
	case syscall.EINTR:
		return "EINTR"
	case syscall.EFAULT:
		return "EFAULT"
	case syscall.EACCES:
		return "EACCES"
	case syscall.ELOOP:
		return "ELOOP"
	}
	return "errno " + strconv.Itoa(int(e))
}

// A call's result: a number, or an error.
type result struct {
	r   int
	err error
}

func res(r int, err error) result { return result{r, err} }

func res64(r int64, err error) result { return result{int(r), err} }

// say prints "what = result" or "what = -1 ERRNO"; the result, -1 on error.
func say(what string, r result) int {
	if r.err != nil {
		fmt.Printf("%s = -1 %s\n", what, errname(r.err))
		return -1
	}
	fmt.Printf("%s = %d\n", what, r.r)
	return r.r
}

// sayErr for calls that return only an error.
func sayErr(what string, err error) {
	say(what, result{0, err})
}

func sys(nr, a, b, c uintptr) (int, error) {
	r, _, e := syscall.Syscall(nr, a, b, c)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func fionreadOf(fd int) (int, error) {
	var v int32 = -1
	_, err := sys(syscall.SYS_IOCTL, uintptr(fd), fionread,
		uintptr(unsafe.Pointer(&v)))
	return int(v), err
}

func fcntl(fd, cmd, arg int) (int, error) {
	return sys(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
}

func read(fd int, n int) (int, error) {
	r, err := syscall.Read(fd, buf[:n])
	if err != nil {
		return -1, err
	}
	return r, nil
}

func poll(fd int, events int16, ms int) (int, int16, error) {
	type pollfd struct {
		fd      int32
		events  int16
		revents int16
	}
	p := pollfd{int32(fd), events, 0}
	r, err := sys(syscall.SYS_POLL, uintptr(unsafe.Pointer(&p)), 1,
		uintptr(ms))
	return r, p.revents, err
}

func path(rel string) string {
	return dir + "/" + rel
}

var maskNames = []struct {
	bit  uint32
	name string
}{
	{syscall.IN_ACCESS, "ACCESS"}, {syscall.IN_MODIFY, "MODIFY"},
	{syscall.IN_ATTRIB, "ATTRIB"}, {syscall.IN_CLOSE_WRITE, "CLOSE_WRITE"},
	{syscall.IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {syscall.IN_OPEN, "OPEN"},
	{syscall.IN_MOVED_FROM, "MOVED_FROM"}, {syscall.IN_MOVED_TO, "MOVED_TO"},
	{syscall.IN_CREATE, "CREATE"}, {syscall.IN_DELETE, "DELETE"},
	{syscall.IN_DELETE_SELF, "DELETE_SELF"},
	{syscall.IN_MOVE_SELF, "MOVE_SELF"},
	{syscall.IN_UNMOUNT, "UNMOUNT"}, {syscall.IN_Q_OVERFLOW, "Q_OVERFLOW"},
	{syscall.IN_IGNORED, "IGNORED"}, {syscall.IN_ISDIR, "ISDIR"},
}

func maskStr(m uint32) string {
	var parts []string
	for _, n := range maskNames {
		if m&n.bit != 0 {
			parts = append(parts, n.name)
			m &^= n.bit
		}
	}
	s := strings.Join(parts, "|")
	if m != 0 {
		s += fmt.Sprintf("|%#x", m)
	}
	return s
}

// records formats the records in b (one read's bytes), as inotify_rules.c.
func records(b []byte) string {
	var out strings.Builder
	off := 0
	for off+syscall.SizeofInotifyEvent <= len(b) {
		e := (*syscall.InotifyEvent)(unsafe.Pointer(&b[off]))
		ck := ""
		if e.Cookie != 0 {
			if e.Cookie == lastCookie {
				ck = " cookie=same"
			} else {
				ck = " cookie=new"
			}
			lastCookie = e.Cookie
		}
		fmt.Fprintf(&out, "  wd=%d %s len=%d%s", e.Wd, maskStr(e.Mask),
			e.Len, ck)
		start := off + syscall.SizeofInotifyEvent
		if e.Len > 0 && start+int(e.Len) <= len(b) {
			name := b[start : start+int(e.Len)]
			nl := 0
			for nl < len(name) && name[nl] != 0 {
				nl++
			}
			pad := ""
			for _, c := range name[nl:] {
				if c != 0 {
					pad = " BADPAD"
				}
			}
			shown := nl
			if shown > 40 {
				shown = 40
			}
			fmt.Fprintf(&out, " %q%s", string(name[:shown]), pad)
		}
		out.WriteByte('\n')
		off = start + int(e.Len)
	}
	if off != len(b) {
		fmt.Fprintf(&out, "  trailing %d bytes\n", len(b)-off)
	}
	return out.String()
}

func printRecords(n int) {
	if n > 0 {
		fmt.Print(records(buf[:n]))
	}
}

// waitBytes waits (up to 5 s) until FIONREAD reports at least want bytes:
// uinotify's events come from its event thread, the kernel's are there at
// once.  Not a synchronisation of the test: a bound on the wait.
func waitBytes(fd, want int) int {
	have := 0
	for i := 0; i < 2500; i++ {
		v, err := fionreadOf(fd)
		if err != nil {
			return -1
		}
		have = v
		if have >= want {
			return have
		}
		time.Sleep(2 * time.Millisecond)
	}
	return have
}

// expect waits for want bytes, reads them with one big read and prints.
func expect(fd, want int, what string) {
	have := waitBytes(fd, want)
	fmt.Printf("%s: FIONREAD = %d\n", what, have)
	n, err := read(fd, len(buf))
	if err != nil {
		fmt.Printf("%s: read = -1 %s\n", what, errname(err))
		return
	}
	fmt.Printf("%s: read = %d\n", what, n)
	printRecords(n)
}

// rec is the size of a record for a name of n bytes (0: none).
func rec(n int) int {
	if n == 0 {
		return 16
	}
	return 16 + (n+1+15)/16*16
}

func touch(rel string) {
	fd, err := syscall.Open(path(rel), syscall.O_CREAT|syscall.O_WRONLY|
		syscall.O_CLOEXEC, 0644)
	if err == nil {
		syscall.Close(fd)
	}
}

func section(name string) {
	fmt.Printf("== %s\n", name)
}

func initCalls() {
	section("init")
	say("InotifyInit1(0x10)", res(syscall.InotifyInit1(0x10)))
	say("InotifyInit1(IN_NONBLOCK|0x1)",
		res(syscall.InotifyInit1(syscall.IN_NONBLOCK|1)))
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	fmt.Printf("InotifyInit1(IN_CLOEXEC) >= 0: %v\n", err == nil && fd >= 0)
	say("F_GETFD", res(fcntl(fd, syscall.F_GETFD, 0)))
	fl, _ := fcntl(fd, syscall.F_GETFL, 0)
	fmt.Printf("F_GETFL = %#x\n", fl)
	nb, _ := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	fl, _ = fcntl(nb, syscall.F_GETFL, 0)
	fmt.Printf("nonblock F_GETFL = %#x\n", fl)
	plain, _ := syscall.InotifyInit()
	say("InotifyInit F_GETFD", res(fcntl(plain, syscall.F_GETFD, 0)))
	say("write", res(syscall.Write(fd, []byte("x"))))
	say("lseek(0, SEEK_CUR)", res64(syscall.Seek(fd, 0, 1)))
	say("pread", res(syscall.Pread(fd, buf[:16], 0)))
	var t [64]byte
	say("ioctl(TCGETS)", res(sys(syscall.SYS_IOCTL, uintptr(fd), tcgets,
		uintptr(unsafe.Pointer(&t[0])))))
	say("F_GETPIPE_SZ", res(fcntl(fd, fGetpipeSz, 0)))
	q, err := fionreadOf(fd)
	sayErr("FIONREAD empty", err)
	fmt.Printf("FIONREAD value = %d\n", q)
	say("FIOCLEX", res(sys(syscall.SYS_IOCTL, uintptr(plain), fioclex, 0)))
	say("F_GETFD after FIOCLEX", res(fcntl(plain, syscall.F_GETFD, 0)))
	on := int32(1)
	say("FIONBIO", res(sys(syscall.SYS_IOCTL, uintptr(plain), fionbio,
		uintptr(unsafe.Pointer(&on)))))
	fl, _ = fcntl(plain, syscall.F_GETFL, 0)
	fmt.Printf("F_GETFL after FIONBIO = %#x\n", fl)
	say("read nonblocking empty", res(read(nb, len(buf))))
	say("read(0) nonblocking empty", res(read(nb, 0)))
	sayErr("close", syscall.Close(fd))
	sayErr("close nonblock", syscall.Close(nb))
	sayErr("close plain", syscall.Close(plain))
	sayErr("close again", syscall.Close(plain))
}

func addWatchErrors() {
	section("add_watch / rm_watch errors")
	fd, _ := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	var p [2]int
	if syscall.Pipe2(p[:], syscall.O_CLOEXEC) != nil {
		return
	}
	touch("file")
	syscall.Mkdir(path("sub"), 0755)
	syscall.Symlink("file", path("lnk"))
	say("mask 0", res(syscall.InotifyAddWatch(fd, dir, 0)))
	say("mask 0x1000", res(syscall.InotifyAddWatch(fd, dir, 0x1000)))
	say("bad fd", res(syscall.InotifyAddWatch(9999, dir, syscall.IN_CREATE)))
	say("negative fd", res(syscall.InotifyAddWatch(-1, dir, syscall.IN_CREATE)))
	say("bad fd, bad mask", res(syscall.InotifyAddWatch(9999, dir, 0)))
	say("MASK_ADD|MASK_CREATE", res(syscall.InotifyAddWatch(fd, dir,
		syscall.IN_CREATE|syscall.IN_MASK_ADD|inMaskCreate)))
	say("not inotify (pipe)", res(syscall.InotifyAddWatch(p[0], dir,
		syscall.IN_CREATE)))
	say("empty path", res(syscall.InotifyAddWatch(fd, "", syscall.IN_CREATE)))
	say("missing", res(syscall.InotifyAddWatch(fd, path("nope"),
		syscall.IN_CREATE)))
	say("missing parent", res(syscall.InotifyAddWatch(fd, path("nope/x"),
		syscall.IN_CREATE)))
	say("under a file", res(syscall.InotifyAddWatch(fd, path("file/x"),
		syscall.IN_CREATE)))
	say("ONLYDIR file", res(syscall.InotifyAddWatch(fd, path("file"),
		syscall.IN_CREATE|syscall.IN_ONLYDIR)))
	say("wd dir", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_ALL_EVENTS)))
	say("wd dir/.", res(syscall.InotifyAddWatch(fd, path("."),
		syscall.IN_CREATE)))
	say("wd sub/..", res(syscall.InotifyAddWatch(fd, path("sub/.."),
		syscall.IN_CREATE)))
	say("MASK_CREATE again", res(syscall.InotifyAddWatch(fd, dir,
		syscall.IN_CREATE|inMaskCreate)))
	say("ONLYDIR sub", res(syscall.InotifyAddWatch(fd, path("sub"),
		syscall.IN_CREATE|syscall.IN_ONLYDIR)))
	say("wd file", res(syscall.InotifyAddWatch(fd, path("file"),
		syscall.IN_ATTRIB)))
	say("lnk (follows)", res(syscall.InotifyAddWatch(fd, path("lnk"),
		syscall.IN_ATTRIB)))
	say("lnk DONT_FOLLOW", res(syscall.InotifyAddWatch(fd, path("lnk"),
		syscall.IN_ATTRIB|syscall.IN_DONT_FOLLOW)))
	say("only flags", res(syscall.InotifyAddWatch(fd, path("file"),
		syscall.IN_DONT_FOLLOW)))
	say("rm unknown", res(syscall.InotifyRmWatch(fd, 99)))
	say("rm 0", res(syscall.InotifyRmWatch(fd, 0)))
	say("rm -1", res(syscall.InotifyRmWatch(fd, 0xffffffff)))
	say("rm not inotify", res(syscall.InotifyRmWatch(p[0], 1)))
	say("rm bad fd", res(syscall.InotifyRmWatch(9999, 1)))
	say("rm wd 2", res(syscall.InotifyRmWatch(fd, 2)))
	say("rm wd 2 again", res(syscall.InotifyRmWatch(fd, 2)))
	expect(fd, 16, "after rm")
	say("wd file again", res(syscall.InotifyAddWatch(fd, path("file"),
		syscall.IN_ATTRIB|syscall.IN_DELETE_SELF)))
	say("rm wd 4 (lnk)", res(syscall.InotifyRmWatch(fd, 4)))
	syscall.Unlink(path("lnk"))
	syscall.Unlink(path("file"))
	syscall.Rmdir(path("sub"))
	// IGNORED of 4; wd 3 (file): ATTRIB (its link count), DELETE_SELF,
	// IGNORED; wd 1 (dir, IN_CREATE since "dir/."): nothing
	expect(fd, 4*16, "after unlinks")
	syscall.Close(p[0])
	syscall.Close(p[1])
	syscall.Close(fd)
}

func recordsAndReads() {
	section("records and read sizes")
	fd, _ := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	say("wd", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_ALL_EVENTS)))
	f, _ := syscall.Open(path("a"), syscall.O_CREAT|syscall.O_WRONLY|
		syscall.O_CLOEXEC, 0644)
	say("write a", res(syscall.Write(f, []byte("x"))))
	say("write a again (merges)", res(syscall.Write(f, []byte("y"))))
	syscall.Close(f)
	have := waitBytes(fd, 4*32)
	fmt.Printf("FIONREAD = %d\n", have)
	say("read 0", res(read(fd, 0)))
	say("read 16", res(read(fd, 16)))
	say("read 31", res(read(fd, 31)))
	n := say("read 32", res(read(fd, 32)))
	printRecords(n)
	n = say("read 63", res(read(fd, 63)))
	printRecords(n)
	n = say("read 64", res(read(fd, 64)))
	printRecords(n)
	v, err := fionreadOf(fd)
	sayErr("FIONREAD", err)
	fmt.Printf("FIONREAD value = %d\n", v)

	// open, read (ACCESS), close without writing, chmod (ATTRIB)
	f, _ = syscall.Open(path("a"), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	var one [1]byte
	syscall.Read(f, one[:])
	syscall.Read(f, one[:]) // at the end: no ACCESS
	syscall.Close(f)
	syscall.Chmod(path("a"), 0600)
	syscall.Chmod(path("a"), 0600)
	// the second ATTRIB merges with the first
	expect(fd, 4*32, "open, read, close, chmod twice")

	// names of 1, 15, 16 and 255 characters
	lens := []int{1, 15, 16, 255}
	want := 0
	for _, l := range lens {
		if err := syscall.Mkdir(path(strings.Repeat("n", l)), 0755); err != nil {
			fmt.Printf("mkdir: %s\n", errname(err))
		}
		want += rec(l)
	}
	expect(fd, want, "name lengths")
	for _, l := range lens {
		syscall.Rmdir(path(strings.Repeat("n", l)))
	}
	expect(fd, want, "rmdir")
	syscall.Rename(path("a"), path("b"))
	expect(fd, 64, "rename")
	syscall.Unlink(path("b"))
	expect(fd, 32, "unlink")
	syscall.Close(fd)
}

func moves() {
	section("moves and cookies")
	fd, _ := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	syscall.Mkdir(path("m1"), 0755)
	syscall.Mkdir(path("m2"), 0755)
	syscall.Mkdir(path("m3"), 0755) // not watched
	mask := uint32(syscall.IN_MOVE | syscall.IN_MOVE_SELF | syscall.IN_CREATE)
	say("wd m1", res(syscall.InotifyAddWatch(fd, path("m1"), mask)))
	say("wd m2", res(syscall.InotifyAddWatch(fd, path("m2"), mask)))
	touch("m1/f")
	expect(fd, 32, "create m1/f")
	syscall.Rename(path("m1/f"), path("m1/g"))
	expect(fd, 64, "rename within m1")
	syscall.Rename(path("m1/g"), path("m2/g"))
	expect(fd, 64, "m1 to m2")
	syscall.Rename(path("m2/g"), path("m3/g"))
	expect(fd, 32, "m2 to unwatched m3")
	syscall.Rename(path("m3/g"), path("m1/h"))
	expect(fd, 32, "unwatched m3 to m1")
	touch("m2/x")
	expect(fd, 32, "create m2/x")
	syscall.Rename(path("m1/h"), path("m2/x")) // replaces x
	expect(fd, 64, "m1/h over m2/x")
	say("wd m3 (dir moves)", res(syscall.InotifyAddWatch(fd, path("m3"),
		syscall.IN_MOVE_SELF)))
	syscall.Rename(path("m3"), path("m4"))
	expect(fd, 16, "move m3 itself")
	syscall.Unlink(path("m2/x"))
	syscall.Rmdir(path("m4"))
	sayErr("close", syscall.Close(fd))
	syscall.Rmdir(path("m1"))
	syscall.Rmdir(path("m2"))
}

func maskAdd() {
	section("IN_MASK_ADD, replacing a mask, IN_ONESHOT")
	fd, _ := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	say("wd create", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE)))
	say("MASK_ADD delete", res(syscall.InotifyAddWatch(fd, dir,
		syscall.IN_DELETE|syscall.IN_MASK_ADD)))
	touch("k1")
	syscall.Unlink(path("k1"))
	expect(fd, 64, "create and delete")
	say("replace with delete", res(syscall.InotifyAddWatch(fd, dir,
		syscall.IN_DELETE)))
	touch("k2")
	syscall.Unlink(path("k2"))
	expect(fd, 32, "delete only")
	say("MASK_ADD oneshot create", res(syscall.InotifyAddWatch(fd, dir,
		syscall.IN_CREATE|syscall.IN_ONESHOT|syscall.IN_MASK_ADD)))
	touch("k3")
	touch("k4")
	syscall.Unlink(path("k3"))
	expect(fd, 48, "oneshot: one event, IGNORED")
	say("rm fired oneshot", res(syscall.InotifyRmWatch(fd, 1)))
	say("wd again", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_DELETE)))
	syscall.Unlink(path("k4"))
	waitBytes(fd, 32)
	say("rm with a queued event", res(syscall.InotifyRmWatch(fd, 2)))
	expect(fd, 48, "queued event then IGNORED")
	syscall.Close(fd)
}

func nonblock() {
	section("O_NONBLOCK through fcntl")
	fd, _ := syscall.InotifyInit1(0)
	say("wd", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE)))
	fl, _ := fcntl(fd, syscall.F_GETFL, 0)
	say("F_SETFL O_NONBLOCK", res(fcntl(fd, syscall.F_SETFL,
		fl|syscall.O_NONBLOCK)))
	v, _ := fcntl(fd, syscall.F_GETFL, 0)
	fmt.Printf("F_GETFL = %#x\n", v)
	say("read empty", res(read(fd, len(buf))))
	syscall.Mkdir(path("nb"), 0755)
	expect(fd, 32, "mkdir nb")
	say("read empty again", res(read(fd, len(buf))))
	say("F_SETFL 0", res(fcntl(fd, syscall.F_SETFL, fl)))
	v, _ = fcntl(fd, syscall.F_GETFL, 0)
	fmt.Printf("F_GETFL = %#x\n", v)
	syscall.Rmdir(path("nb"))
	syscall.Close(fd)
}

// goroutines: blocking reads on their own instances, each woken by a change
// the main goroutine makes; the results printed in order once all are in.
func goroutines() {
	section("blocking reads in goroutines")
	const k = 4
	fds := make([]int, k)
	for i := range fds {
		fds[i], _ = syscall.InotifyInit1(syscall.IN_CLOEXEC)
		syscall.Mkdir(path(fmt.Sprintf("t%d", i)), 0755)
		say(fmt.Sprintf("wd t%d", i), res(syscall.InotifyAddWatch(fds[i],
			path(fmt.Sprintf("t%d", i)), syscall.IN_CREATE)))
	}
	out := make([]string, k)
	var wg sync.WaitGroup
	for i := range fds {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := make([]byte, 4096)
			n, err := syscall.Read(fds[i], b)
			if err != nil {
				out[i] = fmt.Sprintf("goroutine %d: read = -1 %s\n", i,
					errname(err))
				return
			}
			out[i] = fmt.Sprintf("goroutine %d: read = %d\n", i, n)
			// records() keeps the cookie state: none here
			out[i] += records(b[:n])
		}(i)
	}
	// Not a synchronisation: the result is the same either way.
	time.Sleep(50 * time.Millisecond)
	for i := k - 1; i >= 0; i-- {
		syscall.Mkdir(path(fmt.Sprintf("t%d/x", i)), 0755)
	}
	wg.Wait()
	for i := range out {
		fmt.Print(out[i])
	}
	for i := range fds {
		syscall.Rmdir(path(fmt.Sprintf("t%d/x", i)))
		syscall.Rmdir(path(fmt.Sprintf("t%d", i)))
		syscall.Close(fds[i])
	}

	// one instance, one goroutine blocked in read, one read through a dup
	fd, _ := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	say("wd", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE)))
	d, _ := syscall.Dup(fd)
	done := make(chan string)
	go func() {
		b := make([]byte, 4096)
		n, err := syscall.Read(d, b)
		if err != nil {
			done <- "read via dup = -1 " + errname(err) + "\n"
			return
		}
		done <- fmt.Sprintf("read via dup = %d\n", n) + records(b[:n])
	}()
	time.Sleep(50 * time.Millisecond)
	syscall.Mkdir(path("thr"), 0755)
	fmt.Print(<-done)
	syscall.Rmdir(path("thr"))
	syscall.Close(d)
	syscall.Close(fd)
}

func dups() {
	section("dup, dup3, F_DUPFD, close of one name")
	fd, _ := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	say("wd", res(syscall.InotifyAddWatch(fd, dir,
		syscall.IN_CREATE|syscall.IN_DELETE)))
	d, err := syscall.Dup(fd)
	fmt.Printf("dup >= 0: %v\n", err == nil && d >= 0)
	say("dup F_GETFD", res(fcntl(d, syscall.F_GETFD, 0)))
	syscall.Mkdir(path("d1"), 0755)
	syscall.Mkdir(path("d2"), 0755)
	q1 := waitBytes(fd, 64)
	q2, _ := fionreadOf(d)
	fmt.Printf("FIONREAD fd = %d, dup = %d\n", q1, q2)
	n := say("read 32 via fd", res(read(fd, 32)))
	printRecords(n)
	n = say("read via dup", res(read(d, len(buf))))
	printRecords(n)
	sayErr("close fd", syscall.Close(fd))
	say("add_watch via dup", res(syscall.InotifyAddWatch(d, path("d1"),
		syscall.IN_CREATE)))
	syscall.Mkdir(path("d1/x"), 0755)
	expect(d, 32, "mkdir d1/x via dup")
	say("rm_watch via dup", res(syscall.InotifyRmWatch(d, 2)))
	expect(d, 16, "IN_IGNORED via dup")

	e, err := fcntl(d, fDupfdCloexec, 50)
	fmt.Printf("F_DUPFD_CLOEXEC >= 50: %v\n", err == nil && e >= 50)
	say("F_DUPFD_CLOEXEC F_GETFD", res(fcntl(e, syscall.F_GETFD, 0)))
	e2, err := fcntl(d, syscall.F_DUPFD, 70)
	fmt.Printf("F_DUPFD >= 70: %v\n", err == nil && e2 >= 70)
	sayErr("dup3(d, 60, O_CLOEXEC)", syscall.Dup3(d, 60, syscall.O_CLOEXEC))
	say("dup3 F_GETFD", res(fcntl(60, syscall.F_GETFD, 0)))
	sayErr("dup3(d, 61, 0)", syscall.Dup3(d, 61, 0))
	sayErr("dup3(61, 61, 0)", syscall.Dup3(61, 61, 0))
	sayErr("dup3 bad flags", syscall.Dup3(d, 62, 0x1))
	sayErr("close dup", syscall.Close(d))
	syscall.Rmdir(path("d1/x"))
	syscall.Rmdir(path("d1"))
	syscall.Rmdir(path("d2"))
	q60 := waitBytes(60, 64)
	q61, _ := fionreadOf(61)
	qe, _ := fionreadOf(e)
	qe2, _ := fionreadOf(e2)
	fmt.Printf("FIONREAD 60=%d 61=%d e=%d e2=%d\n", q60, q61, qe, qe2)
	n = say("read 32 via 60", res(read(60, 32)))
	printRecords(n)
	n = say("read via 61", res(read(61, len(buf))))
	printRecords(n)
	say("F_SETFL O_NONBLOCK via e", res(fcntl(e, syscall.F_SETFL,
		syscall.O_NONBLOCK)))
	say("read via e2, nonblocking through e", res(read(e2, len(buf))))
	say("F_SETFL 0 via e2", res(fcntl(e2, syscall.F_SETFL, 0)))

	// dup3 onto a name replaces it; the instance lives in its others
	var p [2]int
	if syscall.Pipe2(p[:], syscall.O_CLOEXEC) != nil {
		return
	}
	sayErr("dup3(pipe, 61)", syscall.Dup3(p[0], 61, syscall.O_CLOEXEC))
	say("add_watch on replaced 61", res(syscall.InotifyAddWatch(61, dir,
		syscall.IN_CREATE)))
	say("add_watch via 60", res(syscall.InotifyAddWatch(60, dir,
		syscall.IN_CREATE)))
	sayErr("dup3(bad, 60)", syscall.Dup3(9999, 60, 0))
	say("add_watch via 60 after failed dup3",
		res(syscall.InotifyAddWatch(60, dir, syscall.IN_CREATE)))
	sayErr("dup3(60, pipe write end)", syscall.Dup3(60, p[1], 0))
	syscall.Mkdir(path("d3"), 0755)
	expect(p[1], 32, "via the former pipe write end")
	syscall.Rmdir(path("d3"))
	sayErr("close 60", syscall.Close(60))
	sayErr("close 61", syscall.Close(61))
	sayErr("close e", syscall.Close(e))
	sayErr("close e2", syscall.Close(e2))
	sayErr("close p[1]", syscall.Close(p[1]))
	say("add_watch after last close", res(syscall.InotifyAddWatch(p[1], dir,
		syscall.IN_CREATE)))
	sayErr("close p[0]", syscall.Close(p[0]))
}

func epolls() {
	section("poll, epoll")
	fd, _ := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	say("wd", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE)))
	et, _ := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	lt, _ := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT |
		(syscall.EPOLLET & 0xffffffff), Fd: 7}
	sayErr("epoll_ctl ET", syscall.EpollCtl(et, syscall.EPOLL_CTL_ADD, fd, &ev))
	ev = syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT, Fd: 8}
	sayErr("epoll_ctl LT", syscall.EpollCtl(lt, syscall.EPOLL_CTL_ADD, fd, &ev))
	out := make([]syscall.EpollEvent, 1)
	say("ET wait empty", res(syscall.EpollWait(et, out, 0)))
	say("LT wait empty", res(syscall.EpollWait(lt, out, 0)))
	r, _, err := poll(fd, pollIn|pollOut|pollPri, 0)
	say("poll empty", res(r, err))
	syscall.Mkdir(path("e1"), 0755)
	out[0] = syscall.EpollEvent{}
	say("ET wait", res(syscall.EpollWait(et, out, 5000)))
	fmt.Printf("ET events = %#x data = %d\n", out[0].Events, out[0].Fd)
	say("ET wait again (no new edge)", res(syscall.EpollWait(et, out, 0)))
	out[0] = syscall.EpollEvent{}
	say("LT wait", res(syscall.EpollWait(lt, out, 5000)))
	fmt.Printf("LT events = %#x data = %d\n", out[0].Events, out[0].Fd)
	say("LT wait again (level)", res(syscall.EpollWait(lt, out, 0)))
	r, rev, err := poll(fd, pollIn|pollOut|pollPri, 5000)
	say("poll", res(r, err))
	fmt.Printf("poll revents = %#x\n", rev)
	syscall.Mkdir(path("e2"), 0755)
	say("ET wait second event", res(syscall.EpollWait(et, out, 5000)))
	expect(fd, 64, "drain")
	say("ET wait drained", res(syscall.EpollWait(et, out, 0)))
	say("LT wait drained", res(syscall.EpollWait(lt, out, 0)))
	r, _, err = poll(fd, pollIn, 0)
	say("poll drained", res(r, err))
	sayErr("epoll_ctl DEL", syscall.EpollCtl(lt, syscall.EPOLL_CTL_DEL, fd,
		&ev))
	syscall.Mkdir(path("e3"), 0755)
	r, _, err = poll(fd, pollIn, 5000)
	say("poll after mkdir e3", res(r, err))
	say("LT wait after DEL", res(syscall.EpollWait(lt, out, 0)))
	expect(fd, 32, "mkdir e3")
	for _, n := range []string{"e1", "e2", "e3"} {
		syscall.Rmdir(path(n))
	}
	syscall.Close(et)
	syscall.Close(lt)
	syscall.Close(fd)
}

// exec: a name that is not close-on-exec, kept at its number in the new
// program (syscall.ForkExec of this program with --exec-probe FD).
func execs() {
	section("exec")
	fd, _ := syscall.InotifyInit1(0)
	say("wd", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE)))
	syscall.Mkdir(path("x1"), 0755)
	waitBytes(fd, 32)
	files := make([]uintptr, fd+1)
	for i := range files {
		files[i] = ^uintptr(0) // closed in the child
	}
	files[0], files[1], files[2] = 0, 1, 2
	files[fd] = uintptr(fd)
	pid, err := syscall.ForkExec("/proc/self/exe", []string{
		"inotify_rules_go", "--exec-probe", strconv.Itoa(fd)},
		&syscall.ProcAttr{Env: os.Environ(), Files: files})
	if err != nil {
		fmt.Printf("ForkExec = -1 %s\n", errname(err))
	} else {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		fmt.Printf("exec'd exit = %d\n", ws.ExitStatus())
	}
	// the queue is shared: what the exec'd program read is gone
	say("read nonblocking after", res(readNonblock(fd)))
	syscall.Mkdir(path("x2"), 0755)
	expect(fd, 32, "parent: x2")
	syscall.Rmdir(path("x1"))
	syscall.Rmdir(path("x2"))
	syscall.Close(fd)
}

func readNonblock(fd int) (int, error) {
	fl, _ := fcntl(fd, syscall.F_GETFL, 0)
	fcntl(fd, syscall.F_SETFL, fl|syscall.O_NONBLOCK)
	n, err := read(fd, len(buf))
	fcntl(fd, syscall.F_SETFL, fl)
	return n, err
}

func execProbe(fd int) int {
	say("exec'd: F_GETFD", res(fcntl(fd, syscall.F_GETFD, 0)))
	fcntl(fd, syscall.F_SETFL, syscall.O_NONBLOCK)
	for i := 0; i < 3; i++ {
		n, err := read(fd, len(buf))
		if err != nil {
			fmt.Printf("exec'd: read = -1 %s\n", errname(err))
			break
		}
		fmt.Printf("exec'd: read = %d\n", n)
		printRecords(n)
		if n == 0 {
			break
		}
	}
	r, rev, err := poll(fd, pollIn, 0)
	if err != nil {
		fmt.Printf("exec'd: poll = -1 %s\n", errname(err))
	}
	fmt.Printf("exec'd: poll = %d revents = %#x\n", r, rev)
	fcntl(fd, syscall.F_SETFL, 0)
	return 0
}

func closeRange() {
	section("close_range")
	fd, _ := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	say("wd", res(syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE)))
	sayErr("dup3(fd, 40)", syscall.Dup3(fd, 40, 0))
	say("close_range(40, 40, CLOEXEC)", res(sys(sysCloseRange, 40, 40,
		closeRangeCloexec)))
	say("F_GETFD 40", res(fcntl(40, syscall.F_GETFD, 0)))
	say("close_range(40, 40, 0)", res(sys(sysCloseRange, 40, 40, 0)))
	say("add_watch via 40", res(syscall.InotifyAddWatch(40, dir,
		syscall.IN_CREATE)))
	syscall.Mkdir(path("c1"), 0755)
	expect(fd, 32, "still there via fd")
	syscall.Rmdir(path("c1"))
	syscall.Close(fd)
}

// Past max_queued_events: the overflow record, once, counted in FIONREAD.
func overflow() {
	section("overflow")
	max := 16384
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			max = v
		}
	}
	fd, _ := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	say("wd", res(syscall.InotifyAddWatch(fd, dir,
		syscall.IN_CREATE|syscall.IN_DELETE)))
	// names of one character pad to 16: each record is 32 bytes; a
	// create and a delete do not merge
	for i := 0; i < max/2+8; i++ {
		syscall.Mkdir(path("o"), 0755)
		syscall.Rmdir(path("o"))
	}
	want := max*32 + 16
	got := "other"
	if waitBytes(fd, want) == want {
		got = "max*32+16"
	}
	fmt.Printf("FIONREAD = %s\n", got)
	total, recs, overflows := 0, 0, 0
	var last uint32
	for {
		n, err := syscall.Read(fd, buf)
		if err != nil || n <= 0 {
			fmt.Printf("then read = -1 %s\n", errname(err))
			break
		}
		for off := 0; off < n; {
			e := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if e.Mask&syscall.IN_Q_OVERFLOW != 0 {
				overflows++
				fmt.Printf("overflow record after %d records: wd=%d "+
					"cookie=%d len=%d\n", recs, e.Wd, e.Cookie, e.Len)
			} else if e.Mask == last {
				fmt.Printf("record %d repeats %s\n", recs,
					maskStr(e.Mask))
			}
			last = e.Mask
			recs++
			off += syscall.SizeofInotifyEvent + int(e.Len)
		}
		total += n
	}
	fmt.Printf("records = max + %d, bytes = max*32 + %d, overflows = %d\n",
		recs-max, total-max*32, overflows)
	syscall.Close(fd)
}

var sections = []struct {
	name string
	fn   func()
}{
	{"init", initCalls},
	{"errors", addWatchErrors},
	{"records", recordsAndReads},
	{"moves", moves},
	{"maskadd", maskAdd},
	{"nonblock", nonblock},
	{"goroutines", goroutines},
	{"dup", dups},
	{"poll", epolls},
	{"exec", execs},
	{"closerange", closeRange},
	{"overflow", overflow},
}

func main() {
	args := os.Args
	if len(args) == 3 && args[1] == "--exec-probe" {
		fd, _ := strconv.Atoi(args[2])
		os.Exit(execProbe(fd))
	}
	if len(args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s EMPTY_DIR [SECTION|-SECTION...]\n",
			args[0])
		os.Exit(2)
	}
	dir = args[1]
	for _, s := range sections {
		run := len(args) == 2 || args[2][0] == '-'
		for _, a := range args[2:] {
			if a == "-"+s.name {
				run = false
			}
			if a == s.name {
				run = true
			}
		}
		if run {
			s.fn()
		}
	}
	fmt.Printf("== end\n")
}
