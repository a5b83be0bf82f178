package boxlabel

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"strconv"

	"codeberg.org/go-pdf/fpdf"
)

// Sheets a PDF can tile labels on.
const (
	// SheetNone gives one label per page, the page the label's size: for label printers.
	SheetNone = ""
	// SheetA4 tiles labels edge to edge on A4 pages, centred, for office printers and sheets
	// of sticky labels.
	SheetA4 = "a4"
)

// a4 is A4 in millimetres.
var a4 = Size{WidthMM: 210, HeightMM: 297}

// PDF collects labels into a PDF document. Each label is the image Image draws, placed at
// exactly the label's size, so a printer at m's resolution prints one image pixel per dot.
type PDF struct {
	m     Media
	sheet string
	doc   *fpdf.Fpdf
	n     int
	// cols and rows are the labels per sheet; x0 and y0 the first label's corner.
	cols, rows int
	x0, y0     float64
}

// NewPDF starts a document of labels for m, on sheet (SheetNone or SheetA4).
func NewPDF(m Media, sheet string) (*PDF, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	p := &PDF{m: m, sheet: sheet}
	page := m.Size
	switch sheet {
	case SheetNone:
		p.cols, p.rows = 1, 1
	case SheetA4:
		page = a4
		p.cols, p.rows = int(a4.WidthMM/m.Size.WidthMM), int(a4.HeightMM/m.Size.HeightMM)
		if p.cols == 0 || p.rows == 0 {
			return nil, fmt.Errorf("boxlabel: a %s label does not fit on an A4 sheet", m.Size)
		}
		p.x0 = (a4.WidthMM - float64(p.cols)*m.Size.WidthMM) / 2
		p.y0 = (a4.HeightMM - float64(p.rows)*m.Size.HeightMM) / 2
	default:
		return nil, fmt.Errorf("boxlabel: unknown sheet %q: use a4, or none for one label per page", sheet)
	}
	// "P" keeps the size as given; "L" would swap width and height.
	p.doc = fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm",
		Size: fpdf.SizeType{Wd: page.WidthMM, Ht: page.HeightMM}})
	p.doc.SetMargins(0, 0, 0)
	p.doc.SetAutoPageBreak(false, 0)
	p.doc.SetProducer("oob boxlabel", false)
	return p, nil
}

// Page is one label drawn for a PDF, ready to be added.
type Page struct {
	png  []byte
	w, h int
}

// Page draws l for this document. It does not touch the document, so labels can be drawn
// on several goroutines and added in order.
func (p *PDF) Page(l Label) (Page, error) {
	img, err := l.Image(p.m)
	if err != nil {
		return Page{}, err
	}
	// Gray, not RGBA: the label is black and white, and fpdf would otherwise split an alpha
	// channel off every image.
	gray := image.NewGray(img.Bounds())
	draw.Draw(gray, gray.Rect, img, img.Rect.Min, draw.Src)
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, gray); err != nil {
		return Page{}, fmt.Errorf("boxlabel: encode PNG: %w", err)
	}
	return Page{png: b.Bytes(), w: gray.Rect.Dx(), h: gray.Rect.Dy()}, nil
}

// Add draws l as the next label.
func (p *PDF) Add(l Label) error {
	pg, err := p.Page(l)
	if err != nil {
		return err
	}
	return p.AddPage(pg)
}

// AddPage adds a label drawn by Page as the next one: on a page of its own, or in the next
// slot of the sheet.
func (p *PDF) AddPage(pg Page) error {
	slot := p.n % (p.cols * p.rows)
	if slot == 0 {
		p.doc.AddPage()
	}
	name := "label" + strconv.Itoa(p.n)
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	p.doc.RegisterImageOptionsReader(name, opt, bytes.NewReader(pg.png))
	mm := 25.4 / float64(p.m.DPI)
	x := p.x0 + float64(slot%p.cols)*p.m.Size.WidthMM
	y := p.y0 + float64(slot/p.cols)*p.m.Size.HeightMM
	p.doc.ImageOptions(name, x, y, float64(pg.w)*mm, float64(pg.h)*mm, false, opt, 0, "")
	if err := p.doc.Error(); err != nil {
		return fmt.Errorf("boxlabel: PDF: %w", err)
	}
	p.n++
	return nil
}

// Pages is the number of pages so far.
func (p *PDF) Pages() int { return (p.n + p.cols*p.rows - 1) / (p.cols * p.rows) }

// Write writes the document.
func (p *PDF) Write(w io.Writer) error {
	if p.n == 0 {
		return fmt.Errorf("boxlabel: no labels to write")
	}
	if err := p.doc.Output(w); err != nil {
		return fmt.Errorf("boxlabel: PDF: %w", err)
	}
	return nil
}
