package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

// fleet sets up what a station needs to charge: a site, stations and a purchaser with a funded
// token. It returns the purchaser's account id.
func (s *testServer) fleet(tag string, stations ...string) string {
	s.t.Helper()
	var site, user obj
	s.must(201, "POST", "/api/v1/sites", obj{"name": "Depot", "time_zone": "Europe/Amsterdam"}, &site)
	for _, id := range stations {
		s.must(201, "POST", "/api/v1/stations", obj{"id": id, "site_id": site["id"]}, nil)
	}
	s.must(201, "POST", "/api/v1/users", obj{"name": "Driver", "email": tag + "@example.com", "role": "purchaser"}, &user)
	acc := user["account_id"].(string)
	s.must(200, "PATCH", "/api/v1/accounts/"+acc, obj{"credit_limit": "100.00"}, nil)
	s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": tag, "type": "ISO14443", "account_id": acc}, nil)
	return acc
}

func (s *testServer) wsURL() string { return "ws://" + s.M.Addr() + "/ocpp" }

func simConfig(s *testServer, v ocppj.Version, tag string) sim.Config {
	return sim.Config{URL: s.wsURL(), Protocol: v, Tag: tag, Kind: "ac", MeterInterval: time.Minute,
		CallTimeout: 5 * time.Second, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, Seed: 7}
}

// bootedStation connects a simulated station of version v and boots it; it is closed when the
// test ends.
func (s *testServer) bootedStation(ctx context.Context, v ocppj.Version, id, tag string) *sim.Station {
	s.t.Helper()
	st, err := sim.NewStation(simConfig(s, v, tag), id)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { st.Close() })
	if err := st.Connect(ctx); err != nil {
		s.t.Fatal(err)
	}
	if b, err := st.Boot(ctx); err != nil || b.Status != "Accepted" {
		s.t.Fatalf("boot %s: %+v %v", id, b, err)
	}
	return st
}

var versions = []ocppj.Version{ocppj.V16, ocppj.V201, ocppj.V21}

// TestSimSessions: a simulated station of each OCPP version boots, charges and stops; EVCS keeps
// one session with the energy the station metered and every reading.
func TestSimSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		acc := s.fleet("TAG-SIM", "SIM-16", "SIM-201", "SIM-21")
		for _, v := range versions {
			id := map[ocppj.Version]string{ocppj.V16: "SIM-16", ocppj.V201: "SIM-201", ocppj.V21: "SIM-21"}[v]
			t.Run(v.Subprotocol(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				st, err := sim.NewStation(simConfig(s, v, "TAG-SIM"), id)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				if err := st.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				if b, err := st.Boot(ctx); err != nil || b.Status != "Accepted" {
					t.Fatalf("boot %+v %v", b, err)
				}
				if err := st.SendStatusAll(ctx); err != nil {
					t.Fatal(err)
				}
				if res, err := st.Authorize(ctx, "TAG-SIM"); err != nil || res != "Accepted" {
					t.Fatalf("authorize %q %v", res, err)
				}
				tx, err := st.StartCharging(ctx, 1, "TAG-SIM")
				if err != nil || tx.AuthStatus != "Accepted" {
					t.Fatalf("start %+v %v", tx, err)
				}
				for i := 0; i < 3; i++ {
					if _, err := st.SendMeterValues(ctx, 1); err != nil {
						t.Fatal(err)
					}
				}
				final := st.MeterSample(1)
				if _, err := st.StopCharging(ctx, 1, "Local"); err != nil {
					t.Fatal(err)
				}
				ses := s.session(id, txRef(v, tx))
				if ses["status"] != "completed" || ses["account_id"] != acc || int64(ses["energy_wh"].(float64)) != final.EnergyWh-tx.MeterStartWh {
					t.Fatalf("session = %v; station metered %d Wh from %d", ses, final.EnergyWh, tx.MeterStartWh)
				}
				var readings struct{ Items []obj }
				s.must(200, "GET", "/api/v1/sessions/"+ses["id"].(string)+"/meter-values", nil, &readings)
				if len(readings.Items) < 3*3 {
					t.Errorf("only %d readings kept", len(readings.Items))
				}
				var live obj
				s.must(200, "GET", "/api/v1/stations/"+id+"/status", nil, &live)
				if live["connected"] != true || live["protocol"] != v.Subprotocol() {
					t.Errorf("live status = %v", live)
				}
			})
		}
	})
}

func txRef(v ocppj.Version, tx sim.TxInfo) string {
	if v == ocppj.V16 {
		return strconv.Itoa(tx.CSMSID)
	}
	return tx.ID
}

