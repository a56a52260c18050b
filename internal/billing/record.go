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
