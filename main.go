// Command interview-export exports OpenTrain AI interview transcripts into
// PostgreSQL. See README.md, or run it with --help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/interview-export/interview-export/command"
	"github.com/interview-export/interview-export/exit"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		first := time.Now()
		cancel(exit.SignalError{Signal: sig})
		for sig := range sigs {
			// timeout(1) and some supervisors send SIGTERM twice within
			// milliseconds: that is still the first request to stop.
			if time.Since(first) >= time.Second {
				exit.Abort(sig) // a second signal: record the run as interrupted, and stop now
				os.Exit(128 + int(sig.(syscall.Signal)))
			}
		}
	}()
	os.Exit(command.Run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}
