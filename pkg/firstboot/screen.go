package firstboot

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/oobtpm/oob/pkg/display"
	"github.com/oobtpm/oob/pkg/identity"
)

// Terminal is the console the agent may draw on.
type Terminal struct {
	Out io.Writer
	// Size reports the terminal's size; ok is false when it is unknown.
	Size func() (cols, rows int, ok bool)
}

// screens draws the first-boot screen to the configured outputs: the first of framebuffer and
// terminal that works, and the PNG file when listed.
type screens struct {
	cfg  DisplayConfig
	term *Terminal
	log  *slog.Logger
	base display.Screen
	// shown is the output that worked, once one did ("" before).
	shown string
	// inlineDrawn is set once an inline terminal has the code: later draws add a status line,
	// unless it says what the last one said (lastLine).
	inlineDrawn bool
	lastLine    string
}

// encodeIdentity is the payload of a TPM device's code, in the configured format.
func encodeIdentity(cfg DisplayConfig, id identity.Identity) (string, error) {
	format, err := identity.ParseFormat(cfg.PayloadFormat)
	if err != nil {
		return "", err
	}
	return identity.Encode(id, format)
}

// newScreens encodes the code once; every later draw only changes the status.
func newScreens(cfg DisplayConfig, term *Terminal, log *slog.Logger, payload, registrationID string) (*screens, error) {
	base, err := display.CodeScreen(cfg.Title, payload, registrationID)
	if err != nil {
		return nil, err
	}
	return &screens{cfg: cfg, term: term, log: log, base: base}, nil
}

// show draws the screen with a status line and extra lines: on the first of the framebuffer and
// terminal outputs that works, and to the PNG file when it is listed. It fails only when nothing
// could show it: a device with no screen at all cannot be enrolled by a technician.
func (s *screens) show(status string, lines ...string) error {
	scr := s.base
	scr.Status, scr.Lines = status, lines
	var errs []error
	drawn := false
	for _, out := range s.cfg.Outputs {
		if out == OutputPNG || drawn {
			continue
		}
		if err := s.draw(out, scr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", out, err))
			continue
		}
		drawn = true
		if s.shown != out {
			s.log.Info("first boot: screen shown", "output", out)
			s.shown = out
		}
	}
	if slices.Contains(s.cfg.Outputs, OutputPNG) {
		if err := display.Show(scr, display.Target{Output: display.OutputPNG, File: s.cfg.PNG}); err != nil {
			errs = append(errs, fmt.Errorf("png: %w", err))
		} else {
			drawn = true
		}
	}
	if !drawn {
		return fmt.Errorf("no output could show the code: %w", errors.Join(errs...))
	}
	for _, err := range errs {
		s.log.Debug("first boot: an output is unavailable", "err", err)
	}
	return nil
}

// draw draws on one screen output.
func (s *screens) draw(out string, scr display.Screen) error {
	switch out {
	case OutputFramebuffer:
		return display.Show(scr, display.Target{Output: display.OutputFramebuffer, Framebuffer: s.cfg.Framebuffer})
	case OutputTerminal:
		if s.term == nil || s.term.Out == nil {
			return errors.New("no terminal")
		}
		t := display.Target{Output: display.OutputTerminal, Out: s.term.Out}
		c, r, ok := s.term.Size()
		if ok {
			t.Size = display.TermSize{Cols: c, Rows: r}
		}
		if ok && s.cfg.Terminal == TerminalFullScreen {
			// A console given over to the agent: redraw in place.
			t.FullScreen = true
			return display.Show(scr, t)
		}
		line := strings.Join(append([]string{scr.Status}, scr.Lines...), ": ")
		if s.inlineDrawn {
			if line == s.lastLine {
				return nil
			}
			s.lastLine = line
			_, err := fmt.Fprintln(s.term.Out, line)
			return err
		}
		if err := display.Show(scr, t); err != nil {
			return err
		}
		s.inlineDrawn, s.lastLine = true, line
		return nil
	}
	return fmt.Errorf("unknown output %q", out)
}
