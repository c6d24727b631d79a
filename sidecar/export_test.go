package sidecar

import "context"

// HoldWorkers takes every worker slot (Config.Workers) until release is called, for tests.
func (s *Server) HoldWorkers() (release func()) {
	var dones []func()
	for range cap(s.work) {
		done, _ := s.working(context.Background(), workerMinBody)
		dones = append(dones, done)
	}
	return func() {
		for _, d := range dones {
			d()
		}
	}
}
