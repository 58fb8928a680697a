package export

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/interview-export/interview-export/pipeline"
)

// startProgress shows the run's progress until stop is called: a progress
// bar when stderr is a terminal, else a log line every interval.
func startProgress(ctx context.Context, stderr io.Writer, logOut *barSafeWriter, src pipeline.Source, run *pipeline.Run, every time.Duration, log *slog.Logger) (stop func()) {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && every > 0 {
		total := int64(-1)
		if c, ok := src.(pipeline.Counted); ok {
			total = c.Total()
		}
		return progressBar(ctx, f, logOut, total, run)
	}
	return reportProgress(ctx, run, every, log)
}

// progressBar draws done / total, rate, ETA and failures on a terminal.
func progressBar(ctx context.Context, w io.Writer, logOut *barSafeWriter, total int64, run *pipeline.Run) (stop func()) {
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("exporting"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("IDs"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)
	logOut.setBar(bar)
	done := make(chan struct{})
	finished := make(chan struct{})
	update := func() {
		p := run.Progress()
		bar.Describe(fmt.Sprintf("exporting (%d failed, %d skipped)", p.Failed, p.IDsSkipped))
		bar.Set64(pipeline.Handled(p))
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				update()
				logOut.setBar(nil)
				bar.Finish()
				return
			case <-t.C:
				update()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// reportProgress logs a progress line every interval until stop is called.
func reportProgress(ctx context.Context, run *pipeline.Run, every time.Duration, log *slog.Logger) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				p := run.Progress()
				log.Info("progress", "read", p.IDsRead-p.IDsDuplicate, "skipped", p.IDsSkipped, "fetched", p.Done(), "failed", p.Failed,
					"per_second", math.Round(10*float64(p.Done())/time.Since(start).Seconds())/10)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// barSafeWriter is the log's writer while a progress bar is drawn on the
// same terminal: each log line is printed above the bar, never onto it.
type barSafeWriter struct {
	w   io.Writer
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

func (b *barSafeWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar == nil {
		return b.w.Write(p)
	}
	b.bar.Clear()
	n, err := b.w.Write(p)
	b.bar.RenderBlank()
	return n, err
}

func (b *barSafeWriter) setBar(bar *progressbar.ProgressBar) {
	b.mu.Lock()
	b.bar = bar
	b.mu.Unlock()
}
