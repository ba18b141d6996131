package activesync

import "time"

// BodyBudgetWaiters is the number of requests waiting for the body budget.
func (s *Server) BodyBudgetWaiters() int {
	b := s.bodyBudget()
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}

// SpoolThreshold is the body size past which bodies are spooled to disk.
const SpoolThreshold = spoolThreshold

// SetBudgetWait shortens the wait for the body budget.
func (s *Server) SetBudgetWait(d time.Duration) { s.budgetWait = d }
