package procstat

import (
	"os"
	"runtime"
	"testing"
)

func TestPeakRSSAndCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("measured values are checked on Linux")
	}
	buf := make([]byte, 32<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if rss := PeakRSS(); rss < int64(len(buf)) {
		t.Fatalf("PeakRSS = %d after touching %d bytes", rss, len(buf))
	}
	runtime.KeepAlive(buf)
	if s := CPUSeconds(); s <= 0 {
		t.Fatalf("CPUSeconds = %v", s)
	}
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("Alive(own pid) = false")
	}
	if Alive(0) || Alive(-1) {
		t.Fatal("Alive(0 or -1) = true")
	}
}
