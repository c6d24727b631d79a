package main

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// csvHeader names the columns of verify --csv.
var csvHeader = []string{"path", "verdict", "ai_generated", "digital_source_type", "model", "signer", "trusted", "failure_codes", "summary"}

// csvWriter prints a header, then one row per file.
type csvWriter struct {
	w      *csv.Writer
	header bool
}

func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{w: csv.NewWriter(w)} }

func (c *csvWriter) write(r *verifyResult) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(csvHeader); err != nil {
			return err
		}
	}
	var row []string
	if r.err != nil {
		row = []string{r.path, "error", "", "", "", "", "", "", errorText(r.err)}
	} else {
		rep := r.report
		signer, trusted := "", ""
		if rep.Signer != nil {
			signer = rep.Signer.Subject
			trusted = strconv.FormatBool(rep.Signer.Trusted)
		}
		summary := rep.Summary
		if rep.Verdict != "valid" && rep.Verdict != "not_labeled" {
			summary = "invalid label: " + lineText(r)
		}
		row = []string{r.path, string(rep.Verdict), strconv.FormatBool(rep.AIGenerated), rep.DigitalSourceType,
			rep.Model, signer, trusted, strings.Join(rep.Failures(), ";"), summary}
	}
	for i := range row {
		row[i] = csvCell(row[i])
	}
	if err := c.w.Write(row); err != nil {
		return err
	}
	c.w.Flush() // a row at a time, so a pipeline sees results as they come
	return c.w.Error()
}

func (c *csvWriter) flush() error {
	if !c.header { // no file at all: still a well-formed CSV
		c.header = true
		c.w.Write(csvHeader)
	}
	c.w.Flush()
	return c.w.Error()
}

func (c *csvWriter) human() bool { return false }

// csvCell defuses cells that a spreadsheet would run as a formula: file names and manifest
// fields come from whoever made the file.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
