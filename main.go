// Command interview-export exports OpenTrain AI interview transcripts into
// PostgreSQL. See README.md, or run it with --help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/interview-export/interview-export/command"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		cancel(command.SignalError{Signal: sig})
		sig = <-sigs // a second signal: stop now
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
	os.Exit(command.Run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}
