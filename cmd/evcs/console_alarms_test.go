package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// TestConsoleShowsAlarms: a connector reported Faulted raises an alarm, and the operator's
// dashboard lists it with its error code.
func TestConsoleShowsAlarms(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		s.fleet("TAG-AL", "AL-1")
		s.user("operator", "alarm-op@example.com")
		cc := s.consoleClient()
		if code, body := cc.login("alarm-op@example.com", "correct horse battery"); code != 200 {
			t.Fatalf("login: %d %.300s", code, body)
		}
		events, unsub := s.M.App.Bus.Subscribe(256)
		defer unsub()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		st := s.bootedStation(ctx, ocppj.V16, "AL-1", "TAG-AL")
		if _, err := st.Call(ctx, "StatusNotification", map[string]any{"connectorId": 1, "status": "Faulted", "errorCode": "GroundFailure",
			"timestamp": time.Now().UTC().Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
		for raised := false; !raised; {
			select {
			case ev := <-events:
				_, raised = ev.Data.(monitor.Alarm)
				raised = raised && ev.Kind == "alarm.raised"
			case <-ctx.Done():
				t.Fatal("no alarm raised for the Faulted connector")
			}
		}
		code, body := cc.get("/")
		if code != 200 || !strings.Contains(body, "connector/AL-1/1/1") || !strings.Contains(body, "GroundFailure") {
			t.Fatalf("dashboard does not show the alarm: %d %.3000s", code, body)
		}
	})
}
