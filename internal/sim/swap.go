package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// A simulated swap station: slots holding batteries, vehicles arriving with a depleted battery.
// In OCPP 2.1 it reports swaps with BatterySwap (BatteryIn: the vehicle's battery into a slot,
// then BatteryOut: a charged battery into the vehicle) and answers RequestBatterySwap by
// swapping; on 1.6 and 2.0.1 it sends the same documents through DataTransfer (vendor
// "org.evcs", messageIds "BatterySwap" and "RequestBatterySwap").

// Swap DataTransfer vendor and message ids (EVCS's contract, see app.SwapVendorID).
const (
	SwapVendorID          = "org.evcs"
	MsgBatterySwap        = "BatterySwap"
	MsgRequestBatterySwap = "RequestBatterySwap"
)

// SwapBattery is a battery as a swap station reports it.
type SwapBattery struct {
	EVSE   int     `json:"evseId"`
	Serial string  `json:"serialNumber"`
	SoC    float64 `json:"soC"`
	SoH    float64 `json:"soH"`
}

// SwapResult is what a completed swap moved.
type SwapResult struct {
	RequestID int
	In, Out   SwapBattery
}

type swapState struct {
	mu       sync.Mutex
	slots    []SwapBattery          // batteries in the station
	vehicles map[string]SwapBattery // token → the battery in the vehicle that arrives with it
	done     []SwapResult
	notify   chan SwapResult
}

var swapStates sync.Map // *Station → *swapState

func (s *Station) swap() *swapState {
	st, _ := swapStates.LoadOrStore(s, &swapState{vehicles: map[string]SwapBattery{}, notify: make(chan SwapResult, 64)})
	return st.(*swapState)
}

// LoadSwapBatteries puts batteries into the station's slots (replacing what was there).
func (s *Station) LoadSwapBatteries(bs ...SwapBattery) {
	st := s.swap()
	st.mu.Lock()
	st.slots = slices.Clone(bs)
	st.mu.Unlock()
}

// SwapSlots returns the batteries in the station's slots.
func (s *Station) SwapSlots() []SwapBattery {
	st := s.swap()
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.slots)
}

// ArriveForSwap makes a vehicle identified by tag arrive with battery b, waiting for a swap
// (RequestBatterySwap from the CSMS, or Swap).
func (s *Station) ArriveForSwap(tag string, b SwapBattery) {
	st := s.swap()
	st.mu.Lock()
	st.vehicles[tag] = b
	st.mu.Unlock()
}

// SwapsDone delivers each swap the station completed on the CSMS's request (RequestBatterySwap).
func (s *Station) SwapsDone() <-chan SwapResult { return s.swap().notify }

// SendBatterySwap sends one BatterySwap event ("BatteryIn", "BatteryOut", "BatteryOutTimeout")
// as the station's protocol carries it and returns the CSMS's answer payload. On 1.6/2.0.1 a
// DataTransfer answered other than Accepted is a *RejectedError.
func (s *Station) SendBatterySwap(ctx context.Context, event, tag string, requestID int, bs ...SwapBattery) (json.RawMessage, error) {
	if bs == nil {
		bs = []SwapBattery{}
	}
	doc := map[string]any{"eventType": event, "idToken": s.idToken2(tag), "requestId": requestID, "batteryData": bs}
	if s.ver == ocppj.V21 {
		return s.Call(ctx, "BatterySwap", doc)
	}
	data, _ := json.Marshal(doc)
	res, err := s.Call(ctx, "DataTransfer", map[string]any{"vendorId": SwapVendorID, "messageId": MsgBatterySwap, "data": string(data)})
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(res, &r)
	if r.Status != "Accepted" {
		return res, &RejectedError{Status: r.Status + ": " + string(res)}
	}
	return res, nil
}

func (s *Station) idToken2(tag string) map[string]string {
	return map[string]string{"idToken": tag, "type": s.cfg.TokenType}
}

