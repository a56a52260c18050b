package csms201

import "testing"

func TestHeartbeat(t *testing.T) {
	_, c := dial(t)
	if res, code := c.Call("Heartbeat", obj{}); code != "" || res["currentTime"] == "" {
		t.Fatalf("heartbeat = %v %s", res, code)
	}
}