// session fetches the one session of a station transaction, failing unless there is exactly one.
func (s *testServer) session(station, txRef string) obj {
	s.t.Helper()
	var page struct{ Items []obj }
	s.must(200, "GET", "/api/v1/sessions?station_id="+station+"&tx_ref="+txRef, nil, &page)
	if len(page.Items) != 1 {
		s.t.Fatalf("%d sessions for %s/%s: %v", len(page.Items), station, txRef, page.Items)
	}
	return page.Items[0]
}

// TestSimReconnectReplayNoDuplicates kills the station's connection mid-session. The station
// queues its transaction messages while offline and replays them after reconnecting; then the
// same StopTransaction is delivered a second time. EVCS keeps one session, every reading once,
// and the energy the station metered.
func TestSimReconnectReplayNoDuplicates(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		s.fleet("TAG-RC", "RC-16", "RC-201")
		for _, v := range []ocppj.Version{ocppj.V16, ocppj.V201} {
			id := map[ocppj.Version]string{ocppj.V16: "RC-16", ocppj.V201: "RC-201"}[v]
			t.Run(v.Subprotocol(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cfg := simConfig(s, v, "TAG-RC")
				st, err := sim.NewStation(cfg, id)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				go st.Run(ctx) //nolint:errcheck // ends with ctx
				if err := st.WaitOnline(ctx); err != nil {
					t.Fatal(err)
				}
				tx, err := st.StartCharging(ctx, 1, "TAG-RC")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.SendMeterValues(ctx, 1); err != nil {
					t.Fatal(err)
				}
				// The server drops the connection; the station keeps charging offline.
				conn, ok := s.M.OCPP.Conn(id)
				if !ok {
					t.Fatal("station not connected")
				}
				conn.Close()
				offline := 0
				for i := 0; i < 3; i++ {
					if _, err := st.SendMeterValues(ctx, 1); errors.Is(err, sim.ErrOffline) {
						offline++
					} else if err != nil {
						t.Fatal(err)
					}
				}
				t.Logf("%d of 3 meter values queued offline", offline)
				if offline == 0 {
					t.Fatal("the connection kill queued nothing: the test would not exercise the replay")
				}
				if err := st.WaitOnline(ctx); err != nil {
					t.Fatal(err)
				}
				if err := st.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				final := st.MeterSample(1)
				if _, err := st.StopCharging(ctx, 1, "Local"); err != nil {
					t.Fatal(err)
				}
				ref := txRef(v, tx)
				ses := s.session(id, ref)
				want := final.EnergyWh - tx.MeterStartWh
				if ses["status"] != "completed" || int64(ses["energy_wh"].(float64)) != want {
					t.Fatalf("session = %v, want %d Wh (offline meter values: %d)", ses, want, offline)
				}
				var readings struct{ Items []obj }
				s.must(200, "GET", "/api/v1/sessions/"+ses["id"].(string)+"/meter-values", nil, &readings)
				// The station sent 4 periodic meter values (1 online, 3 queued offline and replayed):
				// exactly 4 periodic energy-register readings, none twice.
				periodic := map[string]int{}
				for _, r := range readings.Items {
					if r["measurand"] == "Energy.Active.Import.Register" && r["context"] == "Sample.Periodic" && r["phase"] == nil {
						periodic[fmt.Sprint(r["value"])]++
					}
				}
				if len(periodic) != 4 {
					t.Errorf("periodic energy readings = %v, want 4 distinct", periodic)
				}
				for val, n := range periodic {
					if n != 1 {
						t.Errorf("energy reading %s stored %d times", val, n)
					}
				}
				// The same stop delivered again (a retry after a lost reply) changes nothing.
				before := len(readings.Items)
				if v == ocppj.V16 {
					_, err = st.Call(ctx, "StopTransaction", map[string]any{"transactionId": tx.CSMSID, "meterStop": final.EnergyWh, "timestamp": time.Now().UTC().Format(time.RFC3339), "reason": "Local"})
				} else {
					_, err = st.Call(ctx, "TransactionEvent", map[string]any{"eventType": "Ended", "timestamp": time.Now().UTC().Format(time.RFC3339),
						"triggerReason": "StopAuthorized", "seqNo": tx.SeqNo, "transactionInfo": map[string]any{"transactionId": tx.ID, "stoppedReason": "Local"}})
				}
				if err != nil {
					t.Fatal(err)
				}
				again := s.session(id, ref)
				s.must(200, "GET", "/api/v1/sessions/"+ses["id"].(string)+"/meter-values", nil, &readings)
				if again["energy_wh"] != ses["energy_wh"] || again["stopped_at"] != ses["stopped_at"] || len(readings.Items) != before {
					t.Errorf("repeated stop changed the session: %v → %v (%d → %d readings)", ses, again, before, len(readings.Items))
				}
			})
		}
	})
}
