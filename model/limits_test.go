package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
)

// craft re-encodes a valid model file after edit changed its header and
// payload, with a correct length and payload checksum: what an attacker who
// can write a model file produces.
func craft(t *testing.T, raw []byte, edit func(h map[string]any, idf []float64, w []float32, bias []float64)) []byte {
	t.Helper()
	hl := binary.LittleEndian.Uint32(raw[12:])
	var h map[string]any
	if err := json.Unmarshal(raw[16:16+hl], &h); err != nil {
		t.Fatal(err)
	}
	V := len(h["vocabulary"].([]any))
	K := len(h["info"].(map[string]any)["labels"].([]any))
	p := raw[16+hl:]
	idf, w, bias := make([]float64, V), make([]float32, V*K), make([]float64, K)
	for i := range idf {
		idf[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[8*i:]))
	}
	p = p[8*V:]
	for i := range w {
		w[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	p = p[4*V*K:]
	for i := range bias {
		bias[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[8*i:]))
	}
	edit(h, idf, w, bias)
	var pl []byte
	for _, x := range idf {
		pl = binary.LittleEndian.AppendUint64(pl, math.Float64bits(x))
	}
	for _, x := range w {
		pl = binary.LittleEndian.AppendUint32(pl, math.Float32bits(x))
	}
	for _, x := range bias {
		pl = binary.LittleEndian.AppendUint64(pl, math.Float64bits(x))
	}
	sum := sha256.Sum256(pl)
	h["payload_sha256"] = hex.EncodeToString(sum[:])
	h["payload_bytes"] = len(pl)
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), raw[:12]...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(js)))
	out = append(out, js...)
	return append(out, pl...)
}

func setConfig(key string, v any) func(h map[string]any, _ []float64, _ []float32, _ []float64) {
	return func(h map[string]any, _ []float64, _ []float32, _ []float64) {
		h["info"].(map[string]any)["config"].(map[string]any)[key] = v
	}
}

// TestDecode_RefusesCraftedFiles: files with a valid checksum but absurd
// numbers or configurations are refused by Decode, before a prediction can
// return NaN or take far longer than a trained model's.
func TestDecode_RefusesCraftedFiles(t *testing.T) {
	raw := encoded(t, mustTrain(t, nil, toy()))
	if _, err := Decode(bytes.NewReader(craft(t, raw, func(map[string]any, []float64, []float32, []float64) {}))); err != nil {
		t.Fatalf("an unchanged re-crafted file must decode: %v", err)
	}
	cases := map[string]func(h map[string]any, idf []float64, w []float32, bias []float64){
		"huge weight":      func(_ map[string]any, _ []float64, w []float32, _ []float64) { w[0] = 1e38 },
		"huge weights all": func(_ map[string]any, _ []float64, w []float32, _ []float64) { fill(w, 3e38) },
		"huge idf":         func(_ map[string]any, idf []float64, _ []float32, _ []float64) { idf[0] = 1e300 },
		"negative idf":     func(_ map[string]any, idf []float64, _ []float32, _ []float64) { idf[0] = -1 },
		"huge bias":        func(_ map[string]any, _ []float64, _ []float32, b []float64) { b[0] = -1e300 },
		"char 1-64": func(h map[string]any, _ []float64, _ []float32, _ []float64) {
			setConfig("char_min", 1)(h, nil, nil, nil)
			setConfig("char_max", 64)(h, nil, nil, nil)
		},
		"char 0-4":      setConfig("char_min", 0),
		"word 16-grams": setConfig("word_ngrams", 16),
	}
	accepted := 0
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := Decode(bytes.NewReader(craft(t, raw, edit)))
			if err == nil {
				accepted++
				t.Fatalf("accepted; a prediction gives %+v", c.Predict("hungry and sad"))
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
	}
	// A header length beyond MaxHeaderBytes is refused from the preamble,
	// before anything is read or allocated (it used to be 64 MiB, which
	// cost ~8× that in RSS to parse and reject).
	pre := append([]byte(magic), 1, 0, 0, 0)
	pre = binary.LittleEndian.AppendUint32(pre, 60<<20)
	_, err := Decode(bytes.NewReader(pre))
	tried := len(cases) + 1
	if !errors.Is(err, ErrTooLarge) {
		accepted++
		t.Errorf("a 60 MB header: %v, want ErrTooLarge", err)
	}
	t.Logf(`REL {"test": "crafted_model_files", "runs": %d, "bad": %d, "tried": %d, "accepted": %d}`, tried, accepted, tried, accepted)
}

func fill(w []float32, v float32) {
	for i := range w {
		w[i] = v
	}
}

// TestTrainerOptions_ClampNGrams: the trainer never writes a model Decode
// refuses.
func TestTrainerOptions_ClampNGrams(t *testing.T) {
	c := mustTrain(t, &TrainerOptions{WordNGrams: 16, CharMin: 1, CharMax: 64}, toy())
	d, err := Decode(bytes.NewReader(encoded(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	if cf := d.Info().Config; cf.WordNGrams != MaxWordNGrams || cf.CharMax != MaxCharNGram || cf.CharMin != 1 {
		t.Errorf("config %s, want word %d, char 1-%d", fmt.Sprint(cf), MaxWordNGrams, MaxCharNGram)
	}
}
