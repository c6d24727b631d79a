package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws "checked N/TOTAL files, R files/s" on one terminal line, at most ten times a
// second. A nil *progress draws nothing.
type progress struct {
	w     io.Writer
	now   func() time.Time
	begin time.Time
	done  atomic.Int64
	found *atomic.Int64

	mu    sync.Mutex
	shown bool // a bar is on the line now
	quit  chan struct{}
	wg    sync.WaitGroup
}

// progressEvery is the redraw period.
const progressEvery = 100 * time.Millisecond

func newProgress(w io.Writer, now func() time.Time) *progress {
	return &progress{w: w, now: now, quit: make(chan struct{})}
}

// start draws until stop, counting against found (which may still grow while folders are walked).
func (p *progress) start(found *atomic.Int64) {
	p.found = found
	p.begin = p.now()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
}

func (p *progress) add(n int64) {
	if p != nil {
		p.done.Add(n)
	}
}

// line is the bar's text.
func (p *progress) line() string {
	done, total := p.done.Load(), p.found.Load()
	rate := 0.0
	if el := p.now().Sub(p.begin).Seconds(); el > 0 {
		rate = float64(done) / el
	}
	const width = 30
	fill := 0
	if total > 0 {
		fill = int(done * width / total)
	}
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '-'
		if i < fill {
			bar[i] = '#'
		}
	}
	return fmt.Sprintf("[%s] %d/%d files, %.0f files/s", bar, done, total, rate)
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\x1b[K"+p.line())
	p.shown = true
}

// clear erases the bar so other output starts on a clean line; the next tick redraws it.
func (p *progress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// above runs print (which writes lines to the terminal the bar is on) with the bar lifted, then
// puts the bar back, so lines scroll above it.
func (p *progress) above(print func()) {
	if p == nil {
		print()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.shown {
		print()
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	print()
	fmt.Fprint(p.w, p.line())
}

// stop ends the drawing and erases the bar.
func (p *progress) stop() {
	if p == nil {
		return
	}
	select {
	case <-p.quit:
		return // already stopped
	default:
	}
	close(p.quit)
	p.wg.Wait()
	p.clear()
}
