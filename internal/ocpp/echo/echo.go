// Package echo is the reference OCPP server for speed figures: it accepts stations on
// /ocpp/{id} like EVCS, decodes every frame, and answers each CALL at once with a canned,
// schema-valid reply, storing nothing. What `evcs sim --load` reaches against it is the ceiling
// of the machine and the load generator; EVCS's figures are reported as a ratio to it.
package echo

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// Server is the echo server.
type Server struct {
	txNo atomic.Int64
}

// ServeHTTP accepts a station and answers its CALLs until it goes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var v ocppj.Version
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if pv, ok := ocppj.ParseSubprotocol(strings.TrimSpace(p)); ok && pv > v {
				v = pv
			}
		}
	}
	if !v.Valid() {
		http.Error(w, "no OCPP subprotocol offered", http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{v.Subprotocol()}, InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := r.Context()
	for {
		_, frame, err := ws.Read(ctx)
		if err != nil {
			return
		}
		m, perr := ocppj.DecodeVersion(v, frame)
		if perr != nil || m.Type != ocppj.TypeCall {
			continue
		}
		if err := ws.Write(ctx, websocket.MessageText, ocppj.AppendResult(nil, m.ID, s.reply(v, m.Action))); err != nil {
			return
		}
	}
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// reply is a canned answer that is valid for the action in its version.
func (s *Server) reply(v ocppj.Version, action string) []byte {
	switch action {
	case "BootNotification":
		return []byte(`{"status":"Accepted","currentTime":"` + now() + `","interval":300}`)
	case "Heartbeat":
		return []byte(`{"currentTime":"` + now() + `"}`)
	case "Authorize":
		if v == ocppj.V16 {
			return []byte(`{"idTagInfo":{"status":"Accepted"}}`)
		}
		return []byte(`{"idTokenInfo":{"status":"Accepted"}}`)
	case "StartTransaction":
		return []byte(`{"idTagInfo":{"status":"Accepted"},"transactionId":` + strconv.FormatInt(s.txNo.Add(1), 10) + `}`)
	case "TransactionEvent":
		return []byte(`{"idTokenInfo":{"status":"Accepted"}}`)
	case "DataTransfer":
		return []byte(`{"status":"Accepted"}`)
	}
	return []byte(`{}`) // StatusNotification, MeterValues, StopTransaction, notifications
}

// ListenAndServe runs the echo server on addr until ctx ends.
func ListenAndServe(ctx context.Context, addr string) error {
	mux := http.NewServeMux()
	mux.Handle("/ocpp/", &Server{})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}
