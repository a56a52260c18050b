package billing

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/evcs/evcs/internal/errs"
)

// PriceJSON decodes a CDR and a tariff, prices the CDR, and returns the input CDR (every
// field it had, in input order) with the OCPI cost fields set, as indented JSON. Cost fields
// already in the input are replaced in place; missing ones are appended.
func PriceJSON(cdrJSON, tariffJSON []byte, loc *time.Location) ([]byte, error) {
	t, err := DecodeTariff(tariffJSON)
	if err != nil {
		return nil, errs.Wrap("tariff", err)
	}
	c, err := DecodeCDR(cdrJSON)
	if err != nil {
		return nil, errs.Wrap("cdr", err)
	}
	p, err := Price(c, t, loc)
	if err != nil {
		return nil, err
	}
	return MergeCDR(c, p)
}

// MergeCDR writes a decoded CDR with the cost fields of p, as indented JSON.
func MergeCDR(c CDR, p Priced) ([]byte, error) {
	costs := []rawField{
		{"total_cost", mustJSON(p.TotalCost)},
		{"total_fixed_cost", mustJSON(p.TotalFixedCost)},
		{"total_energy", mustJSON(p.TotalEnergy)},
		{"total_energy_cost", mustJSON(p.TotalEnergyCost)},
		{"total_time", mustJSON(p.TotalTime)},
		{"total_time_cost", mustJSON(p.TotalTimeCost)},
		{"total_parking_time", mustJSON(p.TotalParkingTime)},
		{"total_parking_cost", mustJSON(p.TotalParkingCost)},
		{"total_reservation_cost", mustJSON(p.TotalReservationCost)},
	}
	fields := c.raw
	if fields == nil { // a CDR built in Go, not decoded
		fields = []rawField{
			{"start_date_time", mustJSON(c.StartDateTime)},
			{"end_date_time", mustJSON(c.EndDateTime)},
			{"currency", mustJSON(c.Currency)},
			{"charging_periods", mustJSON(c.ChargingPeriods)},
		}
	}
	used := make([]bool, len(costs))
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	write := func(f rawField) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.value)
	}
	for _, f := range fields {
		for i := range costs {
			if costs[i].key == f.key {
				f.value, used[i] = costs[i].value, true
			}
		}
		write(f)
	}
	for i, f := range costs {
		if !used[i] {
			write(f)
		}
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, errs.Wrap("MergeCDR", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only types of this package, which always marshal
	}
	return b
}
