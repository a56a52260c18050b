package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestApplyEnv(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     []string
		wantErr string
		check   func(Config) bool
	}{
		{"env sets a flag", nil, []string{"EVCS_LISTEN=127.0.0.1:9"}, "", func(c Config) bool { return c.Listen == "127.0.0.1:9" }},
		{"flag wins over env", []string{"--listen=127.0.0.1:7"}, []string{"EVCS_LISTEN=127.0.0.1:9"}, "", func(c Config) bool { return c.Listen == "127.0.0.1:7" }},
		{"malformed bool", nil, []string{"EVCS_DEMO=maybe"}, "EVCS_DEMO", nil},
		{"malformed duration", nil, []string{"EVCS_CALL_TIMEOUT=soon"}, "EVCS_CALL_TIMEOUT", nil},
		{"unknown variable", nil, []string{"EVCS_LISTN=x"}, "unknown environment variable EVCS_LISTN", nil},
		{"test variables ignored", nil, []string{"EVCS_TEST_POSTGRES=x"}, "", func(c Config) bool { return c.DB == DefaultDB }},
		{"other variables ignored", nil, []string{"HOME=/root"}, "", func(c Config) bool { return true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			Bind(fs, &c)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := ApplyEnv(fs, tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("err=%v config=%+v", err, c)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	var c Config
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	Bind(fs, &c)
	if err := c.Check(); err != nil {
		t.Fatalf("defaults must pass: %v", err)
	}
	for _, mut := range []func(*Config){
		func(c *Config) { c.LogFormat = "xml" },
		func(c *Config) { c.LogLevel = "loud" },
		func(c *Config) { c.AdminToken = "short" },
		func(c *Config) { c.TLSCert = "a.pem" },
		func(c *Config) { c.ClientCA = "ca.pem" },
		func(c *Config) { c.Heartbeat = 0 },
		func(c *Config) { c.OCPPRate = "fast" },
		func(c *Config) { c.OCPPRate = "0/10" },
		func(c *Config) { c.AlarmHook = "ftp://x" },
	} {
		bad := c
		mut(&bad)
		if bad.Check() == nil {
			t.Errorf("%+v passed Check", bad)
		}
	}
}

func TestOCPPRateLimit(t *testing.T) {
	for in, want := range map[string][2]float64{"100/1000": {100, 1000}, "off": {-1, 0}, "2.5/10": {2.5, 10}} {
		c := Config{OCPPRate: in}
		r, b, err := c.OCPPRateLimit()
		if err != nil || r != want[0] || float64(b) != want[1] {
			t.Errorf("%q = %v/%d %v, want %v", in, r, b, err, want)
		}
	}
}
