package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// marks are the signs a report's lines start with.
var marks = map[Status]string{OK: "✔", Warn: "!", Fail: "✘", Skipped: "–"}

// WriteLine writes one result for people: its mark, its title and what was found, then on the
// next line what to do, when there is something to do.
func WriteLine(w io.Writer, r Result) error {
	line := fmt.Sprintf("%s %s: %s\n", marks[r.Status], r.Title, oneLine(r.Detail))
	if r.Fix != "" && r.Status != OK {
		line += fmt.Sprintf("  → %s\n", oneLine(r.Fix))
	}
	_, err := io.WriteString(w, line)
	return err
}

// WriteSummary writes the report's last line for people.
func (r Report) WriteSummary(w io.Writer) error {
	counts := map[Status]int{}
	for _, res := range r.Results {
		counts[res.Status]++
	}
	verdict := "nothing blocks onboarding"
	if r.Blocked() {
		verdict = "onboarding is blocked: fix the ✘ lines above"
	}
	_, err := fmt.Fprintf(w, "%d checks: %d ok, %d warnings, %d failed, %d skipped; %s\n",
		len(r.Results), counts[OK], counts[Warn], counts[Fail], counts[Skipped], verdict)
	return err
}

// WriteText writes every result, then the summary.
func (r Report) WriteText(w io.Writer) error {
	for _, res := range r.Results {
		if err := WriteLine(w, res); err != nil {
			return err
		}
	}
	return r.WriteSummary(w)
}

// jsonReport is the report as scripts read it.
type jsonReport struct {
	Blocked bool     `json:"blocked"`
	Checks  []Result `json:"checks"`
}

// WriteJSON writes the report as one JSON object: {"blocked": bool, "checks": [...]}, each
// check with its name, title, status, detail and fix.
func (r Report) WriteJSON(w io.Writer) error {
	checks := r.Results
	if checks == nil {
		checks = []Result{}
	}
	b, err := json.Marshal(jsonReport{Blocked: r.Blocked(), Checks: checks})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// oneLine keeps a report's line one line long, whatever a check's text holds.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
