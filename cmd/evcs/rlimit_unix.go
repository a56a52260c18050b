//go:build unix

package main

import (
	"fmt"
	"syscall"

	"github.com/go-chi/chi/v5"
)

// Every station is a socket, so the open-file limit bounds the stations one process holds.
// serve and sim raise the soft limit to the hard one (Go does this at start too, but says
// nothing); sim refuses a station count the hard limit cannot hold, with what to do about it.
func init() {
	mounts = append(mounts, func(m *Main, _ chi.Router) {
		cur, hard, err := raiseFileLimit()
		switch {
		case err != nil:
			m.Log.Warn("open-file limit not raised", "err", err)
		case cur < 10_000:
			m.Log.Warn("the open-file limit holds few stations: raise it (LimitNOFILE= in systemd, ulimit -n)", "limit", cur, "hard_limit", hard)
		}
	})
}

// raiseFileLimit sets RLIMIT_NOFILE's soft limit to its hard limit and returns both.
func raiseFileLimit() (cur, hard uint64, err error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return l.Cur, l.Max, err
		}
	}
	return l.Cur, l.Max, nil
}

// needFiles raises the limit and fails when n more sockets (and a margin) cannot fit.
func needFiles(n int, what string) error {
	cur, hard, err := raiseFileLimit()
	if err != nil {
		return fmt.Errorf("open-file limit: %w", err)
	}
	if need := uint64(n) + 64; cur < need {
		return fmt.Errorf("%s need %d open files but the limit is %d (hard limit %d): raise the hard limit (ulimit -Hn as root, LimitNOFILE= in systemd, nofile in limits.conf) or split the run over several processes", what, need, cur, hard)
	}
	return nil
}
