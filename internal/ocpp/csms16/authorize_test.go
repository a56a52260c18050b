package csms16

import (
	"testing"

	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
)

func TestAuthorize(t *testing.T) {
	_, c := dial(t)
	for tag, want := range map[string]string{csmstest.TagOK: "Accepted", csmstest.TagBlocked: "Blocked", "NOBODY": "Invalid"} {
		res, code := c.Call("Authorize", obj{"idTag": tag})
		if code != "" || res["idTagInfo"].(map[string]any)["status"] != want {
			t.Errorf("%s: %v %s, want %s", tag, res, code, want)
		}
	}
}
