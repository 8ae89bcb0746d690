package ledger

import "iter"

// auditRow is a signatures row with its canonical leaf payload, encoded by
// the goroutine that reads the rows, so that the encoding (the bulk of
// matching a row to its leaf) runs beside the tree checks rather than
// after them.
type auditRow struct {
	e   Entry
	enc []byte // appendSignature of e
}

// encodeRows pairs each row with its encoding, up to the first error. The encodings of many rows
// share one slab: one allocation per slab rather than one per row, which
// the garbage collector would otherwise scan and sweep a million times.
func encodeRows(rows iter.Seq2[Entry, error]) iter.Seq2[auditRow, error] {
	const slabSize = 256 << 10
	return func(yield func(auditRow, error) bool) {
		var slab []byte
		for e, err := range rows {
			if err != nil {
				// The audit reads no row past an error: neither does this.
				yield(auditRow{}, err)
				return
			}
			if need := encodedBound(e); cap(slab)-len(slab) < need {
				slab = make([]byte, 0, max(slabSize, need))
			}
			start := len(slab)
			slab = appendSignature(slab, e)
			if !yield(auditRow{e: e, enc: slab[start:len(slab):len(slab)]}, nil) {
				return
			}
		}
	}
}

// appendSignature appends EncodeSignature(e) to b.
func appendSignature(b []byte, e Entry) []byte {
	return appendSignaturePayload(b, e.normalize())
}

// encodedBound bounds len(appendSignature(nil, e)): hex doubles bytes, JSON
// escaping at most sextuples a string byte (\u00XX), and the keys, numbers
// and time take less than 512 bytes. Over it, the encoding is still right,
// only copied once more.
func encodedBound(e Entry) int {
	bytes := len(e.SHA256) + len(e.SHA512) + len(e.Signature) + len(e.Statement)
	strs := len(e.AppKey) + len(e.Version) + len(e.Track) + len(e.Profile) + len(e.KeyID) +
		len(e.CertSerial) + len(e.Caller) + len(e.ReviewRef) + len(e.IdempotencyKey)
	return 512 + 2*bytes + 6*strs
}
