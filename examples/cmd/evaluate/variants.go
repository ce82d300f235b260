package main

import (
	"maps"
	"slices"

	"moodfood/model"
)

// variantPresets are the configurations -variants can name.
var variantPresets = map[string]model.Variant{
	"char2-5":   {Name: "char2-5", CharMin: 2, CharMax: 5},
	"word-only": {Name: "word-only", NoCharNGrams: true},
	"epochs8":   {Name: "epochs8", Epochs: 8},
	"l2-1e-6":   {Name: "l2-1e-6", L2: 1e-6},
	"margin4":   {Name: "margin4", Margin: 4},
}

func variantNames() []string { return slices.Sorted(maps.Keys(variantPresets)) }
