package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// pair is a Keras 2-D size: written either as one number or as [a, b].
type pair [2]int

func (p *pair) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = pair{n, n}
		return nil
	}
	var l []int
	if err := json.Unmarshal(b, &l); err != nil || len(l) != 2 {
		return fmt.Errorf("want a number or [a, b], got %s", bytes.TrimSpace(b))
	}
	*p = pair{l[0], l[1]}
	return nil
}

// padding2D is ZeroPadding2D's padding: n, [h, w] or [[top, bottom], [left, right]].
type padding2D struct{ top, bottom, left, right int }

func (p *padding2D) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = padding2D{n, n, n, n}
		return nil
	}
	var hw []int
	if err := json.Unmarshal(b, &hw); err == nil && len(hw) == 2 {
		*p = padding2D{hw[0], hw[0], hw[1], hw[1]}
		return nil
	}
	var tblr [][]int
	if err := json.Unmarshal(b, &tblr); err == nil && len(tblr) == 2 && len(tblr[0]) == 2 && len(tblr[1]) == 2 {
		*p = padding2D{tblr[0][0], tblr[0][1], tblr[1][0], tblr[1][1]}
		return nil
	}
	return fmt.Errorf("want n, [h, w] or [[top, bottom], [left, right]], got %s", bytes.TrimSpace(b))
}

// axis is BatchNormalization's axis: a number or a one-element list.
type axis int

func (a *axis) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*a = axis(n)
		return nil
	}
	var l []int
	if err := json.Unmarshal(b, &l); err != nil || len(l) != 1 {
		return fmt.Errorf("want one axis, got %s", bytes.TrimSpace(b))
	}
	*a = axis(l[0])
	return nil
}

type inputConfig struct {
	BatchInputShape []*int `json:"batch_input_shape"`
	Dtype           string `json:"dtype"`
}

type zeroPaddingConfig struct {
	Padding    padding2D `json:"padding"`
	DataFormat string    `json:"data_format"`
}

type conv2DConfig struct {
	Filters      int    `json:"filters"`
	KernelSize   pair   `json:"kernel_size"`
	Strides      *pair  `json:"strides"`
	Padding      string `json:"padding"`
	DataFormat   string `json:"data_format"`
	DilationRate *pair  `json:"dilation_rate"`
	Groups       int    `json:"groups"`
	Activation   string `json:"activation"`
	UseBias      *bool  `json:"use_bias"`
}

type batchNormConfig struct {
	Axis    *axis    `json:"axis"`
	Epsilon *float64 `json:"epsilon"`
	Center  *bool    `json:"center"`
	Scale   *bool    `json:"scale"`
}

type activationConfig struct {
	Activation string `json:"activation"`
}

type pool2DConfig struct {
	PoolSize   pair   `json:"pool_size"`
	Strides    *pair  `json:"strides"`
	Padding    string `json:"padding"`
	DataFormat string `json:"data_format"`
}

type globalPoolConfig struct {
	DataFormat string `json:"data_format"`
	KeepDims   bool   `json:"keepdims"`
}

type denseConfig struct {
	Units      int    `json:"units"`
	Activation string `json:"activation"`
	UseBias    *bool  `json:"use_bias"`
}

func orTrue(b *bool) bool { return b == nil || *b }

func channelsLast(f string) bool { return f == "" || f == "channels_last" }
