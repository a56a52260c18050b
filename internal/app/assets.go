package app

import (
	"context"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// Sites is the site resource.
var Sites = &Resource[asset.Site, asset.SiteFields]{
	Name: "site", Prefix: "site", WriteRole: account.RoleOperator,
	Repo:  func(tx store.Tx) store.Repo[asset.Site] { return tx.Sites() },
	Input: func(v *asset.Site) asset.SiteFields { return v.SiteFields },
	Meta:  func(v *asset.Site) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in asset.SiteFields, old *asset.Site, id string, now time.Time) (*asset.Site, error) {
		if err := asset.CheckSite(in); err != nil {
			return nil, err
		}
		if err := mustTariff(ctx, tx, "default_tariff_id", in.DefaultTariffID); err != nil {
			return nil, err
		}
		if err := mustTariff(ctx, tx, "export_tariff_id", in.ExportTariffID); err != nil {
			return nil, err
		}
		v := newOrCopy(old, func() *asset.Site { return &asset.Site{ID: id, Status: asset.Active, CreatedAt: now} })
		v.SiteFields, v.UpdatedAt = in, now
		return v, nil
	},
}

// Nodes is the power-distribution node resource (grid connection, transformers, feeders).
var Nodes = &Resource[asset.Node, asset.NodeFields]{
	Name: "node", Prefix: "node", WriteRole: account.RoleOperator,
	Repo:  func(tx store.Tx) store.Repo[asset.Node] { return tx.Nodes() },
	Input: func(v *asset.Node) asset.NodeFields { return v.NodeFields },
	Meta:  func(v *asset.Node) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in asset.NodeFields, old *asset.Node, id string, now time.Time) (*asset.Node, error) {
		if old != nil && in.SiteID != old.SiteID {
			return nil, errs.Field("site_id", "a node cannot move to another site")
		}
		if _, err := mustExist(ctx, tx.Sites(), "site_id", in.SiteID); err != nil {
			return nil, err
		}
		// Load the site's tree to check the parent, the limits and that no cycle appears.
		tree, _, err := tx.Nodes().List(ctx, store.Query{Filter: map[string]string{"site_id": in.SiteID}, Limit: 500})
		if err != nil {
			return nil, err
		}
		v := newOrCopy(old, func() *asset.Node { return &asset.Node{ID: id, Status: asset.Active, CreatedAt: now} })
		v.NodeFields, v.UpdatedAt = in, now
		if err := asset.CheckNode(*v, tree); err != nil {
			return nil, err
		}
		return v, nil
	},
}

// StationInput is what a client writes for a station: the OCPP identity (on create) and the
// station password (security profile 1), which is stored only as a hash.
type StationInput struct {
	ID           string `json:"id,omitempty" doc:"OCPP identity (on create)" maxLength:"48"`
	OCPPPassword string `json:"ocpp_password,omitempty" doc:"HTTP Basic password for security profile 1; write-only" maxLength:"64"`
	asset.StationFields
}

// Stations is the station resource.
var Stations = &Resource[asset.Station, StationInput]{
	Name: "station", WriteRole: account.RoleOperator,
	Repo:    func(tx store.Tx) store.Repo[asset.Station] { return tx.Stations() },
	Input:   func(v *asset.Station) StationInput { return StationInput{StationFields: v.StationFields} },
	Meta:    func(v *asset.Station) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	InputID: func(in StationInput) string { return in.ID },
	Build: func(ctx context.Context, tx store.Tx, in StationInput, old *asset.Station, id string, now time.Time) (*asset.Station, error) {
		if old == nil {
			if err := asset.CheckStationID(in.ID); err != nil {
				return nil, err
			}
		} else if in.ID != "" && in.ID != old.ID {
			return nil, errs.Field("id", "the OCPP identity of a station cannot change")
		}
		if in.Kind == "" {
			in.Kind = asset.KindAC
		}
		if err := asset.CheckStation(in.StationFields); err != nil {
			return nil, err
		}
		if err := mustTariff(ctx, tx, "tariff_id", in.TariffID); err != nil {
			return nil, err
		}
		if err := siteAndNode(ctx, tx, in.SiteID, in.NodeID); err != nil {
			return nil, err
		}
		v := newOrCopy(old, func() *asset.Station { return &asset.Station{ID: id, Status: asset.Active, CreatedAt: now} })
		v.StationFields, v.UpdatedAt = in.StationFields, now
		if in.OCPPPassword != "" {
			if len(in.OCPPPassword) < 8 {
				return nil, errs.Field("ocpp_password", "must be at least 8 characters (OCPP security profile 1 asks for 16 or more)")
			}
			v.PasswordHash = HashStationSecret(in.OCPPPassword)
		}
		v.HasPassword = v.PasswordHash != ""
		return v, nil
	},
}

