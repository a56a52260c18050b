package billing

import (
	"encoding/json"
	"time"
)

// Tariff record statuses.
const (
	TariffActive   = "active"
	TariffInactive = "inactive"
)

// TariffRecord is a stored tariff version: the OCPI body as given plus EVCS's bookkeeping.
// A change makes a new version; sessions keep the version in force when they started.
type TariffRecord struct {
	ID        string          `json:"id"`
	Version   int             `json:"version"`
	Currency  string          `json:"currency"`
	Status    string          `json:"status"`
	Tariff    json.RawMessage `json:"tariff" doc:"the OCPI 2.2.1 Tariff object"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	CreatedBy string          `json:"created_by,omitempty"`
}

// CDRRecord is a session's rated CDR as EVCS keeps it.
type CDRRecord struct {
	ID            string          `json:"id"`
	SessionID     string          `json:"session_id"`
	AccountID     string          `json:"account_id,omitempty"`
	StationID     string          `json:"station_id"`
	TariffID      string          `json:"tariff_id,omitempty"`
	TariffVersion int             `json:"tariff_version,omitempty"`
	Currency      string          `json:"currency"`
	TotalMinor    int64           `json:"total_minor" doc:"what was charged, in minor units (incl. VAT where the tariff gives VAT)"`
	EnergyWh      int64           `json:"energy_wh"`
	CreatedAt     time.Time       `json:"created_at"`
	CDR           json.RawMessage `json:"cdr" doc:"the OCPI 2.2.1 CDR with its cost fields"`
}
