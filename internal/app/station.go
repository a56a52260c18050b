package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// HashStationSecret hashes a station's Basic-auth password. Station passwords are machine
// secrets checked at every (re)connect, so a salted SHA-256 is used rather than bcrypt: a
// reconnect storm of thousands of stations must not cost a second of CPU each.
func HashStationSecret(pw string) string {
	salt := ids.New("")[:16]
	return "s256$" + salt + "$" + sha256hex(salt+pw)
}

func sha256hex(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func checkStationSecret(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 3 || parts[0] != "s256" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sha256hex(parts[1]+pw)), []byte(parts[2])) == 1
}

// StationAuth admits a station at the WebSocket handshake: it must be registered and active,
// and present its password when it has one (OCPP security profile 1). password is nil when the
// request carried no Basic credentials.
func (a *App) StationAuth(ctx context.Context, id string, password *string) (*asset.Station, error) {
	var st *asset.Station
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { st, err = tx.Stations().Get(ctx, id); return })
	if errs.Is(err, errs.NotFound) {
		return nil, errs.E(errs.NotFound, "station %q is not registered", id)
	}
	if err != nil {
		return nil, err
	}
	if st.Status != asset.Active {
		return nil, errs.E(errs.Forbidden, "station %q is deactivated", id)
	}
	if st.PasswordHash != "" && (password == nil || !checkStationSecret(st.PasswordHash, *password)) {
		return nil, errs.E(errs.Unauthorized, "wrong or missing station password")
	}
	return st, nil
}

// BootInfo is what a station says about itself at boot.
type BootInfo struct {
	StationID, Vendor, Model, Serial, Firmware, Protocol, Reason string
}

// Boot records a station's identity and answers Accepted with the heartbeat interval.
func (a *App) Boot(ctx context.Context, b BootInfo) (time.Duration, error) {
	now := a.now()
	err := a.Batch.Do(ctx, func(tx store.Tx) error {
		st, err := tx.Stations().Get(ctx, b.StationID)
		if err != nil {
			return err
		}
		st.Vendor, st.Model, st.Serial, st.Firmware, st.Protocol = b.Vendor, b.Model, b.Serial, b.Firmware, b.Protocol
		st.LastBootAt, st.UpdatedAt = &now, now
		return tx.Stations().Update(ctx, st)
	})
	if err != nil {
		return 0, errs.Wrap("boot", err)
	}
	a.Bus.Publish(Event{Kind: "station.booted", StationID: b.StationID, Data: b})
	return a.Settings.HeartbeatInterval, nil
}

// Heartbeat answers the time. Liveness is tracked by the connection, not written per beat.
func (a *App) Heartbeat(context.Context, string) time.Time { return a.Clock.Now().UTC() }

// Status records a connector/EVSE status report.
func (a *App) Status(ctx context.Context, c charging.StatusChange) error {
	if err := a.Batch.Do(ctx, func(tx store.Tx) error { return tx.AddStatus(ctx, c) }); err != nil {
		return errs.Wrap("status", err)
	}
	a.Bus.Publish(Event{Kind: "status", StationID: c.StationID, Data: c})
	return nil
}

// Authorize checks an id token for a station.
func (a *App) Authorize(ctx context.Context, stationID, uid string) (charging.AuthResult, error) {
	var res charging.AuthResult
	err := a.Store.View(ctx, func(tx store.Tx) error {
		if err := tx.PrefetchToken(ctx, uid); err != nil {
			return err
		}
		var err error
		res, err = a.authorizeTx(ctx, tx, uid)
		return err
	})
	return res, errs.Wrap("authorize", err)
}

func (a *App) authorizeTx(ctx context.Context, tx store.Tx, uid string) (charging.AuthResult, error) {
	return a.authorizeIn(ctx, tx, uid, false)
}

// authorizeIn is authorizeTx; with lock (a write transaction that goes on to post to the
// account, as a session start does with its hold) the account is locked first, and the
// balance comes with the lock instead of a look-up of its own.
func (a *App) authorizeIn(ctx context.Context, tx store.Tx, uid string, lock bool) (charging.AuthResult, error) {
	tok, err := tx.IdTokens().GetBy(ctx, "uid", uid)
	if errs.Is(err, errs.NotFound) {
		return charging.AuthResult{Status: account.AuthUnknown}, nil
	}
	if err != nil {
		return charging.AuthResult{}, err
	}
	acc, err := tx.Accounts().Get(ctx, tok.AccountID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return charging.AuthResult{}, err
	}
	var bal, min int64
	if acc != nil {
		if lock {
			if err := lockAccount(ctx, tx, acc.ID); err != nil {
				return charging.AuthResult{}, err
			}
		}
		if bal, err = tx.Balance(ctx, acc.ID); err != nil {
			return charging.AuthResult{}, err
		}
		if m, perr := money.Parse(a.Settings.MinBalance, acc.Currency); perr == nil {
			min = m.Minor
		}
	}
	st := account.TokenStatus(tok, acc, bal, min, a.now())
	return charging.AuthResult{Status: st, GroupID: tok.GroupID, ExpiresAt: tok.ExpiresAt, AccountID: tok.AccountID}, nil
}

// StationEvent keeps a station report (DataTransfer, SecurityEventNotification, firmware and
// diagnostics status, NotifyReport, NotifyEvent, …).
func (a *App) StationEvent(ctx context.Context, stationID, kind string, payload []byte) error {
	ev := charging.StationEvent{ID: ids.New("evt"), StationID: stationID, Kind: kind, At: a.now(), Payload: json.RawMessage(payload)}
	err := a.Batch.Do(ctx, func(tx store.Tx) error { return tx.Events().Create(ctx, &ev) })
	if err == nil {
		a.Bus.Publish(Event{Kind: "station.event", StationID: stationID, Data: ev})
	}
	return errs.Wrap("station event", err)
}
