package asset

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
)

// CheckSite validates a site's fields.
func CheckSite(f SiteFields) error {
	if strings.TrimSpace(f.Name) == "" {
		return errs.Field("name", "is required")
	}
	if f.TimeZone == "" {
		return errs.Field("time_zone", "is required (IANA name, e.g. Europe/Amsterdam)")
	}
	if _, err := time.LoadLocation(f.TimeZone); err != nil || f.TimeZone == "Local" {
		return errs.Field("time_zone", "%q is not an IANA time zone", f.TimeZone)
	}
	if f.GridLimitKW != nil && *f.GridLimitKW <= 0 {
		return errs.Field("grid_limit_kw", "must be positive")
	}
	if f.Address != nil && f.Address.Country != "" && (len(f.Address.Country) != 2 || strings.ToUpper(f.Address.Country) != f.Address.Country) {
		return errs.Field("address.country", "must be an ISO 3166-1 alpha-2 code such as NL")
	}
	return nil
}

// CheckNode validates a node against the other nodes of its site: the parent exists in the same
// site, the tree stays a tree (no cycle, one root per site), and no limit exceeds its parent's.
func CheckNode(n Node, siteNodes []Node) error {
	switch n.Kind {
	case NodeGrid, NodeTransformer, NodeFeeder:
	default:
		return errs.Field("kind", "must be grid, transformer or feeder")
	}
	if strings.TrimSpace(n.Name) == "" {
		return errs.Field("name", "is required")
	}
	for _, l := range []struct {
		f string
		v *int64
	}{{"limit_kw", kwp(n.LimitKW)}, {"limit_kva", kwp(n.LimitKVA)}, {"phase_limit_a", n.PhaseLimitA}} {
		if l.v != nil && *l.v <= 0 {
			return errs.Field(l.f, "must be positive")
		}
	}
	byID := map[string]Node{}
	for _, o := range siteNodes {
		byID[o.ID] = o
	}
	byID[n.ID] = n
	if n.ParentID == "" {
		if n.Kind != NodeGrid {
			return errs.Field("parent_id", "only the grid connection may be a root; a %s needs a parent", n.Kind)
		}
		for _, o := range siteNodes {
			if o.ID != n.ID && o.ParentID == "" && o.Status == Active {
				return errs.Field("parent_id", "site already has a grid connection (%s)", o.ID)
			}
		}
		return nil
	}
	p, ok := byID[n.ParentID]
	if !ok {
		return errs.Field("parent_id", "%q is not a node of this site", n.ParentID)
	}
	// Walk up from the parent: meeting n again is a cycle.
	seen := map[string]bool{n.ID: true}
	for cur := p; ; {
		if seen[cur.ID] {
			return errs.Field("parent_id", "would make a cycle in the distribution tree")
		}
		seen[cur.ID] = true
		if cur.ParentID == "" {
			break
		}
		next, ok := byID[cur.ParentID]
		if !ok {
			break
		}
		cur = next
	}
	if err := limitBelow("limit_kw", kwp(n.LimitKW), kwp(p.LimitKW)); err != nil {
		return err
	}
	if err := limitBelow("limit_kva", kwp(n.LimitKVA), kwp(p.LimitKVA)); err != nil {
		return err
	}
	if err := limitBelow("phase_limit_a", n.PhaseLimitA, p.PhaseLimitA); err != nil {
		return err
	}
	// Children already below n must stay within its new limits.
	for _, c := range siteNodes {
		if c.ParentID == n.ID && c.ID != n.ID {
			if err := limitBelow("limit_kw", kwp(c.LimitKW), kwp(n.LimitKW)); err != nil {
				return errs.Field("limit_kw", "child node %s has a higher limit", c.ID)
			}
		}
	}
	return nil
}

func kwp(k *energy.KW) *int64 {
	if k == nil {
		return nil
	}
	v := int64(*k)
	return &v
}

func limitBelow(field string, child, parent *int64) error {
	if child != nil && parent != nil && *child > *parent {
		return errs.Field(field, "%d is above the parent node's limit %d", *child, *parent)
	}
	return nil
}

// CheckStationID validates an OCPP identity: 1-48 printable characters (OCPP 2.x identifierString
// plus what real chargers use), no '/' since it is the last path segment of the URL.
func CheckStationID(id string) error {
	if id == "" {
		return errs.Field("id", "is required (the station's OCPP identity)")
	}
	if len(id) > 48 {
		return errs.Field("id", "must be at most 48 characters")
	}
	for _, r := range id {
		if r == '/' || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return errs.Field("id", "must not contain '/', spaces or control characters")
		}
	}
	return nil
}

// CheckStation validates a station's fields.
func CheckStation(f StationFields) error {
	switch f.Kind {
	case KindAC, KindDC, KindSwap:
	default:
		return errs.Field("kind", "must be ac, dc or swap")
	}
	return nil
}

// CheckConnector validates a connector's fields.
func CheckConnector(f ConnectorFields) error {
	if f.ConnectorNo < 1 {
		return errs.Field("connector_no", "must be 1 or more")
	}
	if !slices.Contains(ConnectorTypes, f.Type) {
		return errs.Field("type", "must be one of %s", strings.Join(ConnectorTypes, ", "))
	}
	if f.MaxPowerKW != nil && *f.MaxPowerKW <= 0 {
		return errs.Field("max_power_kw", "must be positive")
	}
	if f.VoltageV < 0 || f.VoltageV > 1500 {
		return errs.Field("voltage_v", "must be 0 to 1500")
	}
	if f.Phases < 0 || f.Phases > 3 {
		return errs.Field("phases", "must be 0 to 3")
	}
	return nil
}

// CheckDevice validates a meter or filter.
func CheckDevice(f DeviceFields) error {
	if f.Kind != DeviceMeter && f.Kind != DeviceFilter {
		return errs.Field("kind", "must be meter or active_filter")
	}
	if strings.TrimSpace(f.Name) == "" {
		return errs.Field("name", "is required")
	}
	if f.ModbusAddr != "" {
		host, port, err := net.SplitHostPort(f.ModbusAddr)
		if err != nil || host == "" {
			return errs.Field("modbus_address", "must be host:port")
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return errs.Field("modbus_address", "port must be 1 to 65535")
		}
	}
	if f.ModbusUnit < 0 || f.ModbusUnit > 255 {
		return errs.Field("modbus_unit", "must be 0 to 255")
	}
	return nil
}

var batteryStates = []string{BatteryCharging, BatteryReady, BatteryReserved, BatteryInVehicle, BatteryFaulty, BatteryMaintenance}

// CheckBattery validates a swap battery's fields.
func CheckBattery(f BatteryFields) error {
	switch {
	case strings.TrimSpace(f.Serial) == "":
		return errs.Field("serial", "is required")
	case strings.TrimSpace(f.BatteryType) == "":
		return errs.Field("battery_type", "is required")
	case f.CapacityWh <= 0:
		return errs.Field("capacity_wh", "must be positive")
	case f.SoHPct < 0 || f.SoHPct > 100:
		return errs.Field("soh_pct", "must be 0 to 100")
	case f.SoCPct < 0 || f.SoCPct > 100:
		return errs.Field("soc_pct", "must be 0 to 100")
	case f.Cycles < 0:
		return errs.Field("cycles", "must not be negative")
	case !slices.Contains(batteryStates, f.State):
		return errs.Field("state", "must be one of %s", strings.Join(batteryStates, ", "))
	case f.CabinetID != "" && f.VehicleID != "":
		return errs.Field("vehicle_id", "a battery is in a cabinet or in a vehicle, not both")
	}
	return nil
}
