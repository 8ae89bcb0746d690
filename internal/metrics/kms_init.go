package metrics

// errorClasses are every word ErrorClass returns.
var errorClasses = []string{"canceled", "deadline", "invalid_signature", "unavailable", "disabled", "permission", "unsupported", "closed", "key_not_found", "other"}

// InitBackends exports the key-backend series (errors by class, retries,
// verify-after-sign failures) at zero for each backend scheme, so that a
// scrape shows them from the first start: an alert on `increase(...)` or
// `rate(...)` sees nothing for a series that appears only at its first
// failure, which is exactly the one that matters.
func (m *Metrics) InitBackends(schemes ...string) {
	if m == nil {
		return
	}
	for _, s := range schemes {
		m.backendRetries.WithLabelValues(s)
		m.verifyFailures.WithLabelValues(s)
		for _, class := range errorClasses {
			m.backendErrors.WithLabelValues(s, class)
		}
	}
}
