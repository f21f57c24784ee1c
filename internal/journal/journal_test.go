package journal_test

import (
	"encoding/json"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

// Journals written before bytes_stream was named keep their sizes.
func TestTransferReadsTheOldBytesRaw(t *testing.T) {
	var tr journal.Transfer
	if err := json.Unmarshal([]byte(`{"step":"snap","kind":"snapshot","files":3,"bytes_raw":30720,"seconds":2}`), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.BytesStream != 30720 || tr.Files != 3 || tr.Step != "snap" {
		t.Fatalf("read %+v", tr)
	}
	if err := json.Unmarshal([]byte(`{"bytes_stream":5,"bytes_raw":7}`), &tr); err != nil || tr.BytesStream != 5 {
		t.Fatalf("read %+v, %v; bytes_stream wins", tr, err)
	}
}
