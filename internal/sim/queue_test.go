package sim

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// The CSMS drops the connection while a meter value is in flight; the station keeps charging
// offline, and after reconnecting and booting it replays the lost message and the ones made
// offline, in order, each with its original message id, exactly once.
func TestOfflineQueueReplay(t *testing.T) {
	for _, v := range []ocppj.Version{ocppj.V16, ocppj.V201} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFakeCSMS(t, v)
			dropped := false
			f.dropOn = func(m ocppj.Message) bool {
				isMeter := m.Action == "MeterValues" || (m.Action == "TransactionEvent" && eventTypeOf(m) == "Updated" && json.Valid(m.Payload) && hasMeter(m))
				if isMeter && !dropped {
					dropped = true
					return true
				}
				return false
			}
			gate := make(chan struct{})
			f.gate = gate

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st, err := NewStation(testConfig(f.url(), v), "CP-Q")
			if err != nil {
				t.Fatal(err)
			}
			runDone := make(chan struct{})
			go func() {
				defer close(runDone)
				st.Run(ctx)
			}()
			defer func() { cancel(); <-runDone }()
			if err := st.WaitOnline(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.StartCharging(ctx, 1, "TAG-OK"); err != nil {
				t.Fatal(err)
			}
			// 1: lost in flight. 2, stop: made while offline.
			for i := 0; i < 2; i++ {
				if _, err := st.SendMeterValues(ctx, 1); !errors.Is(err, ErrOffline) {
					t.Fatalf("meter value %d while the CSMS is gone: %v", i, err)
				}
			}
			if _, err := st.StopCharging(ctx, 1, "Local"); !errors.Is(err, ErrOffline) {
				t.Fatalf("stop while offline: %v", err)
			}
			if n := st.Queued(); n != 3 {
				t.Fatalf("queued %d, want 3", n)
			}
			close(gate) // let the station back in

			_, stop := f.waitCall(0, func(r received) bool {
				return r.conn == 2 && (r.msg.Action == "StopTransaction" || eventTypeOf(r.msg) == "Ended")
			})
			all := f.received()
			var lostID string
			var first, second []received
			for _, r := range all {
				if !isTxMsg(r.msg) {
					continue
				}
				if r.conn == 1 {
					first = append(first, r)
				} else {
					second = append(second, r)
				}
			}
			lostID = first[len(first)-1].msg.ID // the one the CSMS never answered
			if len(second) != 3 {
				t.Fatalf("replayed %d transaction messages, want 3: %v", len(second), second)
			}
			if second[0].msg.ID != lostID {
				t.Fatalf("first replayed id %q, want the lost message's %q", second[0].msg.ID, lostID)
			}
			if second[2].msg.ID != stop.msg.ID {
				t.Fatal("stop is not last")
			}
			seen := map[string]int{}
			for _, r := range all {
				seen[r.msg.ID]++
			}
			for i, r := range second {
				want := 1
				if i == 0 {
					want = 2 // once lost, once replayed
				}
				if seen[r.msg.ID] != want {
					t.Fatalf("message %s sent %d times, want %d", r.msg.ID, seen[r.msg.ID], want)
				}
				if i > 0 && msgSeq(r.msg.ID) <= msgSeq(second[i-1].msg.ID) {
					t.Fatalf("replay out of order: %v", second)
				}
			}
			// Replay comes after the new boot.
			bootIdx, _ := f.waitCall(0, func(r received) bool { return r.conn == 2 && r.msg.Action == "BootNotification" })
			for i, r := range all {
				if r.msg.ID == second[0].msg.ID && r.conn == 2 && i < bootIdx {
					t.Fatal("replayed before BootNotification was accepted")
				}
			}
			if v != ocppj.V16 {
				// Made offline → offline: true; strictly increasing seqNo across the gap.
				prevSeq := -1
				for _, r := range append(first, second...) {
					var e struct {
						SeqNo   int  `json:"seqNo"`
						Offline bool `json:"offline"`
					}
					json.Unmarshal(r.msg.Payload, &e)
					if r.conn == 2 && r.msg.ID != lostID && !e.Offline {
						t.Fatalf("event made offline lacks offline:true: %s", r.msg.Payload)
					}
					if r.msg.ID == lostID && r.conn == 2 {
						continue // the replay repeats the lost one's seqNo
					}
					if e.SeqNo <= prevSeq {
						t.Fatalf("seqNo %d after %d", e.SeqNo, prevSeq)
					}
					prevSeq = e.SeqNo
				}
			} else {
				var p struct {
					TransactionID int `json:"transactionId"`
				}
				json.Unmarshal(stop.msg.Payload, &p)
				if p.TransactionID != 101 {
					t.Fatalf("replayed stop carries transactionId %d", p.TransactionID)
				}
			}
			if err := st.Flush(ctx); err != nil { // waits for the replay in progress to finish
				t.Fatal(err)
			}
			if st.Queued() != 0 {
				t.Fatalf("queue not empty after replay: %d", st.Queued())
			}
		})
	}
}

func isTxMsg(m ocppj.Message) bool {
	switch m.Action {
	case "StartTransaction", "StopTransaction", "MeterValues", "TransactionEvent":
		return true
	}
	return false
}

func eventTypeOf(m ocppj.Message) string {
	var e struct {
		EventType string `json:"eventType"`
	}
	json.Unmarshal(m.Payload, &e)
	return e.EventType
}

func hasMeter(m ocppj.Message) bool {
	var e struct {
		TriggerReason string `json:"triggerReason"`
	}
	json.Unmarshal(m.Payload, &e)
	return e.TriggerReason == "MeterValuePeriodic"
}

// msgSeq is the counter part of a station message id ("prefix-17" → 17).
func msgSeq(id string) int {
	n, _ := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	return n
}
