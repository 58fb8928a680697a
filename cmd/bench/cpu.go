//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on Linux for every architecture Go supports).
const clockTick = 10 * time.Millisecond

// cpuSplit is where a pass's CPU went: the exporter, this process (the
// fake API it serves) and the PostgreSQL server.
type cpuSplit struct{ exporter, fake, postgres time.Duration }

// selfCPU is the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postmasterPID is the PID of the server dbURL reaches when it runs on this
// machine, 0 otherwise.
func postmasterPID(ctx context.Context, dbURL string) int {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	var backend int
	if conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend) != nil {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", backend))
	if err != nil {
		return 0 // a server on another machine
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			pid, _ := strconv.Atoi(strings.TrimSpace(v))
			return pid
		}
	}
	return 0
}

// serverCPU is the CPU time used so far by the postmaster, its live
// children and the children it has reaped (exited backends). An exited
// backend shows no CPU time until it is reaped, so it first waits (up to
// 5 s) for the postmaster to have no more than max children and none
// exited.
func serverCPU(postmaster, max int) (time.Duration, int) {
	if postmaster == 0 {
		return 0, 0
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var total time.Duration
		children, exited := 0, false
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, path := range stats {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			if f := statFields(pid); pid != postmaster && len(f) > 12 && f[1] == strconv.Itoa(postmaster) {
				children++
				exited = exited || f[0] == "Z"
				total += procCPU(pid, false)
			}
		}
		if (children <= max && !exited) || time.Now().After(deadline) {
			return total + procCPU(postmaster, true), children
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// statFields returns the fields of /proc/pid/stat after the command name.
func statFields(pid int) []string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:]) // state is [0], so field n of proc(5) is [n-3]
}

// procCPU is utime+stime of pid, plus cutime+cstime when children is set.
func procCPU(pid int, children bool) time.Duration {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	last := 12 // stime, field 15
	if children {
		last = 14 // cstime, field 17
	}
	var ticks int64
	for _, v := range f[11 : last+1] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * clockTick
}
