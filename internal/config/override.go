package config

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

// Environment variables that override the file (and are overridden by
// flags): the values operators change per environment.
const (
	EnvListen        = "SIGNER_LISTEN"
	EnvMetricsListen = "SIGNER_METRICS_LISTEN"
	EnvDBMaxConns    = "SIGNER_DB_MAX_CONNS"
	EnvLogLevel      = "SIGNER_LOG_LEVEL"
)

// Overrides are values given outside the file. Empty (zero) fields
// override nothing.
type Overrides struct {
	Listen        string
	MetricsListen string
	DBMaxConns    int
	LogLevel      string
}

// LoadWithOverrides reads the file at path like Load, then applies, field by
// field, the environment (getenv, usually os.Getenv) and then flags, so
// that the precedence is flag > environment > file > default. Defaults and
// validation see the result, so an override is checked like the file.
func LoadWithOverrides(path string, getenv func(string) string, flags Overrides) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := decode(io.LimitReader(f, maxConfigSize))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	env, err := envOverrides(getenv)
	if err != nil {
		return nil, err
	}
	c.apply(env)
	c.apply(flags)
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s (with environment and flag overrides): %w", path, err)
	}
	return c, nil
}

// envOverrides reads the SIGNER_* variables; a malformed one is an error
// naming it.
func envOverrides(getenv func(string) string) (Overrides, error) {
	o := Overrides{
		Listen:        getenv(EnvListen),
		MetricsListen: getenv(EnvMetricsListen),
		LogLevel:      getenv(EnvLogLevel),
	}
	if v := getenv(EnvDBMaxConns); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("config: %s=%q: want a positive number of connections", EnvDBMaxConns, v)
		}
		o.DBMaxConns = n
	}
	return o, nil
}

func (c *Config) apply(o Overrides) {
	if o.Listen != "" {
		c.Listen = o.Listen
	}
	if o.MetricsListen != "" {
		c.Metrics.Listen = o.MetricsListen
	}
	if o.DBMaxConns != 0 {
		c.Database.MaxConns = o.DBMaxConns
	}
	if o.LogLevel != "" {
		c.Log.Level = o.LogLevel
	}
}
