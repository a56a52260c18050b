package ocppj

import "testing"

// FuzzDecodeVersion: per version, a frame is accepted only if Decode accepts it and its type
// exists in that version (no CALLRESULTERROR or SEND in 1.6 and 2.0.1), and every refusal can
// be answered or dropped without panicking.
func FuzzDecodeVersion(f *testing.F) {
	for _, s := range []string{
		`[2,"1","Heartbeat",{}]`, `[3,"1",{}]`, `[4,"1","GenericError","",{}]`,
		`[5,"1","GenericError","x",{}]`, `[6,"1","NotifyPeriodicEventStream",{}]`, `[7,"1"]`, `[2,"1"`, ``,
	} {
		for _, v := range Versions {
			f.Add([]byte(s), uint8(v))
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte, vb uint8) {
		v := Versions[int(vb)%len(Versions)]
		m, err := DecodeVersion(v, frame)
		_, plain := Decode(frame)
		if err != nil {
			ErrorReply(v, m, err)
			return
		}
		if plain != nil {
			t.Fatalf("%s accepted %q that Decode refuses: %v", v, frame, plain)
		}
		if !m.Type.SupportedBy(v) {
			t.Fatalf("%s accepted message type %d", v, m.Type)
		}
	})
}
