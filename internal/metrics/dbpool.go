package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// DBPool exports the state of the ledger's connection pool, read from stat
// at every scrape: signer_db_pool_connections by state (acquired, idle,
// constructing), signer_db_pool_max_connections, and the counters of new
// connections and of connections destroyed (broken, lifetime, idle),
// which jump after a database failover. A nil Metrics does nothing.
func (m *Metrics) DBPool(stat func() *pgxpool.Stat) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&poolCollector{stat: stat})
}

var (
	poolConns = prometheus.NewDesc(namespace+"_db_pool_connections",
		"Ledger database connections in the pool, by state (acquired, idle, constructing).", []string{"state"}, nil)
	poolMax = prometheus.NewDesc(namespace+"_db_pool_max_connections",
		"The pool's maximum size (pool_max_conns).", nil, nil)
	poolNew = prometheus.NewDesc(namespace+"_db_pool_connects_total",
		"Connections the pool opened since start.", nil, nil)
	poolDestroyed = prometheus.NewDesc(namespace+"_db_pool_destroyed_total",
		"Connections the pool closed since start, by reason (lifetime, idle; broken connections show as connects beyond the pool size).", []string{"reason"}, nil)
	poolEmptyAcquire = prometheus.NewDesc(namespace+"_db_pool_empty_acquire_total",
		"Acquires that had to wait for a connection: the pool is too small for the load.", nil, nil)
)

type poolCollector struct{ stat func() *pgxpool.Stat }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolNew, poolDestroyed, poolEmptyAcquire} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolNew, prometheus.CounterValue, float64(s.NewConnsCount()))
	ch <- prometheus.MustNewConstMetric(poolDestroyed, prometheus.CounterValue, float64(s.MaxLifetimeDestroyCount()), "lifetime")
	ch <- prometheus.MustNewConstMetric(poolDestroyed, prometheus.CounterValue, float64(s.MaxIdleDestroyCount()), "idle")
	ch <- prometheus.MustNewConstMetric(poolEmptyAcquire, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
}
