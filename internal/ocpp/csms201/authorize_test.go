package csms201

import (
	"testing"

	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
)

func TestAuthorize(t *testing.T) {
	_, c := dial(t)
	for tag, want := range map[string]string{csmstest.TagOK: "Accepted", csmstest.TagBlocked: "Blocked", "NOBODY": "Unknown"} {
		res, code := c.Call("Authorize", obj{"idToken": obj{"idToken": tag, "type": "ISO14443"}})
		if code != "" || res["idTokenInfo"].(map[string]any)["status"] != want {
			t.Errorf("%s: %v %s, want %s", tag, res, code, want)
		}
	}
}
