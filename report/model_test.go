package report

import (
	"encoding/json"
	"testing"
)

// The embedded Traffic keeps the JSON docs/report.md documents: its fields
// stand beside the port's and the node's own, in that order.
func TestInfiniBandJSON(t *testing.T) {
	ib := InfiniBand{Traffic: Traffic{ReceivedBytes: 1, TransmittedBytes: 2, ReceivedPackets: 3, TransmittedPackets: 4},
		Ports: []IBPort{{Device: "mlx5_0", Port: "1", Attribution: "exclusive",
			Traffic: Traffic{ReceivedBytes: 1, TransmittedBytes: 2, ReceivedPackets: 3, TransmittedPackets: 4}}}}
	got, err := json.Marshal(ib)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"received_bytes":1,"transmitted_bytes":2,"received_packets":3,"transmitted_packets":4,` +
		`"ports":[{"device":"mlx5_0","port":"1","attribution":"exclusive",` +
		`"received_bytes":1,"transmitted_bytes":2,"received_packets":3,"transmitted_packets":4}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
