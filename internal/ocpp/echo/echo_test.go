package echo

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	v21 "github.com/evcs/evcs/internal/ocpp/v21"
	"github.com/evcs/evcs/internal/sim"
)

// Every canned reply is valid for its action in every version it exists in.
func TestRepliesAreSchemaValid(t *testing.T) {
	s := &Server{}
	for _, c := range []struct {
		v        ocppj.Version
		validate func(string, []byte) *ocppj.Error
		actions  []string
	}{
		{ocppj.V16, v16.ValidateResponse, []string{"BootNotification", "Heartbeat", "Authorize", "StartTransaction", "StopTransaction", "MeterValues", "StatusNotification", "DataTransfer"}},
		{ocppj.V201, v201.ValidateResponse, []string{"BootNotification", "Heartbeat", "Authorize", "TransactionEvent", "MeterValues", "StatusNotification", "DataTransfer"}},
		{ocppj.V21, v21.ValidateResponse, []string{"BootNotification", "Heartbeat", "Authorize", "TransactionEvent", "MeterValues", "StatusNotification", "DataTransfer"}},
	} {
		for _, a := range c.actions {
			if err := c.validate(a, s.reply(c.v, a)); err != nil {
				t.Errorf("%s %s: %v", c.v, a, err)
			}
		}
	}
}

// The load generator runs its closed loop against the echo server without errors.
func TestLoadAgainstEcho(t *testing.T) {
	hs := httptest.NewServer(&Server{})
	defer hs.Close()
	for _, v := range []ocppj.Version{ocppj.V16, ocppj.V201} {
		rep, err := sim.Run(context.Background(), sim.Config{URL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ocpp", Stations: 5, Protocol: v,
			Load: true, Duration: 500 * time.Millisecond, CallTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Connected != 5 || rep.Messages == 0 || rep.Errors != 0 {
			t.Errorf("%s: %s", v, rep)
		}
	}
}
