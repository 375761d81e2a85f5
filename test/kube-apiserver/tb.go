package main

import (
	"fmt"
	"os"
	"sync"
)

// processTB is the ktesting.TB that StartTestServer wants, for a program that is not a
// test: logs go to stderr, cleanups run when runCleanups is called, and a fatal error ends
// the process (StartTestServer only calls Fatalf when it cannot write temporary files).
type processTB struct {
	name     string
	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

func newProcessTB(name string) *processTB { return &processTB{name: name} }

func (t *processTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// runCleanups runs the registered cleanups, the last registered first, as testing does.
func (t *processTB) runCleanups() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		f()
	}
}

func (t *processTB) log(s string) { fmt.Fprintf(os.Stderr, "%s: %s\n", t.name, s) }

func (t *processTB) Error(args ...any) { t.log(fmt.Sprint(args...)); t.Fail() }
func (t *processTB) Errorf(format string, args ...any) {
	t.log(fmt.Sprintf(format, args...))
	t.Fail()
}
func (t *processTB) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
}
func (t *processTB) FailNow() { t.log("FailNow"); os.Exit(1) }
func (t *processTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}
func (t *processTB) Fatal(args ...any) { t.log(fmt.Sprint(args...)); os.Exit(1) }
func (t *processTB) Fatalf(format string, args ...any) {
	t.log(fmt.Sprintf(format, args...))
	os.Exit(1)
}
func (t *processTB) Helper()                          {}
func (t *processTB) Log(args ...any)                  { t.log(fmt.Sprint(args...)) }
func (t *processTB) Logf(format string, args ...any)  { t.log(fmt.Sprintf(format, args...)) }
func (t *processTB) Name() string                     { return t.name }
func (t *processTB) Setenv(key, value string)         { _ = os.Setenv(key, value) }
func (t *processTB) Skip(args ...any)                 { t.Fatal(args...) }
func (t *processTB) SkipNow()                         { t.FailNow() }
func (t *processTB) Skipf(format string, args ...any) { t.Fatalf(format, args...) }
func (t *processTB) Skipped() bool                    { return false }
func (t *processTB) TempDir() string {
	dir, err := os.MkdirTemp("", t.name+"-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
