// tests/run/fsnotify_watch - a Go program watching a directory with
// github.com/fsnotify/fsnotify (its inotify backend: raw system calls,
// which LD_PRELOAD cannot reach and uinotify-run can).
//
//	fsnotify_watch DIR
//
// Prints "ready" once the watch is added, then one line per operation of
// each event, "<OP> <basename>" with OP as fsnotify's Op.String() names it
// (CREATE, REMOVE, WRITE, RENAME, CHMOD); an event with several
// operations prints one line for each.  Errors go to stderr.
// test_run_programs.c reads these lines.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s DIR\n", os.Args[0])
		os.Exit(2)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsnotify.NewWatcher:", err)
		os.Exit(1)
	}
	defer w.Close()
	if err := w.Add(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "Add:", err)
		os.Exit(1)
	}
	// os.Stdout is not buffered: each line is one write.
	fmt.Println("ready")
	ops := []fsnotify.Op{fsnotify.Create, fsnotify.Remove, fsnotify.Write,
		fsnotify.Rename, fsnotify.Chmod}
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			for _, op := range ops {
				if ev.Has(op) {
					fmt.Printf("%s %s\n", op, filepath.Base(ev.Name))
				}
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			fmt.Fprintln(os.Stderr, "error:", err)
		}
	}
}
