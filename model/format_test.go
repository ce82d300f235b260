package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func encoded(t testing.TB, c *Classifier) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEncodeDecode_RoundTrip(t *testing.T) {
	for name, data := range map[string][]Example{"single": toy(), "multi": toyMulti()} {
		t.Run(name, func(t *testing.T) {
			c := mustTrain(t, nil, data)
			c.SetMetrics(map[string]float64{"accuracy": 0.75})
			raw := encoded(t, c)
			d, err := Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(d.Info()) != fmt.Sprint(c.Info()) {
				t.Errorf("Info after round trip:\n%+v\nwant\n%+v", d.Info(), c.Info())
			}
			for _, ex := range data {
				if a, b := c.Predict(ex.Text), d.Predict(ex.Text); fmt.Sprint(a) != fmt.Sprint(b) {
					t.Fatalf("Predict(%q): %+v after decode, %+v before", ex.Text, b, a)
				}
			}
			if again := encoded(t, d); !bytes.Equal(again, raw) {
				t.Error("re-encoding a decoded model changed the bytes")
			}
		})
	}
}

// rewrite replaces the header of a valid file by edit(header) and fixes the
// length field, keeping the payload.
func rewrite(t *testing.T, raw []byte, edit func(h map[string]any)) []byte {
	t.Helper()
	hl := binary.LittleEndian.Uint32(raw[12:])
	var h map[string]any
	if err := json.Unmarshal(raw[16:16+hl], &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, raw[:16]...)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(js)))
	out = append(out, js...)
	return append(out, raw[16+hl:]...)
}

func TestDecode_Errors(t *testing.T) {
	c := mustTrain(t, nil, toy())
	raw := encoded(t, c)
	hl := binary.LittleEndian.Uint32(raw[12:])
	payloadAt := 16 + int(hl)
	with := func(f func(b []byte)) []byte {
		b := bytes.Clone(raw)
		f(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"foreign", []byte("PK\x03\x04 this is a zip file, not a model"), ErrFormat},
		{"json", []byte(`{"labels":["a"]}`), ErrFormat},
		{"future version", with(func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 99) }), ErrFormat},
		{"huge header", with(func(b []byte) { binary.LittleEndian.PutUint32(b[12:], MaxHeaderBytes+1) }), ErrTooLarge},
		{"truncated preamble", raw[:12], ErrCorrupt},
		{"truncated header", raw[:16+hl/2], ErrCorrupt},
		{"truncated payload", raw[:len(raw)-1], ErrCorrupt},
		{"flipped payload byte", with(func(b []byte) { b[payloadAt+10] ^= 1 }), ErrCorrupt},
		{"flipped header byte", with(func(b []byte) { b[20] ^= 0x40 }), ErrCorrupt},
		{"vocab size mismatch", rewrite(t, raw, func(h map[string]any) { h["info"].(map[string]any)["vocab_size"] = 3 }), ErrCorrupt},
		{"payload size lie", rewrite(t, raw, func(h map[string]any) { h["payload_bytes"] = 1 << 40 }), ErrCorrupt},
		{"unsorted labels", rewrite(t, raw, func(h map[string]any) {
			h["info"].(map[string]any)["labels"] = []string{"sad", "happy", "hungry"}
		}), ErrCorrupt},
		{"bad checksum field", rewrite(t, raw, func(h map[string]any) { h["payload_sha256"] = "zz" }), ErrCorrupt},
		{"foreign layout", rewrite(t, raw, func(h map[string]any) { h["layout"] = "float16" }), ErrFormat},
		{"too many labels", rewrite(t, raw, func(h map[string]any) {
			ls := make([]string, MaxLabels+1)
			for i := range ls {
				ls[i] = fmt.Sprintf("l%06d", i)
			}
			h["info"].(map[string]any)["labels"] = ls
		}), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "model: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	t.Run("NaN weight", func(t *testing.T) {
		c := mustTrain(t, nil, toy())
		c.w[0] = float32(math.NaN())
		if _, err := Decode(bytes.NewReader(encoded(t, c))); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("every truncation", func(t *testing.T) {
		small := encoded(t, mustTrain(t, &TrainerOptions{NoCharNGrams: true}, toy()))
		for n := range len(small) {
			if _, err := Decode(bytes.NewReader(small[:n])); err == nil {
				t.Fatalf("Decode of %d/%d bytes succeeded", n, len(small))
			}
		}
	})
}

func TestPayloadSize(t *testing.T) {
	tests := []struct {
		v, k int
		want int64
		ok   bool
	}{
		{0, 0, 0, true},
		{10, 3, 4*30 + 8*13, true},
		{-1, 3, 0, false},
		{1 << 40, 1 << 40, 0, false},
		{math.MaxInt, 2, 0, false},
		{MaxVocab, MaxLabels, 0, false},
	}
	for _, tt := range tests {
		got, ok := payloadSize(tt.v, tt.k)
		if got != tt.want || ok != tt.ok {
			t.Errorf("payloadSize(%d, %d) = %d, %v; want %d, %v", tt.v, tt.k, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzDecode(f *testing.F) {
	c := mustTrain(f, &TrainerOptions{NoCharNGrams: true}, toy())
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		f.Fatal(err)
	}
	raw := buf.Bytes()
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add(raw[:40])
	f.Add([]byte(magic))
	f.Add([]byte{})
	f.Add([]byte("MOODMDL\x00\x01\x00\x00\x00\x02\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		// a file that decodes must serve and round-trip
		c.Predict("hungry and sad")
		var out bytes.Buffer
		if err := c.Encode(&out); err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(&out); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
