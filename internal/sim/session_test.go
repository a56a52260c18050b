package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

var versions = []ocppj.Version{ocppj.V16, ocppj.V201, ocppj.V21}

func testConfig(url string, v ocppj.Version) Config {
	return Config{URL: url, Protocol: v, Tag: "TAG-OK", Kind: "dc", MeterInterval: time.Minute,
		CallTimeout: 5 * time.Second, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, Seed: 42}
}

// A full session driven step by step: every message validates (the fake checks), the
// transaction id is kept, 2.x seqNo rises, the energy register never falls.
func TestSessionSteps(t *testing.T) {
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			f := newFakeCSMS(t, v)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st, err := NewStation(testConfig(f.url(), v), "CP/1 x")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if br, err := st.Boot(ctx); err != nil || br.Status != "Accepted" || br.Interval != 300 {
				t.Fatalf("boot: %+v %v", br, err)
			}
			if err := st.SendStatusAll(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Heartbeat(ctx); err != nil {
				t.Fatal(err)
			}
			if s, err := st.Authorize(ctx, "TAG-OK"); err != nil || s != "Accepted" {
				t.Fatalf("authorize: %q %v", s, err)
			}
			tx, err := st.StartCharging(ctx, 1, "TAG-OK")
			if err != nil || tx.AuthStatus != "Accepted" || tx.ID == "" {
				t.Fatalf("start: %+v %v", tx, err)
			}
			if v == ocppj.V16 && tx.CSMSID != 101 {
				t.Fatalf("1.6 transactionId %d, want the CSMS's 101", tx.CSMSID)
			}
			prev := tx.MeterStartWh
			for i := 0; i < 3; i++ {
				smp, err := st.SendMeterValues(ctx, 1)
				if err != nil || smp.EnergyWh <= prev {
					t.Fatalf("meter values: %+v %v", smp, err)
				}
				prev = smp.EnergyWh
			}
			if _, err := st.StartCharging(ctx, 1, "TAG-OK"); err != ErrBusy {
				t.Fatalf("second start on a busy evse: %v", err)
			}
			end, err := st.StopCharging(ctx, 1, "Local")
			if err != nil {
				t.Fatal(err)
			}
			if st.Status(1) != "Available" {
				t.Fatalf("status after stop %q", st.Status(1))
			}
			_, last := f.waitCall(0, func(r received) bool {
				return r.msg.Action == "StopTransaction" || (r.msg.Action == "TransactionEvent" && eventType(r) == "Ended")
			})
			calls := f.received()
			if v == ocppj.V16 {
				var p struct {
					TransactionID   int               `json:"transactionId"`
					MeterStop       int64             `json:"meterStop"`
					TransactionData []json.RawMessage `json:"transactionData"`
				}
				json.Unmarshal(last.msg.Payload, &p)
				if p.TransactionID != 101 || p.MeterStop != prev || len(p.TransactionData) != 2 {
					t.Fatalf("StopTransaction %s", last.msg.Payload)
				}
				want := []string{"Available", "Preparing", "Charging", "Finishing", "Available"}
				var got []string
				for _, c := range calls {
					var s struct {
						ConnectorID int    `json:"connectorId"`
						Status      string `json:"status"`
					}
					if c.msg.Action == "StatusNotification" && json.Unmarshal(c.msg.Payload, &s) == nil && s.ConnectorID == 1 {
						got = append(got, s.Status)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("connector 1 statuses %v, want %v", got, want)
				}
			} else {
				seq := -1
				var types []string
				for _, c := range calls {
					if c.msg.Action != "TransactionEvent" {
						continue
					}
					var e struct {
						SeqNo int `json:"seqNo"`
						Info  struct {
							TransactionID string `json:"transactionId"`
						} `json:"transactionInfo"`
					}
					json.Unmarshal(c.msg.Payload, &e)
					if e.SeqNo <= seq || e.Info.TransactionID != tx.ID {
						t.Fatalf("event %s after seqNo %d", c.msg.Payload, seq)
					}
					seq = e.SeqNo
					types = append(types, eventType(c))
				}
				if len(types) != 6 || types[0] != "Started" || types[5] != "Ended" {
					t.Fatalf("events %v", types)
				}
				if end.SeqNo != 6 {
					t.Fatalf("next seqNo %d", end.SeqNo)
				}
			}
		})
	}
}

func eventType(r received) string {
	var e struct {
		EventType string `json:"eventType"`
	}
	json.Unmarshal(r.msg.Payload, &e)
	return e.EventType
}
