// Package charging holds sessions (charging and V2G discharging), meter readings and
// connector status: types and rules, version-neutral. OCPP 1.6 and 2.x messages are translated
// into these at the edge.
package charging

import (
	"encoding/json"
	"slices"
	"time"
)

// Session states.
const (
	Active    = "active"    // transaction running
	Completed = "completed" // transaction ended; energy final
)

// Session kinds.
const (
	KindCharge    = "charge"
	KindDischarge = "discharge" // net export (V2G)
)

// Session is one transaction at one EVSE.
type Session struct {
	ID            string     `json:"id"`
	StationID     string     `json:"station_id"`
	EVSENo        int        `json:"evse_no"`
	ConnectorNo   int        `json:"connector_no,omitempty"`
	TxRef         string     `json:"transaction_id" doc:"the station's transaction id (1.6: the integer EVCS gave; 2.x: the station's)"`
	TxNo          int64      `json:"tx_no,omitempty"`
	StartKey      string     `json:"start_key,omitempty"`
	SeqSeen       Ranges     `json:"seq_seen,omitempty"`
	IdToken       string     `json:"id_token,omitempty"`
	AccountID     string     `json:"account_id,omitempty"`
	VehicleID     string     `json:"vehicle_id,omitempty"`
	Kind          string     `json:"kind"`
	Status        string     `json:"status"`
	AuthStatus    string     `json:"auth_status,omitempty" doc:"what EVCS answered for the token at start"`
	StartedAt     time.Time  `json:"started_at"`
	StoppedAt     *time.Time `json:"stopped_at,omitempty"`
	MeterStart    int64      `json:"meter_start_wh"`
	MeterStop     *int64     `json:"meter_stop_wh,omitempty"`
	EnergyWh      int64      `json:"energy_wh" doc:"energy delivered to the vehicle"`
	ExportedWh    int64      `json:"exported_wh" doc:"energy fed back by the vehicle (V2G)"`
	ExportStart   int64      `json:"export_start_wh,omitempty"`
	PowerW        int64      `json:"power_w,omitempty" doc:"last reported power"`
	SoCStart      *int       `json:"soc_start,omitempty"`
	SoC           *int       `json:"soc,omitempty"`
	StopReason    string     `json:"stop_reason,omitempty"`
	LastSeqNo     int        `json:"last_seq_no,omitempty"`
	Offline       bool       `json:"offline,omitempty" doc:"some of its messages were queued offline by the station"`
	ChargingState string     `json:"charging_state,omitempty"`
	ReservationID *int       `json:"reservation_id,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
	// Billing fills these when the session is rated.
	TariffID      string          `json:"tariff_id,omitempty"`
	TariffVersion int             `json:"tariff_version,omitempty"`
	TimeZone      string          `json:"time_zone,omitempty" doc:"the site's IANA zone at start: time restrictions are evaluated in it"`
	HeldMinor     int64           `json:"held_minor,omitempty" doc:"prepaid funds held for the session"`
	StopRequested bool            `json:"stop_requested,omitempty" doc:"EVCS asked the station to stop (balance used up)"`
	CostMinor     *int64          `json:"cost_minor,omitempty"`
	Currency      string          `json:"currency,omitempty"`
	CDRID         string          `json:"cdr_id,omitempty"`
	Extra         json.RawMessage `json:"extra,omitempty"`
	// RatedExclMinor is the revenue excl. VAT of the session's CDR, in minor units, as the stop
	// that rated it left it; it is not stored (the CDR holds it), so a session read from the
	// database has none.
	RatedExclMinor *int64 `json:"-"`
}

// Auth statuses, version-neutral (2.x AuthorizationStatusEnumType; 1.6 maps at the edge).
const (
	AuthAccepted     = "Accepted"
	AuthBlocked      = "Blocked"
	AuthExpired      = "Expired"
	AuthInvalid      = "Invalid"
	AuthNoCredit     = "NoCredit"
	AuthUnknown      = "Unknown"
	AuthConcurrentTx = "ConcurrentTx"
)

// AuthResult is EVCS's answer about an id token.
type AuthResult struct {
	Status    string
	GroupID   string
	ExpiresAt *time.Time
	AccountID string
}

// Reading is one sampled value of a meter, normalised to base units (Wh, varh, W, var, A, V,
// Hz, %, Celsius) and stored exactly: Milli is the value × 1000.
type Reading struct {
	SessionID string    `json:"session_id,omitempty"`
	StationID string    `json:"station_id"`
	EVSENo    int       `json:"evse_no"`
	At        time.Time `json:"at"`
	Measurand string    `json:"measurand"`
	Phase     string    `json:"phase,omitempty"`
	Location  string    `json:"location,omitempty"`
	Context   string    `json:"context,omitempty"`
	Unit      string    `json:"unit"`
	Milli     int64     `json:"-"`
}

// Measurands that sessions track.
const (
	EnergyImport = "Energy.Active.Import.Register"
	EnergyExport = "Energy.Active.Export.Register"
	PowerImport  = "Power.Active.Import"
	PowerExport  = "Power.Active.Export"
	SoCMeasurand = "SoC"
)

// StatusChange is a connector (or EVSE, or station when EVSENo is 0) status report.
type StatusChange struct {
	StationID       string    `json:"station_id"`
	EVSENo          int       `json:"evse_no"`
	ConnectorNo     int       `json:"connector_no"`
	Status          string    `json:"status"`
	ErrorCode       string    `json:"error_code,omitempty"`
	Info            string    `json:"info,omitempty"`
	VendorErrorCode string    `json:"vendor_error_code,omitempty"`
	At              time.Time `json:"at"`
}

// StationEvent is any other station report kept for the record (DataTransfer, SecurityEvent,
// FirmwareStatus, DiagnosticsStatus/LogStatus, NotifyReport, NotifyEvent, …).
type StationEvent struct {
	ID        string          `json:"id"`
	StationID string          `json:"station_id"`
	Kind      string          `json:"kind"`
	At        time.Time       `json:"at"`
	Payload   json.RawMessage `json:"payload"`
}

// Command states.
const (
	CommandPending  = "pending"
	CommandAccepted = "accepted" // the station answered (see Result)
	CommandFailed   = "failed"   // no answer, CALLERROR or not connected
)

// Command is an operator's request to a station and its outcome.
type Command struct {
	ID        string          `json:"id"`
	StationID string          `json:"station_id"`
	Action    string          `json:"action" doc:"OCPP action sent"`
	Actor     string          `json:"actor"`
	Request   json.RawMessage `json:"request"`
	Result    json.RawMessage `json:"result,omitempty" doc:"the station's answer"`
	Error     string          `json:"error,omitempty"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Clone returns a deep copy of s: nothing it points to is shared.
func (s *Session) Clone() *Session {
	c := *s
	c.SeqSeen = slices.Clone(s.SeqSeen)
	c.Extra = slices.Clone(s.Extra)
	c.StoppedAt = clonePtr(s.StoppedAt)
	c.MeterStop = clonePtr(s.MeterStop)
	c.SoCStart = clonePtr(s.SoCStart)
	c.SoC = clonePtr(s.SoC)
	c.ReservationID = clonePtr(s.ReservationID)
	c.CostMinor = clonePtr(s.CostMinor)
	c.RatedExclMinor = clonePtr(s.RatedExclMinor)
	return &c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
