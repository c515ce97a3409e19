package main

// PROVISIONAL: the JSON shapes below are what this engine reads from
// manifest.json and catalog-<hash>.json until the builder's own types land
// in models/ (then decode with those and delete this file). Unknown fields
// are ignored, so the builder may write more.

import (
	"encoding/json"
	"fmt"
)

// manifest is the part of manifest.json the engine needs.
type manifest struct {
	Items int `json:"items"`
	Model struct {
		Pooling string `json:"pooling"`
	} `json:"model"`
	Embedding struct {
		Dim     int    `json:"dim"`
		Pooling string `json:"pooling"`
	} `json:"embedding"`
	// Sections: section name -> item count. Attributes: column -> value ->
	// item count (the filterable columns, e.g. baseColour).
	Sections   map[string]int            `json:"sections"`
	Attributes map[string]map[string]int `json:"attributes"`
}

// catalogue is catalog-<hash>.json: display data for item i of the index
// and vector files at Items[i].
type catalogue struct {
	Items  []catItem `json:"items"`
	Thumbs struct {
		// Sheets are sprite sheets of thumbnails, by index.
		Sheets []thumbSheet `json:"sheets"`
		// CellW, CellH: the size of one thumbnail in a sheet.
		CellW int `json:"cellW"`
		CellH int `json:"cellH"`
	} `json:"thumbs"`
}

type catItem struct {
	ID       string            `json:"id"`
	Title    string            `json:"title,omitempty"`
	URL      string            `json:"url,omitempty"`
	Price    json.RawMessage   `json:"price,omitempty"` // number or string
	Currency string            `json:"currency,omitempty"`
	Section  string            `json:"section,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	Thumb    *thumbRef         `json:"thumb,omitempty"`
}

// thumbRef places an item's thumbnail in sheet Sheet at (X, Y); W and H
// default to the catalogue's cell size.
type thumbRef struct {
	Sheet int `json:"sheet"`
	X     int `json:"x"`
	Y     int `json:"y"`
	W     int `json:"w,omitempty"`
	H     int `json:"h,omitempty"`
}

type thumbSheet struct {
	File string `json:"file"`
	W    int    `json:"w"`
	H    int    `json:"h"`
}

func parseManifest(b []byte) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("engine: manifest.json: %w", err)
	}
	if m.Items < 0 {
		return nil, fmt.Errorf("engine: manifest.json: negative item count %d", m.Items)
	}
	return &m, nil
}

func parseCatalogue(b []byte) (*catalogue, error) {
	var c catalogue
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("engine: catalogue: %w", err)
	}
	for i, it := range c.Items {
		if it.ID == "" {
			return nil, fmt.Errorf("engine: catalogue: item %d has no id", i)
		}
		if t := it.Thumb; t != nil && (t.Sheet < 0 || t.Sheet >= len(c.Thumbs.Sheets)) {
			return nil, fmt.Errorf("engine: catalogue: item %s names thumbnail sheet %d of %d", it.ID, t.Sheet, len(c.Thumbs.Sheets))
		}
	}
	return &c, nil
}
