package main

import (
	"context"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

// TestCommands: operator commands reach connected stations of each version and are recorded
// with their answers; a command to a station that is not connected fails at once with 409.
func TestCommands(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		s.fleet("TAG-CMD", "CMD-16", "CMD-201", "CMD-OFF")
		s.must(409, "POST", "/api/v1/stations/CMD-OFF/commands", obj{"kind": "reset"}, nil)
		s.must(404, "POST", "/api/v1/stations/CMD-NONE/commands", obj{"kind": "reset"}, nil)
		for _, v := range []ocppj.Version{ocppj.V16, ocppj.V201} {
			id := map[ocppj.Version]string{ocppj.V16: "CMD-16", ocppj.V201: "CMD-201"}[v]
			t.Run(v.Subprotocol(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				st, err := sim.NewStation(simConfig(s, v, "TAG-CMD"), id)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				go st.Run(ctx) //nolint:errcheck // ends with ctx
				if err := st.WaitOnline(ctx); err != nil {
					t.Fatal(err)
				}
				events, stop := s.M.App.Bus.Subscribe(64)
				defer stop()
				var cmd obj
				s.must(201, "POST", "/api/v1/stations/"+id+"/commands", obj{"kind": "remote_start", "evse_no": 1, "id_token": "TAG-CMD"}, &cmd)
				if cmd["status"] != "accepted" || cmd["error"] != nil || cmd["result"].(map[string]any)["status"] != "Accepted" {
					t.Fatalf("remote start = %v", cmd)
				}
				// The station starts a real transaction: wait for EVCS to open its session.
				var ref string
				for ref == "" {
					select {
					case ev := <-events:
						if ses, ok := ev.Data.(*charging.Session); ok && ev.Kind == "session.started" && ev.StationID == id {
							ref = ses.TxRef
						}
					case <-ctx.Done():
						t.Fatal("no session started after the remote start")
					}
				}
				s.session(id, ref)
				// The station learns its 1.6 transaction id from EVCS's answer, which may still be
				// on its way: wait until the station itself knows the transaction before stopping it.
				for {
					if tx, ok := st.Transaction(1); ok && txRef(v, tx) == ref {
						break
					}
					select {
					case <-ctx.Done():
						t.Fatal("the station never learned its transaction")
					case <-time.After(5 * time.Millisecond): // polling the simulated station's own state
					}
				}
				s.must(201, "POST", "/api/v1/stations/"+id+"/commands", obj{"kind": "remote_stop", "transaction_id": ref}, &cmd)
				if cmd["result"].(map[string]any)["status"] != "Accepted" {
					t.Fatalf("remote stop = %v", cmd)
				}
				s.must(201, "POST", "/api/v1/stations/"+id+"/commands", obj{"kind": "trigger", "message": "Heartbeat"}, &cmd)
				s.must(201, "POST", "/api/v1/stations/"+id+"/commands", obj{"kind": "raw", "action": "ClearCache"}, &cmd)
				// A payload that breaks the version's schema never reaches the station.
				s.must(422, "POST", "/api/v1/stations/"+id+"/commands", obj{"kind": "raw", "action": "Reset", "payload": obj{"type": "Sideways"}}, nil)
				var list struct{ Items []obj }
				s.must(200, "GET", "/api/v1/commands?station_id="+id, nil, &list)
				if len(list.Items) != 4 {
					t.Errorf("%d commands recorded, want 4", len(list.Items))
				}
			})
		}
	})
}
