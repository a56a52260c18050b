package obs

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The process-wide collectors of the OCPP edge, the ledger and the store. They are created once
// and registered into every Metrics registry (NewMetrics): a collector may sit in several
// registries, so tests that start many Mains in one process each get a working /metrics. The
// figures are the process's (one Main in production).
//
// Label values are bounded: protocol is a subprotocol name, action is an action of the route
// table ("unknown" for anything else), result is "ok" or an OCPP error code.
var (
	// OCPPConnected is the number of stations connected, by subprotocol.
	OCPPConnected = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "evcs_ocpp_connected_stations", Help: "Stations connected, by OCPP subprotocol."},
		[]string{"protocol"})
	// OCPPMessages counts CALLs from stations by action and result ("ok" or the CALLERROR code).
	OCPPMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "evcs_ocpp_messages_total", Help: "CALLs received from stations, by protocol, action and result (ok or the CALLERROR code)."},
		[]string{"protocol", "action", "result"})
	// OCPPMessageDuration times the handling of a station's CALL (decode, use case, encode).
	OCPPMessageDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "evcs_ocpp_message_duration_seconds", Help: "Time to answer a station's CALL, by protocol and action.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)},
		[]string{"protocol", "action"})
	// OCPPFrameErrors counts frames refused before routing (bad JSON, bad frame shape, too many
	// CALLs: code "RateLimited").
	OCPPFrameErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "evcs_ocpp_frame_errors_total", Help: "Frames from stations refused before routing, by protocol and reason (an OCPP error code, or RateLimited)."},
		[]string{"protocol", "reason"})
	// OCPPCalls counts calls EVCS sent to stations by result: ok, call_error (the station
	// answered CALLERROR), timeout, closed, invalid (answer breaks the schema), error.
	OCPPCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "evcs_ocpp_calls_total", Help: "Calls sent to stations, by action and result (ok, call_error, timeout, closed, invalid, error)."},
		[]string{"action", "result"})
	// OCPPCallDuration times calls sent to stations until their answer (or failure).
	OCPPCallDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "evcs_ocpp_call_duration_seconds", Help: "Time for a station to answer a call EVCS sent, by action.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)},
		[]string{"action"})
	// LedgerPostings counts committed ledger transactions by kind (topup, hold, capture, …).
	LedgerPostings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "evcs_ledger_postings_total", Help: "Ledger transactions committed, by kind."},
		[]string{"kind"})
	// StoreTxDuration times store transactions (InTx: write, View: read), retries included.
	StoreTxDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "evcs_store_tx_duration_seconds", Help: "Store transaction latency, by kind (write, read) and result (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)},
		[]string{"kind", "result"})
	// BatchMessages is the size of the group commit's write transactions: how many station
	// messages (and other writes) each one committed. A batch that rolled back is not
	// counted; its messages, each retried in a transaction of its own, count 1 each.
	BatchMessages = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "evcs_batch_messages", Help: "Writes committed per group-commit transaction (a batch rolled back counts once per write retried alone).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	// BatchFallbacks counts batches rolled back because one of their writes failed; each
	// write then ran again alone, so that only the bad one failed.
	BatchFallbacks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "evcs_batch_fallbacks_total", Help: "Group-commit batches rolled back by one failing write and retried a write at a time."})
)

var shared = []prometheus.Collector{OCPPConnected, OCPPMessages, OCPPMessageDuration, OCPPFrameErrors, OCPPCalls, OCPPCallDuration, LedgerPostings, StoreTxDuration, BatchMessages, BatchFallbacks}