// Swap swaps the battery of the vehicle waiting with tag (ArriveForSwap): BatteryIn with the
// vehicle's battery into the first free slot number, then BatteryOut with the battery whose
// serial is out, or, when out is empty, the fullest battery in the slots. The slots change only
// once both messages were answered.
func (s *Station) Swap(ctx context.Context, tag string, requestID int, out string) (SwapResult, error) {
	st := s.swap()
	st.mu.Lock()
	in, ok := st.vehicles[tag]
	pick := -1
	for i, b := range st.slots {
		if (out != "" && b.Serial == out) || (out == "" && (pick < 0 || b.SoC > st.slots[pick].SoC)) {
			pick = i
		}
	}
	var ob SwapBattery
	if pick >= 0 {
		ob = st.slots[pick]
	}
	st.mu.Unlock()
	if !ok {
		return SwapResult{}, fmt.Errorf("sim: no vehicle waiting with %s", tag)
	}
	if pick < 0 {
		return SwapResult{}, errors.New("sim: no battery " + out + " in the slots")
	}
	in.EVSE = ob.EVSE // the vehicle's battery goes into the slot the new one leaves
	if _, err := s.SendBatterySwap(ctx, "BatteryIn", tag, requestID, in); err != nil {
		return SwapResult{}, err
	}
	if _, err := s.SendBatterySwap(ctx, "BatteryOut", tag, requestID, ob); err != nil {
		return SwapResult{}, err
	}
	res := SwapResult{RequestID: requestID, In: in, Out: ob}
	st.mu.Lock()
	st.slots = slices.DeleteFunc(st.slots, func(b SwapBattery) bool { return b.Serial == ob.Serial })
	st.slots = append(st.slots, in)
	delete(st.vehicles, tag)
	st.done = append(st.done, res)
	st.mu.Unlock()
	return res, nil
}

// swapRequest is RequestBatterySwap (2.1) or its DataTransfer data (1.6/2.0.1).
type swapRequest struct {
	IDToken struct {
		IDToken string `json:"idToken"`
	} `json:"idToken"`
	RequestID  int `json:"requestId"`
	CustomData *struct {
		BatterySerial string `json:"batterySerial"`
	} `json:"customData"`
}

// answerSwapRequest accepts a swap request when a vehicle with that token is waiting and swaps
// after the answer is on the wire.
func (s *Station) answerSwapRequest(r swapRequest) (bool, func(ctx context.Context)) {
	st := s.swap()
	st.mu.Lock()
	_, waiting := st.vehicles[r.IDToken.IDToken]
	st.mu.Unlock()
	if !waiting {
		return false, nil
	}
	serial := ""
	if r.CustomData != nil {
		serial = r.CustomData.BatterySerial
	}
	return true, func(ctx context.Context) {
		res, err := s.Swap(ctx, r.IDToken.IDToken, r.RequestID, serial)
		if err != nil {
			s.log.Warn("requested swap failed", "request", r.RequestID, "err", err)
			return
		}
		select {
		case st.notify <- res:
		default:
		}
	}
}

func requestBatterySwap2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r swapRequest
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	ok, follow := s.answerSwapRequest(r)
	if !ok {
		return status("Rejected"), nil
	}
	return reply{payload: map[string]string{"status": "Accepted"}, follow: follow}, nil
}

// swapDataTransfer wraps a version's DataTransfer handler: EVCS's RequestBatterySwap is
// answered here, anything else by the handler as before.
func swapDataTransfer(prev handler) handler {
	return func(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
		var m struct {
			VendorID  string          `json:"vendorId"`
			MessageID string          `json:"messageId"`
			Data      json.RawMessage `json:"data"`
		}
		if json.Unmarshal(p, &m) != nil || m.VendorID != SwapVendorID || m.MessageID != MsgRequestBatterySwap {
			return prev(s, p)
		}
		data := []byte(m.Data)
		var str string
		if json.Unmarshal(data, &str) == nil {
			data = []byte(str)
		}
		var r swapRequest
		if err := decode(data, &r); err != nil {
			return status("Rejected"), nil
		}
		ok, follow := s.answerSwapRequest(r)
		if !ok {
			return status("Rejected"), nil
		}
		return reply{payload: map[string]string{"status": "Accepted"}, follow: follow}, nil
	}
}

func init() {
	handlers2["RequestBatterySwap"] = requestBatterySwap2
	handlers2["NotifyAllowedEnergyTransfer"] = func(*Station, json.RawMessage) (reply, *ocppj.Error) { return status("Accepted"), nil }
	handlers2["DataTransfer"] = swapDataTransfer(handlers2["DataTransfer"])
	handlers16["DataTransfer"] = swapDataTransfer(handlers16["DataTransfer"])
}
