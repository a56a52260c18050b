package app

import "errors"

func asType[E error](err error, target *E) bool { return errors.As(err, target) }

var errStopped = errors.New("shutting down")
