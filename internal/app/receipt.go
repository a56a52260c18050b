package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// ReceiptLine is one priced dimension of a session.
type ReceiptLine struct {
	Description string      `json:"description"`
	Quantity    string      `json:"quantity,omitempty"`
	Unit        string      `json:"unit,omitempty"`
	ExclVAT     money.Money `json:"-"`
	InclVAT     money.Money `json:"-"`
	InclKnown   bool        `json:"-"`
}

// Receipt is what a driver gets for a session: what was delivered, what it cost line by line,
// and how it was paid from the prepaid account.
type Receipt struct {
	Session  charging.Session
	CDR      *billing.CDRRecord
	Lines    []ReceiptLine
	Total    money.Money // what was charged
	TotalEx  money.Money
	Postings []account.LedgerTx // hold, capture, release of this session
	Balance  *money.Money       // the account's balance now
	IssuedAt time.Time
}

// Receipt builds the receipt of an ended session.
func (a *App) Receipt(ctx context.Context, sessionID string) (*Receipt, error) {
	var r Receipt
	err := a.Store.View(ctx, func(tx store.Tx) error {
		s, err := tx.Sessions().Get(ctx, sessionID)
		if err == nil {
			err = CheckOwn(ctx, "session", sessionID, s) // a purchaser's own sessions only
		}
		if err != nil {
			return hideFromPurchaser(ctx, "session", sessionID, err)
		}
		if s.Status != charging.Completed || s.CDRID == "" {
			return errs.E(errs.Conflict, "session %s has not ended yet: no receipt", sessionID)
		}
		r.Session = *s
		if r.CDR, err = tx.CDRs().Get(ctx, s.CDRID); err != nil {
			return err
		}
		r.Lines, r.TotalEx, err = receiptLines(r.CDR)
		if err != nil {
			return err
		}
		r.Total = money.New(r.CDR.TotalMinor, r.CDR.Currency)
		if err := a.addExportCredit(ctx, tx, &r); err != nil {
			return err
		}
		if s.AccountID != "" {
			txs, err := tx.Ledger().ByRef(ctx, s.ID)
			if err != nil {
				return err
			}
			r.Postings = txs
			acc, err := tx.Accounts().Get(ctx, s.AccountID)
			if err != nil {
				return err
			}
			bal, err := tx.Balance(ctx, s.AccountID)
			if err != nil {
				return err
			}
			b := money.New(bal, acc.Currency)
			r.Balance = &b
		}
		return nil
	})
	r.IssuedAt = a.now()
	return &r, err
}

// receiptLines reads the cost fields of a rated OCPI CDR.
func receiptLines(rec *billing.CDRRecord) ([]ReceiptLine, money.Money, error) {
	var c struct {
		TotalEnergy      *json.Number `json:"total_energy"`
		TotalTime        *json.Number `json:"total_time"`
		TotalParkingTime *json.Number `json:"total_parking_time"`
		TotalCost        *price       `json:"total_cost"`
		Fixed            *price       `json:"total_fixed_cost"`
		Energy           *price       `json:"total_energy_cost"`
		Time             *price       `json:"total_time_cost"`
		Parking          *price       `json:"total_parking_cost"`
		Reservation      *price       `json:"total_reservation_cost"`
	}
	if err := json.Unmarshal(rec.CDR, &c); err != nil {
		return nil, money.Money{}, errs.Wrap("read CDR", err)
	}
	var lines []ReceiptLine
	add := func(desc string, qty *json.Number, unit string, p *price) error {
		if p == nil {
			return nil
		}
		l := ReceiptLine{Description: desc, Unit: unit}
		if qty != nil {
			l.Quantity = qty.String()
		}
		var err error
		if l.ExclVAT, err = money.Parse(p.Excl.String(), rec.Currency); err != nil {
			return err
		}
		if p.Incl != nil {
			if l.InclVAT, err = money.Parse(p.Incl.String(), rec.Currency); err != nil {
				return err
			}
			l.InclKnown = true
		}
		lines = append(lines, l)
		return nil
	}
	for _, x := range []struct {
		desc string
		qty  *json.Number
		unit string
		p    *price
	}{
		{"Start fee", nil, "", c.Fixed}, {"Energy", c.TotalEnergy, "kWh", c.Energy}, {"Charging time", c.TotalTime, "h", c.Time},
		{"Parking time", c.TotalParkingTime, "h", c.Parking}, {"Reservation", nil, "", c.Reservation},
	} {
		if err := add(x.desc, x.qty, x.unit, x.p); err != nil {
			return nil, money.Money{}, err
		}
	}
	total := money.New(0, rec.Currency)
	if c.TotalCost != nil {
		t, err := money.Parse(c.TotalCost.Excl.String(), rec.Currency)
		if err != nil {
			return nil, money.Money{}, err
		}
		total = t
	}
	return lines, total, nil
}

type price struct {
	Excl json.Number  `json:"excl_vat"`
	Incl *json.Number `json:"incl_vat"`
}
