package report

import (
	"bytes"
	"fmt"
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The report's charts, drawn by gonum/plot as SVG documents that need
// nothing outside themselves: no script, no font or image to load (text
// names a font family, which the page maps to the browser's sans-serif).
// Plotting stays here; pages (html.go) only place the results.

// rgb is an opaque colour.
func rgb(r, g, b uint8) color.RGBA { return color.RGBA{R: r, G: g, B: b, A: 0xff} }

// chartSize is the size of every chart.
const (
	chartWidth  = 18 * vg.Centimeter
	chartHeight = 8 * vg.Centimeter
)

// sans is the charts' font at a size.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newPlot is a plot with the charts' title, axis labels and fonts.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.Title.TextStyle.Font = sans(12)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(10)
		a.Tick.Label.Font = sans(9)
	}
	p.Legend.TextStyle.Font = sans(9)
	p.Legend.Top = true
	p.Y.Min = 0
	return p
}

// svgOf draws a plot as an SVG element (no XML prologue, so that it can
// stand inside an HTML page).
func svgOf(p *plot.Plot) ([]byte, error) {
	c := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: draw chart: %w", err)
	}
	out := b.Bytes()
	if i := bytes.Index(out, []byte("<svg")); i > 0 {
		out = out[i:]
	}
	return out, nil
}

// VolumeSVG is the chart of started, answered and missed chats per hour
// or day (Report.Volume).
func VolumeSVG(r *Report) ([]byte, error) {
	unit := "day"
	format := "Jan 2"
	if r.VolumeUnit == ByHour {
		unit, format = "hour", "Jan 2 15:04"
	}
	p := newPlot("Chats per "+unit, "", "chats")
	loc := r.Since.Location()
	p.X.Tick.Marker = plot.TimeTicks{Format: format, Time: func(v float64) time.Time { return time.Unix(int64(v), 0).In(loc) }}
	for _, s := range []struct {
		name  string
		color color.Color
		value func(Volume) int
	}{
		{"started", rgb(0x1f, 0x6f, 0xb4), func(v Volume) int { return v.Started }},
		{"answered", rgb(0x2c, 0x9a, 0x3c), func(v Volume) int { return v.Answered }},
		{"missed", rgb(0xc8, 0x32, 0x2d), func(v Volume) int { return v.Missed }},
	} {
		xys := make(plotter.XYs, len(r.Volume))
		for i, v := range r.Volume {
			xys[i] = plotter.XY{X: float64(v.Start.Unix()), Y: float64(s.value(v))}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("report: volume chart: %w", err)
		}
		line.Color, line.Width = s.color, vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(s.name, line)
	}
	if len(r.Volume) > 0 {
		p.X.Min, p.X.Max = float64(r.Volume[0].Start.Unix()), float64(r.Volume[len(r.Volume)-1].Start.Unix())
	}
	p.Add(plotter.NewGrid())
	return svgOf(p)
}

// HistogramSVG is the chart of a time's distribution
// (Report.AssignmentHistogram, Report.FirstResponseHistogram).
func HistogramSVG(title string, bins []Bin) ([]byte, error) {
	p := newPlot(title, "", "chats")
	values := make(plotter.Values, len(bins))
	names := make([]string, len(bins))
	for i, b := range bins {
		values[i], names[i] = float64(b.Count), b.Label
	}
	bars, err := plotter.NewBarChart(values, vg.Points(28))
	if err != nil {
		return nil, fmt.Errorf("report: histogram: %w", err)
	}
	bars.Color, bars.LineStyle.Width = rgb(0x1f, 0x6f, 0xb4), 0
	p.Add(bars)
	p.NominalX(names...)
	return svgOf(p)
}