// EVSEs is the EVSE resource.
var EVSEs = &Resource[asset.EVSE, asset.EVSEFields]{
	Name: "evse", Prefix: "evse", WriteRole: account.RoleOperator,
	Repo:  func(tx store.Tx) store.Repo[asset.EVSE] { return tx.EVSEs() },
	Input: func(v *asset.EVSE) asset.EVSEFields { return v.EVSEFields },
	Meta:  func(v *asset.EVSE) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in asset.EVSEFields, old *asset.EVSE, id string, now time.Time) (*asset.EVSE, error) {
		if old != nil && (in.StationID != old.StationID || in.EVSENo != old.EVSENo) {
			return nil, errs.Field("evse_no", "station_id and evse_no of an EVSE cannot change")
		}
		if in.EVSENo < 1 {
			return nil, errs.Field("evse_no", "must be 1 or more")
		}
		if err := mustTariff(ctx, tx, "tariff_id", in.TariffID); err != nil {
			return nil, err
		}
		if _, err := mustExist(ctx, tx.Stations(), "station_id", in.StationID); err != nil {
			return nil, err
		}
		if old == nil {
			if err := mustBeFree(ctx, tx.EVSEs(), map[string]string{"station_id": in.StationID, "evse_no": itoa(in.EVSENo)}, "evse_no"); err != nil {
				return nil, err
			}
		}
		v := newOrCopy(old, func() *asset.EVSE { return &asset.EVSE{ID: id, Status: asset.Active, CreatedAt: now} })
		v.EVSEFields, v.UpdatedAt = in, now
		return v, nil
	},
}

// Connectors is the connector resource.
var Connectors = &Resource[asset.Connector, asset.ConnectorFields]{
	Name: "connector", Prefix: "conn", WriteRole: account.RoleOperator,
	Repo:  func(tx store.Tx) store.Repo[asset.Connector] { return tx.Connectors() },
	Input: func(v *asset.Connector) asset.ConnectorFields { return v.ConnectorFields },
	Meta:  func(v *asset.Connector) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in asset.ConnectorFields, old *asset.Connector, id string, now time.Time) (*asset.Connector, error) {
		if old != nil && (in.EVSEID != old.EVSEID || in.ConnectorNo != old.ConnectorNo) {
			return nil, errs.Field("connector_no", "evse_id and connector_no of a connector cannot change")
		}
		if err := asset.CheckConnector(in); err != nil {
			return nil, err
		}
		e, err := mustExist(ctx, tx.EVSEs(), "evse_id", in.EVSEID)
		if err != nil {
			return nil, err
		}
		if old == nil {
			if err := mustBeFree(ctx, tx.Connectors(), map[string]string{"evse_id": in.EVSEID, "connector_no": itoa(in.ConnectorNo)}, "connector_no"); err != nil {
				return nil, err
			}
		}
		v := newOrCopy(old, func() *asset.Connector { return &asset.Connector{ID: id, Status: asset.Active, CreatedAt: now} })
		v.ConnectorFields, v.StationID, v.UpdatedAt = in, e.StationID, now
		return v, nil
	},
}

