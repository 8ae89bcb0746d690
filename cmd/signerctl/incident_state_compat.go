package main

import "encoding/json"

// UnmarshalJSON reads a state file, including one written before
// signerctl's JSON named a certificate's serial cert_serial everywhere (as
// the ledger does): those say certificate_serial, and an incident begun
// with the older signerctl must resume with this one.
func (st *incidentState) UnmarshalJSON(b []byte) error {
	type fields incidentState // the fields, without this method
	var v struct {
		fields
		LegacyCertSerial string `json:"certificate_serial"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*st = incidentState(v.fields)
	if st.CertSerial == "" {
		st.CertSerial = v.LegacyCertSerial
	}
	return nil
}
