package bridge

import "sync"

// serial runs one piece of work on demand, never twice at once, on a
// goroutine that exists only while there is work: kicked while it runs,
// the work runs once more afterwards. The push hub drives each parked
// user's bus subscription and each watched user's manager with one, so a
// user at rest holds no goroutine at all (thousands of them each held one
// or two sleeping goroutines, about 8 KiB of stack apiece).
type serial struct {
	mu      sync.Mutex
	running bool
	again   bool
}

// kick runs f now on a new goroutine, or after the run in progress. wg
// counts the goroutine (the hub's, which Close waits for).
func (s *serial) kick(wg *sync.WaitGroup, f func()) {
	s.mu.Lock()
	if s.running {
		s.again = true
		s.mu.Unlock()
		return
	}
	s.running = true
	s.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f()
			s.mu.Lock()
			if !s.again {
				s.running = false
				s.mu.Unlock()
				return
			}
			s.again = false
			s.mu.Unlock()
		}
	}()
}