// Devices is the resource of site meters and active power filters.
var Devices = &Resource[asset.Device, asset.DeviceFields]{
	Name: "device", Prefix: "dev", WriteRole: account.RoleOperator,
	Repo:  func(tx store.Tx) store.Repo[asset.Device] { return tx.Devices() },
	Input: func(v *asset.Device) asset.DeviceFields { return v.DeviceFields },
	Meta:  func(v *asset.Device) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in asset.DeviceFields, old *asset.Device, id string, now time.Time) (*asset.Device, error) {
		if err := asset.CheckDevice(in); err != nil {
			return nil, err
		}
		if err := siteAndNode(ctx, tx, in.SiteID, in.NodeID); err != nil {
			return nil, err
		}
		v := newOrCopy(old, func() *asset.Device { return &asset.Device{ID: id, Status: asset.Active, CreatedAt: now} })
		v.DeviceFields, v.UpdatedAt = in, now
		return v, nil
	},
}

// Cabinets is the swap-cabinet resource.
var Cabinets = &Resource[asset.Cabinet, asset.CabinetFields]{
	Name: "cabinet", Prefix: "cab", WriteRole: account.RoleOperator,
	Repo:  func(tx store.Tx) store.Repo[asset.Cabinet] { return tx.Cabinets() },
	Input: func(v *asset.Cabinet) asset.CabinetFields { return v.CabinetFields },
	Meta:  func(v *asset.Cabinet) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in asset.CabinetFields, old *asset.Cabinet, id string, now time.Time) (*asset.Cabinet, error) {
		st, err := mustExist(ctx, tx.Stations(), "station_id", in.StationID)
		if err != nil {
			return nil, err
		}
		if st.Kind != asset.KindSwap {
			return nil, errs.Field("station_id", "station %s is not a swap station", st.ID)
		}
		if in.Slots < 1 || in.Slots > 200 {
			return nil, errs.Field("slots", "must be 1 to 200")
		}
		v := newOrCopy(old, func() *asset.Cabinet { return &asset.Cabinet{ID: id, Status: asset.Active, CreatedAt: now} })
		v.CabinetFields, v.UpdatedAt = in, now
		return v, nil
	},
}

// Batteries is the swap-battery resource.
var Batteries = &Resource[asset.Battery, asset.BatteryFields]{
	Name: "battery", Prefix: "bat", WriteRole: account.RoleOperator,
	Repo:  func(tx store.Tx) store.Repo[asset.Battery] { return tx.Batteries() },
	Input: func(v *asset.Battery) asset.BatteryFields { return v.BatteryFields },
	Meta:  func(v *asset.Battery) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in asset.BatteryFields, old *asset.Battery, id string, now time.Time) (*asset.Battery, error) {
		if in.State == "" {
			in.State = asset.BatteryCharging
		}
		if err := asset.CheckBattery(in); err != nil {
			return nil, err
		}
		if in.CabinetID != "" {
			c, err := mustExist(ctx, tx.Cabinets(), "cabinet_id", in.CabinetID)
			if err != nil {
				return nil, err
			}
			if in.SlotNo < 1 || in.SlotNo > c.Slots {
				return nil, errs.Field("slot_no", "cabinet %s has slots 1 to %d", c.ID, c.Slots)
			}
		}
		if in.VehicleID != "" {
			if _, err := mustExist(ctx, tx.Vehicles(), "vehicle_id", in.VehicleID); err != nil {
				return nil, err
			}
		}
		if old == nil {
			if err := mustBeFree(ctx, tx.Batteries(), map[string]string{"serial": in.Serial}, "serial"); err != nil {
				return nil, err
			}
		}
		v := newOrCopy(old, func() *asset.Battery { return &asset.Battery{ID: id, Status: asset.Active, CreatedAt: now} })
		v.BatteryFields, v.UpdatedAt = in, now
		return v, nil
	},
}

// siteAndNode checks that the site exists and that the node, when given, is one of its nodes.
func siteAndNode(ctx context.Context, tx store.Tx, siteID, nodeID string) error {
	if _, err := mustExist(ctx, tx.Sites(), "site_id", siteID); err != nil {
		return err
	}
	if nodeID == "" {
		return nil
	}
	n, err := mustExist(ctx, tx.Nodes(), "node_id", nodeID)
	if err != nil {
		return err
	}
	if n.SiteID != siteID {
		return errs.Field("node_id", "node %s belongs to another site", nodeID)
	}
	return nil
}
