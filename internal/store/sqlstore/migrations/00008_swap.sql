-- +goose Up
-- Battery swap orders: one per swap of one vehicle at one station. request_id is the OCPP
-- requestId (RequestBatterySwap / BatterySwap); a station may reuse it over time, so it is
-- indexed, not unique.
CREATE TABLE swap_orders (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    station_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    vehicle_id TEXT NOT NULL DEFAULT '',
    battery_type TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE INDEX swap_orders_request ON swap_orders(station_id, request_id);
CREATE INDEX swap_orders_account ON swap_orders(account_id);
CREATE INDEX swap_orders_type ON swap_orders(battery_type, status);

-- Battery history: every swap in and out, every state-of-health reading, every change of
-- rotation. Ids are time-ordered, so a battery's history reads in id order.
CREATE TABLE battery_events (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    battery_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    order_id TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE INDEX battery_events_battery ON battery_events(battery_id, id);

-- +goose Down
DROP TABLE battery_events;
DROP TABLE swap_orders;
