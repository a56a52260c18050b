package csms201

import (
	"testing"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func dial(t *testing.T) (*csmstest.Harness, *csmstest.Client) {
	h := csmstest.Start(t, func(a *app.App) wsserver.Protocol { return New(a) })
	return h, h.Dial(ocppj.V201)
}

type obj = map[string]any
